import CastyNet
import Testing

@testable import Casty

/// A relay's new link joins the audio of the last one: what an Icecast burst repeats is left out.
@Suite struct LinkJoinTests {
    /// Bytes that do not repeat within a few hundred kilobytes, as compressed audio.
    private func audio(_ count: Int, seed: UInt64) -> [UInt8] {
        var state = seed
        return (0..<count).map { _ in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return UInt8(truncatingIfNeeded: state >> 33)
        }
    }

    /// What `join` relays of a new link's `chunks`, each given `spacing` after the one before, and what it left out.
    private func relayed(_ join: inout LinkJoin, _ chunks: [[UInt8]], spacing: Duration = .milliseconds(100)) -> ([UInt8], Int?) {
        let start = ContinuousClock.now
        var out: [UInt8] = []
        var skipped: Int?
        for (index, chunk) in chunks.enumerated() {
            let (relay, left) = join.take([chunk[...]], at: start + spacing * index)
            out += relay.flatMap { $0 }
            skipped = left ?? skipped
        }
        return (out, skipped)
    }

    @Test("A burst that repeats the last seconds relayed is relayed from where the last link ended")
    func aBurst_IsRelayedFromWhereTheLastLinkEnded() {
        let before = audio(20_000, seed: 1), after = audio(5_000, seed: 2)
        var join = LinkJoin()
        join.relayed(before[...])
        join.newLink(droppingLast: 0)
        // Icecast's burst: its last 8,000 bytes, which the relay had, then what came during the outage; then live audio.
        let (out, skipped) = relayed(&join, [Array(before.suffix(8_000)) + after.prefix(3_000), Array(after.suffix(2_000)), [1, 2, 3], [4]])
        #expect(skipped == 8_000)
        #expect(out == after + [1, 2, 3, 4], "\(out.count) bytes relayed")
    }

    @Test("The last link's unfinished frame, dropped when it ended, is relayed whole from the burst")
    func anUnfinishedFrame_IsRelayedWholeFromTheBurst() {
        let stream = audio(30_000, seed: 3)
        var join = LinkJoin()
        join.relayed(stream[..<20_000])  // the last 300 of them were a frame the link did not finish
        join.newLink(droppingLast: 300)
        let (out, skipped) = relayed(&join, [Array(stream[12_000...]), [9]], spacing: .milliseconds(300))
        #expect(skipped == 20_000 - 300 - 12_000)
        #expect(out == Array(stream[(20_000 - 300)...]) + [9], "\(out.count) bytes relayed")
    }

    @Test("A new link that does not hold the audio relayed before (another server, no burst) is relayed whole, after at most 300 ms")
    func aLinkWithoutTheTail_IsRelayedWhole() {
        var join = LinkJoin()
        join.relayed(audio(10_000, seed: 4)[...])
        join.newLink(droppingLast: 0)
        let fresh = audio(3_000, seed: 5)
        let (out, skipped) = relayed(&join, [Array(fresh[..<1_000]), Array(fresh[1_000..<2_000]), Array(fresh[2_000...]), [7]], spacing: .milliseconds(150))
        #expect(skipped == nil)
        #expect(out == fresh + [7], "\(out.count) bytes relayed")
    }

    @Test("Another station, or a link past its start, is relayed as it comes")
    func anotherStation_IsNotLookedAt() {
        var join = LinkJoin()
        let before = audio(10_000, seed: 6)
        join.relayed(before[...])
        join.newStation()
        let (out, skipped) = relayed(&join, [Array(before.suffix(2_000))])
        #expect(out.elementsEqual(before.suffix(2_000)) && skipped == nil, "\(out.count) bytes relayed")
        let (later, _) = relayed(&join, [[1, 2]])
        #expect(later == [1, 2])
    }

    @Test("A burst of digital silence — one frame over and over — is searched in linear time, and joined at its first match, losing the least")
    func aBurstOfRepeatedFrames_IsJoinedAtItsFirstMatch() {
        let frame = audio(417, seed: 7)
        let silence = Array((0..<700).map { _ in frame }.joined())  // 292 KB: past the window
        var join = LinkJoin()
        join.relayed(silence[..<100_000])
        join.newLink(droppingLast: 0)
        let start = ContinuousClock.now
        let (relay, skipped) = join.take([silence[...]], at: .now)
        #expect(ContinuousClock.now - start < .seconds(1))
        // What was relayed ends 337 bytes into a frame (100,000 = 239 × 417 + 337): its first 1,024-byte match in the
        // burst ends there too, in the third frame.
        #expect(skipped == 2 * 417 + 337, "\(String(describing: skipped))")
        #expect(relay.reduce(0) { $0 + $1.count } == silence.count - skipped!)
    }

    @Test func theHash_FindsTheFirstMatchExactly() {
        let hay: [UInt8] = [1, 2, 3, 1, 2, 3, 4]
        #expect(TailSearch.end(ofFirst: [1, 2, 3], in: hay) == 3)
        #expect(TailSearch.end(ofFirst: [2, 3, 4], in: hay) == 7)
        #expect(TailSearch.end(ofFirst: [4, 1], in: hay) == nil)
        #expect(TailSearch.end(ofFirst: hay, in: hay) == 7)
        #expect(TailSearch.end(ofFirst: [9], in: hay) == nil)
    }

    @Test("The tail is found wherever the pieces that bring it are cut: in one, across two, across many")
    func theTail_IsFoundWhereverItsPiecesAreCut() {
        let before = audio(3_000, seed: 8)
        let tail = Array(before.suffix(LinkJoin.tailBytes))
        let start = Array(before.suffix(2_000)) + audio(1_000, seed: 9)  // the tail ends 2,000 bytes in
        for cut in [1, 500, 1_000, 1_500, 1_999, 2_000, 2_500] {
            for size in [1, 7, 1_000, start.count] {
                var search = TailSearch(tail)
                var found: Int?
                // The start in pieces of `size`, the first one cut at `cut`.
                var pieces = [start[..<cut]]
                var at = cut
                while at < start.count {
                    pieces.append(start[at..<min(at + size, start.count)])
                    at += size
                }
                for piece in pieces where found == nil { found = search.feed(piece) }
                #expect(found == 2_000, "cut at \(cut), pieces of \(size): \(String(describing: found))")
            }
        }
    }

    @Test("A new link whose start holds the tail is relayed from just after it as soon as it is found, not held its 300 ms")
    func aBurstHoldingTheTail_IsRelayedAtOnce() {
        let before = audio(20_000, seed: 10), after = audio(4_000, seed: 11)
        var join = LinkJoin()
        join.relayed(before[...])
        join.newLink(droppingLast: 0)
        let now = ContinuousClock.now
        // The tail straddles the two reads the burst comes in.
        let burst = Array(before.suffix(6_000)) + after
        #expect(join.take([burst[..<5_500]], at: now).relay.isEmpty)
        let (relay, skipped) = join.take([burst[5_500...]], at: now + .milliseconds(1))
        #expect(skipped == 6_000)
        #expect(Array(relay.joined()) == after)
        #expect(!join.isLooking)
    }

    @Test("A link that ends while its start is looked at, having brought nothing, leaves the tail to look for at the next one's")
    func aLinkThatBroughtNothing_LeavesTheTail() {
        let before = audio(10_000, seed: 12), after = audio(1_000, seed: 13)
        var join = LinkJoin()
        join.relayed(before[...])
        join.newLink(droppingLast: 0)
        join.newLink(droppingLast: 0)
        let (relay, skipped) = join.take([Array(before.suffix(3_000) + after)[...]], at: .now)
        #expect(skipped == 3_000 && Array(relay.joined()) == after)
    }
}
