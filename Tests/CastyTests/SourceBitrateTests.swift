import CastyNet
import CastyWire
import Testing

@testable import Casty

/// An AAC source that declares no bitrate: listeners are told the encoder's setting, the tree counts with the measure.
extension StationServerTests {
    @Test func anAACSourceMeasuredAt100_IsToldAs96_AndTheTreeCountsWith100() async throws {
        let server = try server { $0.segmentBytes = 8192 }  // 28 frames a segment: enough to measure
        defer { server.close() }
        // No ice-audio-info: the bitrate is measured on the frames — 290 bytes each at 44.1 kHz, 100 kbit/s with
        // their 7-byte headers, 97.5 without.
        let source = try await TestPeer.connect(to: server.address, on: loop)
        await source.send("PUT /live HTTP/1.1\r\nHost: x\r\nAuthorization: Basic \(Base64.encode(Array("source:hackme".utf8)))\r\n"
            + "Content-Type: audio/aac\r\nExpect: 100-continue\r\n\r\n")
        #expect(await source.waitFor(timeout: .seconds(10)) { String(decoding: $0, as: UTF8.self).hasPrefix("HTTP/1.1 100") })
        let feeding = keepFeeding(source, with: adtsFrames(10, length: 290))
        defer { feeding.cancel() }
        let player = try #require(try await TestPeer.player(of: server.address, on: loop, request: "GET /live HTTP/1.0\r\n\r\n"))
        #expect(await player.waitFor(timeout: .seconds(10)) { String(decoding: $0, as: UTF8.self).contains("\r\n\r\n") })
        #expect(player.text.contains("icy-br: 96\r\n"), "\(player.text.prefix(300))")
        let peer = try #require(try await TestPeer.player(of: server.address, on: loop, request: "GET /live HTTP/1.0\r\nX-Casty-Numbered: 1\r\n\r\n"))
        #expect(await peer.waitFor(timeout: .seconds(10)) { String(decoding: $0, as: UTF8.self).contains("\r\n\r\n") })
        #expect(peer.text.contains("X-Casty-Bitrate: 100\r\n") && peer.text.contains("icy-br: 96\r\n"), "\(peer.text.prefix(400))")
        let status = try await ask(server, "/status.json")
        #expect(status.contains(#""bitrate":96"#), "\(status)")
    }
}
