import Icy
import Testing

@testable import Casty
@testable import CastyNet

/// A quiet source's audio handed on ahead of its segments (``StreamPiece``): the cutter's pieces, the
/// distributor's rules, and players on a station server that hear a slow source at once with their framing intact.
struct StreamPieceCutterTests {
    @Test func segmentFillingSlowly_IsHandedOnInPieces_AfterTheWait_AndStillCutWhole() throws {
        var cutter = try Cutter(segmentBytes: 100)
        var segments: [StreamSegment] = []
        let start = ContinuousClock.now
        cutter.add([UInt8](repeating: 1, count: 30)[...]) { segments.append($0) }
        let early = cutter.piece(after: .seconds(1), now: start + .milliseconds(500))
        #expect(early == nil, "filling at its usual pace")
        let firstPiece = cutter.piece(after: .seconds(1), now: start + .seconds(2))
        let first = try #require(firstPiece)
        #expect(first.offset == 0 && first.audio == [UInt8](repeating: 1, count: 30))
        let none = cutter.piece(after: .seconds(1), now: start + .seconds(3))
        #expect(none == nil, "nothing new since")
        cutter.add([UInt8](repeating: 2, count: 20)[...]) { segments.append($0) }
        let secondPiece = cutter.piece(after: .seconds(1), now: start + .seconds(3))
        let second = try #require(secondPiece)
        #expect(second.offset == 30 && second.audio == [UInt8](repeating: 2, count: 20))
        cutter.add([UInt8](repeating: 3, count: 60)[...]) { segments.append($0) }
        #expect(segments.count == 1)
        #expect(Array(segments[0].audio.prefix(50)) == first.audio + second.audio, "the segment begins with its pieces")
        let fresh = cutter.piece(after: .seconds(1), now: .now)
        #expect(fresh == nil, "the next segment has just begun filling")
    }
}

extension DistributorCoreTests {
    @Test func pieces_AreFannedOut_WhenTheyContinueTheNextSegment_AndAbandonedWhenItDoesNotBeginWithThem() {
        var core = core(burst: 0)
        _ = core.reply(first: 0, context: testContext(), at: t0)
        _ = core.request(from: 1, resume: nil, branch: nil, at: t0)
        let segments = testSegments(4)
        feed(&core, [segments[0]])
        #expect(describe(core.piece(1, StreamPiece(offset: 0, audio: Array(segments[1].audio.prefix(300))))) == ["piece #1 at 0"])
        #expect(core.piece(5, StreamPiece(offset: 300, audio: [1])).isEmpty, "not the segment expected next")
        #expect(core.piece(1, StreamPiece(offset: 200, audio: [1])).isEmpty, "does not continue what was handed on")
        #expect(describe(core.data(1, segments[1], at: t0)) == ["fan out #1"], "the segment begins with its pieces")
        // Pieces of #2, then a #2 of other audio: a source that took over.
        #expect(describe(core.piece(2, StreamPiece(offset: 0, audio: [9, 9]))) == ["piece #2 at 0"])
        #expect(describe(core.data(2, segments[2], at: t0)) == ["abandon #2", "fan out #2"])
        // A source that answers again (it reconnected, or another took over) abandons them too.
        _ = core.piece(3, StreamPiece(offset: 0, audio: [3]))
        #expect(describe(core.reply(first: 3, context: testContext(), at: t0)).first == "abandon #3")
        #expect(describe(core.data(3, segments[3], at: t0)) == ["fan out #3"], "nothing left to abandon")
    }
}

extension StationServerTests {
    /// The frames a player got: its segments hold ten whole frames each, so its metadata blocks split none.
    func playedFrames(_ player: TestPeer) -> Int {
        Self.silentFrameCount(player.received.value)
    }

    @Test func slowSource_ReachesPlayersAtOnce_InPieces_WithTheirFramingExact() async throws {
        let log = Log()
        let server = try server(log: log)
        defer { server.close() }
        let source = try await source(server)
        #expect(await source.waitFor(timeout: .seconds(15)) { String(decoding: $0, as: UTF8.self).contains("100 Continue") })
        await sendAudio(source, Self.silentFrames(20))  // two segments of ten frames
        let player = try await listener(server)
        let plain = try await listener(server, titles: false)
        #expect(await player.waitFor(timeout: .seconds(15)) { $0.count > 4170 })
        #expect(await plain.waitFor(timeout: .seconds(15)) { Self.silentFrameCount($0) >= 10 })
        try await Task.sleep(for: .milliseconds(300))  // the burst is over: delivery is live
        let before = (playedFrames(player), Self.silentFrameCount(plain.received.value))
        // Three frames: a third of a segment, which a quiet source takes seconds to fill. Players hear them within
        // the wait (a second) and a tick, not when the segment is whole.
        await sendAudio(source, Self.silentFrames(3))
        #expect(await eventually(timeout: .seconds(4)) { self.playedFrames(player) == before.0 + 3 })
        #expect(await eventually(timeout: .seconds(4)) { Self.silentFrameCount(plain.received.value) == before.1 + 3 })
        // The rest of the segment: the player gets the rest, and its metadata block where it belongs.
        await sendAudio(source, Self.silentFrames(7))
        #expect(await eventually(timeout: .seconds(15)) { self.playedFrames(player) == before.0 + 10 })
        let parsed = try #require(try player.parsed(segmentBytes: 4170))
        #expect(parsed.segments.allSatisfy { $0.fault == nil })
        // Pieces whose segment never comes (the source leaves, another takes over): zeros up to the segment's size and
        // an empty block keep the player's framing, and the new source's segments parse.
        await sendAudio(source, Self.silentFrames(4))
        #expect(await eventually(timeout: .seconds(4)) { self.playedFrames(player) == before.0 + 14 })
        await source.close()
        #expect(await eventually(timeout: .seconds(15)) { log.contains("on /live ended") })
        let next = try await self.source(server)
        #expect(await next.waitFor(timeout: .seconds(15)) { String(decoding: $0, as: UTF8.self).contains("100 Continue") })
        let feeding = keepFeeding(next)
        defer { feeding.cancel() }
        #expect(await eventually(timeout: .seconds(15)) { self.playedFrames(player) >= before.0 + 30 })
        let after = try #require(try player.parsed(segmentBytes: 4170))
        #expect(after.segments.allSatisfy { $0.fault == nil }, "the framing held across the abandoned pieces")
        #expect(after.segments.contains { $0.audio.flatMap { $0 }.count == 4170 && $0.audio.flatMap { $0 }.suffix(4170 - 4 * 417).allSatisfy { $0 == 0 } })
    }
}
