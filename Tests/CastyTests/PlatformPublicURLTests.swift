import Icy
import Testing

@testable import Casty

/// `--public-url` as platforms write it, with a trailing slash: the listen URLs Casty derives from it still
/// have one slash before the mount.
extension PlatformServerTests {
    @Test func publicURL_WithATrailingSlash_GivesListenURLsWithOneSlash() async throws {
        let app = try App(keys: ["key"], on: loop)
        let server = try await server(app: app, events: app.url("/events"), publicURL: "http://radio.example:8000/")
        let source = try await station.source(server, mount: "/live", password: "key")
        #expect(await published(source))
        await station.sendPaced(source, StationServerTests.silentFrames(10))
        #expect(await eventually(timeout: .seconds(10)) { !app.indexFiles.isEmpty })
        #expect(app.indexFiles == ["http://radio.example:8000/live"])
        await source.close()
        server.close()
        await app.upstream.close()
    }
}

extension PlatformServerTests.App {
    /// The `x-index-file` of each event received, in order.
    var indexFiles: [String] { upstream.requests.value.compactMap { $0.headers["x-index-file"] } }
}
