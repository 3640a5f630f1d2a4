import Testing

@testable import Casty
@testable import CastyNet
import CastyWire

/// The admin calls about one mount (`mount=`) take the credentials a source may publish that mount with, as Icecast 2.4
/// takes a mount's source password: a broadcaster's scripts written for Icecast list, move and disconnect their own
/// listeners. The server-wide calls stay the admin's.
struct AdminMountCallsTests {
    let station = StationServerTests()

    /// What the server answers `GET path` with Basic credentials `user:password`.
    func ask(_ server: StationServer, _ path: String, _ user: String, _ password: String) async throws -> String {
        try await station.answer(server, "GET \(path) HTTP/1.0\r\nAuthorization: Basic \(Base64.encode(Array("\(user):\(password)".utf8)))\r\n\r\n")
    }

    @Test("listclients, stats, killclient, moveclients and killsource of a mount take its source's credentials, as Icecast's do")
    func mountCalls_TakeTheMountsSourceCredentials() async throws {
        let log = StationServerTests.Log()
        let server = try station.server(log: log) { $0.mountPasswords = ["/backup": "backuppw"] }
        defer { server.close() }
        let (live, feedingLive) = try await station.feedingSource(server)
        defer { feedingLive.cancel() }
        let backup = try await station.source(server, mount: "/backup", password: "backuppw")
        #expect(await backup.waitFor(timeout: .seconds(10)) { String(decoding: $0, as: UTF8.self).hasPrefix("HTTP/1.1 100") })
        let feedingBackup = station.keepFeeding(backup)
        defer { feedingBackup.cancel() }
        let player = try #require(try await TestPeer.player(of: server.address, on: station.loop, request: "GET /live HTTP/1.0\r\n\r\n"))
        #expect(await eventually { (try? await station.ask(server, "/admin/listclients?mount=/live"))?.contains(#""id":"#) == true })

        let listed = try await ask(server, "/admin/listclients?mount=/live", "source", "hackme")
        #expect(listed.hasPrefix("HTTP/1.0 200") && listed.contains(#""mount":"/live""#), "\(listed)")
        let stats = try await ask(server, "/admin/stats?mount=/live", "source", "hackme")
        #expect(stats.hasPrefix("HTTP/1.0 200") && stats.contains("<source mount=\"/live\">"), "\(stats)")
        // Another mount's password is not this one's: /backup has its own.
        let other = try await ask(server, "/admin/listclients?mount=/backup", "source", "hackme")
        #expect(other.hasPrefix("HTTP/1.0 401") && other.contains(#"{"error":"admin credentials, or those of /backup's source, needed"}"#), "\(other)")
        #expect(try await ask(server, "/admin/listclients?mount=/backup", "source", "backuppw").hasPrefix("HTTP/1.0 200"))
        #expect(try await ask(server, "/admin/listclients?mount=/live", "source", "wrong").hasPrefix("HTTP/1.0 401"))
        #expect(try await ask(server, "/admin/killclient?mount=/live&id=999999", "source", "hackme").hasPrefix("HTTP/1.0 404"),
                "let in, and told there is no such listener")

        // moveclients asks for the credentials of the mount named by mount= only, as Icecast does.
        let moved = try await ask(server, "/admin/moveclients?mount=/live&destination=/backup", "source", "hackme")
        #expect(moved.hasPrefix("HTTP/1.0 200") && moved.contains(#""moved":1"#), "\(moved)")
        #expect(try await ask(server, "/admin/moveclients?mount=/backup&destination=/live", "source", "hackme").hasPrefix("HTTP/1.0 401"))

        let killed = try await ask(server, "/admin/killsource?mount=/live", "source", "hackme")
        #expect(killed.hasPrefix("HTTP/1.0 200"), "\(killed)")
        #expect(await eventually { live.closed.value })
        #expect(!player.closed.value, "moved to /backup, the player plays on")
        #expect(!log.lines.value.contains { $0.contains("hackme") || $0.contains("backuppw") }, "no secret is logged")
    }

    @Test("The server-wide calls — listmounts, stats without a mount, whitelist — stay the admin's, whatever source password is sent")
    func serverWideCalls_StayTheAdmins() async throws {
        let server = try station.server()
        defer { server.close() }
        for path in ["/admin/listmounts", "/admin/listmounts?mount=/live", "/admin/stats", "/admin/whitelist?action=add&mount=/live",
                     "/admin/whitelist?action=remove&mount=/live", "/admin/listclients"] {
            let refused = try await ask(server, path, "source", "hackme")
            #expect(refused.hasPrefix("HTTP/1.0 401") && refused.contains("admin credentials needed"), "\(path): \(refused)")
        }
        #expect(try await ask(server, "/admin/listmounts", "admin", "adminpw").hasPrefix("HTTP/1.0 200"))
    }

    @Test("A mount with its own source user name wants it in its calls too, as publishing does")
    func mountCalls_WantTheMountsUserName() async throws {
        let server = try station.server { $0.mountUsers = ["/live": "dj"] }
        defer { server.close() }
        #expect(try await ask(server, "/admin/listclients?mount=/live", "source", "hackme").hasPrefix("HTTP/1.0 401"))
        #expect(try await ask(server, "/admin/listclients?mount=/live", "dj", "hackme").hasPrefix("HTTP/1.0 200"))
    }
}
