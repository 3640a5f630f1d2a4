import Testing

@testable import Casty
@testable import CastyNet
import CastyWire

/// Icecast's `/admin/fallbacks?mount=&fallback=`: a mount's fallback set or removed while the server runs, under the
/// rules `--fallback` and a reading on SIGHUP follow.
struct AdminFallbacksTests {
    let station = StationServerTests()

    /// The configuration ``StationServerTests/server`` starts with, changed by `change`.
    func configuration(_ change: (inout StationServer.Configuration) -> Void = { _ in }) -> StationServer.Configuration {
        var configuration = StationServer.Configuration()
        configuration.sourcePassword = "hackme"
        configuration.adminPassword = "adminpw"
        configuration.mounts = ["/live", "/backup"]
        configuration.segmentBytes = 4170
        configuration.distribution.burst = 1
        change(&configuration)
        return configuration
    }

    @Test("/admin/fallbacks gives a mount its fallback at once: the listeners waiting for its source hear it, on their connection; an empty fallback= removes it")
    func fallbacks_SetsTheFallback_TheWaitingListenersHearIt() async throws {
        let log = StationServerTests.Log()
        let server = try station.server(timeout: .seconds(30), log: log)
        defer { server.close() }
        let tone = try Station.builtIn(segmentBytes: 4170, loop: station.loop)
        await tone.start()
        defer { tone.stop() }
        server.attach(tone, at: "/backup")
        let (source, feeding) = try await station.feedingSource(server)
        let player = try #require(try await TestPeer.player(of: server.address, on: station.loop, request: "GET /live HTTP/1.0\r\n\r\n"))
        #expect(await player.waitFor { StationServerTests.silentFrameCount($0) >= 10 })
        feeding.cancel()
        await source.close()
        #expect(await eventually { log.contains("on /live ended") })

        let set = try await station.ask(server, "/admin/fallbacks?mount=/live&fallback=/backup")
        #expect(set.hasPrefix("HTTP/1.0 200") && set.contains("Content-Type: application/json\r\n"), "\(set)")
        #expect(set.contains(#"{"mount":"/live","fallback":"/backup","was":null,"feeding":"fallback"}"#), "\(set)")
        #expect(log.contains("admin: fallback /live→/backup (was none)"), "\(log.lines.value.suffix(4))")
        #expect(await eventually { log.contains("mount /live: no source; its listeners hear /backup") }, "\(log.lines.value.suffix(4))")
        let before = player.received.value.count
        #expect(await player.waitFor(timeout: .seconds(5)) { $0.count > before + 3 * 4170 }, "the new fallback's tone comes")
        #expect(!player.closed.value)
        #expect(await station.loop.submit { server.table.rules.fallbacks } == ["/live": "/backup"])

        // The same again: nothing changes, nothing is said.
        #expect(try await station.ask(server, "/admin/fallbacks?mount=/live&fallback=/backup").hasPrefix("HTTP/1.0 200"))
        #expect(log.lines.value.filter { $0.contains("admin: fallback /live→/backup") }.count == 1)

        // Empty: no fallback any more; its listener waits for a source, as when a SIGHUP takes one away.
        let removed = try await station.ask(server, "/admin/fallbacks?mount=/live&fallback=")
        #expect(removed.contains(#"{"mount":"/live","fallback":null,"was":"/backup","feeding":"idle"}"#), "\(removed)")
        #expect(log.contains("admin: fallback /live→none (was /backup)"))
        #expect(log.contains("mount /live: no fallback any more; its listeners wait for a source"), "\(log.lines.value.suffix(4))")
        #expect(await station.loop.submit { server.table.rules.fallbacks }.isEmpty)
    }

    @Test("A fallback that would go round in a circle, or names no mount, is refused with one line, and nothing changes")
    func fallbacks_ACircleOrAnUnknownMount_IsRefused() async throws {
        let log = StationServerTests.Log()
        let server = try station.server(mounts: ["/live", "/backup", "/third"], fallbacks: ["/backup": "/third"], log: log)
        defer { server.close() }
        let circle = try await station.ask(server, "/admin/fallbacks?mount=/third&fallback=/live")
        #expect(circle.hasPrefix("HTTP/1.0 200"), "/third → /live alone is no circle: \(circle)")
        let refused = try await station.ask(server, "/admin/fallbacks?mount=/live&fallback=/backup")
        #expect(refused.hasPrefix("HTTP/1.0 409 Conflict"), "\(refused)")
        #expect(refused.contains("fallbacks go round in a circle: /backup → /third → /live → /backup"), "\(refused)")
        #expect(log.lines.value.filter { $0.contains("admin: fallback /live→/backup from ") }.count == 1, "\(log.lines.value.suffix(4))")
        #expect(log.contains("refused: fallbacks go round in a circle"))
        let itself = try await station.ask(server, "/admin/fallbacks?mount=/live&fallback=/live")
        #expect(itself.hasPrefix("HTTP/1.0 409") && itself.contains("/live → /live"), "\(itself)")

        let unknown = try await station.ask(server, "/admin/fallbacks?mount=/live&fallback=/nowhere")
        #expect(unknown.hasPrefix("HTTP/1.0 404") && unknown.contains("no mount /nowhere"), "\(unknown)")
        #expect(log.contains("admin: fallback /live→/nowhere from "), "\(log.lines.value.suffix(4))")
        let slash = try await station.ask(server, "/admin/fallbacks?mount=/live&fallback=backup")
        #expect(slash.hasPrefix("HTTP/1.0 404") && slash.contains("mount names start with /"), "\(slash)")
        #expect(try await station.ask(server, "/admin/fallbacks?mount=/nowhere&fallback=/live").hasPrefix("HTTP/1.0 404"))
        #expect(try await station.ask(server, "/admin/fallbacks?mount=/live").hasPrefix("HTTP/1.0 400"), "fallback= is needed")
        #expect(try await station.ask(server, "/admin/fallbacks?fallback=/live").hasPrefix("HTTP/1.0 400"), "mount= is needed")
        #expect(await station.loop.submit { server.table.rules.fallbacks } == ["/backup": "/third", "/third": "/live"])
    }

    @Test("A fallback set by /admin/fallbacks outlives a SIGHUP that leaves that mount's fallback as it was in the file; one that changes it wins")
    func fallbacks_SurviveAReading_UnlessTheFileChangesThatMount() async throws {
        let server = try station.server()  // /live, /backup; no fallbacks
        defer { server.close() }
        #expect(try await station.ask(server, "/admin/fallbacks?mount=/live&fallback=/backup").hasPrefix("HTTP/1.0 200"))
        // Read again as it was: the admin's fallback stays.
        #expect(try await server.reload(configuration()).isEmpty)
        #expect(await station.loop.submit { server.table.rules.fallbacks } == ["/live": "/backup"])
        // The file gives /live a fallback of its own now: the file's wins.
        let changes = try await server.reload(configuration { $0.mounts = ["/live", "/backup", "/other"]; $0.fallbacks = ["/live": "/other"] })
        #expect(changes.contains("fallback /live→/other (was /backup)"), "\(changes)")
        #expect(await station.loop.submit { server.table.rules.fallbacks } == ["/live": "/other"])
    }

    @Test("A reading whose fallbacks would go round in a circle with those set by /admin/fallbacks takes the file's, and says the admin's were dropped")
    func fallbacks_AReadingThatWouldMakeACircle_TakesTheFiles() async throws {
        let server = try station.server()
        defer { server.close() }
        #expect(try await station.ask(server, "/admin/fallbacks?mount=/live&fallback=/backup").hasPrefix("HTTP/1.0 200"))
        let changes = try await server.reload(configuration { $0.fallbacks = ["/backup": "/live"] })
        #expect(changes.contains { $0.hasPrefix("fallbacks set by /admin/fallbacks dropped") && $0.contains("/backup → /live → /backup") }, "\(changes)")
        #expect(await station.loop.submit { server.table.rules.fallbacks } == ["/backup": "/live"])
    }

    @Test("A mount's source may set its fallback with its own credentials, as Icecast lets it")
    func fallbacks_TakeTheMountsSourceCredentials() async throws {
        let server = try station.server()
        defer { server.close() }
        let auth = "Authorization: Basic \(Base64.encode(Array("source:hackme".utf8)))\r\n"
        let set = try await station.answer(server, "GET /admin/fallbacks?mount=/live&fallback=/backup HTTP/1.0\r\n\(auth)\r\n")
        #expect(set.hasPrefix("HTTP/1.0 200"), "\(set)")
    }
}
