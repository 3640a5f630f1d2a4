@testable import CastyNet
@testable import CastyAudio
import Icy
import Testing

@testable import Casty

/// A new player's first segment: it starts on a frame, and states the title current when it joined.
struct ClientEntryTests {
    let loop = EventLoop.shared

    func serving(burst: Int, context: Context = testContext()) throws -> (Distributor, ClientPort) {
        let distributor = try Distributor(loop: loop, configuration: .init(burst: burst))
        distributor.send(.reply(next: 0, context: context))
        let port = try ClientPort(distributor: distributor, address: .loopback(port: 0), options: ClientOptions())
        return (distributor, port)
    }

    /// Segments of 1000 bytes cut from real MP3 frames, frame by frame, with title changes at `titleAt`.
    func mp3Segments(_ count: Int, titleAt: Set<Int> = [0]) -> [StreamSegment] {
        var cutter = try! Cutter(segmentBytes: 1000)
        var segments: [StreamSegment] = []
        for frame in toneFrames where segments.count < count {
            if titleAt.contains(cutter.next) { cutter.setTitle(Metadata(streamTitle: "Song \(cutter.next)")) }
            cutter.addFrame(frame[...]) { segments.append($0) }
        }
        return segments
    }

    @Test func firstBlock_StatesTheCurrentTitle_NotTheBurstsOlderOne() async throws {
        let (distributor, port) = try serving(burst: 4)
        let segments = testSegments(5, titleAt: [0, 3])
        for segment in segments { distributor.send(.data(segment.number, segment)) }
        let player = try await TestPeer.connect(to: port.address, on: loop)
        await player.send("GET / HTTP/1.0\r\nIcy-MetaData: 1\r\n\r\n")
        #expect(await player.waitFor { $0.count >= 4 * 1001 + 2 * 16 })
        let parsed = try #require(try player.parsed())
        #expect(parsed.segments.map(\.audioBytes) == segments.suffix(4).map(\.audio))
        let titles = parsed.segments.map { Metadata(parsing: $0.metadata).streamTitle }
        // Burst: segments 1…4; the title changed to "Song 3" in segment 3, before the player joined.
        #expect(titles.first == "Song 3")
        #expect(!titles.contains("Song 0"), "an older title is never told after a newer one: \(titles)")
        #expect(titles.compactMap { $0 } == ["Song 3"], "the title at joining is told once, not again where it began: \(titles)")
        // A later change is told as usual.
        var cutter = try Cutter(segmentBytes: 1000, first: 5)
        cutter.setTitle(Metadata(streamTitle: "Song 5"))
        var live: [StreamSegment] = []
        cutter.add([UInt8](repeating: 5, count: 1000)[...]) { live.append($0) }
        distributor.send(.data(5, live[0]))
        #expect(await player.waitFor { $0.count >= 5 * 1001 + 3 * 16 })
        let after = try #require(try player.parsed())
        #expect(after.segments.last.map { Metadata(parsing: $0.metadata).streamTitle } == "Song 5")
        port.close()
    }

    @Test(arguments: [true, false])
    func firstSegment_StartsWithAnID3Tag_ThenAFrame_AndTheFramingHolds(metadata: Bool) async throws {
        let (distributor, port) = try serving(burst: 3)
        let segments = mp3Segments(6)
        for segment in segments.prefix(4) { distributor.send(.data(segment.number, segment)) }
        let first = segments[1]
        let offset = try #require(first.entryOffset)
        #expect(offset >= 10)
        let player = try await TestPeer.connect(to: port.address, on: loop)
        await player.send("GET / HTTP/1.0\r\n\(metadata ? "Icy-MetaData: 1\r\n" : "")\r\n")
        #expect(await eventually { await distributor.stat().listeners == 1 })
        for segment in segments.suffix(2) { distributor.send(.data(segment.number, segment)) }
        let blocks = metadata ? 5 * 1 + 16 * 2 : 0
        #expect(await player.waitFor { $0.count >= 5000 + blocks })
        let parsed = try #require(try player.parsed(segmentBytes: 1000))
        #expect(parsed.segments.count == 5)
        #expect(parsed.segments.allSatisfy { $0.audioCount == 1000 })
        let audio = parsed.segments[0].audioBytes
        // An ID3v2.4 tag of exactly `offset` bytes: header, syncsafe size, zero padding.
        #expect(Array(audio.prefix(6)) == [0x49, 0x44, 0x33, 4, 0, 0])
        #expect(audio[6..<10].reduce(0) { $0 << 7 | Int($1) } == offset - 10)
        #expect(audio[10..<offset].allSatisfy { $0 == 0 })
        #expect(MP3Frame(audio[offset...]) != nil)
        // After the tag: the frames of the stream, unchanged, and every later segment as it was cut.
        #expect(Array(audio[offset...]) == Array(first.audio[offset...]))
        #expect(parsed.segments.dropFirst().map(\.audioBytes) == segments[2...5].map(\.audio))
        let whole = parsed.segments.flatMap(\.audioBytes)
        #expect(cleanMP3Chain(whole[offset..<lastFrameEnd(whole, from: offset)]) != nil)
        if metadata {
            #expect(Metadata(parsing: parsed.segments[0].metadata).streamTitle == "Song 0")
        }
        port.close()
    }
}
