@testable import CastyAudio
@testable import CastyNet
@testable import CastyWire
import Icy
import Testing

@testable import Casty

/// A proxy against fake upstream servers on loopback.
struct ProxyTests {
    let loop = EventLoop.shared

    func proxy(_ url: StreamURL, segmentBytes: Int = 1000, backoff: Duration = .milliseconds(50)) -> Proxy {
        var configuration = Proxy.Configuration()
        configuration.segmentBytes = segmentBytes
        configuration.backoff = backoff
        configuration.connectTimeout = .seconds(2)
        return try! Proxy(url: url, configuration: configuration, loop: loop)
    }

    /// A started proxy of `url` (segments of 1000 bytes) whose log lines are kept, with a listener attached.
    func loggedProxy(_ url: StreamURL) async throws -> (Proxy, RecorderNode, Locked<[String]>) {
        let lines = Locked<[String]>([])
        var configuration = Proxy.Configuration()
        configuration.segmentBytes = 1000
        let proxy = try Proxy(url: url, configuration: configuration, loop: loop, logger: EventLog { line in lines.update { $0.append(line) } })
        let listener = RecorderNode(loop: loop)
        proxy.send(.request(from: listener, resume: nil))
        try await proxy.start()
        return (proxy, listener, lines)
    }

    /// A station's whole stream, reply head included: `audio` cut every `metaint` bytes by the block `block(i)`
    /// makes after piece `i` (its length byte included).
    func icyWire(_ audio: [UInt8], metaint: Int, block: (Int) -> [UInt8]) -> [UInt8] {
        var wire = icyReplyHead(metaint: metaint)
        for index in 0..<(audio.count / metaint) {
            wire += audio[(index * metaint)..<((index + 1) * metaint)]
            wire += block(index)
        }
        return wire
    }

    /// A block of `text`, NUL-padded to 16 bytes, then `junk`, with the length byte that covers both.
    func titleBlock(_ text: String, junk: [UInt8] = []) -> [UInt8] {
        var bytes = Array(text.utf8)
        bytes += [UInt8](repeating: 0, count: (16 - bytes.count % 16) % 16) + junk
        return [UInt8(bytes.count / 16)] + bytes
    }

    /// The audio a fake upstream sends: segment `i` is `metaint` bytes of value `i % 251`.
    func upstreamAudio(_ count: Int, metaint: Int, start: Int = 0) -> [UInt8] {
        (start..<(start + count)).flatMap { [UInt8](repeating: UInt8($0 % 251), count: metaint) }
    }

    @Test func upstreamSegments_AreRecut_WithStationHeadersAndTitles() async throws {
        let upstream = try FakeUpstream(on: loop) { connection, _ in
            connection.write(icyReplyHead(metaint: 700))
            streamICY(to: connection, metaint: 700, count: 30, interval: .milliseconds(5), titleEvery: 10)
        }
        let proxy = proxy(upstream.url)
        let listener = RecorderNode(loop: loop)
        proxy.send(.request(from: listener, resume: nil))
        try await proxy.start()
        #expect(await listener.waitForData(21))
        let record = await listener.record
        let context = try #require(record.replies.first?.context)
        #expect(context.station["icy-name"] == "Fake FM")
        #expect(context.segmentBytes == 1000)
        #expect(context.bitrate == 128)
        #expect(record.numbers == Array(0..<record.numbers.count))
        #expect(record.audio == Array(upstreamAudio(30, metaint: 700).prefix(record.audio.count)))
        let changes = record.segments.filter(\.titleChanged).map { $0.title?.streamTitle }
        #expect(changes == ["Upstream title 0", "Upstream title 1", "Upstream title 2"])
        #expect(upstream.requests.value.first?.headers["icy-metadata"] == "1")
        proxy.stop()
        #expect(await listener.waitForStop())
        await upstream.close()
    }

    @Test("A station that sends no icy-name is named: by the name the proxy is given (a relay mount's), else by its URL's path without the query, or its host when the path is /",
          arguments: [("/live", "/stream", "/stream"), ("/live?type=.mp3", nil, "/live"), ("/", nil, "127.0.0.1")] as [(String, String?, String)])
    func stationWithoutAName_IsNamedByTheProxy(path: String, name: String?, expected: String) async throws {
        let upstream = try FakeUpstream(on: loop) { connection, _ in
            connection.write(Array("ICY 200 OK\r\nicy-br: 128\r\nContent-Type: audio/mpeg\r\n\r\n".utf8))
            connection.write(StationServerTests.silentFrames(40))
        }
        var configuration = Proxy.Configuration()
        configuration.name = name
        let proxy = try Proxy(url: StreamURL(host: "127.0.0.1", port: upstream.url.port, path: path), configuration: configuration, loop: loop)
        let listener = RecorderNode(loop: loop)
        proxy.send(.request(from: listener, resume: nil))
        try await proxy.start()
        #expect(await listener.waitForData(1))
        let context = try #require(await listener.record.replies.first?.context)
        #expect(context.station["icy-name"] == expected)
        proxy.stop()
        await upstream.close()
    }

    @Test func audio_IsPassedOnAsItArrives_NotWhenTheUpstreamsMetadataBlockIsComplete() async throws {
        // Icecast's default block: 16,000 bytes, one second at 128 kbit/s. The upstream sends 12,000 bytes of real
        // MP3 frames and then nothing for now: the proxy's first segment (8,192 bytes) must not wait for the block.
        let tone = Array(BuiltInTone.mp3.prefix(12_000))
        let upstream = try FakeUpstream(on: loop) { connection, _ in
            connection.write(icyReplyHead(metaint: 16_000) + tone)
        }
        let proxy = proxy(upstream.url, segmentBytes: 8192)
        let listener = RecorderNode(loop: loop)
        proxy.send(.request(from: listener, resume: nil))
        try await proxy.start()
        #expect(await listener.waitForData(1))
        let record = await listener.record
        #expect(record.numbers == [0])
        #expect(record.audio.count == 8192)
        #expect(record.audio == Array(tone.prefix(record.audio.count)))
        proxy.stop()
        await upstream.close()
    }

    /// An upstream that streams ten ICY segments of 500 bytes to whoever asks.
    func shortStream() throws -> FakeUpstream {
        try FakeUpstream(on: loop) { connection, _ in
            connection.write(icyReplyHead(metaint: 500))
            streamICY(to: connection, metaint: 500, count: 10, interval: .milliseconds(5))
        }
    }

    /// Expects `proxy` to relay three segments of `target`'s stream, having asked `target` once; stops it.
    func expectRelayed(_ proxy: Proxy, from target: FakeUpstream) async throws {
        let listener = RecorderNode(loop: loop)
        proxy.send(.request(from: listener, resume: nil))
        try await proxy.start()
        #expect(await listener.waitForData(3))
        #expect(target.requests.value.count == 1)
        proxy.stop()
    }

    @Test("An upstream that answers with a stream's head and sends nothing is 'connected, no audio yet', not streaming; its first audio makes it so")
    func upstreamThatAnswersAndSendsNothing_IsNotTakenForStreaming() async throws {
        let sending = Locked(false)
        let upstream = try FakeUpstream(on: loop) { connection, _ in
            connection.write(icyReplyHead(metaint: 500))
            @Sendable func wait() {
                guard !connection.isClosed else { return }
                if sending.value { streamICY(to: connection, metaint: 500) } else { connection.loop.schedule(after: .milliseconds(20)) { wait() } }
            }
            wait()
        }
        let proxy = proxy(upstream.url, segmentBytes: 1000, backoff: .milliseconds(50))
        await proxy.startInBackground()
        #expect(await eventually { await proxy.state == .connected })
        #expect("\(UpstreamState.connected)" == "connected, no audio yet")
        sending.update { $0 = true }
        #expect(await eventually { await proxy.state == .streaming })
        proxy.stop()
        await upstream.close()
    }

    @Test("An upstream that answers and never sends audio is not said to be 'back' at each reconnect: it 'answered again'")
    func upstreamThatNeverSendsAudio_IsNotSaidToBeBack() async throws {
        let upstream = try FakeUpstream(on: loop) { connection, _ in connection.write(icyReplyHead(metaint: 500)) }
        var configuration = Proxy.Configuration()
        configuration.segmentBytes = 1000
        configuration.backoff = .milliseconds(20)
        configuration.minimumSilence = .milliseconds(100)
        let lines = Locked<[String]>([])
        let proxy = try Proxy(url: upstream.url, configuration: configuration, loop: loop, logger: EventLog { line in lines.update { $0.append(line) } })
        await proxy.startInBackground()
        #expect(await eventually(timeout: .seconds(5)) { upstream.connections.value >= 3 })
        proxy.stop()
        #expect(lines.value.contains { $0.contains("upstream answered again") && $0.contains("it has sent no audio yet") }, "\(lines.value)")
        #expect(!lines.value.contains { $0.contains("upstream back") }, "\(lines.value)")
        await upstream.close()
    }

    @Test("A station that announces icy-br and sends nothing is not told to the nodes fed at any attempt: they wait, and its first audio starts the stream at segment 0, without a gap")
    func stationThatAnnouncesABitrateAndSendsNothing_IsNotTold_UntilItsAudio() async throws {
        let silentLinks = 3
        let answered = Locked(0)
        let upstream = try FakeUpstream(on: loop) { connection, _ in
            connection.write(icyReplyHead(metaint: 1000))  // icy-br: 128
            answered.update { $0 += 1 }
            if answered.value > silentLinks { streamICY(to: connection, metaint: 1000, count: 10, interval: .milliseconds(5)) }
        }
        var configuration = Proxy.Configuration()
        configuration.segmentBytes = 1000
        configuration.backoff = .milliseconds(20)
        configuration.minimumSilence = .milliseconds(100)
        let proxy = try Proxy(url: upstream.url, configuration: configuration, loop: loop)
        let listener = RecorderNode(loop: loop)
        proxy.send(.request(from: listener, resume: nil))
        await proxy.startInBackground()
        #expect(await eventually(timeout: .seconds(10)) { upstream.connections.value >= silentLinks })
        #expect(await listener.record.replies.isEmpty, "told a stream that sent nothing")
        #expect(await listener.waitForData(3, timeout: .seconds(10)))
        let record = await listener.record
        #expect(record.replies.map(\.next) == [0], "\(record.replies.map(\.next))")
        #expect(record.numbers.first == 0)
        proxy.stop()
        await upstream.close()
    }

    @Test("An upstream that streamed, dropped and streams again is said to be 'back', not to have 'answered again' without audio")
    func upstreamThatStreamed_IsSaidToBeBack() async throws {
        let upstream = try FakeUpstream(on: loop) { connection, _ in
            connection.write(icyReplyHead(metaint: 1000))
            // The audio a moment after the answer, as a station's first bytes come: the link is "connected" first.
            connection.loop.schedule(after: .milliseconds(100)) {
                streamICY(to: connection, metaint: 1000, count: 3, interval: .milliseconds(5))
            }
            connection.loop.schedule(after: .milliseconds(300)) { connection.close() }
        }
        var configuration = Proxy.Configuration()
        configuration.segmentBytes = 1000
        configuration.backoff = .milliseconds(20)
        let lines = Locked<[String]>([])
        let proxy = try Proxy(url: upstream.url, configuration: configuration, loop: loop, logger: EventLog { line in lines.update { $0.append(line) } })
        try await proxy.start()
        #expect(await eventually(timeout: .seconds(10)) { lines.value.contains { $0.contains("upstream back") } }, "\(lines.value)")
        proxy.stop()
        #expect(!lines.value.contains { $0.contains("answered again") }, "\(lines.value)")
        await upstream.close()
    }

    @Test func redirects_AreFollowed() async throws {
        let target = try shortStream()
        let location = target.url.description
        let first = try FakeUpstream(on: loop) { connection, _ in
            connection.write(Array("HTTP/1.0 302 Found\r\nLocation: \(location)\r\n\r\n".utf8))
        }
        try await expectRelayed(proxy(first.url), from: target)
        await first.close()
        await target.close()
    }

    @Test func aStationsPlaylist_IsFollowedToItsStream_AndAnHLSOneIsRefusedWithWhy() async throws {
        let target = try shortStream()
        let pls = "[playlist]\nNumberOfEntries=2\nFile1=mms://old.example/live\nFile2=\(target.url)\nTitle2=Fake FM\n"
        let playlist = try FakeUpstream(on: loop) { connection, _ in
            // As python3's http.server sends a file: HTTP/1.0, a length, the body, a close.
            connection.write(Array("HTTP/1.0 200 OK\r\nContent-Type: audio/x-scpls\r\nContent-Length: \(pls.utf8.count)\r\n\r\n\(pls)".utf8))
            connection.close()
        }
        try await expectRelayed(proxy(StreamURL(host: "127.0.0.1", port: playlist.listener.localAddress.port, path: "/listen.pls")), from: target)

        let hls = try FakeUpstream(on: loop) { connection, _ in
            connection.write(Array("HTTP/1.0 200 OK\r\nContent-Type: application/vnd.apple.mpegurl\r\n\r\n#EXTM3U\n#EXT-X-TARGETDURATION:6\n".utf8))
            connection.close()
        }
        do {
            try await self.proxy(StreamURL(host: "127.0.0.1", port: hls.listener.localAddress.port, path: "/live/index.m3u8")).start()
            Issue.record("an HLS playlist is not a stream to relay")
        } catch {
            guard case .playlist(_, let why) = error else { Issue.record("expected a playlist error, got \(error)"); return }
            #expect(why.contains("HLS"), "\(why)")
        }
        await playlist.close()
        await target.close()
        await hls.close()
    }

    @Test func redirectLoop_IsDetected() async throws {
        let looping = Locked<String>("")
        let upstream = try FakeUpstream(on: loop) { connection, _ in
            connection.write(Array("HTTP/1.1 307 Temporary Redirect\r\nLocation: \(looping.value)\r\n\r\n".utf8))
        }
        looping.update { $0 = upstream.url.description }
        await #expect(throws: CastyError.self) { try await proxy(upstream.url).start() }
        do {
            try await proxy(upstream.url).start()
        } catch {
            guard case .redirects(let chain, loop: true) = error else { Issue.record("expected a loop, got \(error)"); return }
            #expect(chain.count == 2)
        }
        await upstream.close()
    }

    @Test func endlessRedirects_StopAfterFive() async throws {
        let upstream = try FakeUpstream(on: loop) { connection, request in
            let next = (Int(request.path.dropFirst("/hop/".count)) ?? 0) + 1
            connection.write(Array("HTTP/1.0 301 Moved\r\nLocation: /hop/\(next)\r\n\r\n".utf8))
        }
        do {
            try await proxy(StreamURL(host: "127.0.0.1", port: upstream.listener.localAddress.port, path: "/hop/0")).start()
            Issue.record("endless redirects must fail")
        } catch {
            guard case .redirects(let chain, loop: false) = error else { Issue.record("expected too many, got \(error)"); return }
            #expect(chain.count == 7)
            #expect(upstream.requests.value.count == 6)
        }
        await upstream.close()
    }

    @Test(arguments: [
        ("HTTP/1.0 404 File Not Found\r\n\r\n", "server answered 404 File Not Found"),
        ("<html><body>It works!</body></html>\n", "not an ICY or HTTP status line"),
        ("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n<html>", "not an audio stream (Content-Type: text/html)"),
        ("HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n{}", "not an audio stream (Content-Type: application/json)"),
        ("ICY 200 OK\r\nicy-metaint: lots\r\n\r\n", "icy-metaint must be a whole number"),
        // Icecast's Ogg mounts: new listeners would get no Vorbis headers, and could not play.
        ("HTTP/1.0 200 OK\r\nContent-Type: application/ogg\r\n\r\nOggS", "plays application/ogg, which Casty does not relay"),
        ("HTTP/1.0 200 OK\r\nContent-Type: audio/ogg\r\n\r\nOggS", "plays audio/ogg, which Casty does not relay"),
    ])
    func upstreamsThatAreNotStreams_FailWithAClearError(answer: String, message: String) async throws {
        let upstream = try FakeUpstream(on: loop) { connection, _ in connection.write(Array(answer.utf8)) }
        do {
            try await proxy(upstream.url).start()
            Issue.record("must fail")
        } catch {
            #expect(error.description.contains(message))
            #expect(error.description.contains(upstream.url.description))
        }
        await upstream.close()
    }

    @Test("A station URL with a login (http://user:password@host/) is asked with Basic auth, as Icecast's relays ask theirs")
    func upstreamWithALogin_IsAskedWithBasicAuth() async throws {
        let upstream = try FakeUpstream(on: loop) { connection, _ in
            connection.write(icyReplyHead(metaint: 1000))
            streamICY(to: connection, metaint: 1000, count: 4, interval: .milliseconds(5))
        }
        var url = upstream.url
        url.login = "relay:s3cret"
        let proxy = proxy(url)
        try await proxy.start()
        #expect(upstream.requests.value.first?.headers["Authorization"] == "Basic " + Base64.encode(Array("relay:s3cret".utf8)))
        proxy.stop()
        await upstream.close()
    }

    @Test func refusedUpstream_FailsWithAClearError() async throws {
        // Port 1 (tcpmux) has no listener on any machine this runs on: a port closed by the test itself could
        // be taken again by another test running in parallel.
        let url = StreamURL(host: "127.0.0.1", port: 1, path: "/live")
        do {
            try await proxy(url).start()
            Issue.record("must fail")
        } catch {
            #expect(error.description.contains("connection refused"))
        }
    }

    @Test func droppedUpstream_IsReconnected_WhileListenersStay_AndTheOutageIsAGap() async throws {
        let upstream = try FakeUpstream(on: loop) { connection, _ in
            connection.write(icyReplyHead(metaint: 1000))
            // Each connection ends after 200 ms; the proxy is back 300 ms later (its backoff), and by then
            // more than four segments' worth of time (62 ms each) has passed.
            streamICY(to: connection, metaint: 1000, count: 15, interval: .milliseconds(10))
            connection.loop.schedule(after: .milliseconds(200)) { connection.close() }
        }
        let proxy = proxy(upstream.url, backoff: .milliseconds(300))
        let listener = RecorderNode(loop: loop)
        proxy.send(.request(from: listener, resume: nil))
        try await proxy.start()
        #expect(await listener.waitForData(25, timeout: .seconds(15)))
        let record = await listener.record
        #expect(!record.stopped)
        #expect(upstream.connections.value >= 2)
        #expect(await proxy.reconnects >= 1)
        let numbers = record.numbers
        #expect(zip(numbers, numbers.dropFirst()).allSatisfy { $0 < $1 })
        #expect(zip(numbers, numbers.dropFirst()).contains { $1 > $0 + 1 }, "the outage shows as a jump in the numbering")
        proxy.stop()
        await upstream.close()
    }

    @Test("An upstream that goes silent, its connection open, is lost from its last byte: the numbering jumps by the silence before it was noticed too")
    func silentUpstream_TheJumpCountsTheSilenceBeforeItWasNoticed() async throws {
        let upstream = try FakeUpstream(on: loop) { connection, _ in
            connection.write(icyReplyHead(metaint: 1000))
            // Fifteen segments (62 ms each at 128 kbit/s) at once, then nothing, the connection left open.
            streamICY(to: connection, metaint: 1000, count: 15, interval: .milliseconds(5))
        }
        var configuration = Proxy.Configuration()
        configuration.segmentBytes = 1000
        configuration.backoff = .milliseconds(20)
        configuration.minimumSilence = .seconds(2)
        let proxy = try Proxy(url: upstream.url, configuration: configuration, loop: loop)
        let listener = RecorderNode(loop: loop)
        proxy.send(.request(from: listener, resume: nil))
        try await proxy.start()
        #expect(await listener.waitForData(20, timeout: .seconds(20)))
        proxy.stop()
        let numbers = await listener.record.numbers
        // Found silent 2 s after its last byte: 32 segments' time, not the moment between noticing and the next link.
        let jump = zip(numbers, numbers.dropFirst()).map { $1 - $0 }.max() ?? 0
        #expect(jump >= 25, "\(numbers)")
        await upstream.close()
    }

    @Test("An upstream that flaps (streams a moment, drops, again and again) is told for its first losses, then summed up every 10 s")
    func flappingUpstream_IsToldFirst_ThenSummedUp() async throws {
        let upstream = try FakeUpstream(on: loop) { connection, _ in
            connection.write(icyReplyHead(metaint: 1000))
            streamICY(to: connection, metaint: 1000, count: 3, interval: .milliseconds(5))
            connection.loop.schedule(after: .milliseconds(40)) { connection.close() }
        }
        let lines = Locked<[String]>([])
        var configuration = Proxy.Configuration()
        configuration.segmentBytes = 1000
        configuration.backoff = .milliseconds(20)
        configuration.maxBackoff = .milliseconds(40)
        let proxy = try Proxy(url: upstream.url, configuration: configuration, loop: loop, logger: EventLog { line in lines.update { $0.append(line) } })
        try await proxy.start()
        #expect(await eventually(timeout: .seconds(10)) { upstream.connections.value >= 20 })
        let lost = lines.value.filter { $0.contains("upstream lost") }
        #expect((4...6).contains(lost.count), "three told, then sums: \(lost)")
        #expect(lost.last?.contains("since the last line, each link lasting under 10 s (summed up every 10 s); reconnecting") == true, "\(lost)")
        #expect(lines.value.filter { $0.contains("upstream back") }.count <= 3)
        proxy.stop()
        await upstream.close()
    }

    @Test func silentUpstream_IsNoticedByADeadline_AndReconnected() async throws {
        let upstream = try FakeUpstream(on: loop) { connection, _ in
            connection.write(icyReplyHead(metaint: 1000))
            streamICY(to: connection, metaint: 1000, count: 2, interval: .milliseconds(5))  // then silence
        }
        var configuration = Proxy.Configuration()
        configuration.segmentBytes = 1000
        configuration.minimumSilence = .milliseconds(100)
        let proxy = try Proxy(url: upstream.url, configuration: configuration, loop: loop)
        try await proxy.start()
        // 1000 bytes at 128 kbit/s last 62 ms; six of them without a byte make the upstream silent.
        #expect(await eventually(timeout: .seconds(3)) { upstream.connections.value >= 2 })
        proxy.stop()
        await upstream.close()
    }

    @Test("Short segments do not make a station that sends its audio in half-second blocks silent between two of them")
    func stationSendingInBlocks_IsNotDroppedBetweenThem_WhenSegmentsAreShort() async throws {
        let upstream = try FakeUpstream(on: loop) { connection, _ in
            connection.write(icyReplyHead(metaint: 8000))
            streamICY(to: connection, metaint: 8000, count: 8, interval: .milliseconds(500))  // 8000 bytes every 0.5 s
        }
        let (proxy, listener, lines) = try await loggedProxy(upstream.url)  // 1000-byte segments: 62 ms each
        #expect(await listener.waitForData(20, timeout: .seconds(10)))
        #expect(upstream.connections.value == 1, "\(lines.value)")
        #expect(!lines.value.contains { $0.contains("no data for") }, "\(lines.value)")
        proxy.stop()
        await upstream.close()
    }

    @Test func quietAACUpstream_WhoseHostAnswers_IsWaitedFor_NotReconnected() async throws {
        // An AAC encoder on a silent passage spends a few hundred bytes a second: 3 s without a segment, while the
        // deadline is six segments of 1000 bytes at 96 kbit/s (0.5 s). The station's kernel answers keepalives.
        let head = Array("ICY 200 OK\r\nicy-br: 96\r\nContent-Type: audio/aac\r\nicy-metaint: 1000\r\n\r\n".utf8)
        let audio = adtsFrames(40)  // 12 blocks of 1000 bytes, each followed by an empty metadata block
        let wire: [UInt8] = (0..<12).flatMap { block -> [UInt8] in Array(audio[block * 1000..<(block + 1) * 1000]) + [0] }
        let upstream = try FakeUpstream(on: loop) { connection, _ in
            connection.write(head + Array(wire.prefix(4 * 1001)))
            connection.loop.schedule(after: .seconds(3)) { _ = connection.write(Array(wire.dropFirst(4 * 1001))) }
        }
        let (proxy, listener, lines) = try await loggedProxy(upstream.url)
        #expect(await listener.waitForData(10, timeout: .seconds(10)), "the stream goes on after its quiet passage")
        #expect(upstream.connections.value == 1, "never reconnected: \(lines.value)")
        let waited = lines.value.filter { $0.contains("but the station's host answers: waiting up to 30 s more") }
        #expect(waited.count == 1, "one line: \(lines.value)")
        proxy.stop()
        await upstream.close()
    }

    @Test func quietAACUpstream_ASegmentThatFillsSlowly_IsHandedOnInPieces_ThenWhole() async throws {
        // 96 kbit/s declared: a segment of 1000 bytes lasts 83 ms, so a segment still filling after a second is a
        // quiet passage. Four segments come at once, then two frames (600 bytes), then the rest 3 s later.
        let head = Array("ICY 200 OK\r\nicy-br: 96\r\nContent-Type: audio/aac\r\nicy-metaint: 1000\r\n\r\n".utf8)
        let audio = adtsFrames(40)  // frames of 300 bytes
        let wire: [UInt8] = (0..<12).flatMap { block -> [UInt8] in Array(audio[block * 1000..<(block + 1) * 1000]) + [0] }
        let upstream = try FakeUpstream(on: loop) { connection, _ in
            connection.write(head + Array(wire.prefix(4 * 1001)))
            connection.loop.schedule(after: .milliseconds(200)) { _ = connection.write(Array(wire[(4 * 1001)..<(4 * 1001 + 600)])) }
            connection.loop.schedule(after: .seconds(3)) { _ = connection.write(Array(wire.dropFirst(4 * 1001 + 600))) }
        }
        let (proxy, listener, _) = try await loggedProxy(upstream.url)
        #expect(await listener.wait(timeout: .seconds(10)) { !$0.pieces.isEmpty })
        let record = await listener.record
        let piece = try #require(record.pieces.first)
        // Whole frames only: the tail of the frame that straddles segments 3 and 4, and frame 14; frame 15 is not
        // whole at byte 4600.
        #expect(piece.number == 4 && piece.piece.offset == 0 && piece.piece.audio == Array(audio[4000..<4500]))
        #expect(record.dataCount == 4, "the piece came before its segment was whole")
        #expect(await listener.waitForData(10, timeout: .seconds(10)))
        let segment = try #require(await listener.record.data.first { $0.number == 4 })
        #expect(Array(segment.segment.audio.prefix(500)) == piece.piece.audio, "the segment begins with its piece")
        proxy.stop()
        await upstream.close()
    }

    @Test func garbageMetadata_IsIgnored_AndTheAudioKeepsFlowing() async throws {
        let upstream = try FakeUpstream(on: loop) { connection, _ in
            connection.write(icyReplyHead(metaint: 1000))
            streamICY(to: connection, metaint: 1000, count: 12, interval: .milliseconds(5)) { index in
                index % 3 == 0 ? [2] + (0..<32).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 1) } : nil
            }
        }
        let proxy = proxy(upstream.url)
        let listener = RecorderNode(loop: loop)
        proxy.send(.request(from: listener, resume: nil))
        try await proxy.start()
        #expect(await listener.waitForData(12))
        #expect(await listener.record.audio == upstreamAudio(12, metaint: 1000))
        proxy.stop()
        await upstream.close()
    }

    @Test func upstreamWithoutMetaintOrBitrate_IsCut_AndTheBitrateReadFromTheMP3Frames() async throws {
        let tone = Array(BuiltInTone.mp3.prefix(22_000))
        let upstream = try FakeUpstream(on: loop) { connection, _ in
            connection.write(Array("HTTP/1.0 200 OK\r\nContent-Type: audio/mpeg\r\n\r\n".utf8) + tone)
        }
        let proxy = proxy(upstream.url)
        let listener = RecorderNode(loop: loop)
        proxy.send(.request(from: listener, resume: nil))
        try await proxy.start()
        #expect(await listener.waitForData(20))
        let record = await listener.record
        #expect(record.replies.last?.context.bitrate == 128)
        // The audio is the tone's frames, from the first one on, whole.
        let first = try MP3File(BuiltInTone.mp3).frames[0].offset
        #expect(record.audio.count >= 20_000)
        #expect(record.audio == Array(tone[first...].prefix(record.audio.count)))
        proxy.stop()
        await upstream.close()
    }

    @Test("A station that declares no bitrate and comes back from an encoder set to another is measured anew: listeners are told the new bitrate, in one line")
    func upstreamBackAtAnotherBitrate_IsMeasuredAnew() async throws {
        // MPEG-1 layer III at 44.1 kHz: 128 kbit/s frames of 417 bytes, then 64 kbit/s frames of 208.
        @Sendable func frames(_ count: Int, kbps: Int) -> [UInt8] {
            let (index, length): (UInt8, Int) = kbps == 64 ? (0x50, 208) : (0x90, 417)
            return (0..<count).flatMap { _ in [0xFF, 0xFB, index, 0x64] + [UInt8](repeating: 0, count: length - 4) }
        }
        let links = Locked(0)
        let upstream = try FakeUpstream(on: loop) { connection, _ in
            links.update { $0 += 1 }
            let link = links.value
            connection.write(Array("HTTP/1.0 200 OK\r\nContent-Type: audio/mpeg\r\n\r\n".utf8) + frames(60, kbps: link == 1 ? 128 : 64))
            if link == 1 { connection.loop.schedule(after: .milliseconds(200)) { connection.close() } }
        }
        var configuration = Proxy.Configuration()
        configuration.segmentBytes = 1000
        configuration.backoff = .milliseconds(20)
        let lines = Locked<[String]>([])
        let proxy = try Proxy(url: upstream.url, configuration: configuration, loop: loop, logger: EventLog { line in lines.update { $0.append(line) } })
        let listener = RecorderNode(loop: loop)
        proxy.send(.request(from: listener, resume: nil))
        try await proxy.start()
        #expect(await eventually(timeout: .seconds(10)) { await listener.record.replies.last?.context.bitrate == 64 })
        let told = await listener.record.replies.map(\.context.bitrate)
        #expect(told.first == 128, "\(told)")
        #expect(lines.value.contains { $0.contains("proxy: the upstream's bitrate is 64 kbit/s now, measured on its audio (it was 128 kbit/s)") },
                "\(lines.value)")
        proxy.stop()
        await upstream.close()
    }

    @Test func anEmptyTitle_IsLoggedAsNone_NotAsABlankTitle() async throws {
        let metaint = 1000
        var wire: [UInt8] = []
        for index in 0..<8 {
            wire += [UInt8](repeating: UInt8(index), count: metaint)
            switch index {
            case 1: wire += [1] + Array("StreamTitle='A';".utf8)
            case 3: wire += [1] + Array("StreamTitle='';".utf8) + [0]
            default: wire += [0]
            }
        }
        let stream = icyReplyHead(metaint: metaint) + wire
        let upstream = try FakeUpstream(on: loop) { connection, _ in connection.write(stream) }
        let (proxy, listener, lines) = try await loggedProxy(upstream.url)
        #expect(await listener.waitForData(6))
        let titles = lines.value.filter { $0.hasPrefix("proxy: title:") }
        #expect(titles == ["proxy: title: A", "proxy: title: none (the station sent an empty one)"], "\(lines.value)")
        proxy.stop()
        await upstream.close()
    }

    @Test("A station that writes its titles unquoted (StreamTitle=Song;) is read, logged once, and relayed quoted")
    func unquotedTitles_AreRead_LoggedOnce_AndRelayedQuoted() async throws {
        let metaint = 1000
        let blocks = [1: try metadataBlock(Array("StreamTitle=One;".utf8)), 4: try metadataBlock(Array("StreamTitle=Two - B;".utf8))]
        let stream = icyWire(upstreamAudio(8, metaint: metaint), metaint: metaint) { blocks[$0] ?? [0] }
        let upstream = try FakeUpstream(on: loop) { connection, _ in connection.write(stream) }
        let (proxy, listener, lines) = try await loggedProxy(upstream.url)
        #expect(await listener.waitForData(6))
        #expect(lines.value.filter { $0.hasPrefix("proxy: title:") } == ["proxy: title: One", "proxy: title: Two - B"], "\(lines.value)")
        #expect(lines.value.filter { $0.contains("not between quotes") }.count == 1, "\(lines.value)")
        #expect(!lines.value.contains { $0.contains("framing") }, "\(lines.value)")
        let record = await listener.record
        #expect(record.audio == Array(upstreamAudio(8, metaint: metaint).prefix(record.audio.count)))
        #expect(record.segments.filter(\.titleChanged).map { $0.title?.bytes } == [Array("StreamTitle='One';".utf8), Array("StreamTitle='Two - B';".utf8)])
        proxy.stop()
        await upstream.close()
    }

    @Test("A station that changes its title at every block has five changes of every 10 s told, not each one")
    func titleAtEveryBlock_IsToldFiveTimesEvery10Seconds() async throws {
        let metaint = 1000
        let stream = icyWire(upstreamAudio(30, metaint: metaint), metaint: metaint) { (try? metadataBlock(Array("StreamTitle='T\($0)';".utf8))) ?? [0] }
        let upstream = try FakeUpstream(on: loop) { connection, _ in connection.write(stream) }
        let (proxy, listener, lines) = try await loggedProxy(upstream.url)
        #expect(await listener.waitForData(25))
        #expect(lines.value.filter { $0.hasPrefix("proxy: title:") } == (0..<5).map { "proxy: title: T\($0)" }, "\(lines.value)")
        let record = await listener.record
        #expect(record.segments.filter(\.titleChanged).count >= 20, "every change still reaches the listeners")
        proxy.stop()
        await upstream.close()
    }

    @Test func metadataLengthThatLiedWithoutPadding_LosesTheFraming_TheProxyReconnects_AndTitlesComeBack() async throws {
        // Block 5 says k = 255 but holds 18 bytes of text, neither padded nor on a 16-byte boundary, and the audio
        // follows at once: a reader that takes the 4,080 bytes is out of step for good, reading audio as blocks.
        let audio = Array(repeatElement(toneFrames.joined(), count: 3).joined())
        let stream = icyWire(audio, metaint: 1000) { index in
            index == 5 ? [255] + Array("StreamTitle='bad';".utf8) : titleBlock("StreamTitle='T\(index)';")
        }
        let upstream = try FakeUpstream(on: loop) { connection, _ in connection.write(stream) }
        let (proxy, _, lines) = try await loggedProxy(upstream.url)
        let lost: @Sendable () -> Int? = { lines.value.firstIndex { $0.contains("metadata blocks in a row were audio, not text: the ICY framing (icy-metaint) is lost") } }
        #expect(await eventually(timeout: .seconds(15)) { lost() != nil }, "\(lines.value)")
        // Opened again, the stream's titles are read again.
        #expect(await eventually(timeout: .seconds(15)) {
            lost().map { at in lines.value[(at + 1)...].contains { $0.hasPrefix("proxy: title: T") } } ?? false
        }, "\(lines.value)")
        proxy.stop()
        await upstream.close()
    }

    @Test("A station whose blocks do not come every icy-metaint bytes it announces loses the framing at each reconnect: after three, its audio is relayed without titles — also when it sends its blocks unasked", arguments: [true, false])
    func stationLyingAboutItsMetaint_IsRelayedWithoutTitles_AfterThreeLosses(honoursTheHeader: Bool) async throws {
        let audio = Array(repeatElement(toneFrames.joined(), count: 6).joined())
        // It says icy-metaint 1000, and puts its blocks every 2000 bytes.
        var lying = Array("ICY 200 OK\r\nicy-metaint: 1000\r\nicy-br: 128\r\nContent-Type: audio/mpeg\r\n\r\n".utf8)
        for start in stride(from: 0, to: audio.count - 2000, by: 2000) {
            lying += audio[start..<(start + 2000)] + titleBlock("StreamTitle='T\(start)';")
        }
        let plain = Array("ICY 200 OK\r\nicy-br: 128\r\nContent-Type: audio/mpeg\r\n\r\n".utf8) + audio
        let told = lying
        let upstream = try FakeUpstream(on: loop) { connection, request in
            connection.write(request.headers["icy-metadata"] == "1" || !honoursTheHeader ? told : plain)
        }
        let (proxy, listener, lines) = try await loggedProxy(upstream.url)
        #expect(await eventually(timeout: .seconds(30)) { lines.value.contains { $0.contains("relayed without its titles") } }, "\(lines.value)")
        // Asked without Icy-MetaData from then on: its audio flows.
        let heard = await listener.record.audio.count
        #expect(await listener.wait(timeout: .seconds(10)) { $0.audio.count >= heard + 20_000 }, "\(lines.value)")
        #expect(upstream.requests.value.last?.headers["icy-metadata"] == nil)
        // Each loss is a link's end, which may be summed up with others in one line (a link of the same file sent again
        // from its start, joined where the last one ended, may end for want of data instead): at most one line each.
        // Counted once the audio flows again: the last loss's line follows the line that gives the titles up.
        let losses = lines.value.filter { $0.contains("the ICY framing (icy-metaint) is lost") }.count
        #expect((1...Proxy.framingLossesBeforeNoTitles).contains(losses), "\(lines.value.joined(separator: "\n"))")
        // No framing lost again while more audio comes.
        let more = await listener.record.audio.count
        #expect(await listener.wait(timeout: .seconds(10)) { $0.audio.count >= more + 20_000 }, "\(lines.value)")
        #expect(lines.value.filter { $0.contains("the ICY framing (icy-metaint) is lost") }.count == losses)
        // Its blocks, sent unasked, are dropped between the frames: five such lines every 10 s at most.
        #expect(lines.value.filter { $0.contains("audio frames broken") }.count <= 10, "\(lines.value.count) lines")
        proxy.stop()
        await upstream.close()
    }

    @Test func blocksPaddedWithBinaryBytes_LoseTheFramingOnce_ThenTheirLengthBytesAreTrusted() async throws {
        // Each block: its text, NULs to a 16-byte boundary, then 32 binary bytes — in step, its length byte true,
        // but read as a block whose length byte lied (the binary bytes taken for audio).
        let audio = Array(repeatElement(toneFrames.joined(), count: 3).joined())
        let junk = (0..<32).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 1) & 0x1F }
        let stream = icyWire(audio, metaint: 1000) { titleBlock("StreamTitle='T\($0)';", junk: junk) }
        let upstream = try FakeUpstream(on: loop) { connection, _ in connection.write(stream) }
        let (proxy, _, lines) = try await loggedProxy(upstream.url)
        let trusted: @Sendable () -> Int? = { lines.value.firstIndex { $0.contains("its length bytes are trusted from now on") } }
        #expect(await eventually(timeout: .seconds(15)) { trusted() != nil }, "\(lines.value)")
        // Read whole from then on: titles come, and the framing is not lost again.
        #expect(await eventually(timeout: .seconds(15)) {
            trusted().map { at in lines.value[(at + 1)...].filter { $0.hasPrefix("proxy: title: T") }.count >= 5 } ?? false
        }, "\(lines.value)")
        #expect(lines.value.filter { $0.contains("the ICY framing (icy-metaint) is lost") }.count == 1, "\(lines.value)")
        proxy.stop()
        await upstream.close()
    }

    @Test func metadataLengthThatLied_IsLoggedOnce_AndListenersGetACleanChainOfFrames() async throws {
        // Real MP3 audio framed by icy-metaint 1000; block 5 says k = 255 but holds only 16 bytes of text.
        let audio = Array(toneFrames.joined())
        let stream = icyWire(audio, metaint: 1000) { $0 == 5 ? [255] + Array("StreamTitle='A';".utf8) : [0] }
        let upstream = try FakeUpstream(on: loop) { connection, _ in connection.write(stream) }
        let lines = Locked<[String]>([])
        var configuration = Proxy.Configuration()
        configuration.segmentBytes = 2000
        let proxy = try Proxy(url: upstream.url, configuration: configuration, loop: loop, logger: EventLog { line in lines.update { $0.append(line) } })
        let listener = RecorderNode(loop: loop)
        proxy.send(.request(from: listener, resume: nil))
        try await proxy.start()
        #expect(await listener.waitForData(audio.count / 2000 - 1))
        let record = await listener.record
        // Every frame header where the previous frame's length says, and no audio lost.
        #expect(cleanMP3Chain(record.audio.prefix(lastFrameEnd(record.audio, from: 0))) != nil)
        #expect(record.audio == Array(audio.prefix(record.audio.count)))
        #expect(record.segments.compactMap { $0.titleChanged ? $0.title?.streamTitle : nil } == ["A"])
        let reports = lines.value.filter { $0.contains("metadata") }
        #expect(reports.count == 1, "\(lines.value)")
        #expect(reports.first?.contains("4080") == true)
        proxy.stop()
        await upstream.close()
    }

    @Test("A title with a ';' after a quote is kept, logged and told as its block reads back ('q’;x), as every listener and branch receives it")
    func titleWithAQuoteBeforeASemicolon_IsToldAsListenersReceiveIt() async throws {
        let audio = upstreamAudio(10, metaint: 1000)
        let stream = icyWire(audio, metaint: 1000) { $0 == 0 ? titleBlock("StreamTitle=''q';x';") : [0] }
        let upstream = try FakeUpstream(on: loop) { connection, _ in connection.write(stream) }
        let (proxy, listener, lines) = try await loggedProxy(upstream.url)
        #expect(await listener.waitForData(3))
        let told = await listener.record.segments.first { $0.titleChanged }?.title
        let received = Metadata(parsing: try #require(told).bytes).streamTitle
        #expect(told?.streamTitle == "'q\u{2019};x" && received == told?.streamTitle, "\(String(describing: told))")
        #expect(lines.value.contains("proxy: title: 'q\u{2019};x"), "\(lines.value)")
        proxy.stop()
        await upstream.close()
    }

    @Test("A bad metadata block of 4,080 bytes (a length byte of 255 before 16 bytes of text) is logged in one short line, cut as a long title is")
    func badMetadataBlock_IsLoggedShortened() async throws {
        let audio = [UInt8](repeating: 0xAA, count: 20_000)
        let stream = icyWire(audio, metaint: 1000) { $0 == 5 ? [255] + Array("StreamTitle='x';".utf8) : [0] }
        let upstream = try FakeUpstream(on: loop) { connection, _ in connection.write(stream) }
        let (proxy, listener, lines) = try await loggedProxy(upstream.url)
        #expect(await listener.waitForData(3))
        #expect(await eventually { lines.value.contains { $0.contains("bad metadata block") } }, "\(lines.value)")
        let report = try #require(lines.value.first { $0.contains("bad metadata block") })
        #expect(report.count < 400, "\(report.count) characters: \(report.prefix(300))")
        #expect(report.hasSuffix(" characters)"), "\(report.suffix(100))")
        proxy.stop()
        await upstream.close()
    }

    @Test("A length byte that lies short of its text (k = 3 before 16 bytes) takes audio into the block: the frame that lost those bytes, spliced with the next one's start, reaches no listener, nor the block read as audio")
    func metadataLengthThatLiedShort_PassesNoSplicedFrame() async throws {
        let frames = Array(repeatElement(toneFrames, count: 3).joined())
        let audio = Array(frames.joined())
        let stream = icyWire(audio, metaint: 1000) { $0 % 7 == 3 ? [3] + Array("StreamTitle='A';".utf8) : titleBlock("StreamTitle='B';") }
        let upstream = try FakeUpstream(on: loop) { connection, _ in connection.write(stream) }
        let (proxy, listener, lines) = try await loggedProxy(upstream.url)
        #expect(await listener.waitForData(30))
        let relayed = await listener.record.audio
        let upstreamFrames = Set(frames.map { MP3Frame.muted($0[...]) })
        var index = 0, passed = 0, foreign = 0
        let end = lastFrameEnd(relayed, from: 0)
        while index < end, let frame = MP3Frame(relayed[index...]) {
            // A frame after a break may be muted (its side information zeroed: ``ReservoirJoin``), its audio the station's.
            if !upstreamFrames.contains(MP3Frame.muted(relayed[index..<(index + frame.length)])) { foreign += 1 }
            passed += 1
            index += frame.length
        }
        #expect(index == end && passed > 50, "a chain of frames: \(passed) to byte \(index) of \(end); \(lines.value)")
        #expect(foreign == 0, "\(foreign) of \(passed) frames are no frame the station sent")
        proxy.stop()
        await upstream.close()
    }

    @Test("A refusal (403) that is over once the upstream streams again makes no later reconnect wait the refusal's 10 s (a repair in 10 s, not 0.1 s)")
    func aRefusalThatIsOver_DoesNotSlowLaterReconnects() async throws {
        let served = Locked(0)
        let stream = icyWire(upstreamAudio(4, metaint: 1000), metaint: 1000) { _ in [0] }
        let upstream = try FakeUpstream(on: loop) { connection, _ in
            served.update { $0 += 1 }
            let number = served.value
            switch number {
            case 1: connection.write(Array("HTTP/1.0 403 Forbidden\r\nContent-Length: 0\r\n\r\n".utf8))
            case 3: connection.write(Array("HTTP/1.0 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n".utf8))
            default: connection.write(stream)
            }
            connection.close()
        }
        let lines = LogLines()
        var configuration = Proxy.Configuration()
        configuration.segmentBytes = 1000
        configuration.backoff = .milliseconds(50)
        let proxy = try Proxy(url: upstream.url, configuration: configuration, loop: loop, logger: lines.logger)
        proxy.send(.request(from: RecorderNode(loop: loop), resume: nil))
        await proxy.startInBackground()  // refused at first, as a station server's relay may be: it keeps trying
        // Refused, then streamed and lost: the next attempt (answered 500) follows the backoff (0.1 s), not the
        // refusal's 10 s — measured from the loss to the attempt's line, with a margin a loaded machine keeps.
        #expect(await eventually(timeout: .seconds(30)) { lines.value.contains { $0.contains("upstream lost") } }, "\(lines.value)")
        let lost = ContinuousClock.now
        #expect(await eventually(timeout: .seconds(30)) { lines.value.contains { $0.contains("answered 500") } }, "\(lines.value)")
        let waited = ContinuousClock.now - lost
        #expect(lines.value.first { $0.contains("403") }?.contains("retrying in 10.0 seconds") == true, "the refusal waits: \(lines.value)")
        #expect(waited < .seconds(5), "the attempt after the loss came \(waited) later: \(lines.value)")
        proxy.stop()
        await upstream.close()
    }

    @Test("A station whose every other metadata block is garbage is told in five lines per 10 s, the rest summed up: not a line per block")
    func badMetadataBlocks_AreLoggedWithinABudget() async throws {
        let audio = [UInt8](repeating: 0xAA, count: 40_000)
        let garbage: [UInt8] = [1] + (0..<16).map { UInt8(0x80 + $0) }
        let stream = icyWire(audio, metaint: 1000) { $0 % 2 == 0 ? garbage : titleBlock("StreamTitle='ok';") }
        let upstream = try FakeUpstream(on: loop) { connection, _ in connection.write(stream) }
        let (proxy, listener, lines) = try await loggedProxy(upstream.url)
        #expect(await listener.waitForData(30))
        let told = lines.value.filter { $0.contains("bad metadata block") }
        #expect((5...10).contains(told.count), "\(told.count) lines for 20 bad blocks (five per 10 s window): \(lines.value)")
        proxy.stop()
        await upstream.close()
    }

    @Test("A proxy whose upstream is the port it serves (casty-cli proxy of its own URL, by another spelling) is answered 508 and says so: never its own listener")
    func proxyOfItsOwnPort_Is508_NeverAListener() async throws {
        let lines = Locked<[String]>([])
        let distributor = Distributor(loop: loop)
        let port = try ClientPort(distributor: distributor, address: .loopback(port: 0))
        defer { port.close() }
        var configuration = Proxy.Configuration()
        configuration.backoff = .milliseconds(50)
        configuration.maxBackoff = .milliseconds(100)
        let url = StreamURL(host: "localhost", port: port.address.port, path: "/any")
        let proxy = try Proxy(url: url, configuration: configuration, loop: loop, logger: EventLog { line in lines.update { $0.append(line) } })
        defer { proxy.stop() }
        await distributor.attach(to: proxy)
        await proxy.startInBackground()
        let said = "server answered 508 Loop Detected (localhost:\(port.address.port) is this server itself"
        #expect(await eventually(timeout: .seconds(10)) { lines.value.filter { $0.contains(said) }.count >= 2 }, "\(lines.value)")
        #expect(await distributor.stat().listeners == 0)
        #expect(await proxy.state == .retrying)
    }
}
