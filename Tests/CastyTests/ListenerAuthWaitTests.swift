import Testing

@testable import Casty
@testable import CastyNet
import Glibc

/// A player that hangs up while the application is still deciding about it: it never listened, so the
/// application — which counted it with its `listener_add` — hears it left with a `duration` of 0 s, and the
/// server's log says it left.
extension ListenerAuthTests {
    @Test("A player that left while the application was asked is told gone with duration 0, and its leaving is logged",
          arguments: [true, false])
    func aPlayerGoneBeforeItsAdmission_ListenedZeroSeconds(resets: Bool) async throws {
        let app = try ListenerAuthApp(on: loop, delay: .seconds(2.5))
        let log = StationServerTests.Log()
        let path = "/tmp/casty-access-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).log"
        defer { _ = unlink(path) }
        let accessLog = try AccessLog(path: path, logger: .silent)
        let (server, station) = try await server(app: app, logger: log.logger, accessLog: accessLog)
        let peer = try await play(server, "User-Agent: admitted-quitter\r\n")
        #expect(await eventually(timeout: .seconds(5)) { app.forms("listener_add", agent: "admitted-quitter") == 1 })
        // A reset or a plain close (FIN): either is seen when the answer comes, and the player is not served.
        let connection = peer.connection
        await connection.loop.submit {
            if resets { try? connection.socket.setResetOnClose() }
            connection.close()
        }
        #expect(await eventually(timeout: .seconds(10)) { app.forms("listener_remove", agent: "admitted-quitter") == 1 }, "\(app.forms.value)")
        let remove = app.forms.value.first { $0.contains("action=listener_remove") } ?? ""
        #expect(remove.contains("&duration=0&"), "it never listened, whatever the application took: \(remove)")
        let leaving = "left while the listener authorization of /live was asked, before it was admitted (gone when the application answered, "
        #expect(await eventually(timeout: .seconds(5)) { log.lines.value.contains { $0.contains(leaving) } }, "\(log.lines.value)")
        #expect(!log.contains("joined"), "a player gone is not served: \(log.lines.value)")
        // A request the player gave up on, in the access log as one that gave up waiting for its stream.
        let written = { @Sendable () async in await accessLog.flush(); return String(decoding: FileWriter.contents(of: path) ?? [], as: UTF8.self) }
        #expect(await eventually { await written().contains("\" 499 0 \"-\" \"admitted-quitter\" ") })
        station.stop()
        server.close()
        await app.close()
    }

    @Test("A player that left while the application took longer than its time is said gone when that time ran out, not when the application answered")
    func aPlayerGoneWhileTheApplicationTimedOut_IsSaidGoneWhenItsTimeRanOut() async throws {
        let app = try ListenerAuthApp(on: loop, delay: .seconds(60))
        let log = StationServerTests.Log()
        let (server, station) = try await server(app: app, logger: log.logger, authTimeout: .seconds(1))
        let peer = try await play(server, "User-Agent: admitted-quitter\r\n")
        #expect(await eventually(timeout: .seconds(5)) { app.forms("listener_add", agent: "admitted-quitter") == 1 })
        let connection = peer.connection
        await connection.loop.submit { connection.close() }
        let leaving = "was asked, before it was told to try again (gone when the application's 1.0 s ran out without an answer, "
        #expect(await eventually(timeout: .seconds(10)) { log.lines.value.contains { $0.contains(leaving) } }, "\(log.lines.value)")
        #expect(!log.contains("when the application answered"), "it never answered: \(log.lines.value)")
        station.stop()
        server.close()
        await app.close()
    }

    @Test("A player that shut its sending side with its request (nc -N) has not left: once admitted it is streamed to")
    func aOneShotClient_IsStillStreamedTo_OnceAdmitted() async throws {
        let app = try ListenerAuthApp(on: loop, delay: .milliseconds(300))
        let log = StationServerTests.Log()
        let (server, station) = try await server(app: app, logger: log.logger)
        let peer = try await TestPeer.connect(to: server.address, on: loop)
        await peer.send("GET /live HTTP/1.0\r\nUser-Agent: admitted-ripper\r\n\r\n", thenShutdownWriting: true)
        #expect(await streams(peer), "\(peer.text.prefix(80)) \(log.lines.value)")
        #expect(!log.contains("while the listener authorization"), "\(log.lines.value)")
        await peer.close()
        station.stop()
        server.close()
        await app.close()
    }
}
