@testable import CastyNet
@testable import CastyWire
import Icy
import CastyAudio
import Testing

@testable import Casty

/// A relayed station whose stream changes on the same link: Icecast moving its listeners (the relay) to the
/// mount's fallback, of another bitrate, shape or codec, when the relayed mount's source drops.
struct ProxyStreamChangeTests {
    let loop = EventLoop.shared

    /// MPEG-1 layer III frames of zeros at `kbps` (64 or 128): 44.1 kHz stereo, or 48 kHz mono.
    static func frames(_ count: Int, kbps: Int, mono48k: Bool = false) -> [UInt8] {
        let rate: UInt8 = mono48k ? 0x04 : 0x00
        let index: UInt8 = kbps == 64 ? 0x50 : 0x90
        let length = 144 * kbps * 1000 / (mono48k ? 48_000 : 44_100)
        return (0..<count).flatMap { _ in [0xFF, 0xFB, index | rate, mono48k ? 0xC4 : 0x64] + [UInt8](repeating: 0, count: length - 4) }
    }

    /// A proxy (segments of 1000 bytes) of an upstream that answers `contentType` (and `icy-br: declared`) and
    /// sends `audio` on its link, the pieces 100 ms apart, with a listener attached; its log lines are kept. With
    /// `later`, the first link ends after its audio, and the links after it send `later` (an encoder replaced).
    func relaying(
        _ audio: [[UInt8]], thenOnANewLink later: [[UInt8]]? = nil, contentType: String = "audio/mpeg", declared: String? = nil,
        configure: (inout Proxy.Configuration) -> Void = { _ in }
    ) async throws -> (Proxy, RecorderNode, Locked<[String]>, FakeUpstream) {
        let head = "HTTP/1.0 200 OK\r\nContent-Type: \(contentType)\r\n" + (declared.map { "icy-br: \($0)\r\n" } ?? "") + "\r\n"
        let links = Locked(0)
        let upstream = try FakeUpstream(on: loop) { connection, _ in
            links.update { $0 += 1 }
            let (pieces, ends) = links.value == 1 ? (audio, later != nil) : (later ?? audio, false)
            connection.write(Array(head.utf8))
            // Each piece 100 ms after the one before was written, not at a fixed time: a loaded loop, late, would
            // write pieces due together in one go, which the relay would read as one.
            @Sendable func write(from index: Int) {
                guard !connection.isClosed else { return }
                guard index < pieces.count else { return ends ? connection.close() : () }
                connection.write(pieces[index])
                connection.loop.schedule(after: .milliseconds(100)) { write(from: index + 1) }
            }
            write(from: 0)
        }
        let lines = Locked<[String]>([])
        var configuration = Proxy.Configuration()
        configuration.segmentBytes = 1000
        configure(&configuration)
        let proxy = try Proxy(url: upstream.url, configuration: configuration, loop: loop, logger: EventLog { line in lines.update { $0.append(line) } })
        let listener = RecorderNode(loop: loop)
        proxy.send(.request(from: listener, resume: nil))
        try await proxy.start()
        return (proxy, listener, lines, upstream)
    }

    @Test("A link whose station went on at half the bitrate is given up after six of its new, longer segments of silence, not six of the old")
    func silenceDeadline_FollowsTheBitrateMeasured() async throws {
        // 4000-byte segments: 250 ms at 128 kbit/s, 500 ms at 64; six of them 1.5 s, then 3 s.
        let (proxy, _, lines, upstream) = try await relaying([Self.frames(120, kbps: 128), Self.frames(120, kbps: 64)]) {
            $0.segmentBytes = 4000
            $0.minimumSilence = .milliseconds(100)
        }
        #expect(await eventually(timeout: .seconds(20)) { lines.value.contains { $0.contains("no data for") } }, "\(lines.value)")
        proxy.stop()
        #expect(lines.value.contains { $0.contains("bitrate is 64 kbit/s now") }, "\(lines.value)")
        let line = try #require(lines.value.first { $0.contains("no data for") })
        let silence = line.split(separator: "no data for ").last.flatMap { Double($0.prefix { $0.isNumber || $0 == "." }) } ?? 0
        #expect(silence >= 2.5, "\(line)")
        await upstream.close()
    }

    @Test("A station whose frames go on at another constant bitrate on the same link (its own fallback) is another stream, measured anew and told its bitrate, in one line — also over the icy-br it declared",
          arguments: [nil, "128"] as [String?])
    func stationGoingOnAtAnotherBitrate_IsAnotherStream_MeasuredAnew(declared: String?) async throws {
        let (proxy, listener, lines, upstream) = try await relaying(
            [Self.frames(120, kbps: 128), Self.frames(120, kbps: 64)], declared: declared)
        #expect(await eventually(timeout: .seconds(15)) { await listener.record.replies.count >= 2 })
        let replies = await listener.record.replies.prefix(2).map(\.context)
        #expect(replies.map(\.bitrate) == [128, 64], "\(replies.map(\.bitrate))")
        #expect(replies.map { $0.station["icy-br"] } == ["128", "64"], "what listeners are told")
        #expect(replies.count == 2 && replies[0].stream != replies[1].stream, "another stream: branches re-attach and count with it")
        #expect(lines.value.contains { $0.contains("proxy: the upstream's bitrate is 64 kbit/s now, measured on its audio (it was 128 kbit/s): another stream") },
                "\(lines.value)")
        proxy.stop()
        await upstream.close()
    }

    @Test("A variable bitrate on one link is not taken for a change of bitrate: one stream")
    func variableBitrate_IsNoChange() async throws {
        let vbr = (0..<240).flatMap { Self.frames(1, kbps: $0 % 3 == 0 ? 64 : 128) }
        let (proxy, listener, lines, upstream) = try await relaying([vbr], declared: "112")
        #expect(await listener.waitForData(20))
        let replies = await listener.record.replies
        #expect(replies.count == 1 && replies.first?.context.bitrate == 112, "\(replies.map(\.context.bitrate))")
        #expect(!lines.value.contains { $0.contains("bitrate is") }, "\(lines.value)")
        proxy.stop()
        await upstream.close()
    }

    @Test("A station whose frames go on in another shape on the same link at another bitrate (Icecast's fallback at 48 kHz mono, 64 kbit/s) is told as another stream with the new bitrate — also when one read brings both, and nothing follows for a while",
          arguments: [false, true])
    func stationGoingOnInAnotherShapeAndBitrate_IsToldTheNewBitrate(oneRead: Bool) async throws {
        let pieces = [Self.frames(60, kbps: 128), Self.frames(60, kbps: 64, mono48k: true), Self.frames(60, kbps: 64, mono48k: true)]
        let (proxy, listener, lines, upstream) = try await relaying(oneRead ? [pieces.flatMap { $0 }] : pieces)
        #expect(await eventually(timeout: .seconds(15)) { await listener.record.replies.count >= 2 })
        let replies = await listener.record.replies.prefix(2).map(\.context)
        #expect(replies.map(\.bitrate) == [128, 64], "\(replies.map(\.bitrate))")
        #expect(replies.count == 2 && replies[0].stream != replies[1].stream)
        #expect(lines.value.contains { $0.contains("proxy: the audio went on in 48000 Hz mono after 44100 Hz stereo: another stream") },
                "\(lines.value)")
        #expect(lines.value.contains("proxy: the new stream's bitrate is 64 kbit/s, measured on its audio (the one before was at 128 kbit/s)"),
                "one stream, said once: \(lines.value)")
        proxy.stop()
        await upstream.close()
    }

    @Test("A station that comes back on a new link in another shape at another bitrate (an encoder set to 48 kHz mono, 64 kbit/s) is one new stream, told once with its measured bitrate")
    func stationBackInAnotherShapeAndBitrate_IsOneNewStream_ToldItsBitrate() async throws {
        let (proxy, listener, lines, upstream) = try await relaying(
            [Self.frames(60, kbps: 128), Self.frames(60, kbps: 128)],
            thenOnANewLink: Array(repeating: Self.frames(20, kbps: 64, mono48k: true), count: 40))
        #expect(await eventually(timeout: .seconds(15)) { lines.value.contains { $0.hasPrefix("proxy: the new stream's bitrate is") } },
                "\(lines.value)")
        // The new stream's audio follows its reply: no other reply comes after it.
        #expect(await listener.wait(timeout: .seconds(10)) { record in
            record.replies.count >= 2 && { if case .data = record.events.last { true } else { false } }()
        })
        let replies = await listener.record.replies.map(\.context)
        #expect(replies.map(\.bitrate) == [128, 64], "one new stream, told its bitrate: \(replies.map(\.bitrate))")
        #expect(Set(replies.map(\.stream)).count == replies.count)
        #expect(lines.value.contains { $0.hasPrefix("proxy: the upstream came back in 48000 Hz mono, after 44100 Hz stereo: another stream") },
                "\(lines.value)")
        #expect(lines.value.contains("proxy: the new stream's bitrate is 64 kbit/s, measured on its audio (the one before was at 128 kbit/s)"),
                "\(lines.value)")
        #expect(!lines.value.contains { $0.contains("bitrate is 64 kbit/s now") }, "\(lines.value)")
        proxy.stop()
        await upstream.close()
    }

    @Test("An AAC station whose link goes on in MP3 (Icecast's fallback of the other codec), then in AAC again, is another stream each time, told its type, its frames checked throughout — also when one read brings the change and the audio before it",
          arguments: [false, true])
    func aacStationGoingOnInMP3_IsAnotherStream_ToldAsMP3_AndBack(oneRead: Bool) async throws {
        let audio = [adtsFrames(60), Self.frames(60, kbps: 128), Self.frames(20, kbps: 128), adtsFrames(80), adtsFrames(20)]
        // One read may bring the change with the audio before it (a loaded relay reads late).
        let (proxy, listener, lines, upstream) = try await relaying(oneRead ? [audio[0] + audio[1]] + audio[2...] : audio, contentType: "audio/aac")
        // A loaded relay may read the MP3 and the AAC after it at once: the MP3 is then left out (the test after this).
        let leftOut: @Sendable () -> Bool = { lines.value.contains { $0.contains("were left out") } }
        #expect(await eventually(timeout: .seconds(15)) { await listener.record.replies.count >= (leftOut() ? 2 : 3) }, "\(lines.value)")
        let replies = await listener.record.replies.prefix(3).map(\.context)
        let types = leftOut() ? ["audio/aac", "audio/aac"] : ["audio/aac", "audio/mpeg", "audio/aac"]
        #expect(replies.map(\.contentType) == types, "\(replies.map(\.contentType))")
        #expect(Set(replies.map(\.stream)).count == types.count, "a new stream each time")
        #expect(leftOut() || lines.value.contains { $0.contains("proxy: the audio went on in MPEG audio (MP3) after AAC in ADTS frames on the same link") },
                "\(lines.value)")
        #expect(lines.value.contains { $0.contains("proxy: the audio went on in AAC in ADTS frames after MPEG audio (MP3) on the same link") },
                "\(lines.value)")
        #expect(!lines.value.contains { $0.contains("unchecked") }, "\(lines.value)")
        proxy.stop()
        await upstream.close()
    }

    @Test("An AAC station's moment of MP3 and its return, both in one read, leave the MP3 out: one new stream, told as AAC, of AAC frames alone")
    func aacStationsMomentOfMP3_InOneRead_IsLeftOut() async throws {
        let audio = [adtsFrames(60), Self.frames(60, kbps: 128) + Self.frames(20, kbps: 128) + adtsFrames(80), adtsFrames(20)]
        let (proxy, listener, lines, upstream) = try await relaying(audio, contentType: "audio/aac")
        #expect(await eventually(timeout: .seconds(15)) { await listener.record.replies.count >= 2 }, "\(lines.value)")
        #expect(await eventually(timeout: .seconds(15)) { lines.value.contains { $0.contains("were left out") } }, "\(lines.value)")
        let record = await listener.record
        let replies = record.replies.prefix(2).map(\.context)
        #expect(replies.map(\.contentType) == ["audio/aac", "audio/aac"] && replies[0].stream != replies[1].stream, "\(replies)")
        #expect(lines.value.contains { $0.contains("proxy: the audio went on in AAC in ADTS frames after MPEG audio (MP3) on the same link") },
                "\(lines.value)")
        // What the second stream's segments hold are ADTS frames, one after the other: no MP3 among them.
        let second = try #require(record.events.firstIndex { if case .reply = $0 { true } else { false } }.map { first in
            record.events[(first + 1)...].firstIndex { if case .reply = $0 { true } else { false } }
        } ?? nil)
        let after: [UInt8] = record.events[second...].flatMap { event -> [UInt8] in
            if case .data(_, let segment) = event { Array(segment.audio) } else { [] }
        }
        #expect(!after.isEmpty)
        var at = 0
        while at < after.count, let frame = ADTSFrame(after[at...]) { at += frame.length }
        #expect(after.count - at < 300, "the new stream is ADTS frames alone, but for a frame still coming (walked \(at) of \(after.count))")
        proxy.stop()
        await upstream.close()
    }

    @Test("A station back after an outage as another stream is one gap, and the segments it missed are counted, whether it came back at another bitrate or with another name",
          arguments: [false, true])
    func stationBackAsAnotherStream_IsOneGap_AndItsMissedSegmentsCounted(anotherName: Bool) async throws {
        let links = Locked(0)
        let upstream = try FakeUpstream(on: loop) { connection, _ in
            links.update { $0 += 1 }
            let first = links.value == 1
            let name = first || !anotherName ? "A" : "B"
            connection.write(Array("HTTP/1.0 200 OK\r\nContent-Type: audio/mpeg\r\nicy-name: \(name)\r\n\r\n".utf8))
            // The first link: 60 frames (1.6 s of audio) at once, and its end 200 ms later; the next, 8 frames (209 ms)
            // every 200 ms.
            let kbps = first || anotherName ? 128 : 64
            if first {
                connection.write(Self.frames(60, kbps: kbps))
                connection.loop.schedule(after: .milliseconds(200)) { connection.close() }
                return
            }
            @Sendable func stream() {
                guard !connection.isClosed else { return }
                connection.write(Self.frames(8, kbps: kbps))
                connection.loop.schedule(after: .milliseconds(200)) { stream() }
            }
            stream()
        }
        var configuration = Proxy.Configuration()
        configuration.segmentBytes = 1000
        configuration.backoff = .milliseconds(500)  // 8 segments of 62 ms away, at least
        let lines = Locked<[String]>([])
        let log = EventLog { line in lines.update { $0.append(line) } }
        let proxy = try Proxy(url: upstream.url, configuration: configuration, loop: loop, logger: log)
        let distributor = Distributor(loop: loop, logger: log)
        distributor.attachSource(proxy)
        try await proxy.start()
        let player = RecorderNode(loop: loop)
        distributor.send(.request(from: player, resume: nil))
        #expect(await eventually(timeout: .seconds(10)) {
            let stat = await distributor.stat()
            return links.value >= 2 && stat.context != nil && (anotherName ? stat.context?.station["icy-name"] == "B" : stat.context?.bitrate == 64)
        })
        #expect(await eventually(timeout: .seconds(10)) { await player.record.numbers.count > 30 })
        let stat = await distributor.stat()
        #expect(stat.gaps == 1, "one outage, one gap: \(stat.gaps) \(lines.value)")
        #expect(stat.missing >= 5, "the segments the outage lasted: \(stat.missing)")
        proxy.stop()
        await upstream.close()
    }
}

extension TreeMountsTests {
    @Test("A relayed station whose frames go on at another bitrate on the same link (Icecast's fallback) is a new stream down the tree: a branch's newcomer is told the new bitrate, which the branch counts with, and the player plays on")
    func relayedStationGoingOnAtAnotherBitrate_ReachesTheBranchesAsANewStream() async throws {
        let tenths = Locked(0)
        let upstream = try AwayableStation(on: .shared, sound: AwayableStation.Sound { // it declares icy-br: 128
            tenths.update { $0 += 1 }
            return StationServerTests.silentFrames(4)
        })
        let log = StationServerTests.Log()
        let (server, proxy, serving, player) = try await playingAtABranch(upstream, log: log)
        defer { server.close(); proxy.stop(); serving.stop() }
        // A bitrate is taken for steady once it lasted 2 s of audio (``BitrateWatch/sustain``).
        #expect(await eventually(timeout: .seconds(10)) { tenths.value >= 30 })

        upstream.goOn { ProxyStreamChangeTests.frames(8, kbps: 64) }
        #expect(await eventually(timeout: .seconds(10)) {
            log.contains("proxy: the upstream's bitrate is 64 kbit/s now, measured on its audio (it was 128 kbit/s): another stream")
        }, "\(log.lines.value.suffix(8))")
        let (told, head) = await newcomerIsTold(at: serving.port.address) { $0.contains("icy-br: 64\r\n") }
        #expect(told, "\(head)")
        #expect(await serving.distributor.context?.bitrate == 64, "what the branch counts its segments' time with")
        #expect(!player.closed.value, "the same codec: the branch's player plays on")
        await upstream.close()
    }

}
