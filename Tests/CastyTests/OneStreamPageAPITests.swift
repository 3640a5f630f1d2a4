@testable import CastyNet
import Icy
import Testing

@testable import Casty

/// The page API of a port of one stream — a proxy, a branch under a root URL with a path (`--root
/// http://root/live`) — which plays its stream at every path: a player page opened at `/player/live` asks
/// `/api/mounts/live` and follows `/api/mounts/live/ws` (or `/events`), and gets that stream's name, title and
/// listeners, as its `<audio>` gets the stream at `/live`.
struct OneStreamPageAPITests {
    /// A port of one stream on `loop`, its stream on the air with the title `Song 0`.
    func serving(on loop: EventLoop) throws -> ClientPort {
        let distributor = Distributor(loop: loop, configuration: try .init(burst: 0))
        distributor.send(.reply(next: 0, context: testContext()))
        for segment in testSegments(2, titleAt: [0]) { distributor.send(.data(segment.number, segment)) }
        var options = ClientOptions()
        options.headerTimeout = .seconds(30)
        return try ClientPort(distributor: distributor, address: .loopback(port: 0), options: options, logger: EventLog { _ in })
    }

    @Test("A port of one stream describes it under any mount name a page asks, as it plays it at any path, naming it /",
          arguments: ["/live", "/live/", "/stream.mp3", "/a/b", "/"])
    func details_AnswerForTheOneStream_WhateverMountIsNamed(mount: String) async throws {
        let loop = EventLoop(name: "test-one-stream-api")
        defer { loop.shutdown() }
        let port = try serving(on: loop)
        defer { port.close() }
        let page = try await TestPeer.connect(to: port.address, on: loop)
        await page.send("GET /api/mounts\(mount) HTTP/1.0\r\n\r\n")
        #expect(await eventually(timeout: .seconds(10)) { page.closed.value })
        #expect(page.text.hasPrefix("HTTP/1.0 200 OK\r\n"), "\(page.text)")
        #expect(page.text.contains(#""mount":"/","name":"Test FM""#), "\(page.text)")
        #expect(page.text.contains(#""title":"Song 0""#) && page.text.contains(#""live":true"#), "\(page.text)")
    }

    @Test("A port of one stream sends its titles to a page that follows a mount of any name, over Server-Sent Events")
    func titleEvents_AnswerForTheOneStream_WhateverMountIsNamed() async throws {
        let loop = EventLoop(name: "test-one-stream-events")
        defer { loop.shutdown() }
        let port = try serving(on: loop)
        defer { port.close() }
        let page = try await TestPeer.connect(to: port.address, on: loop)
        await page.send("GET /api/mounts/live/events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n")
        #expect(await page.waitFor(timeout: .seconds(10)) { String(decoding: $0, as: UTF8.self).contains("Song 0") }, "\(page.text)")
        #expect(page.text.hasPrefix("HTTP/1.0 200 OK\r\n") && page.text.contains("Content-Type: text/event-stream\r\n"), "\(page.text)")
        #expect(page.text.contains("event: title\n"), "\(page.text)")
    }

    @Test("A port of one stream takes the title WebSocket of a mount of any name, and sends the stream's title on it")
    func titleWebSocket_AnswersForTheOneStream_WhateverMountIsNamed() async throws {
        let loop = EventLoop(name: "test-one-stream-ws")
        defer { loop.shutdown() }
        let port = try serving(on: loop)
        defer { port.close() }
        let page = try await TestPeer.connect(to: port.address, on: loop)
        await page.send("GET /api/mounts/live/ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
        #expect(await page.waitFor(timeout: .seconds(10)) { String(decoding: $0, as: UTF8.self).contains("Song 0") }, "\(page.text)")
        #expect(page.text.hasPrefix("HTTP/1.1 101 Switching Protocols\r\n"), "\(page.text)")
    }
}
