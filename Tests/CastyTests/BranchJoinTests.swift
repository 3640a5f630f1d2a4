import Icy
import Testing

@testable import Casty
@testable import CastyNet

/// A branch whose parent tells of a new stream — its root restarted behind a station with a burst — delivers what the
/// new stream's start repeats once: its players do not hear it twice.
struct BranchJoinTests {
    let loop = EventLoop.shared

    /// A synthetic MP3 stream: frames of MPEG-1 Layer III, 128 kbit/s, 44.1 kHz (417 bytes each, header
    /// `FF FB 90 00`), whose bodies are bytes that do not repeat (`seed` tells the stream apart).
    struct Frames {
        static let length = 417
        let seed: UInt64

        /// The byte at `offset` of the stream.
        func byte(_ offset: Int) -> UInt8 {
            let (frame, at) = offset.quotientAndRemainder(dividingBy: Self.length)
            if at < 4 { return [0xFF, 0xFB, 0x90, 0x00][at] }
            var state = (seed &* 1_000_003 &+ UInt64(frame)) &* 6_364_136_223_846_793_005 &+ UInt64(at) &* 1_442_695_040_888_963_407
            state ^= state >> 29
            state &*= 0xBF58_476D_1CE4_E5B9
            return UInt8(truncatingIfNeeded: state >> 32)
        }

        func bytes(_ range: Range<Int>) -> [UInt8] { range.map(byte) }

        /// Segment `number` of the stream begun at byte `start` (a frame's start), `size` bytes each, numbered from 0:
        /// its entry is its first frame at its start or at least a tag's length in, as a cutter notes it.
        func segment(_ number: Int, from start: Int, size: Int, title: Metadata? = nil, titleChanged: Bool = false) -> StreamSegment {
            let offset = start + number * size
            var entry = (offset + Self.length - 1) / Self.length * Self.length - offset
            if entry > 0, entry < StreamSegment.minimumTagBytes { entry += Self.length }
            return StreamSegment(
                number: number, time: wallClockMilliseconds(), audio: bytes(offset..<(offset + size)), title: title,
                titleVersion: titleChanged ? 1 : 0, titleChanged: titleChanged, entryOffset: entry)
        }
    }

    // MARK: The join, as a value

    @Test("A new stream whose start repeats the audio delivered: the segments all delivered before are left out, the one the tail ends in is entered at its first frame past it, a title they told goes on")
    func aRepeatingStart_IsLeftOut() {
        let old = Frames(seed: 1), size = 2_000
        var join = SegmentJoin()
        for number in 0..<10 { _ = join.take(old.segment(number, from: 0, size: size), at: .now) }  // 20,000 bytes delivered
        join.newStream(contentType: "audio/mpeg")
        // The new stream begins 30 frames (12,510 bytes) into the old: 7,490 of its bytes were delivered.
        let start = 30 * Frames.length
        let now = ContinuousClock.now
        var delivered: [StreamSegment] = []
        var skipped: Int?
        for number in 0..<6 {
            let title = number == 0 ? Metadata(streamTitle: "Old Show") : nil
            let (out, left) = join.take(old.segment(number, from: start, size: size, title: title, titleChanged: number == 0), at: now)
            delivered += out
            skipped = left ?? skipped
        }
        #expect(skipped == 20_000 - start)
        #expect(delivered.map(\.number) == [3, 4, 5], "\(delivered.map(\.number))")
        // Segment 3 holds bytes 18,510..<20,510 of the old stream; its first frame past 20,000 is the 48th, at 20,016.
        #expect(delivered.first?.entryOffset == 20_016 - (start + 3 * size))
        #expect(delivered.first?.titleChanged == true, "the title told in segment 0, left out, is told in the first delivered")
        #expect(delivered.dropFirst().allSatisfy { $0.entryOffset == old.segment($0.number, from: start, size: size).entryOffset })
    }

    @Test("A new stream that shares nothing with the audio delivered is delivered whole, once the look's time is up")
    func aNewStreamSharingNothing_IsDeliveredWhole() {
        let size = 2_000
        var join = SegmentJoin()
        for number in 0..<10 { _ = join.take(Frames(seed: 1).segment(number, from: 0, size: size), at: .now) }
        join.newStream(contentType: "audio/mpeg")
        let other = Frames(seed: 2), now = ContinuousClock.now
        #expect(join.take(other.segment(0, from: 0, size: size), at: now).deliver.isEmpty)
        #expect(join.take(other.segment(1, from: 0, size: size), at: now + .milliseconds(50)).deliver.isEmpty)
        #expect(join.timeUp(at: now + .milliseconds(60)).deliver.isEmpty)
        let (out, skipped) = join.timeUp(at: now + SegmentJoin.patience)
        #expect(out.map(\.number) == [0, 1] && skipped == nil)
        #expect(out.map(\.entryOffset) == [0, other.segment(1, from: 0, size: size).entryOffset])
        #expect(join.take(other.segment(2, from: 0, size: size), at: now + .seconds(1)).deliver.map(\.number) == [2])
    }

    @Test("A branch's first stream, and one after its players were let go, is not looked at")
    func aFirstStream_IsNotLookedAt() {
        var join = SegmentJoin()
        join.newStream(contentType: "audio/mpeg")
        #expect(!join.isLooking)
        for number in 0..<10 { _ = join.take(Frames(seed: 1).segment(number, from: 0, size: 2_000), at: .now) }
        join.forget()
        join.newStream(contentType: "audio/mpeg")
        #expect(join.take(Frames(seed: 1).segment(0, from: 10_000, size: 2_000), at: .now).deliver.map(\.number) == [0])
    }

    // MARK: A branch and its restarting parent

    /// A parent whose first connection streams `Frames(seed: 1)` and every later one another stream (the root
    /// restarted) of `later`, begun `repeating` bytes before the end of what the first sent (a frame's start); each
    /// begins with a burst of six segments, then one every 20 ms. With how many segments the first sent once it was
    /// ended (by `end`), and `end`.
    private func restartingParent(
        later: Frames, repeating: Int?
    ) throws -> (parent: FakeUpstream, firstSent: Locked<Int?>, end: @Sendable () async -> Void) {
        let size = 2_000
        let streams = Locked(0)
        let first = Locked<Connection?>(nil)
        let sent = Locked(0)
        let firstSent = Locked<Int?>(nil)
        let parent = try FakeUpstream(on: loop) { connection, request in
            guard request.path == "/live" else { return connection.close() }
            streams.update { $0 += 1 }
            let index = streams.value
            if index == 1 { first.update { $0 = connection } }
            let stream = index == 1 ? "5f3a09c4d2b871e1" : "0123456789abcd0\(min(index, 9))"
            connection.write(Array(("HTTP/1.0 200 OK\r\nContent-Type: audio/mpeg\r\nicy-br: 128\r\nicy-metaint: \(size)\r\n"
                + "X-Casty-Stream: \(stream)\r\nX-Casty-Next: 0\r\nX-Casty-Path: 127.0.0.1:1\r\n\r\n").utf8))
            let frames = index == 1 ? Frames(seed: 1) : later
            let start = index > 1 && repeating != nil
                ? max(0, ((firstSent.value ?? 0) * size - repeating!) / Frames.length * Frames.length) : 0
            @Sendable func write(_ number: Int) {
                guard !connection.isClosed else { return }
                connection.write(frames.segment(number, from: start, size: size).numbered)
                if index == 1 { sent.update { $0 = number + 1 } }
            }
            for number in 0..<6 { write(number) }
            @Sendable func tick(_ number: Int) {
                guard !connection.isClosed else { return }
                write(number)
                connection.loop.schedule(after: .milliseconds(20)) { tick(number + 1) }
            }
            connection.loop.schedule(after: .milliseconds(20)) { tick(6) }
        }
        let loop = loop
        let end: @Sendable () async -> Void = {
            await loop.submit {
                firstSent.update { $0 = sent.value }
                first.value?.close()
            }
        }
        return (parent, firstSent, end)
    }

    /// How many times `needle` occurs in `haystack`.
    private func occurrences(of needle: [UInt8], in haystack: [UInt8]) -> Int {
        guard haystack.count >= needle.count else { return 0 }
        var count = 0
        for start in 0...(haystack.count - needle.count) where haystack[start] == needle[0] {
            if haystack[start..<(start + needle.count)].elementsEqual(needle) { count += 1 }
        }
        return count
    }

    /// A branch of `parent`, and a player of it (audio only), once it plays.
    private func branchAndPlayer(of parent: FakeUpstream) async throws -> (Branch.Running, TestPeer) {
        var configuration = Branch.Configuration()
        configuration.backoff = .milliseconds(20)
        let branch = try Branch.serve(root: parent.url, address: .loopback(port: 0), eager: true, configuration: configuration)
        let player = try #require(await TestPeer.player(of: branch.port.address, on: loop, request: "GET / HTTP/1.0\r\n\r\n"))
        return (branch, player)
    }

    @Test("A branch whose restarted root's stream begins with audio it delivered (its station's burst) delivers that audio once: its player hears it once, and the break is one gap")
    func aRestartedRootsBurst_IsHeardOnce() async throws {
        let old = Frames(seed: 1)
        let (parent, firstSent, end) = try restartingParent(later: old, repeating: 9_000)
        let (branch, player) = try await branchAndPlayer(of: parent)
        #expect(await player.waitFor(timeout: .seconds(15)) { $0.count > 30_000 })
        await end()
        let sentBefore = try #require(firstSent.value) * 2_000
        // A frame's body 4,000 bytes before the first stream's end (heard, and repeated by the second), and one 4,000
        // bytes after it (new in the second).
        let repeated = old.bytes((sentBefore - 4_000)..<(sentBefore - 4_000 + 64))
        let new = old.bytes((sentBefore + 4_000)..<(sentBefore + 4_064))
        #expect(await player.waitFor(timeout: .seconds(15)) { self.occurrences(of: new, in: $0) > 0 }, "the second stream is heard")
        #expect(occurrences(of: repeated, in: player.received.value) == 1, "the repeated audio is heard once")
        #expect(occurrences(of: new, in: player.received.value) == 1)
        let stat = await branch.distributor.stat()
        #expect(stat.gaps == 1 && stat.missing == 0, "\(stat.gaps) gaps, \(stat.missing) missing")
        branch.stop()
        await player.close()
        await parent.close()
    }

    @Test("A branch whose restarted root's stream shares nothing with the audio it delivered delivers it whole")
    func aRestartedRootsOtherStream_IsHeardWhole() async throws {
        let other = Frames(seed: 2)
        let (parent, _, end) = try restartingParent(later: other, repeating: nil)
        let (branch, player) = try await branchAndPlayer(of: parent)
        #expect(await player.waitFor(timeout: .seconds(15)) { $0.count > 30_000 })
        await end()
        // Its sixth frame's body (a player enters the new stream's first segment on a frame, completing the one it was
        // in, and mutes the frames after it whose audio begins before), and its sixth segment's.
        let second = other.bytes((5 * Frames.length + 100)..<(5 * Frames.length + 164))
        let later = other.bytes(10_100..<10_164)
        #expect(await player.waitFor(timeout: .seconds(15)) { self.occurrences(of: later, in: $0) > 0 }, "the second stream is heard")
        #expect(occurrences(of: second, in: player.received.value) == 1, "its start is heard")
        let stat = await branch.distributor.stat()
        #expect(stat.gaps == 1 && stat.missing == 0, "\(stat.gaps) gaps, \(stat.missing) missing")
        branch.stop()
        await player.close()
        await parent.close()
    }
}
