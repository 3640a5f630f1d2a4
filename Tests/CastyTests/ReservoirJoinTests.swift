@testable import CastyNet
@testable import CastyAudio
import Icy
import Testing

@testable import Casty

/// What a player got of the built-in tone across joins: how many joins there were (a frame that is not the one
/// after the frame before it in the tone, its frames told by their data areas, which muting leaves as they are),
/// and the frames after a join whose main data begin before the main data of the frame before them could reach
/// (its `main_data_begin` and its data area; none for the first after the join): into bytes of the stream before,
/// which a decoder decodes as garbage (mpg123: `dequantization failed!`) — or into bytes a decoder such as mpg123,
/// which keeps only what the frame before could reach, no longer has. ID3 tags are skipped; a frame that is no tone
/// frame (one a splice completed with zeros) ends a run. The first run is not looked at: a player that starts
/// knows it has nothing before.
func toneAcrossJoins(_ audio: [UInt8]) -> (joins: Int, reachingBack: [String], frames: Int) {
    let side = 32  // MPEG-1 joint stereo, no CRC
    var tone: [[UInt8]: Int] = [:]
    for (index, frame) in toneFrames.enumerated() { tone[Array(frame[(4 + side)...])] = index }
    var (joins, reachingBack, frames) = (0, [String](), 0)
    var at = 0
    var previous: Int?
    var reach = 0
    var first = true
    while at + 10 <= audio.count {
        if audio[at] == 0x49, audio[at + 1] == 0x44, audio[at + 2] == 0x33 {
            at += 10 + audio[(at + 6)..<(at + 10)].reduce(0) { $0 << 7 | Int($1) }
            continue
        }
        guard let header = MP3Frame(audio[at...]), at + header.length <= audio.count else { break }
        defer { at += header.length }
        frames += 1
        guard let index = tone[Array(audio[(at + 4 + side)..<(at + header.length)])] else {
            previous = nil
            continue
        }
        if previous.map({ $0 + 1 }) != index {
            if previous != nil || frames > 1 { (joins, first) = (joins + 1, false) }
            reach = 0
        }
        let begin = MP3Frame.mainDataBegin(of: audio[at...])!
        if !first, begin > reach {
            reachingBack.append("tone frame \(index) at \(at): begins \(begin) bytes back, where \(reach) can be reached")
        }
        reach = begin + header.length - 4 - side
        previous = index
    }
    return (joins, reachingBack, frames)
}

/// The tone's frames `range` cut into segments of 1000 bytes, numbered from `first`.
func toneSegments(_ range: Range<Int>, first: Int) -> [StreamSegment] {
    var cutter = try! Cutter(segmentBytes: 1000, first: first)
    var segments: [StreamSegment] = []
    for frame in toneFrames[range] { cutter.addFrame(frame[...]) { segments.append($0) } }
    return segments
}

extension ProxyTests {
    @Test("A relay whose station comes back on a new link in the middle of its stream mutes the first frames whose audio began before: no frame reaches back into the old link's bytes")
    func newLink_MutesTheFramesReachingBackAcrossTheJoin() async throws {
        // The first link: the tone's first 60 frames, then it ends; the next: frames 100 on (an encoder restarted in
        // the middle of its file, a server without a burst that holds the audio relayed before).
        let pieces = { (range: Range<Int>) in stride(from: range.lowerBound, to: range.upperBound, by: 10).map {
            Array(toneFrames[$0..<min($0 + 10, range.upperBound)].joined())
        } }
        let (proxy, listener, _, upstream) = try await ProxyStreamChangeTests().relaying(pieces(0..<60), thenOnANewLink: pieces(100..<155))
        let total = toneFrames[0..<60].joined().count + toneFrames[100..<150].joined().count
        #expect(await listener.wait(timeout: .seconds(20)) { $0.audio.count >= total })
        proxy.stop()
        await upstream.close()
        let heard = toneAcrossJoins(await listener.record.audio)
        #expect(heard.joins == 1 && heard.frames >= 110, "\(heard)")
        #expect(heard.reachingBack.isEmpty, "\(heard.reachingBack)")
    }

    @Test("A relay whose new link goes on exactly where the last ended (an Icecast burst that holds it) mutes nothing: the frames reach back into their own")
    func newLinkContinuingExactly_MutesNothing() async throws {
        let pieces = { (range: Range<Int>) in stride(from: range.lowerBound, to: range.upperBound, by: 10).map {
            Array(toneFrames[$0..<min($0 + 10, range.upperBound)].joined())
        } }
        // The next link's burst begins 20 frames before the last link's end.
        let (proxy, listener, lines, upstream) = try await ProxyStreamChangeTests().relaying(pieces(0..<60), thenOnANewLink: pieces(40..<155))
        let total = toneFrames[0..<150].joined().count
        #expect(await listener.wait(timeout: .seconds(20)) { $0.audio.count >= total })
        proxy.stop()
        await upstream.close()
        let audio = await listener.record.audio
        #expect(Array(audio.prefix(total)) == Array(toneFrames[0..<150].joined()))
        #expect(lines.value.contains { $0.contains("were audio relayed before (the upstream's burst): left out") }, "\(lines.value)")
    }
}

extension ClientEntryTests {
    @Test("A player moved to another stream in its middle (a fallback, a source returning) gets its first frames muted: none reaches back into the stream before",
          arguments: [false, true])
    func playerJoiningAnotherStream_GetsNoFrameReachingBack(metadata: Bool) async throws {
        let (distributor, port) = try serving(burst: 1)
        let before = toneSegments(0..<30, first: 0)
        var after = toneSegments(90..<130, first: before.count)
        after[0] = after[0].openingStream()
        let player = try await TestPeer.connect(to: port.address, on: loop)
        await player.send("GET / HTTP/1.0\r\n\(metadata ? "Icy-MetaData: 1\r\n" : "")\r\n")
        #expect(await eventually { await distributor.stat().listeners == 1 })
        for segment in before + after { distributor.send(.data(segment.number, segment)) }
        let count = before.count + after.count
        #expect(await player.waitFor(timeout: .seconds(10)) { bytes in
            ((try? TestPeer.parse(bytes, segmentBytes: 1000))??.segments.count ?? 0) >= count
        })
        let parsed = try #require(try player.parsed(segmentBytes: 1000))
        #expect(parsed.segments.count == count)
        let heard = toneAcrossJoins(parsed.segments.flatMap(\.audioBytes))
        #expect(heard.joins == 1 && heard.frames >= 65, "\(heard)")
        #expect(heard.reachingBack.isEmpty, "\(heard.reachingBack)")
        port.close()
    }
}

extension FrameChainTests {
    @Test("Frames a source's pace drops are a join: the frames after them are muted until one does not take its audio from them; none is muted where nothing was dropped")
    func framesDroppedByThePace_TheFramesAfterThemAreMuted() throws {
        func cut(dropping dropped: Range<Int>) throws -> [UInt8] {
            var cutter = try Cutter(segmentBytes: 1000)
            var chain = FrameChain(format: .mpeg)
            var audio: [UInt8] = []
            var index = 0
            for frame in toneFrames + toneFrames {
                cutter.add(frame[...], through: &chain, admit: { _ in defer { index += 1 }; return !dropped.contains(index) },
                           emit: { audio += $0.audio }, incident: { _ in })
            }
            return audio
        }
        // Two joins: the frames dropped, and the tone's loop back to its first frame (which borrows nothing).
        let spliced = toneAcrossJoins(try cut(dropping: 40..<60))
        #expect(spliced.joins == 2 && spliced.reachingBack.isEmpty, "\(spliced.joins) joins: \(spliced.reachingBack.prefix(3))")
        let whole = toneAcrossJoins(try cut(dropping: 0..<0))
        #expect(whole.joins == 1 && whole.reachingBack.isEmpty, "the tone played twice: the loop back is the one join, and nothing was muted")
    }
}
