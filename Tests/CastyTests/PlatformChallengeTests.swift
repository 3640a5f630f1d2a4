import Icy
import Testing

@testable import Casty
@testable import CastyNet

/// libshout (ezstream, butt, ices) publishes in two steps: a first `SOURCE` without credentials, which must be
/// answered `401` with `WWW-Authenticate`, then the same with them. With keys verified, the first is challenged
/// — not refused `403` after asking the application about an empty key, which made ezstream give up with "Login
/// failed" —, the second is verified; a `?key=` without Basic auth is still the application's to judge.
extension PlatformServerTests {
    @Test func sourceWithoutCredentials_IsChallenged_WithoutAskingTheApplication_ThenPublishesWithThem() async throws {
        let app = try App(keys: ["good"], on: loop)
        let log = StationServerTests.Log()
        let server = try await server(app: app, log: log)
        defer { server.close() }
        let probe = try await TestPeer.connect(to: server.address, on: loop)
        await probe.send("SOURCE /ez HTTP/1.0\r\nHost: x\r\nUser-Agent: libshout/2.4.6\r\nContent-Type: audio/mpeg\r\nContent-Length: 0\r\n\r\n")
        #expect(await eventually(timeout: .seconds(15)) { probe.closed.value })
        #expect(probe.text.hasPrefix("HTTP/1.0 401"), "\(probe.text)")
        #expect(probe.text.contains("WWW-Authenticate: Basic"), "\(probe.text)")
        #expect(app.upstream.requests.value.isEmpty, "the application is not asked about an empty key")
        let source = try await station.source(server, mount: "/ez", password: "good", method: "SOURCE")
        #expect(await published(source), "with its credentials: \(source.text)")
        let keyed = try await TestPeer.connect(to: server.address, on: loop)
        await keyed.send("PUT /keyed?key=good HTTP/1.1\r\nHost: x\r\nContent-Type: audio/mpeg\r\nExpect: 100-continue\r\n\r\n")
        #expect(await published(keyed), "a ?key= needs no Basic auth: \(keyed.text)")
        #expect(app.upstream.requests.value.map { $0.headers["x-streaming-key"] } == ["good", "good"])
    }
}
