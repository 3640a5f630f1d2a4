import Icy
@testable import CastyWire
import Testing

@testable import Casty
@testable import CastyAudio
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
        // The same stream answering again (a proxy that reconnected): its next segment tells.
        _ = core.piece(3, StreamPiece(offset: 0, audio: Array(segments[3].audio.prefix(10))))
        #expect(describe(core.reply(first: 3, context: testContext(), at: t0)).isEmpty)
        #expect(describe(core.data(3, segments[3], at: t0)) == ["fan out #3"], "it begins with the pieces")
        // Another stream (a new source, a fallback taking over) abandons them at once.
        _ = core.piece(4, StreamPiece(offset: 0, audio: [4]))
        var other = testContext()
        other.stream = 42
        #expect(describe(core.reply(first: 0, context: other, at: t0)).first == "abandon #4")
    }
}

extension StationServerTests {
    /// Whether `audio` is a 4170-byte segment whose bytes from `offset` on are an ID3 tag of padding.
    static func isPaddedAfter(_ offset: Int, _ audio: [UInt8]) -> Bool {
        audio.count == 4170 && Array(audio[offset...]) == StreamSegment.padding(4170 - offset)
    }

    /// The source leaves after handing on pieces of a segment that will never come, and another publishes the mount
    /// (of `type`, fed `chunk` every 100 ms): returns the task that feeds it.
    func replaceSource(
        _ source: TestPeer, on server: StationServer, log: Log, type: String = "audio/mpeg", feeding chunk: [UInt8]
    ) async throws -> Task<Void, Never> {
        await source.close()
        #expect(await eventually(timeout: .seconds(15)) { log.contains("on /live ended") })
        let next = try await self.source(server, type: type)
        #expect(await next.waitFor(timeout: .seconds(15)) { String(decoding: $0, as: UTF8.self).contains("100 Continue") })
        return keepFeeding(next, with: chunk)
    }

    /// Checks that `player`'s framing held across the abandoned pieces (five frames of them: four handed on as
    /// pieces, and the one that waited for the header after it, sent as the source left), whose segment's place is
    /// padding.
    func expectFramingHeldAcrossAbandonedPieces(_ player: TestPeer) throws {
        let after = try #require(try player.parsed(segmentBytes: 4170))
        #expect(after.segments.allSatisfy { $0.fault == nil }, "the framing held across the abandoned pieces")
        #expect(after.segments.contains { Self.isPaddedAfter(5 * 417, $0.audio.flatMap { $0 }) }, "the abandoned segment's place is padding")
    }

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
        // Two segments of ten frames, and one more: a source's frame goes on once the header after it has come.
        await sendAudio(source, Self.silentFrames(21))
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
        // Pieces whose segment never comes (the source leaves, another takes over): padding up to the segment's size
        // (an ID3 tag) and an empty block keep the player's framing, and the new source's segments parse.
        await sendAudio(source, Self.silentFrames(4))
        #expect(await eventually(timeout: .seconds(4)) { self.playedFrames(player) == before.0 + 14 })
        let feeding = try await replaceSource(source, on: server, log: log, feeding: Self.silentFrames(10))
        defer { feeding.cancel() }
        #expect(await eventually(timeout: .seconds(15)) { self.playedFrames(player) >= before.0 + 30 })
        try expectFramingHeldAcrossAbandonedPieces(player)
    }
}

extension StationServerTests {
    /// ADTS frames of 417 bytes, as ``adtsFrames(_:length:)`` makes them, counted by their header.
    static func aacFrameCount(_ bytes: [UInt8]) -> Int {
        let header = Array(adtsFrames(1, length: 417).prefix(7))
        guard bytes.count >= 7 else { return 0 }
        return (0...(bytes.count - 7)).reduce(0) { count, index in
            bytes[index] == 0xFF && bytes[index..<(index + 7)].elementsEqual(header) ? count + 1 : count
        }
    }

    @Test func quietAACSource_ReachesPlayersOfABranch_InPieces_WithTheirFramingExact() async throws {
        let log = Log(), branchLog = Log()
        var configuration = StationServer.Configuration()
        configuration.sourcePassword = "hackme"
        configuration.mounts = ["/live"]
        configuration.segmentBytes = 4170
        configuration.distribution.burst = 1
        let server = try StationServer.startRoot(configuration, address: .loopback(port: 0), logger: log.logger)
        defer { server.close() }
        var branchConfiguration = Branch.Configuration()
        branchConfiguration.backoff = .milliseconds(20)
        let branch = try Branch.serve(
            root: StreamURL(host: "127.0.0.1", port: server.address.port, path: "/"), address: .loopback(port: 0),
            configuration: branchConfiguration, mounts: .init(), logger: branchLog.logger)
        defer { branch.port.close() }
        let source = try await source(server, type: "audio/aac")
        #expect(await source.waitFor(timeout: .seconds(15)) { String(decoding: $0, as: UTF8.self).contains("100 Continue") })
        await sendAudio(source, adtsFrames(21, length: 417))  // two segments, and a frame that waits for the next
        let player = try await TestPeer.connect(to: branch.port.address, on: loop)
        await player.send("GET /live HTTP/1.0\r\nIcy-MetaData: 1\r\n\r\n")
        #expect(await player.waitFor(timeout: .seconds(15)) { Self.aacFrameCount($0) >= 10 })
        try await Task.sleep(for: .milliseconds(500))  // the burst is all in
        let before = Self.aacFrameCount(player.received.value)
        // A quiet source: a frame every 500 ms, fifteen times slower than the declared 128 kbit/s, so a segment takes
        // 4.5 s to fill. The root hands it on in pieces once it has filled for a second, the branch moments after.
        let quiet = Task {
            for _ in 0..<10 {
                await sendAudio(source, adtsFrames(1, length: 417))
                try? await Task.sleep(for: .milliseconds(500))
            }
        }
        #expect(await eventually(timeout: .seconds(3.5)) { Self.aacFrameCount(player.received.value) >= before + 2 },
                "the segment takes 4.5 s to fill; its first frames come before")
        await quiet.value
        #expect(await eventually(timeout: .seconds(15)) { Self.aacFrameCount(player.received.value) == before + 10 })
        let parsed = try #require(try player.parsed(segmentBytes: 4170))
        #expect(parsed.segments.allSatisfy { $0.fault == nil })
        #expect(!log.contains("left after"), "the branch kept its link through the quiet segment")
        // Pieces whose segment never comes (the source leaves, another takes over): the root tells the branch with
        // padding and a `CastyVoid` block, the branch drops that segment, and its players' framing holds.
        let quieter = Task {
            for _ in 0..<4 {
                await sendAudio(source, adtsFrames(1, length: 417))
                try? await Task.sleep(for: .milliseconds(500))
            }
        }
        #expect(await eventually(timeout: .seconds(5)) { Self.aacFrameCount(player.received.value) >= before + 12 })
        await quieter.value
        let feeding = try await replaceSource(source, on: server, log: log, type: "audio/aac", feeding: adtsFrames(10, length: 417))
        defer { feeding.cancel() }
        #expect(await eventually(timeout: .seconds(15)) { Self.aacFrameCount(player.received.value) >= before + 40 })
        try expectFramingHeldAcrossAbandonedPieces(player)
        #expect(!branchLog.contains("sends no segment numbers"), "the void block is no segment: \(branchLog.lines.value)")
        #expect(!player.closed.value)
    }
}

extension ClientEntryTests {
    /// Segments of 1000 bytes cut frame by frame from frames of `format`: the built-in tone's MP3 frames, or ADTS
    /// frames of 301 bytes (so that segments begin inside a frame).
    static func segments(_ count: Int, of format: FrameChain.Format) -> [StreamSegment] {
        let frames = format == .mpeg ? toneFrames : (0..<40).map { _ in adtsFrames(1, length: 301) }
        var cutter = try! Cutter(segmentBytes: 1000)
        var segments: [StreamSegment] = []
        for frame in frames where segments.count < count { cutter.addFrame(frame[...]) { segments.append($0) } }
        return segments
    }

    /// Where a decoder reading `audio` frame after frame, skipping ID3v2 tags, meets a byte that begins neither:
    /// `nil` when it reads to the end (a last frame cut by the end included).
    static func firstBreak(in audio: [UInt8], _ format: FrameChain.Format) -> Int? {
        var at = 0
        while at + ID3v2Header.headerBytes <= audio.count {
            guard let length = ID3v2Header.tagLength(audio[...], at: at) ?? format.frame(in: audio[...], at: at)?.length else { return at }
            at += length
        }
        return nil
    }

    @Test("Pieces whose segment never comes, cut inside a frame: the player gets that frame completed, then padding, then whole frames again",
          arguments: [FrameChain.Format.mpeg, .adts], [false, true])
    func abandonedPiecesCutInsideAFrame_AreFollowedByItsRest_ThenPadding(format: FrameChain.Format, inLastFrame: Bool) async throws {
        var context = testContext()
        context.station["Content-Type"] = format.contentType
        let (distributor, port) = try serving(burst: 1, context: context)
        defer { port.close() }
        let segments = Self.segments(5, of: format)
        for segment in segments.prefix(2) { distributor.send(.data(segment.number, segment)) }
        let player = try await TestPeer.connect(to: port.address, on: loop)
        await player.send("GET / HTTP/1.0\r\nIcy-MetaData: 1\r\n\r\n")
        let segmentsReceived = { @Sendable in (try? player.parsed(segmentBytes: 1000))?.segments.count ?? 0 }
        #expect(await eventually { segmentsReceived() == 1 }, "the burst")
        distributor.send(.data(2, segments[2]))
        #expect(await eventually { segmentsReceived() == 2 })
        // Pieces of segment 3 ending 100 bytes into its first whole frame, as a branch's slow link hands them on — or
        // halfway through the bytes its last frame has in it, a frame whose rest is more than the segment has room for.
        var start = try #require(segments[3].entryOffset)
        while inLastFrame, let frame = format.frame(in: segments[3].audio[...], at: start), start + frame.length < 1000 {
            start += frame.length
        }
        let cut = inLastFrame ? start + (1000 - start) / 2 : start + 100
        try #require(cut > start + format.headerBytes && cut < 1000)
        let before = player.received.value.count
        distributor.send(.piece(3, StreamPiece(offset: 0, audio: Array(segments[3].audio.prefix(cut / 2)))))
        distributor.send(.piece(3, StreamPiece(offset: cut / 2, audio: Array(segments[3].audio[(cut / 2)..<cut]))))
        #expect(await player.waitFor { $0.count == before + cut })
        // The link is lost: the pieces are abandoned; the new link sends segment 3 whole, then 4.
        distributor.send(.piece(3, .abandon))
        for segment in segments.suffix(2) { distributor.send(.data(segment.number, segment)) }
        #expect(await eventually { segmentsReceived() == 5 })
        let parsed = try #require(try player.parsed(segmentBytes: 1000))
        let audio = parsed.segments.flatMap(\.audioBytes)
        #expect(Self.firstBreak(in: audio, format) == nil, "whole frames and tags, \(format.name): \(parsed.segments.map(\.audioBytes.count))")
        let standIn = parsed.segments[2].audioBytes
        #expect(Array(standIn.prefix(cut)) == Array(segments[3].audio.prefix(cut)), "the pieces")
        #expect(parsed.segments.last?.audioBytes == segments[4].audio, "the stream goes on")
    }
}
