@testable import CastyNet
import Icy
import Testing

@testable import Casty

/// Players on real loopback sockets, served by a ``ClientPort``.
struct ClientTests {
    let loop = EventLoop.shared

    /// A distributor with a client port, replied to by a test source.
    func serving(burst: Int = 0, options: ClientOptions = ClientOptions()) throws -> (Distributor, ClientPort) {
        let distributor = try Distributor(loop: loop, configuration: .init(burst: burst))
        distributor.send(.reply(next: 0, context: testContext()))
        let port = try ClientPort(distributor: distributor, address: .loopback(port: 0), options: options)
        return (distributor, port)
    }

    @Test func playerWithoutIcyMetaData_GetsPlainAudio() async throws {
        let (distributor, port) = try serving()
        let player = try await TestPeer.connect(to: port.address, on: loop)
        await player.send("GET /any/path.mp3 HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(await eventually { await distributor.stat().listeners == 1 })
        let segments = testSegments(3)
        for segment in segments { distributor.send(.data(segment.number, segment)) }
        #expect(await player.waitFor { $0.count >= 3000 })
        let parsed = try #require(try player.parsed(segmentBytes: 1000))
        #expect(parsed.status == .httpOK)
        #expect(parsed.headers["icy-metaint"] == nil)
        #expect(parsed.headers["icy-name"] == "Test FM")
        #expect(parsed.headers["icy-br"] == "128")
        #expect(parsed.segments.flatMap(\.audioBytes) == segments.flatMap(\.audio))
        port.close()
    }

    @Test func playerWithIcyMetaData_GetsMetaintFramingAndTitles() async throws {
        let (distributor, port) = try serving()
        let segments = testSegments(4, titleAt: [0, 2])
        // A segment before the player joins sets the title; the player must still be told it.
        distributor.send(.data(segments[0].number, segments[0]))
        let player = try await TestPeer.connect(to: port.address, on: loop)
        await player.send("GET / HTTP/1.0\r\nIcy-MetaData: 1\r\n\r\n")
        #expect(await eventually { await distributor.stat().listeners == 1 })
        for segment in segments.dropFirst() { distributor.send(.data(segment.number, segment)) }
        #expect(await player.waitFor { $0.count >= 3 * 1000 + 3 * 1 + 2 * 16 })
        let parsed = try #require(try player.parsed())
        #expect(parsed.headers["icy-metaint"] == "1000")
        #expect(parsed.segments.map(\.audioBytes) == segments.dropFirst().map(\.audio))
        let titles = parsed.segments.map { Metadata(parsing: $0.metadata).streamTitle }
        #expect(titles == ["Song 0", "Song 2", nil])
        port.close()
    }

    @Test func statusPath_AnswersJSON() async throws {
        let (distributor, port) = try serving()
        for segment in testSegments(2) { distributor.send(.data(segment.number, segment)) }
        let peer = try await TestPeer.connect(to: port.address, on: loop)
        await peer.send("GET /status.json HTTP/1.0\r\n\r\n")
        #expect(await eventually { peer.closed.value })
        #expect(peer.text.hasPrefix("HTTP/1.0 200 OK\r\n"))
        #expect(peer.text.contains("Content-Type: application/json"))
        #expect(peer.text.contains(#""server_name":"Test FM""#))
        #expect(peer.text.contains(#""segments":2"#))
        #expect(peer.text.contains(#""title":"Song 0""#))
        port.close()
    }

    @Test(arguments: [
        ("DELETE / HTTP/1.0\r\n\r\n", "HTTP/1.0 501 Not Implemented"),
        ("SOURCE /live HTTP/1.0\r\n\r\n", "HTTP/1.0 405 Method Not Allowed"),
        ("GET / HTTP/1.0\r\n" + String(repeating: "X-Long: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n", count: 400) + "\r\n",
         "HTTP/1.0 431 Request Header Fields Too Large"),
        ("GET / HTTP/1.0\r\nX-Long: " + String(repeating: "a", count: 9000) + "\r\n\r\n", "HTTP/1.0 431 Request Header Fields Too Large"),
        ("GET / HTTP/1.0\r\n" + String(repeating: "X-Wide: " + String(repeating: "b", count: 4000) + "\r\n", count: 5) + "\r\n",
         "HTTP/1.0 431 Request Header Fields Too Large"),
        // A target longer than read (a signed URL, a title in /admin/metadata): 414, as nginx answers it.
        ("GET /" + String(repeating: "a", count: 9000) + " HTTP/1.0\r\n\r\n", "HTTP/1.0 414 URI Too Long"),
        // Binary bytes (a TLS handshake itself is told apart and closed without an answer: FrontDoorTests).
        ("\u{17}\u{03}\u{01}binary hello\r\n\r\n", "HTTP/1.0 400 Bad Request"),
    ])
    func badRequests_GetAnErrorStatus_AndAreClosed(request: String, status: String) async throws {
        let (distributor, port) = try serving()
        let peer = try await TestPeer.connect(to: port.address, on: loop)
        await peer.send(request)
        #expect(await eventually { peer.closed.value })
        #expect(peer.text.hasPrefix(status + "\r\n"))
        #expect(await distributor.stat().listeners == 0)
        port.close()
    }

    @Test func headRequest_GetsHeadersOnly() async throws {
        let (distributor, port) = try serving()
        let peer = try await TestPeer.connect(to: port.address, on: loop)
        await peer.send("HEAD / HTTP/1.0\r\nIcy-MetaData: 1\r\n\r\n")
        #expect(await eventually { peer.closed.value })
        #expect(peer.text.hasPrefix("HTTP/1.0 200 OK\r\n"))
        #expect(peer.text.hasSuffix("\r\n\r\n"))
        #expect(peer.text.contains("icy-metaint: "), "the head a player would get")
        #expect(await distributor.stat().listeners == 0)
        #expect(await distributor.stat().peakListeners == 0, "a HEAD is no listener, not even for a moment")
        port.close()
    }

    @Test func peerThatSendsNothing_IsDroppedAfterTheHeaderDeadline() async throws {
        var options = ClientOptions()
        options.headerTimeout = .milliseconds(200)
        let (distributor, port) = try serving(options: options)
        let peer = try await TestPeer.connect(to: port.address, on: loop)
        await peer.send("GET / HTTP/1.0\r\n")  // and never the end of the headers
        #expect(await eventually(timeout: .seconds(2)) { peer.closed.value })
        #expect(await distributor.stat().refused == 1)
        port.close()
    }

    @Test func stalledListener_SkipsWholeSegments_IsDropped_AndNeverDelaysTheOthers() async throws {
        // A loop of its own: on the shared one, other suites' work running meanwhile could hold up the good
        // listener's reads for longer than its allowance, and this test is about the policy, not about them.
        let loop = EventLoop(name: "test-stalled")
        defer { loop.shutdown() }
        var options = ClientOptions()
        options.sendBuffer = 4096
        options.maxBehind = .milliseconds(1500)  // 12 segments of 1000 bytes at 64 kbit/s, and 1.5 s of skipping
        let distributor = try Distributor(loop: loop, configuration: .init(burst: 0))
        distributor.send(.reply(next: 0, context: testContext(bitrate: 64)))
        let told = Locked<[String]>([])
        let port = try ClientPort(distributor: distributor, address: .loopback(port: 0), options: options,
                                  logger: EventLog { line in told.update { $0.append(line) } })
        let stalled = try await TestPeer.connect(to: port.address, on: loop, reading: false, receiveBuffer: 4096)
        await stalled.send("GET / HTTP/1.0\r\nIcy-MetaData: 1\r\n\r\n")
        let good = try await TestPeer.connect(to: port.address, on: loop)
        await good.send("GET / HTTP/1.0\r\nIcy-MetaData: 1\r\n\r\n")
        #expect(await eventually { await distributor.stat().listeners == 2 })
        let segments = testSegments(120, bytes: 1000, titleAt: Set(stride(from: 0, to: 120, by: 10)))
        for segment in segments {
            distributor.send(.data(segment.number, segment))
            // 50 KB/s, six times real time, for 2.4 s: a good listener may be kept from reading for 240 ms (12
            // segments) by a busy machine and still keep up — it is dropped only if it skips for 1.5 s too —; the
            // stalled one falls 110 segments behind, skipping for two seconds.
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(await good.waitFor(timeout: .seconds(10)) { $0.count >= 120 * 1001 + 12 * 16 })
        let parsed = try #require(try good.parsed())
        #expect(parsed.segments.map(\.audioBytes) == segments.map(\.audio))
        let stat = await distributor.stat()
        #expect(stat.skipped > 0)
        #expect(stat.dropped == 1)
        #expect(stat.listeners == 1)
        // One line says it: its leave line, with why (within the budget of joins and leaves).
        let dropped = told.value.filter { $0.contains("dropped: behind for") }
        #expect(dropped.count == 1 && dropped[0].contains(" left after ") && dropped[0].contains(" s (dropped: behind for "), "\(told.value)")
        // What the stalled listener did get is whole segments: it parses, framing intact.
        await stalled.startReading()
        #expect(await eventually(timeout: .seconds(15)) { stalled.closed.value })  // a busy CI run may hold the reads for seconds
        let partial = try #require(try stalled.parsed())
        #expect(!partial.segments.isEmpty)
        #expect(partial.segments.allSatisfy { segment in segment.audioBytes.allSatisfy { $0 == segment.audioBytes[0] } })
        port.close()
    }

    @Test("A backlog handed on at once — an upstream or a source that was stalled, resumed — is skipped, and no listener is dropped for it")
    func backlogAtOnce_IsSkipped_NoListenerDropped() async throws {
        let loop = EventLoop(name: "test-backlog")
        defer { loop.shutdown() }
        var options = ClientOptions()
        options.sendBuffer = 4096
        options.maxBehind = .milliseconds(1500)  // 12 segments of 1000 bytes at 64 kbit/s
        let distributor = try Distributor(loop: loop, configuration: .init(burst: 0))
        distributor.send(.reply(next: 0, context: testContext(bitrate: 64)))
        let port = try ClientPort(distributor: distributor, address: .loopback(port: 0), options: options)
        let player = try await TestPeer.connect(to: port.address, on: loop, receiveBuffer: 4096)
        await player.send("GET / HTTP/1.0\r\n\r\n")
        #expect(await eventually { await distributor.stat().listeners == 1 })
        let segments = testSegments(100, bytes: 1000)
        // Sixty segments in one turn of the loop: 7.5 s of audio, far more than the socket holds.
        await loop.submit { for segment in segments[..<60] { distributor.send(.data(segment.number, segment)) } }
        // Then the stream at its pace (a little faster): the player, which reads, gets it.
        for segment in segments[60...] {
            distributor.send(.data(segment.number, segment))
            try await Task.sleep(for: .milliseconds(40))
        }
        let stat = await distributor.stat()
        #expect(stat.skipped > 12, "the backlog was more than the socket could take: \(stat.skipped) skipped")
        #expect(stat.dropped == 0 && !player.closed.value, "skips in a burst are no listener gone: \(stat.dropped) dropped")
        #expect(await player.waitFor { $0.count >= 40 * 1000 }, "the forty segments after the backlog reach it: \(player.received.value.count) bytes")
        port.close()
    }

    @Test func browser_GetsALongerBurst_OtherPlayersTheUsualOne() async throws {
        var options = ClientOptions()
        options.browserBurst = .seconds(1)  // 17 segments of 1000 bytes at 128 kbit/s (62 ms each)
        let (distributor, port) = try serving(burst: 3, options: options)
        let segments = testSegments(30)
        for segment in segments { distributor.send(.data(segment.number, segment)) }
        let browser = try await TestPeer.connect(to: port.address, on: loop)
        await browser.send("GET / HTTP/1.1\r\nHost: x\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0\r\n\r\n")
        let player = try await TestPeer.connect(to: port.address, on: loop)
        await player.send("GET / HTTP/1.0\r\nUser-Agent: mpg123/1.31.2\r\n\r\n")
        #expect(await eventually { await distributor.stat().listeners == 2 })
        #expect(await browser.waitFor { $0.count >= 17 * 1000 })
        #expect(await player.waitFor { $0.count >= 3 * 1000 })
        try await Task.sleep(for: .milliseconds(100))  // nothing more comes: no new segment was cut
        let browserGot = try #require(try browser.parsed(segmentBytes: 1000))
        #expect(browserGot.segments.map(\.audioBytes) == segments.suffix(17).map(\.audio), "a browser: 1 s of audio at once")
        let playerGot = try #require(try player.parsed(segmentBytes: 1000))
        #expect(playerGot.segments.map(\.audioBytes) == segments.suffix(3).map(\.audio), "mpg123: the usual burst")
        port.close()
    }

    @Test func playerThatShutsItsSendingSideWithTheRequest_IsStillStreamedTo_AndLeavesWhenItCloses() async throws {
        let (distributor, port) = try serving()
        let player = try await TestPeer.connect(to: port.address, on: loop)
        await player.send("GET / HTTP/1.0\r\n\r\n", thenShutdownWriting: true)
        #expect(await eventually { await distributor.stat().listeners == 1 })
        let segments = testSegments(4)
        for segment in segments { distributor.send(.data(segment.number, segment)) }
        #expect(await player.waitFor { $0.count >= 4000 }, "streamed to after its FIN, as Icecast does")
        #expect(!player.closed.value)
        await player.close()
        // Gone for good: the next segments it is sent meet its reset, and it leaves.
        for segment in testSegments(6, first: 4) { distributor.send(.data(segment.number, segment)) }
        #expect(await eventually { await distributor.stat().listeners == 0 })
        port.close()
    }

    @Test func newPlayer_GetsTheBurst_ThenLiveSegments() async throws {
        let (distributor, port) = try serving(burst: 3)
        let segments = testSegments(8)
        for segment in segments.prefix(5) { distributor.send(.data(segment.number, segment)) }
        let player = try await TestPeer.connect(to: port.address, on: loop)
        await player.send("GET / HTTP/1.0\r\n\r\n")
        #expect(await eventually { await distributor.stat().listeners == 1 })
        for segment in segments.suffix(3) { distributor.send(.data(segment.number, segment)) }
        #expect(await player.waitFor { $0.count >= 6000 })
        let parsed = try #require(try player.parsed(segmentBytes: 1000))
        #expect(parsed.segments.map(\.audioBytes) == segments.suffix(6).map(\.audio))
        port.close()
    }
}
