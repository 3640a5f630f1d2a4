import Testing

@testable import Casty
@testable import CastyNet

/// What a web page gets: the mounts as JSON, live title events, and the player page.
struct BrowserAPITests {
    let loop = EventLoop.shared

    func server() async throws -> (StationServer, Station) {
        var configuration = StationServer.Configuration()
        configuration.sourcePassword = "pw"
        configuration.mounts = ["/radio"]
        configuration.segmentBytes = 4170
        let server = try StationServer.start(configuration, address: .loopback(port: 0), loop: loop)
        let station = try Station.builtIn(titles: ["Song"], titleInterval: .milliseconds(700), segmentBytes: 4170, loop: loop)
        await station.start()
        server.attach(station, at: "/radio")
        return (server, station)
    }

    func get(_ server: StationServer, _ request: String) async throws -> TestPeer {
        let peer = try await TestPeer.connect(to: server.address, on: loop)
        await peer.send(request)
        return peer
    }

    @Test func titleEvents_ArriveAsTheTitleChanges_CurrentOneFirst() async throws {
        let (server, station) = try await server()
        #expect(await eventually { try! await get(server, "GET /api/mounts HTTP/1.0\r\n\r\n").waitFor { String(decoding: $0, as: UTF8.self).contains("\"live\":true") } })
        let page = try await get(server, "GET /api/mounts/radio/events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n")
        #expect(await page.waitFor(timeout: .seconds(5)) { String(decoding: $0, as: UTF8.self).components("event: title") >= 3 })
        #expect(page.text.hasPrefix("HTTP/1.0 200 OK\r\n"))
        #expect(page.text.contains("Content-Type: text/event-stream\r\n"))
        // The first event is the title current when the page connected, then one per change, in order.
        let titles = page.text.split(separator: "\n").filter { $0.hasPrefix("data: ") }.compactMap { line in
            line.split(separator: "\"").dropFirst(3).first.map(String.init)
        }
        let numbers = titles.map { $0 == "Song" ? 1 : Int($0.dropFirst("Song #".count)) ?? -1 }
        #expect(numbers.count >= 3 && numbers.allSatisfy { $0 > 0 }, "\(titles)")
        #expect(zip(numbers, numbers.dropFirst()).allSatisfy { $1 == $0 + 1 }, "one event per change, in order: \(titles)")
        let details = try await get(server, "GET /api/mounts/radio HTTP/1.0\r\n\r\n")
        #expect(await eventually { details.closed.value })
        #expect(details.text.contains("\"titles\":[{\"title\":\"Song #"))
        #expect(details.text.contains("Access-Control-Allow-Origin: *"))
        // A trailing slash names the same mount, as it does for the player page.
        let slashed = try await get(server, "GET /api/mounts/radio/ HTTP/1.0\r\n\r\n")
        #expect(await eventually { slashed.closed.value })
        #expect(slashed.text.hasPrefix("HTTP/1.0 200") && slashed.text.contains("\"mount\":\"/radio\""), "\(slashed.text)")
        station.stop()
        server.close()
    }

    @Test func browser_GetsThePlayerPage_APlayerGetsTheStream() async throws {
        let (server, station) = try await server()
        let browser = try await get(server, "GET / HTTP/1.1\r\nHost: x\r\nAccept: text/html,application/xhtml+xml\r\n\r\n")
        #expect(await browser.waitFor { String(decoding: $0, as: UTF8.self).contains("</html>") }, "the page, on a kept connection")
        #expect(browser.text.hasPrefix("HTTP/1.1 200 OK\r\n") && browser.text.contains("Connection: keep-alive\r\n"))
        #expect(browser.text.contains("Content-Type: text/html; charset=utf-8"))
        // `/` answers a browser's page load and a player differently: a shared cache is told to keep them apart.
        #expect(browser.text.contains("\r\nVary: Accept\r\n"), "\(browser.text.prefix(400))")
        #expect(browser.text.contains("new EventSource("))
        let named = try await get(server, "GET /player/radio HTTP/1.0\r\n\r\n")
        #expect(await eventually { named.closed.value })
        #expect(named.text.contains("<audio id=\"audio\""))
        let player = try await get(server, "GET / HTTP/1.0\r\nIcy-MetaData: 1\r\n\r\n")
        #expect(await player.waitFor { String(decoding: $0, as: UTF8.self).contains("icy-metaint: 4170") })
        // The stream at `/` varies with Accept as the page does; at its mount's own path it does not.
        #expect(player.text.contains("\r\nVary: Accept\r\n"), "\(player.text.prefix(400))")
        let atMount = try await get(server, "GET /radio HTTP/1.0\r\nIcy-MetaData: 1\r\n\r\n")
        #expect(await atMount.waitFor { String(decoding: $0, as: UTF8.self).contains("icy-metaint: 4170") })
        #expect(!atMount.text.contains("Vary:"), "\(atMount.text.prefix(400))")
        station.stop()
        server.close()
    }
}

extension String {
    /// How many times `part` occurs.
    func components(_ part: String) -> Int {
        var count = 0
        var rest = self[...]
        while let range = rest.firstRange(of: part) {
            count += 1
            rest = rest[range.upperBound...]
        }
        return count
    }
}

/// The title events over WebSocket, with the handshake's SHA-1 and base64 written without packages.
struct WebSocketTests {
    let loop = EventLoop.shared

    @Test func sha1AndTheHandshake_MatchTheStandardsExamples() {
        let hex = SHA1.digest(Array("abc".utf8)).map { String($0, radix: 16) }.map { $0.count == 1 ? "0" + $0 : $0 }.joined()
        #expect(hex == "a9993e364706816aba3e25717850c26c9cd0d89d")
        #expect(SHA1.digest(Array(repeating: UInt8(ascii: "a"), count: 1000)).count == 20)
        #expect(WebSocket.accept(key: "dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")  // RFC 6455, 1.3
        #expect(WebSocket.textFrame("hi") == [0x81, 2, 0x68, 0x69])
        #expect(Array(WebSocket.textFrame(String(repeating: "x", count: 300)).prefix(4)) == [0x81, 126, 1, 44])
    }

    @Test func page_GetsTitleEventsOverAWebSocket() async throws {
        var configuration = StationServer.Configuration()
        configuration.sourcePassword = "pw"
        configuration.mounts = ["/radio"]
        configuration.segmentBytes = 4170
        let server = try StationServer.start(configuration, address: .loopback(port: 0), loop: loop)
        let station = try Station.builtIn(titles: ["Song"], titleInterval: .milliseconds(600), segmentBytes: 4170, loop: loop)
        await station.start()
        server.attach(station, at: "/radio")
        let page = try await TestPeer.connect(to: server.address, on: loop)
        await page.send("GET /api/mounts/radio/ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
        #expect(await page.waitFor(timeout: .seconds(4)) { String(decoding: $0, as: UTF8.self).components("{\"title\":\"Song") >= 2 })
        #expect(page.text.hasPrefix("HTTP/1.1 101 Switching Protocols\r\n"))
        #expect(page.text.contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"))
        let body = Array(page.received.value.drop { _ in false })
        let head = page.text.utf8.count - String(page.text.split(separator: "\r\n\r\n", maxSplits: 1).last ?? "").utf8.count
        #expect(body[head] == 0x81, "a text frame follows the handshake")
        station.stop()
        server.close()
    }

    @Test("A WebSocket handshake RFC 6455 refuses is refused: another version gets 426 naming 13, a key that is not 16 bytes, HTTP/1.0 or HEAD get 400",
          arguments: [
              ("GET", "HTTP/1.1", "dGhlIHNhbXBsZSBub25jZQ==", "8", "426 Upgrade Required"),
              ("GET", "HTTP/1.1", "dGhlIHNhbXBsZSBub25jZQ==", nil, "426 Upgrade Required"),
              ("GET", "HTTP/1.1", "c2hvcnQ=", "13", "400 Bad Request"),
              ("GET", "HTTP/1.0", "dGhlIHNhbXBsZSBub25jZQ==", "13", "400 Bad Request"),
              ("HEAD", "HTTP/1.1", "dGhlIHNhbXBsZSBub25jZQ==", "13", "400 Bad Request"),
              ("GET", "HTTP/1.1", " dGhlIHNhbXBsZSBub25jZQ== ", " 13", "101 Switching Protocols"),
          ] as [(String, String, String, String?, String)])
    func webSocket_HandshakesRFC6455Refuses_AreRefused(method: String, version: String, key: String, wsVersion: String?, status: String) async throws {
        var configuration = StationServer.Configuration()
        configuration.sourcePassword = "pw"
        configuration.mounts = ["/radio"]
        let server = try StationServer.start(configuration, address: .loopback(port: 0), loop: loop)
        defer { server.close() }
        let page = try await TestPeer.connect(to: server.address, on: loop)
        await page.send("\(method) /api/mounts/radio/ws \(version)\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key:\(key)\r\n" + (wsVersion.map { "Sec-WebSocket-Version:\($0)\r\n" } ?? "") + "\r\n")
        #expect(await page.waitFor { String(decoding: $0, as: UTF8.self).contains("\r\n\r\n") })
        #expect(page.text.split(separator: "\r\n").first?.hasSuffix(status) == true, "\(page.text)")
        if status.hasPrefix("426") { #expect(page.text.contains("Sec-WebSocket-Version: 13\r\n")) }
    }

    @Test("With --cors-origins, a WebSocket from a page of another origin is refused with 403; a listed origin, and a client that is no page, are served")
    func webSocket_FromAnOriginNotListed_IsRefused() async throws {
        var configuration = StationServer.Configuration()
        configuration.sourcePassword = "pw"
        configuration.mounts = ["/radio"]
        configuration.segmentBytes = 4170
        configuration.options.corsOrigins = ["https://radio.example"]
        let log = StationServerTests.Log()
        let server = try StationServer.start(configuration, address: .loopback(port: 0), loop: loop, logger: log.logger)
        let station = try Station.builtIn(titles: ["Song"], titleInterval: .milliseconds(600), segmentBytes: 4170, loop: loop)
        await station.start()
        server.attach(station, at: "/radio")
        func open(_ origin: String?, host: String = "x", version: String = "13") async throws -> TestPeer {
            let peer = try await TestPeer.connect(to: server.address, on: loop)
            await peer.send("GET /api/mounts/radio/ws HTTP/1.1\r\nHost: \(host)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + (origin.map { "Origin: \($0)\r\n" } ?? "") + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: \(version)\r\n\r\n")
            return peer
        }
        let stranger = try await open("https://other.example")
        #expect(await stranger.waitFor { String(decoding: $0, as: UTF8.self).hasPrefix("HTTP/1.0 403") || String(decoding: $0, as: UTF8.self).hasPrefix("HTTP/1.1 403") }, "\(stranger.text)")
        // Refused for its origin before it is told which version would do.
        let olderStranger = try await open("https://other.example", version: "8")
        #expect(await olderStranger.waitFor { String(decoding: $0, as: UTF8.self).contains(" 403 ") }, "\(olderStranger.text)")
        // The log shows what was sent, its control characters escaped (not dropped).
        let forged = try await open("https://a\u{1B}[31m.example")
        #expect(await forged.waitFor { String(decoding: $0, as: UTF8.self).contains(" 403 ") })
        #expect(await eventually { log.contains("a WebSocket from https://a\\e[31m.example, not in --cors-origins (403)") }, "\(log.lines.value)")
        for allowed in ["https://Radio.Example:443", nil] {
            let page = try await open(allowed)
            #expect(await page.waitFor { String(decoding: $0, as: UTF8.self).hasPrefix("HTTP/1.1 101") }, "\(allowed ?? "no Origin"): \(page.text)")
        }
        // A page of the site it asks (its host and port the request's Host: the node's own player page, or one behind
        // the same TLS proxy) is served unlisted, as its fetch needs no CORS; a look-alike host is not.
        for (origin, host, served) in [("http://127.0.0.1:8000", "127.0.0.1:8000", true), ("https://Stream.Example", "stream.example:443", true),
                                       ("https://stream.example:8443", "stream.example:443", false), ("https://stream.example.evil", "stream.example", false)] {
            let page = try await open(origin, host: host)
            let status = served ? "HTTP/1.1 101" : "HTTP/1.0 403"
            #expect(await page.waitFor { String(decoding: $0, as: UTF8.self).hasPrefix(status) }, "\(origin) to \(host): \(page.text)")
        }
        // The player page at `/` varies with both: the Accept that chose it, and the Origin its CORS answer depends on.
        let browser = try await TestPeer.connect(to: server.address, on: loop)
        await browser.send("GET / HTTP/1.0\r\nAccept: text/html\r\nOrigin: https://radio.example\r\n\r\n")
        #expect(await eventually { browser.closed.value })
        #expect(browser.text.contains("\r\nVary: Accept, Origin\r\n"), "\(browser.text.prefix(400))")
        station.stop()
        server.close()
    }
}
