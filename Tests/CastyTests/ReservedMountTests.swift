import Testing

@testable import Casty
@testable import CastyNet

/// Mounts at paths the server answers itself (`/admin`, `/api`, `/player`, …, whose HLS under them those routes
/// would answer) are refused the same way for every ingest under `--accept-all`, and in the configuration, naming
/// the path the server keeps.
extension StationServerTests {
    @Test("The server's own paths, and the names whose HLS they would shadow, are reserved and named; other names are mounts",
          arguments: [("/admin", "/admin/…"), ("/api", "/api/…"), ("/commands", "/commands/…"), ("/player", "/player/…"),
                      ("/admin/live", "/admin/…"), ("/status.json", "/status.json"), ("/tree", "/tree"), ("/", "/")])
    func reservedRoute_NamesWhatTheServerAnswersItself(path: String, route: String) {
        #expect(Router.reservedRoute(of: path) == route)
        #expect(!Router.isReachableMount(path))
    }

    @Test func reservedRoute_LeavesOtherNamesToMounts() {
        for path in ["/live", "/ad", "/administrator", "/apix", "/tree/live", "/players", "/live.mp3"] {
            #expect(Router.reservedRoute(of: path) == nil, "\(path)")
            #expect(Router.isReachableMount(path), "\(path)")
        }
    }

    @Test("--mounts /admin is refused at start, naming the path the server answers there")
    func configuration_RefusesAMountWhoseHLSTheServerWouldAnswer() {
        var configuration = StationServer.Configuration()
        configuration.mounts = ["/live", "/admin"]
        #expect(throws: ConfigurationError.reservedPath("/admin")) { try configuration.check() }
        #expect(ConfigurationError.reservedPath("/admin").description
            == "'/admin' is not a mount name: the server answers /admin/… itself, so listeners could not reach a mount there (its stream, or its HLS under it)")
    }

    @Test("Under --accept-all, an HTTP source or an RTMP publisher of /admin or /api is refused (403, BadName) with a line naming the reserved path; /live publishes")
    func acceptAll_RefusesTheServersOwnPaths_ForEveryIngest() async throws {
        let log = Log()
        let server = try server(mounts: nil, log: log, rtmp: true)
        for mount in ["/admin", "/api", "/player"] {
            let source = try await source(server, mount: mount)
            #expect(await eventually { source.closed.value })
            #expect(source.text.hasPrefix("HTTP/1.0 403"), "\(mount): \(source.text)")
            #expect(source.text.contains("the server answers \(mount)/… itself"), "\(mount): \(source.text)")
            #expect(log.contains("refused on \(mount): a path the server answers itself (\(mount)/…), not a mount listeners could reach (403)"),
                    "\(log.lines.value)")
        }
        let rtmp = try await RTMPPeer.publish(server, app: "admin")
        #expect(await eventually { rtmp.peer.closed.value })
        #expect(rtmp.statuses() == ["NetStream.Publish.BadName"])
        #expect(log.contains("refused on /admin (RTMP): a path the server answers itself (/admin/…)"), "\(log.lines.value)")
        #expect(await loop.submit { server.table.all.count } == 0, "no mount left behind")
        let live = try await source(server, mount: "/live")
        #expect(await live.waitFor { String(decoding: $0, as: UTF8.self).contains("HTTP/1.0 200 OK") })
        await live.close()
        server.close()
    }
}
