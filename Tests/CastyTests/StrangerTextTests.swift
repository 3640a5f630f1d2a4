@testable import CastyNet
import Icy
import Testing

@testable import Casty

/// Control characters from strangers — an upstream's titles and station headers, a player's path and user
/// agent — never reach the log, a listener's headers or the status page raw (hardening issue, defects 4 and 5).
struct StrangerTextTests {
    let loop = EventLoop.shared

    static func hasControl(_ text: String) -> Bool { text.unicodeScalars.contains(where: SafeText.isControl) }

    /// The reply head: everything up to the first blank line.
    static func head(_ text: String) -> String {
        let bytes = Array(text.utf8)
        let end = (0..<max(0, bytes.count - 3)).first { bytes[$0..<$0 + 4].elementsEqual("\r\n\r\n".utf8) } ?? bytes.count
        return String(decoding: bytes[..<end], as: UTF8.self)
    }

    @Test func logLine_EscapesEveryControlCharacter() {
        #expect(SafeText.logLine("a\r\nb\tc\u{1B}[31md\u{0}e\u{7F}f\u{85}g") == "a\\r\\nb\\tc\\e[31md\\x00e\\x7ff\\u{85}g")
        #expect(SafeText.logLine("plain Ünïcödé – title") == "plain Ünïcödé – title")
    }

    @Test("A bidirectional override is escaped in a log line, so the rest of the line is not shown reversed; in a title it stays (right-to-left text uses it)")
    func logLine_EscapesBidirectionalOverrides_ButTitlesKeepThem() {
        #expect(SafeText.logLine("Hello \u{202E}desrever (from 10.0.0.1)") == "Hello \\u{202e}desrever (from 10.0.0.1)")
        #expect(SafeText.logLine("a\u{2066}b\u{2069}c\u{202A}d") == "a\\u{2066}b\\u{2069}c\\u{202a}d")
        #expect(SafeText.printable("\u{202B}שלום\u{202C}") == "\u{202B}שלום\u{202C}")
    }

    @Test func printable_RemovesControlCharacters() {
        #expect(SafeText.printable("Casty\u{0}\u{1} FM\u{1B}\u{7F}\u{0B}\u{0C}\tRock\u{9F}") == "Casty FM Rock")
        #expect(SafeText.printable("Radio €uro") == "Radio €uro")
    }

    @Test("A line or paragraph separator (U+2028, U+2029) is a line break too, and a noncharacter goes: a title cannot start a playlist line of its own, nor break XML")
    func printable_TurnsSeparatorsIntoSpaces_AndDropsNoncharacters() {
        #expect(SafeText.printable("Song\u{2028}https://evil.example/ad.mp3") == "Song https://evil.example/ad.mp3")
        // Noncharacters cannot be written as literals.
        let nonCharacters = [0xFFFE, 0xFFFF, 0xFDD0].map { String(Character(Unicode.Scalar($0)!)) }
        #expect(SafeText.printable("A\u{2029}B\(nonCharacters[0])C\(nonCharacters[1])D\(nonCharacters[2])") == "A BCD")
        #expect(SafeText.logLine("A\u{2028}B\(nonCharacters[1])") == "A\\u{2028}B\\u{ffff}")
        let segment = HLSSegment(sequence: 7, name: "x-7.mp3", duration: 6, timestamp: 0, date: 0, discontinuity: false,
                                 discontinuitySequence: 0, title: "Song\u{2028}https://evil.example/ad.mp3", bytes: [], frames: 1)
        let lines = HLSPlaylist.media([segment], targetDuration: 6).split(separator: "\n")
        #expect(!lines.contains { $0.hasPrefix("https://") }, "\(lines)")
        #expect(lines.contains("#EXTINF:6.000,Song https://evil.example/ad.mp3"), "\(lines)")
    }

    @Test("A line break is a space, not a join: line1\\r\\nline2 is 'line1 line2'")
    func printable_TurnsLineBreaksIntoSpaces() {
        #expect(SafeText.printable("line1\r\nline2") == "line1 line2")
        #expect(SafeText.printable("a\nb\rc") == "a b c")
        #expect(SafeText.printable("A\u{0}B") == "AB")
    }

    @Test func aHugeTitle_IsShortenedForTheLog_SayingHowLongItWas() async throws {
        let station = StationServerTests()
        let log = StationServerTests.Log()
        let server = try station.server(log: log)
        let source = try await station.source(server)
        await station.sendAudio(source, StationServerTests.silentFrames(10))
        let huge = String(repeating: "la", count: 2_500)
        #expect(try await station.ask(server, "/admin/metadata?mount=/live&mode=updinfo&song=\(huge)").hasPrefix("HTTP/1.0 200"))
        let line = try #require(log.lines.value.first { $0.contains("title: lala") })
        #expect(line.contains("… (5000 characters) (from 127.0.0.1:") && line.count < 340, "\(line.prefix(80))… \(line.count) characters")
        #expect(SafeText.shortened("short") == "short")
        server.close()
    }

    @Test func logger_NeverWritesARawControlCharacter() {
        let lines = Locked<[String]>([])
        let logger = EventLog { line in lines.update { $0.append(line) } }
        logger("title: Song\r\n12:00:00 forged line\u{1B}]0;owned\u{7}")
        #expect(lines.value.count == 1)
        #expect(!Self.hasControl(lines.value[0]))
        #expect(lines.value[0].contains("\\r\\n12:00:00 forged line\\e]0;owned\\x07"))
    }

    @Test func playerPathAndUserAgent_AreEscapedInTheLog() async throws {
        let lines = Locked<[String]>([])
        let distributor = Distributor(loop: loop)
        distributor.send(.reply(next: 0, context: testContext()))
        let port = try ClientPort(
            distributor: distributor, address: .loopback(port: 0), logger: EventLog { line in lines.update { $0.append(line) } })
        for request in [
            "GET /a\u{1B}[2Jb HTTP/1.0\r\nUser-Agent: evil\u{1B}[31m\u{0}\u{7F}agent\r\n\r\n",
            "GET /\u{0}\u{8}x HTTP/1.0\r\nUser-Agent: \u{1B}]0;title\u{7}\r\n\r\n",
        ] {
            let player = try await TestPeer.connect(to: port.address, on: loop)
            await player.send(request)
            #expect(await eventually { lines.value.contains { $0.contains("joined") || $0.contains("refused") } })
            await player.close()
        }
        #expect(await eventually { lines.value.count >= 2 })
        for line in lines.value { #expect(!Self.hasControl(line), "raw control character in: \(line)") }
        port.close()
    }

    @Test("A player's query (a token it logs in with) is not written in its join line: the path and ?… are")
    func playerQuery_IsNotLogged() async throws {
        let lines = Locked<[String]>([])
        let distributor = Distributor(loop: loop)
        distributor.send(.reply(next: 0, context: testContext()))
        let port = try ClientPort(
            distributor: distributor, address: .loopback(port: 0), logger: EventLog { line in lines.update { $0.append(line) } })
        let player = try await TestPeer.connect(to: port.address, on: loop)
        await player.send("GET /live?token=s3cr3t HTTP/1.0\r\nUser-Agent: mpv\r\n\r\n")
        #expect(await eventually { lines.value.contains { $0.contains("joined: GET /live?… (mpv)") } }, "\(lines.value)")
        await player.close()
        #expect(!lines.value.contains { $0.contains("s3cr3t") })
        port.close()
    }

    @Test("A player that quits with audio unread (its kernel resets the connection) is said to have closed it, not as a failure")
    func playerThatResets_IsSaidToHaveClosed() async throws {
        let lines = Locked<[String]>([])
        let distributor = Distributor(loop: loop)
        distributor.send(.reply(next: 0, context: testContext()))
        let port = try ClientPort(
            distributor: distributor, address: .loopback(port: 0), logger: EventLog { line in lines.update { $0.append(line) } })
        let player = try await TestPeer.connect(to: port.address, on: loop, reading: false)
        await player.send("GET / HTTP/1.0\r\n\r\n")
        #expect(await eventually { lines.value.contains { $0.contains("joined") } })
        let segments = testSegments(40)
        for segment in segments.prefix(3) { distributor.send(.data(segment.number, segment)) }
        try await Task.sleep(for: .milliseconds(100))  // the segments wait unread in the player's buffer
        await player.close()
        for segment in segments.dropFirst(3) {  // the next sends meet the reset
            distributor.send(.data(segment.number, segment))
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(await eventually { lines.value.contains { $0.contains("left after") } }, "\(lines.value)")
        #expect(lines.value.contains { $0.contains("(closed by the player (reset))") }, "\(lines.value)")
        port.close()
    }

    @Test func upstreamControlBytes_NeitherReachListenersHeadersNorTheLog() async throws {
        let upstream = try FakeUpstream(on: loop) { connection, _ in
            connection.write(Array(
                ("ICY 200 OK\r\nicy-name: Bad\u{0}\u{1}\u{1B}[31m FM\u{7F}\r\nicy-genre: Ro\u{0B}ck\u{0C}\r\n"
                    + "icy-description: a\u{1B}b\r\nContent-Type: audio/mpeg\u{1}\r\nicy-metaint: 500\r\n\r\n").utf8))
            // On until the test ends: an upstream that went quiet would be lost, and its stream forgotten by the
            // status page (a relay whose upstream is away shows no stream) before the test reads it.
            streamICY(to: connection, metaint: 500, interval: .milliseconds(20), titleEvery: 1000) { index in
                index == 0 ? try! metadataBlock(Array("StreamTitle='Song\r\n12:00:00 forged\u{1B}[2J';".utf8)) : nil
            }
        }
        let lines = Locked<[String]>([])
        var configuration = Proxy.Configuration()
        configuration.segmentBytes = 1000
        let proxy = try Proxy(url: upstream.url, configuration: configuration, loop: loop, logger: EventLog { line in lines.update { $0.append(line) } })
        let distributor = Distributor(loop: loop)
        distributor.attachSource(proxy)
        try await proxy.start()
        let port = try ClientPort(distributor: distributor, address: .loopback(port: 0))
        // Asked until it answers 200: before the upstream's first audio, a loaded machine answers 503.
        let player = try #require(try await TestPeer.player(of: port.address, on: loop, request: "GET / HTTP/1.0\r\nIcy-MetaData: 1\r\n\r\n"))
        #expect(await player.waitFor(timeout: .seconds(10)) { $0.count > 2000 })
        let head = Self.head(player.text)
        #expect(head.contains("icy-name: Bad[31m FM\r\n"), "\(head)")
        #expect(head.contains("icy-genre: Rock\r\n"))
        #expect(head.contains("icy-description: ab\r\n"))
        #expect(head.contains("Content-Type: audio/mpeg\r\n"))
        #expect(!Self.hasControl(String(head.unicodeScalars.filter { $0 != "\r" && $0 != "\n" })))
        #expect(await eventually { lines.value.contains { $0.contains("forged") } })
        for line in lines.value { #expect(!Self.hasControl(line), "raw control character in: \(line)") }
        // The status page shows the title without its control characters, its line break a space.
        let status = try await TestPeer.connect(to: port.address, on: loop)
        await status.send("GET /status.json HTTP/1.0\r\n\r\n")
        #expect(await eventually { status.closed.value })
        let body = String(status.text.dropFirst(Self.head(status.text).count))
        #expect(body.contains("Song 12:00:00 forged[2J"), "\(body)")
        #expect(!body.contains("\\u00"))
        proxy.stop()
        port.close()
        await upstream.close()
    }
}
