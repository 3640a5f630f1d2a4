import Testing

@testable import Casty
@testable import CastyNet

/// The API's answers stay JSON whatever path a client sends.
extension BrowserAPITests {
    @Test(arguments: ["/api/mounts/a\"}x", "/api/mounts/a%22%5C"])
    func unknownMount_Is404_InJSON_WhateverThePathHolds(path: String) async throws {
        let (server, station) = try await server()
        let peer = try await get(server, "GET \(path) HTTP/1.0\r\n\r\n")
        #expect(await eventually(timeout: .seconds(10)) { peer.closed.value })
        let text = peer.text
        #expect(text.hasPrefix("HTTP/1.0 404"), "\(text)")
        let body = text.split(separator: "\r\n\r\n", maxSplits: 1).last.map(String.init) ?? ""
        #expect(body == "{\"error\":\"no mount /a\\\"}x\"}\n" || body == "{\"error\":\"no mount /a\\\"\\\\\"}\n", "\(body)")
        station.stop()
        server.close()
    }

    @Test("Only /api/mounts… names a mount: another word in its place is 404, not a mount", arguments: [
        "/api/XXXXXX/radio", "/api/abcdef/radio/events", "/api/../status.json", "/api/", "/api/mountsXradio",
    ])
    func pathThatIsNoAPIRoute_Is404(path: String) async throws {
        let (server, station) = try await server()
        let peer = try await get(server, "GET \(path) HTTP/1.0\r\n\r\n")
        #expect(await eventually(timeout: .seconds(10)) { peer.closed.value })
        #expect(peer.text.hasPrefix("HTTP/1.0 404"), "\(peer.text)")
        #expect(!peer.text.contains("text/event-stream"))
        station.stop()
        server.close()
    }

    @Test func headOfTheTitleEvents_IsTheirHead_WithoutEvents_AndCloses() async throws {
        let (server, station) = try await server()
        let peer = try await get(server, "HEAD /api/mounts/radio/events HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(await eventually(timeout: .seconds(5)) { peer.closed.value })
        #expect(peer.text.hasPrefix("HTTP/1.0 200 OK\r\n") && peer.text.contains("Content-Type: text/event-stream\r\n"), "\(peer.text)")
        #expect(peer.text.hasSuffix("\r\n\r\n"), "no body after the head: \(peer.text)")
        station.stop()
        server.close()
    }
}
