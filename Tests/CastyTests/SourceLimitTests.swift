internal import CastyNet
import Testing

@testable import Casty

/// `--max-sources`: one source more than the server takes is refused, and the command API tells the limit.
extension StationServerTests {
    @Test func aSourcePastMaxSources_IsRefusedWith503_AndCapacityTellsTheLimit() async throws {
        let log = Log()
        let server = try server(log: log) { configuration in
            configuration.maxSources = 1
            takesCommands(&configuration)
        }
        defer { server.close() }
        let (first, feeding) = try await feedingSource(server, mount: "/live")
        defer { feeding.cancel() }

        let second = try await source(server, mount: "/backup")
        #expect(await second.waitFor(timeout: .seconds(10)) { String(decoding: $0, as: UTF8.self).contains("publish elsewhere") })
        #expect(second.text.hasPrefix("HTTP/1.0 503 Service Unavailable\r\n") && second.text.contains("takes at most 1 source at once"),
                "\(second.text.prefix(200))")
        #expect(log.contains("refused on /backup: the server has its most sources (1) (503)"), "\(log.lines.value)")

        let page = try await TestPeer.connect(to: server.address, on: loop)
        await page.send("GET /commands/capacity HTTP/1.0\r\nAuthorization: Bearer tok\r\n\r\n")
        #expect(await eventually { page.closed.value })
        #expect(page.text.contains(#""load":1,"capacity":1"#), "\(page.text)")

        // The first leaves: the next one is taken.
        feeding.cancel()
        await first.close()
        #expect(await eventually(timeout: .seconds(10)) {
            let again = try? await source(server, mount: "/backup")
            guard let again else { return false }
            let admitted = await again.waitFor(timeout: .seconds(2)) { String(decoding: $0, as: UTF8.self).hasPrefix("HTTP/1.1 100") }
            await again.close()
            return admitted
        })
    }
}
