@testable import CastyNet
import Icy
import Testing

@testable import Casty

/// Persistent connections for short answers: HTTP/1.1 keeps the connection for the next request, pipelined
/// requests are answered in order, and nothing else is ever kept.
struct KeepAliveTests {
    let loop = EventLoop()

    /// A port of one stream. The header timeout is long unless a test waits for it to pass: in a full CI run on two
    /// busy cores, a test's task has been held for seconds between its connect and its send.
    func serving(headerTimeout: Duration = .seconds(30), logger: EventLog = .silent) throws -> ClientPort {
        let distributor = Distributor(loop: loop, configuration: try .init(burst: 0))
        distributor.send(.reply(next: 0, context: testContext()))
        var options = ClientOptions()
        options.headerTimeout = headerTimeout
        return try ClientPort(distributor: distributor, address: .loopback(port: 0), options: options, logger: logger)
    }

    /// The status lines of the answers in `text`, in order (a text body ends with a bare `\n`).
    func statusLines(_ text: String) -> [String] {
        text.split { $0 == "\n" || $0 == "\r\n" }.map(String.init).filter { $0.hasPrefix("HTTP/") }
    }

    @Test func pipelinedRequests_OnOneHTTP11Connection_AreAnsweredInOrder_TheLastClosing() async throws {
        let port = try serving()
        let peer = try await TestPeer.connect(to: port.address, on: loop)
        await peer.send("GET /status.json HTTP/1.1\r\nHost: casty\r\n\r\nHEAD /tree HTTP/1.1\r\nHost: casty\r\n\r\n"
            + "GET /tree HTTP/1.1\r\nHost: casty\r\nConnection: close\r\n\r\n")
        #expect(await eventually(timeout: .seconds(20)) { peer.closed.value })
        let lines = statusLines(peer.text)
        #expect(lines == ["HTTP/1.1 200 OK", "HTTP/1.1 200 OK", "HTTP/1.0 200 OK"], "\(peer.text)")
        let answers = peer.text.split(separator: "HTTP/1.")
        try #require(answers.count == 3)
        #expect(answers[0].contains("Connection: keep-alive\r\n") && answers[0].contains("\"icestats\""))
        #expect(answers[0].contains("Keep-Alive: timeout=30\r\n"), "the idle time allowed: the header timeout")
        #expect(answers[0].contains("Date: ") && answers[0].contains(" GMT\r\n"), "what a cache reckons the age from")
        #expect(answers[1].contains("Connection: keep-alive\r\n") && answers[1].hasSuffix("\r\n\r\n"), "HEAD: no body")
        #expect(answers[2].contains("Connection: close\r\n"))
        port.close()
    }

    @Test("A request with two Content-Lengths that disagree, two Host lines or two Authorizations that disagree is refused 400 and the connection closed: a request hidden in its body is never answered",
          arguments: ["Content-Length: 0\r\nContent-Length: 46\r\n", "Host: first.example\r\nHost: second.example\r\nContent-Length: 46\r\n",
                      "Authorization: Bearer wrong\r\nAuthorization: Bearer right\r\nContent-Length: 46\r\n"])
    func ambiguousRequest_IsRefused_NothingHiddenInItsBodyIsAnswered(headers: String) async throws {
        let lines = Locked<[String]>([])
        let port = try serving(logger: EventLog { line in lines.update { $0.append(line) } })
        let peer = try await TestPeer.connect(to: port.address, on: loop)
        let hidden = "GET /tree HTTP/1.1\r\nHost: smuggled.example\r\n\r\n"
        #expect(hidden.utf8.count == 46)
        await peer.send("GET /status.json HTTP/1.1\r\n\(headers.hasPrefix("Host") ? "" : "Host: casty\r\n")\(headers)\r\n\(hidden)")
        #expect(await eventually(timeout: .seconds(20)) { peer.closed.value })
        #expect(statusLines(peer.text) == ["HTTP/1.0 400 Bad Request"], "\(peer.text)")
        #expect(!peer.text.contains("smuggled") && !peer.text.contains("icestats"), "\(peer.text)")
        #expect(lines.value.contains { $0.contains("refused: conflicting") }, "\(lines.value)")
        #expect(!headers.hasPrefix("Authorization") || lines.value.contains { $0.hasSuffix("conflicting Authorization headers: \"(not logged)\" and \"(not logged)\"") },
                "\(lines.value)")
        #expect(!lines.value.contains { $0.contains("wrong") || $0.contains("right") }, "credentials are never logged: \(lines.value)")
        port.close()
    }

    @Test func http10WithKeepAlive_IsKept_AndAnsweredAgainLater() async throws {
        let port = try serving()
        let peer = try await TestPeer.connect(to: port.address, on: loop)
        await peer.send("GET /tree HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        #expect(await peer.waitFor(timeout: .seconds(20)) { String(decoding: $0, as: UTF8.self).hasSuffix("\n") && $0.count > 100 })
        try await Task.sleep(for: .milliseconds(200))
        #expect(!peer.closed.value, "kept for the next request")
        await peer.send("GET /tree HTTP/1.0\r\n\r\n")
        #expect(await eventually(timeout: .seconds(20)) { peer.closed.value })
        #expect(statusLines(peer.text) == ["HTTP/1.1 200 OK", "HTTP/1.0 200 OK"])
        port.close()
    }

    @Test func idleKeptConnection_IsClosedQuietly_AfterTheHeaderTimeout() async throws {
        let lines = Locked<[String]>([])
        // The timeout is long enough for a request to arrive on a busy machine (a full CI run has held a test's task
        // for more than 4 s between its connect and its send), short enough to wait for.
        let port = try serving(headerTimeout: .seconds(8), logger: EventLog { line in lines.update { $0.append(line) } })
        let peer = try await TestPeer.connect(to: port.address, on: loop)
        await peer.send("GET /tree HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(await eventually(timeout: .seconds(20)) { peer.closed.value })
        #expect(statusLines(peer.text) == ["HTTP/1.1 200 OK"])
        #expect(!lines.value.contains { $0.contains("dropped") }, "an idle kept connection is no misbehaving peer: \(lines.value)")
        // A kept connection that starts a request and stalls is dropped as any other.
        let staller = try await TestPeer.connect(to: port.address, on: loop)
        await staller.send("GET /tree HTTP/1.1\r\nHost: x\r\n\r\nGET /tr")
        #expect(await eventually(timeout: .seconds(20)) { staller.closed.value })
        #expect(lines.value.contains { $0.contains("dropped: no request within") })
        port.close()
    }

    @Test func pipeliningClientThatNeverReads_IsClosedAtTheTimeout_OthersAreServed() async throws {
        let port = try serving(headerTimeout: .seconds(8))
        // 2,000 requests in one go, and nothing read: the answers fill its small receive buffer and the server's
        // send buffer, and the server reads no further request while one answer waits. (Short answers, `/tree`'s: since
        // `/status.json`'s grew to 1.2 kB with its start times, this peer read nothing at all before it was let go.)
        let hog = try await TestPeer.connect(to: port.address, on: loop, reading: false, receiveBuffer: 4096)
        await hog.send(String(repeating: "GET /tree HTTP/1.1\r\nHost: casty\r\n\r\n", count: 2000))
        let other = try await TestPeer.connect(to: port.address, on: loop)
        await other.send("GET /tree HTTP/1.0\r\n\r\n")
        #expect(await eventually(timeout: .seconds(20)) { other.closed.value })
        #expect(statusLines(other.text) == ["HTTP/1.0 200 OK"], "another client is answered meanwhile")
        // Past the timeout, the hog reads what was sent before the server let it go: then the end of the stream.
        try await Task.sleep(for: .seconds(10))
        await hog.startReading()
        #expect(await eventually(timeout: .seconds(20)) { hog.closed.value }, "the hog is let go once an answer waits longer than the timeout")
        let answered = statusLines(hog.text).count
        #expect(answered > 0 && answered < 2000, "answered \(answered) of 2,000 requests before it was let go: \(hog.text.prefix(300))")
        port.close()
    }

    @Test func oneConnection_CarriesAtMost1000Requests_TheLastAnsweredWithClose() async throws {
        let port = try serving()
        let peer = try await TestPeer.connect(to: port.address, on: loop)
        await peer.send(String(repeating: "HEAD /tree HTTP/1.1\r\nHost: x\r\n\r\n", count: Exchange.requestsPerConnection + 5))
        #expect(await eventually(timeout: .seconds(20)) { peer.closed.value })
        let lines = statusLines(peer.text)
        #expect(lines.count == Exchange.requestsPerConnection, "\(lines.count) answers")
        #expect(lines.dropLast().allSatisfy { $0 == "HTTP/1.1 200 OK" } && lines.last == "HTTP/1.0 200 OK")
        port.close()
    }

    @Test func requestsThatCannotBeKept_AreClosedAfterTheAnswer() async throws {
        let port = try serving()
        for request in [
            "GET /tree HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello",  // a body no route reads
            "GET /tree HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            "GET /tree HTTP/1.0\r\n\r\n",  // HTTP/1.0 closes unless asked
            "GET /tree HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\n\r\n",
        ] {
            let peer = try await TestPeer.connect(to: port.address, on: loop)
            await peer.send(request)
            #expect(await eventually(timeout: .seconds(20)) { peer.closed.value }, "\(request)")
            #expect(statusLines(peer.text) == ["HTTP/1.0 200 OK"], "\(request)")
            #expect(peer.text.contains("Connection: close\r\n"))
        }
        port.close()
    }

    @Test func theStream_IsNeverKept_EvenWhenAskedTo() async throws {
        let port = try serving()
        let player = try await TestPeer.connect(to: port.address, on: loop)
        await player.send("GET /live HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n")
        #expect(await player.waitFor(timeout: .seconds(20)) { String(decoding: $0, as: UTF8.self).contains("\r\n\r\n") })
        #expect(player.text.hasPrefix("HTTP/1.0 200 OK\r\n"))
        #expect(!player.text.contains("keep-alive"))
        port.close()
    }
}

/// `Range: bytes=…` against a body of known length.
struct ByteRangeTests {
    @Test(arguments: [
        ("bytes=0-99", 1000, ByteRange.part(0..<100)),
        ("bytes=900-", 1000, .part(900..<1000)),
        ("bytes=-100", 1000, .part(900..<1000)),
        ("bytes=-5000", 1000, .part(0..<1000)),
        ("bytes=500-99999", 1000, .part(500..<1000)),
        ("Bytes=10-19", 1000, .part(10..<20)),
        ("bytes=1000-", 1000, .unsatisfiable),
        ("bytes=-0", 1000, .unsatisfiable),
        ("bytes=0-", 0, .unsatisfiable),
        ("bytes=5-4", 1000, .whole),
        ("bytes=0-1,5-6", 1000, .whole),
        ("items=0-5", 1000, .whole),
        ("bytes=abc-", 1000, .whole),
        ("bytes=99999999999999999999-", 1000, .unsatisfiable),
        ("bytes=0-99999999999999999999", 1000, .part(0..<1000)),
        ("bytes=-99999999999999999999", 1000, .part(0..<1000)),
        ("bytes=", 1000, .whole),
    ])
    func range_IsReadAsRFC9110Says(header: String, length: Int, expected: ByteRange) {
        #expect(ByteRange(header: header, length: length) == expected)
    }

    @Test func noHeader_IsTheWholeBody() {
        #expect(ByteRange(header: nil, length: 10) == .whole)
    }

    @Test func dateHeader_IsRFC9110sIMFFixdate() {
        #expect(CivilTime(milliseconds: 784_111_777_000).httpDate == "Sun, 06 Nov 1994 08:49:37 GMT")  // RFC 9110's own example
        #expect(CivilTime(milliseconds: 1_798_761_599_999).httpDate == "Thu, 31 Dec 2026 23:59:59 GMT")
    }

    @Test func icecastsStatusDates_AreRFC822AndISO8601ToTheSecond_InUTC() {
        let time = CivilTime(milliseconds: 1_798_761_599_999)
        #expect(time.icecastDate == "Thu, 31 Dec 2026 23:59:59 +0000")
        #expect(time.icecastISO8601 == "2026-12-31T23:59:59+0000")
    }

    @Test func entityTags_MatchWeaklyAndInLists() {
        #expect(Exchange.tags("\"a-1.mp3\"", contain: "\"a-1.mp3\""))
        #expect(Exchange.tags("\"x\", W/\"a-1.mp3\"", contain: "\"a-1.mp3\""))
        #expect(Exchange.tags("*", contain: "\"a\""))
        #expect(!Exchange.tags("\"a-2.mp3\"", contain: "\"a-1.mp3\""))
        #expect(!Exchange.tags("", contain: "\"a\""))
    }
}
