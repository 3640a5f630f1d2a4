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
}
