@testable import CastyNet
import Icy
import Testing

@testable import Casty

/// The front door and its route table: every request on a port is read once, then answered by one route.
struct FrontDoorTests {
    let loop = EventLoop.shared

    func serving(options: ClientOptions = ClientOptions(), logger: EventLog = .silent) throws -> (Distributor, ClientPort) {
        let distributor = Distributor(loop: loop, configuration: try .init(burst: 0))
        distributor.send(.reply(next: 0, context: testContext()))
        let port = try ClientPort(distributor: distributor, address: .loopback(port: 0), options: options, logger: logger)
        return (distributor, port)
    }

    @Test("Connections dropped for sending no request are logged a few at a time, the rest summed up")
    func silentConnections_AreLoggedWithinABudget() async throws {
        let log = StationServerTests.Log()
        var options = ClientOptions()
        options.headerTimeout = .milliseconds(300)
        let (_, port) = try serving(options: options, logger: log.logger)
        var peers: [TestPeer] = []
        for _ in 0..<12 { peers.append(try await TestPeer.connect(to: port.address, on: loop)) }
        let all = peers
        #expect(await eventually(timeout: .seconds(5)) { all.allSatisfy { $0.closed.value } })
        // Each drop is told: in a line of its own, five a window, or summed up when the window ends (12 drops are one
        // window's, unless a loaded run spread their connections over more than one).
        let told: @Sendable () -> (lines: Int, summed: Int) = {
            let lines = log.lines.value
            let summed = lines.compactMap { line -> Int? in
                guard line.hasSuffix("connections dropped without a request in the last 10.0 seconds (not logged one by one)") else { return nil }
                return Int(line.prefix { $0.isNumber })
            }
            return (lines.count { $0.contains("dropped: no request within") }, summed.reduce(0, +))
        }
        #expect(await eventually(timeout: .seconds(25)) { told().lines + told().summed == 12 }, "\(log.lines.value)")
        #expect(told().lines >= 5 && told().summed > 0, "\(log.lines.value)")
        #expect(told().summed == 7 || told().lines > 5, "five lines, then a sum of the other seven")
    }

    func ask(_ port: ClientPort, _ request: String) async throws -> String {
        let peer = try await TestPeer.connect(to: port.address, on: loop)
        await peer.send(request)
        #expect(await eventually { peer.closed.value })
        return peer.text
    }

    @Test func source_IsRefusedWith405_AndALogLine() async throws {
        let lines = Locked<[String]>([])
        let (_, port) = try serving(logger: EventLog { line in lines.update { $0.append(line) } })
        let text = try await ask(port, "SOURCE /live HTTP/1.0\r\nAuthorization: Basic c291cmNlOmhhY2ttZQ==\r\n\r\n")
        #expect(text.hasPrefix("HTTP/1.0 405 Method Not Allowed\r\n"))
        #expect(text.contains("Allow: GET, HEAD, OPTIONS\r\n"))
        #expect(lines.value.contains { $0.contains("source") && $0.contains("405") })
        #expect(!lines.value.contains { $0.contains("c291cmNlOmhhY2ttZQ") }, "credentials must never be logged")
        port.close()
    }

    @Test("A client that opens with a TLS handshake (https:// of a plain port) is told so in the log, not as a request line of escapes, and closed")
    func tlsHandshake_IsToldAsSuch_AndClosed() async throws {
        let lines = Locked<[String]>([])
        let (_, port) = try serving(logger: EventLog { line in lines.update { $0.append(line) } })
        defer { port.close() }
        let peer = try await TestPeer.connect(to: port.address, on: loop)
        await peer.send(bytes: [0x16, 0x03, 0x01, 0x00, 0xC8, 0x01] + [UInt8](repeating: 0xC8, count: 200))
        #expect(await eventually { peer.closed.value })
        #expect(peer.received.value.isEmpty, "no HTTP answer to a TLS client")
        #expect(lines.value.contains { $0.contains("refused: it opened with a TLS handshake (https:// asked of a plain HTTP port") }, "\(lines.value)")
        #expect(!lines.value.contains { $0.contains("\\x") || $0.contains("\\u{") }, "\(lines.value)")
    }

    @Test("A bare CR in the request line or a header line is answered 400, with one log line that shows it escaped")
    func bareCR_IsAnswered400_WithOneEscapedLogLine() async throws {
        let log = StationServerTests.Log()
        let (_, port) = try serving(logger: log.logger)
        defer { port.close() }
        for request in ["GET /status.json HTTP/1.0\r\nUser-Agent: a\rX-Hidden: 1\r\n\r\n", "GET /status.json\r HTTP/1.0\r\n\r\n"] {
            let text = try await ask(port, request)
            #expect(text.hasPrefix("HTTP/1.0 400 Bad Request\r\n"), "\(text)")
        }
        #expect(log.contains("refused: malformed header line: \"User-Agent: a\\rX-Hidden: 1\""), "\(log.lines.value)")
        #expect(log.contains("refused: malformed request line: \"GET /status.json\\r HTTP/1.0\""), "\(log.lines.value)")
        #expect(!log.lines.value.contains { $0.contains("\r") }, "one line each")
    }

    @Test("An HTTP/1.1 request without Host is answered 400 (RFC 9112 §3.2); an HTTP/1.0 one, as old ICY players send, is served")
    func http11WithoutHost_Is400_HTTP10WithoutHostIsServed() async throws {
        let log = StationServerTests.Log()
        let (_, port) = try serving(logger: log.logger)
        defer { port.close() }
        let noHost = try await ask(port, "GET /status.json HTTP/1.1\r\nConnection: close\r\n\r\n")
        #expect(noHost.hasPrefix("HTTP/1.0 400 Bad Request\r\n"), "\(noHost)")
        #expect(log.contains("refused: HTTP/1.1 request without a Host header"), "\(log.lines.value)")
        let named = try await ask(port, "GET /status.json HTTP/1.1\r\nHost: radio.example\r\nConnection: close\r\n\r\n")
        #expect(named.hasPrefix("HTTP/1.1 200 OK\r\n") || named.hasPrefix("HTTP/1.0 200 OK\r\n"), "\(named)")
        let old = try await ask(port, "GET /status.json HTTP/1.0\r\n\r\n")
        #expect(old.hasPrefix("HTTP/1.0 200 OK\r\n"), "\(old)")
    }

    @Test func unknownMethod_IsRefusedWith501() async throws {
        let (_, port) = try serving()
        let text = try await ask(port, "DELETE /live HTTP/1.0\r\n\r\n")
        #expect(text.hasPrefix("HTTP/1.0 501 Not Implemented\r\n"))
        #expect(text.contains("Allow: GET, HEAD, OPTIONS\r\n"))
        port.close()
    }

    /// `POST` is taken on `/commands/…` only: anywhere else it is a method this port does not take (`405`), not a
    /// path with nothing to play (`404 No mount here`, which a relay, whose every path plays, used to answer).
    @Test func post_OutsideTheCommands_IsRefusedWith405() async throws {
        let (_, port) = try serving()
        for path in ["/", "/live", "/status.json"] {
            let text = try await ask(port, "POST \(path) HTTP/1.0\r\nContent-Length: 0\r\n\r\n")
            #expect(text.hasPrefix("HTTP/1.0 405 Method Not Allowed\r\n"), "\(path): \(text)")
            #expect(text.contains("Allow: GET, HEAD, OPTIONS\r\n"), "\(path)")
        }
        port.close()
    }

    @Test func headOfStatus_HasItsLengthButNoBody() async throws {
        let (_, port) = try serving()
        let get = try await ask(port, "GET /status.json HTTP/1.0\r\n\r\n")
        let head = try await ask(port, "HEAD /status.json HTTP/1.0\r\n\r\n")
        #expect(head.hasPrefix("HTTP/1.0 200 OK\r\n"))
        #expect(head.contains("Content-Type: application/json\r\n"))
        #expect(head.hasSuffix("\r\n\r\n"), "no body after the head: \(head)")
        let length = get.split(separator: "\r\n").first { $0.hasPrefix("Content-Length: ") }
        #expect(length != nil && head.contains(String(length!)))
        port.close()
    }

    @Test func statusQuery_IsIgnored_AndAnyOtherPathPlaysTheOneMount() async throws {
        let (distributor, port) = try serving()
        let status = try await ask(port, "GET /status.json?pretty=1 HTTP/1.0\r\n\r\n")
        #expect(status.contains("\"icestats\"") || status.contains("{"))
        let player = try await TestPeer.connect(to: port.address, on: loop)
        await player.send("GET /some/playlist/path.mp3?type=.mp3 HTTP/1.0\r\n\r\n")
        #expect(await eventually { await distributor.stat().listeners == 1 })
        #expect(await player.waitFor { String(decoding: $0, as: UTF8.self).contains("\r\n\r\n") })
        #expect(player.text.hasPrefix("HTTP/1.0 200 OK\r\n"))
        port.close()
    }

    @Test func icyStatusLine_OnlyWhenAskedFor() async throws {
        var options = ClientOptions()
        options.icyStatusLine = true
        let (distributor, port) = try serving(options: options)
        let player = try await TestPeer.connect(to: port.address, on: loop)
        await player.send("GET / HTTP/1.0\r\nIcy-MetaData: 1\r\n\r\n")
        #expect(await eventually { await distributor.stat().listeners == 1 })
        #expect(await player.waitFor { String(decoding: $0, as: UTF8.self).contains("\r\n\r\n") })
        #expect(player.text.hasPrefix("ICY 200 OK\r\n"))
        port.close()
    }

    @Test func listening_ReadsTheWireFormBranchAndResume() throws {
        func request(_ text: String) throws -> Request {
            guard case .done(let request, _) = Icy.request(Array(text.utf8)) else { throw IcyError.unsupportedMethod("?") }
            return request
        }
        let player = Listening(try request("GET / HTTP/1.0\r\n\r\n"), branch: nil, stream: 7)
        #expect(player.form == .audio && !player.isBranch && player.resume == nil && !player.headOnly)
        let titles = Listening(try request("HEAD / HTTP/1.0\r\nIcy-MetaData: 1\r\n\r\n"), branch: nil, stream: 7)
        #expect(titles.form == .icy && titles.headOnly)
        let branch = Listening(try request("GET / HTTP/1.0\r\nX-Casty-Branch: 10.0.0.2:8001\r\nX-Casty-Resume: 41\r\nX-Casty-Stream: \(Context.streamText(7))\r\n\r\n"),
                               branch: "10.0.0.2:8001", stream: 7)
        #expect(branch.form == .numbered && branch.isBranch && branch.resume == 41)
        let otherStream = Listening(try request("GET / HTTP/1.0\r\nX-Casty-Branch: b:1\r\nX-Casty-Resume: 41\r\nX-Casty-Stream: \(Context.streamText(8))\r\n\r\n"),
                                    branch: "b:1", stream: 7)
        #expect(otherStream.resume == nil, "a resume within another stream is served from the burst")
    }

    @Test func logBudget_LogsTheFirstLinesOfAWindow_ThenSumsUpTheRest() async throws {
        let lines = Locked<[String]>([])
        // A window that never ends by itself: the test ends it, so a loaded machine cannot change the outcome.
        let budget = LogBudget(loop: loop, logger: EventLog { line in lines.update { $0.append(line) } },
                               what: "listener joins and leaves", perWindow: 3, window: .seconds(3600))
        await loop.submit { for index in 0..<10 { budget("listener \(index) joined") } }
        #expect(lines.value == ["listener 0 joined", "listener 1 joined", "listener 2 joined"])
        await loop.submit { budget.closeWindow() }
        #expect(lines.value.count == 4)
        #expect(lines.value.last?.hasPrefix("7 more listener joins and leaves in the last ") == true, "\(lines.value)")
        await loop.submit { budget("listener 10 joined") }
        #expect(lines.value.last == "listener 10 joined")
        await loop.submit { budget.closeWindow() }
        #expect(lines.value.count == 5, "no summary when nothing was left out")
    }
}

/// Browsers on other sites: the preflight, and the headers a page's script may read.
struct CORSTests {
    let loop = EventLoop.shared

    func serving(origins: [String]? = nil) throws -> (Distributor, ClientPort) {
        let distributor = Distributor(loop: loop, configuration: try .init(burst: 0))
        distributor.send(.reply(next: 0, context: testContext()))
        var options = ClientOptions()
        options.corsOrigins = origins
        return (distributor, try ClientPort(distributor: distributor, address: .loopback(port: 0), options: options))
    }

    @Test("Listed origins are read as browsers send them: lowercased, without the default port or a trailing slash; a path, a wildcard or a port out of range is no origin", arguments: [
        ("https://Radio.Example:443/", "https://radio.example"),
        ("http://LOCALHOST:8080", "http://localhost:8080"),
        ("http://radio.example:80", "http://radio.example"),
        ("https://radio.example:80", "https://radio.example:80"),
        ("http://[::1]:8080/", "http://[::1]:8080"),
        ("null", "null"),
        ("https://radio.example/player", nil),
        ("radio.example", nil),
        ("https://", nil),
        ("https://user@radio.example", nil),
        ("https://*.example.com", nil),
        ("https://radio.example:99999", nil),
        ("https://radio.example:0", nil),
        ("https://radio.example:", nil),
        ("https://[zz]:8080", nil),
    ] as [(String, String?)])
    func corsOrigin_IsReadAsBrowsersWriteIt(written: String, origin: String?) {
        #expect(CORS.origin(written) == origin)
    }

    @Test("A preflight of the admin API names the methods it takes: GET (HEAD /admin/… is 405)")
    func preflight_OfTheAdminAPI_NamesGETOnly() async throws {
        let (_, port) = try serving()
        let peer = try await TestPeer.connect(to: port.address, on: loop)
        await peer.send("OPTIONS /admin/metadata HTTP/1.0\r\nOrigin: https://radio.example\r\nAccess-Control-Request-Method: GET\r\n\r\n")
        #expect(await peer.waitFor { String(decoding: $0, as: UTF8.self).hasSuffix("\r\n\r\n") })
        #expect(peer.text.contains("Access-Control-Allow-Methods: GET, OPTIONS\r\n") && peer.text.contains("Allow: GET, OPTIONS\r\n"), "\(peer.text)")
    }

    @Test func preflight_Is204_WithWhatAPlayerPageNeeds() async throws {
        let (_, port) = try serving()
        let peer = try await TestPeer.connect(to: port.address, on: loop)
        await peer.send("OPTIONS /live HTTP/1.1\r\nHost: x\r\nOrigin: https://radio.example\r\nAccess-Control-Request-Method: GET\r\n"
            + "Access-Control-Request-Headers: icy-metadata\r\n\r\n")
        #expect(await peer.waitFor { String(decoding: $0, as: UTF8.self).hasSuffix("\r\n\r\n") })
        #expect(peer.text.hasPrefix("HTTP/1.1 204 No Content\r\n"), "a browser's HTTP/1.1 preflight keeps its connection")
        #expect(peer.text.contains("Access-Control-Allow-Origin: *\r\n"))
        #expect(peer.text.contains("Access-Control-Allow-Methods: GET, HEAD, OPTIONS\r\n"))
        #expect(peer.text.contains("Access-Control-Allow-Headers: Icy-MetaData, Range, Content-Type, Authorization\r\n"))
        #expect(peer.text.contains("Access-Control-Max-Age: 86400\r\n"))
        #expect(!peer.text.contains("Content-Length"), "a 204 has no body")

        // A header the page's player adds of its own (a token, as hls.js's xhrSetup adds) is allowed too; a name
        // that is no header name is not.
        let own = try await TestPeer.connect(to: port.address, on: loop)
        await own.send("OPTIONS /live/index.m3u8 HTTP/1.1\r\nHost: x\r\nOrigin: https://radio.example\r\nAccess-Control-Request-Method: GET\r\n"
            + "Access-Control-Request-Headers: icy-metadata, x-player-token, bad name, x-Session\r\n\r\n")
        #expect(await own.waitFor { String(decoding: $0, as: UTF8.self).hasSuffix("\r\n\r\n") })
        #expect(own.text.contains("Access-Control-Allow-Headers: Icy-MetaData, Range, Content-Type, Authorization, x-player-token, x-Session\r\n"),
                "\(own.text)")
        #expect(own.text.contains("Vary: Access-Control-Request-Headers\r\n"), "\(own.text)")

        // The command API's preflight names the POST it takes, and the headers that name a stream.
        let command = try await TestPeer.connect(to: port.address, on: loop)
        await command.send("OPTIONS /commands/close HTTP/1.1\r\nHost: x\r\nOrigin: https://radio.example\r\nAccess-Control-Request-Method: POST\r\n"
            + "Access-Control-Request-Headers: x-streaming-channel, x-streaming-id, authorization\r\n\r\n")
        #expect(await command.waitFor { String(decoding: $0, as: UTF8.self).hasSuffix("\r\n\r\n") })
        #expect(command.text.contains("Access-Control-Allow-Methods: POST, OPTIONS\r\n") && command.text.contains("Allow: POST, OPTIONS\r\n"),
                "\(command.text)")
        #expect(command.text.contains("Authorization, x-streaming-channel, x-streaming-id\r\n"), "each named once, asked or not: \(command.text)")
        port.close()
    }

    @Test func stream_ExposesItsIcyHeaders_ToAPageOnAListedOrigin() async throws {
        let (distributor, port) = try serving(origins: ["https://radio.example"])
        let page = try await TestPeer.connect(to: port.address, on: loop)
        await page.send("GET /live HTTP/1.1\r\nHost: x\r\nOrigin: https://radio.example\r\nIcy-MetaData: 1\r\n\r\n")
        #expect(await eventually { await distributor.stat().listeners == 1 })
        #expect(await page.waitFor { String(decoding: $0, as: UTF8.self).contains("\r\n\r\n") })
        #expect(page.text.contains("Access-Control-Allow-Origin: https://radio.example\r\n"))
        #expect(page.text.contains("Vary: Origin\r\n"))
        #expect(page.text.contains("Access-Control-Expose-Headers: Icy-MetaInt, Icy-Br, Icy-Name"))
        let stranger = try await TestPeer.connect(to: port.address, on: loop)
        await stranger.send("GET /status.json HTTP/1.1\r\nHost: x\r\nOrigin: https://elsewhere.example\r\nConnection: close\r\n\r\n")
        #expect(await eventually { stranger.closed.value })
        #expect(!stranger.text.contains("Access-Control-Allow-Origin"), "an origin not on the list gets no permission")
        #expect(stranger.text.contains("Vary: Origin\r\n"), "nor may a cache hand it the listed site's answer, or the other way round")
        let noOrigin = try await TestPeer.connect(to: port.address, on: loop)
        await noOrigin.send("GET /status.json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        #expect(await eventually { noOrigin.closed.value })
        #expect(noOrigin.text.contains("Vary: Origin\r\n"))
        port.close()
    }

    @Test("A player told 503 for want of a stream gets the CORS headers every answer has, Retry-After readable by a page of another site",
          arguments: [nil, ["https://radio.example"]] as [[String]?])
    func noStreamYet503_HasTheCORSHeaders(origins: [String]?) async throws {
        var configuration = Distributor.Configuration()
        configuration.startWait = .milliseconds(200)
        let distributor = Distributor(loop: loop, configuration: configuration)
        distributor.attachSource(RecorderNode(loop: loop))  // takes the request, never replies: no stream comes
        var options = ClientOptions()
        options.corsOrigins = origins
        let port = try ClientPort(distributor: distributor, address: .loopback(port: 0), options: options)
        defer { port.close() }
        let page = try await TestPeer.connect(to: port.address, on: loop)
        await page.send("GET /live HTTP/1.1\r\nHost: x\r\nOrigin: https://radio.example\r\n\r\n")
        #expect(await eventually(timeout: .seconds(5)) { page.closed.value })
        #expect(page.text.hasPrefix("HTTP/1.0 503 Service Unavailable\r\n") && page.text.contains("Retry-After: 2\r\n"), "\(page.text)")
        #expect(page.text.contains("Access-Control-Allow-Origin: \(origins == nil ? "*" : "https://radio.example")\r\n"), "\(page.text)")
        #expect(page.text.contains("Access-Control-Expose-Headers: \(CORS.exposedHeaders)\r\n") && CORS.exposedHeaders.contains("Retry-After")
                && CORS.exposedHeaders.contains("Content-Range") && CORS.exposedHeaders.contains("ETag"),
                "\(page.text)")
        #expect(page.text.contains("Vary: Origin\r\n") == (origins != nil), "\(page.text)")
    }

    @Test("A preflight from an origin not listed says Vary: Origin once, beside the headers it asked for")
    func preflight_FromAnOriginNotListed_NamesOriginOnceInVary() async throws {
        let (_, port) = try serving(origins: ["http://localhost:42110"])
        let page = try await TestPeer.connect(to: port.address, on: loop)
        await page.send("OPTIONS /live HTTP/1.1\r\nHost: x\r\nOrigin: http://127.0.0.1:42110\r\nAccess-Control-Request-Method: GET\r\n"
            + "Access-Control-Request-Headers: icy-metadata\r\n\r\n")
        #expect(await page.waitFor { String(decoding: $0, as: UTF8.self).hasSuffix("\r\n\r\n") })
        #expect(!page.text.contains("Access-Control-Allow-Origin"), "\(page.text)")
        #expect(page.text.contains("Vary: Origin, Access-Control-Request-Headers\r\n"), "\(page.text)")
        port.close()
    }
}

/// Behind a reverse proxy: only a trusted proxy may say who the client is.
struct TrustedProxyTests {
    let loop = EventLoop.shared

    @Test func forwardedAddress_IsBelievedOnlyFromATrustedProxy() throws {
        let proxies = try #require(TrustedProxies(["127.0.0.1", "10.0.0.0/8", "fd00::/8"]))
        #expect(proxies.client(peer: "127.0.0.1", forwardedFor: "203.0.113.7", realIP: nil) == "203.0.113.7")
        #expect(proxies.client(peer: "10.1.2.3", forwardedFor: "198.51.100.1, 203.0.113.9", realIP: nil) == "203.0.113.9")
        #expect(proxies.client(peer: "fd12::1", forwardedFor: nil, realIP: "2001:db8::5") == "2001:db8::5")
        #expect(proxies.client(peer: "192.0.2.1", forwardedFor: "203.0.113.7", realIP: nil) == "192.0.2.1", "a stranger cannot choose")
        #expect(proxies.client(peer: "127.0.0.1", forwardedFor: "not an address", realIP: nil) == "127.0.0.1")
        #expect(TrustedProxies(["10.0.0.0/33"]) == nil)
        #expect(TrustedProxies(["nowhere"]) == nil)
    }

    @Test func anIPv4Proxy_IsTrusted_WhenItReachesASocketOnIPv6() throws {
        // With `--host ::`, nginx on 127.0.0.1 is the peer `::ffff:127.0.0.1`.
        let proxies = try #require(TrustedProxies(["127.0.0.1", "10.0.0.0/8"]))
        #expect(proxies.client(peer: "::ffff:127.0.0.1", forwardedFor: "203.0.113.7", realIP: nil) == "203.0.113.7")
        #expect(proxies.client(peer: "::ffff:10.9.8.7", forwardedFor: nil, realIP: "203.0.113.8") == "203.0.113.8")
        #expect(proxies.scheme(peer: "::ffff:127.0.0.1", forwardedProto: "https") == "https")
        #expect(proxies.client(peer: "::ffff:192.0.2.1", forwardedFor: "203.0.113.7", realIP: nil) == "::ffff:192.0.2.1", "a stranger cannot choose")
        #expect(proxies.client(peer: "127.0.0.1", forwardedFor: "203.0.113.7, ::ffff:10.0.0.2", realIP: nil) == "203.0.113.7",
                "a mapped entry of a trusted proxy is walked past")
        // Written mapped, a range is its IPv4 one; no mapped range may hold what is not IPv4.
        let mapped = try #require(TrustedProxies(["::ffff:10.0.0.0/104", "::ffff:127.0.0.1"]))
        #expect(mapped.client(peer: "10.200.0.1", forwardedFor: "203.0.113.7", realIP: nil) == "203.0.113.7")
        #expect(mapped.client(peer: "127.0.0.1", forwardedFor: "203.0.113.7", realIP: nil) == "203.0.113.7")
        #expect(mapped.client(peer: "11.0.0.1", forwardedFor: "203.0.113.7", realIP: nil) == "11.0.0.1")
        #expect(TrustedProxies(["::ffff:0.0.0.0/95"]) == nil)
        #expect(try #require(TrustedProxies(["::/0"])).client(peer: "192.0.2.1", forwardedFor: "203.0.113.7", realIP: nil) == "192.0.2.1",
                "an IPv6 range holds no IPv4 peer")
    }

    @Test func forwardedFor_IsWalkedFromTheRight_PastEveryTrustedProxy() throws {
        // A CDN (198.18.0.0/15) in front of nginx (127.0.0.1), both trusted: nginx appends the CDN's address.
        let proxies = try #require(TrustedProxies(["127.0.0.1", "198.18.0.0/15"]))
        #expect(proxies.client(peer: "127.0.0.1", forwardedFor: "203.0.113.7, 198.18.4.2", realIP: "198.18.4.2") == "203.0.113.7",
                "the client, not the CDN")
        #expect(proxies.client(peer: "127.0.0.1", forwardedFor: "192.0.2.66, 203.0.113.7, 198.18.4.2", realIP: nil) == "203.0.113.7",
                "what the client wrote itself, left of the first untrusted address, is not believed")
        #expect(proxies.client(peer: "127.0.0.1", forwardedFor: "198.18.0.9,198.18.4.2", realIP: nil) == "198.18.0.9",
                "every entry a trusted proxy: the leftmost")
        #expect(proxies.client(peer: "127.0.0.1", forwardedFor: "evil, 198.18.4.2", realIP: nil) == "198.18.4.2",
                "an entry that is not an address ends the walk at the last proxy vouched for")
        #expect(proxies.client(peer: "127.0.0.1", forwardedFor: "203.0.113.7, evil", realIP: "203.0.113.8") == "203.0.113.8")
    }

    @Test("Entries with a port (Azure, IIS) name their address; the scheme a trusted TLS terminator forwards is believed")
    func forwardedEntriesWithAPort_AndTheForwardedScheme() throws {
        let proxies = try #require(TrustedProxies(["127.0.0.1"]))
        #expect(proxies.client(peer: "127.0.0.1", forwardedFor: "203.0.113.9:5555", realIP: nil) == "203.0.113.9")
        #expect(proxies.client(peer: "127.0.0.1", forwardedFor: "[2001:db8::1]:443", realIP: nil) == "2001:db8::1")
        #expect(proxies.client(peer: "127.0.0.1", forwardedFor: "2001:db8::1", realIP: nil) == "2001:db8::1")
        #expect(proxies.scheme(peer: "127.0.0.1", forwardedProto: "https") == "https")
        #expect(proxies.scheme(peer: "127.0.0.1", forwardedProto: "HTTPS, http") == "https")
        #expect(proxies.scheme(peer: "127.0.0.1", forwardedProto: nil) == "http")
        #expect(proxies.scheme(peer: "192.0.2.1", forwardedProto: "https") == "http", "a stranger cannot choose")
    }

    @Test func forwardedFor_IsReadForAtMostSixteenEntries() throws {
        let proxies = try #require(TrustedProxies(["127.0.0.1", "10.0.0.0/8"]))
        let hops = (1...40).map { "10.0.0.\($0)" }
        #expect(proxies.client(peer: "127.0.0.1", forwardedFor: (["203.0.113.7"] + hops).joined(separator: ", "), realIP: nil)
                == "10.0.0.\(40 - TrustedProxies.maxForwardedHops + 1)", "the leftmost proxy of the 16 read")
        #expect(proxies.client(peer: "127.0.0.1", forwardedFor: (["203.0.113.7"] + hops.suffix(15)).joined(separator: ","), realIP: nil)
                == "203.0.113.7")
    }

    @Test func listenerBehindATrustedProxy_IsLoggedUnderItsRealAddress() async throws {
        let lines = Locked<[String]>([])
        let distributor = Distributor(loop: loop, configuration: try .init(burst: 0))
        distributor.send(.reply(next: 0, context: testContext()))
        var options = ClientOptions()
        options.trustedProxies = TrustedProxies(["127.0.0.1"])
        let port = try ClientPort(distributor: distributor, address: .loopback(port: 0), options: options,
                                  logger: EventLog { line in lines.update { $0.append(line) } })
        let player = try await TestPeer.connect(to: port.address, on: loop)
        await player.send("GET / HTTP/1.0\r\nX-Forwarded-For: 203.0.113.7\r\n\r\n")
        #expect(await eventually { lines.value.contains { $0.contains("listener 203.0.113.7 (via 127.0.0.1:") && $0.contains("joined") } },
                "\(lines.value)")
        // A proxy that adds its own line after the client's (HAProxy's add-header): the lines are one list, read
        // from the right — the address the client wrote in its own line is not believed.
        let forger = try await TestPeer.connect(to: port.address, on: loop)
        await forger.send("GET / HTTP/1.0\r\nX-Forwarded-For: 6.6.6.6\r\nX-Real-IP: 6.6.6.7\r\nX-Forwarded-For: 203.0.113.61\r\n\r\n")
        #expect(await eventually { lines.value.contains { $0.contains("listener 203.0.113.61 (via 127.0.0.1:") && $0.contains("joined") } },
                "\(lines.value)")
        #expect(!lines.value.contains { $0.contains("6.6.6.6") }, "\(lines.value)")
        port.close()
    }

    @Test func repeatedHeaderLines_AreAllRead_InOrder() {
        let headers: Headers = ["X-Forwarded-For": "6.6.6.6", "Host": "a", "x-forwarded-for": "203.0.113.61"]
        #expect(headers.values("X-Forwarded-For") == ["6.6.6.6", "203.0.113.61"])
        #expect(headers["X-Forwarded-For"] == "6.6.6.6", "the subscript reads the first line")
        #expect(headers.values("X-Real-IP").isEmpty)
    }
}
