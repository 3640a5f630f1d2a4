@testable import CastyWire
import Icy
import Testing

@testable import Casty
@testable import CastyNet

/// HLS players under listener authorization: asked about at their first live playlist, the verdict kept for their
/// lifetime, segments only for admitted players, and `listener_remove` once an admitted player goes quiet.
struct HLSListenerAuthTests {
    let loop = EventLoop.shared

    /// `GET path` as the player `agent`: the status line and the body.
    func get(_ server: StationServer, _ path: String, agent: String) async throws -> (status: String, body: String) {
        let peer = try await TestPeer.connect(to: server.address, on: loop)
        await peer.send("GET \(path) HTTP/1.0\r\nUser-Agent: \(agent)\r\n\r\n")
        _ = await eventually(timeout: .seconds(8)) { peer.closed.value }
        let status = peer.text.split(separator: "\r\n").first.map(String.init) ?? ""
        return (status, splitAtBlankLine(Array(peer.text.utf8))?.body ?? "")
    }

    /// A server asking `app` about its HLS players, logging to `log`, with a source publishing 10 s of audio at
    /// `/live` (returned to be closed), once `admitted` has been served the live playlist.
    func liveServer(
        _ app: ListenerAuthApp, log: StationServerTests.Log, admitted: String = "admitted-first"
    ) async throws -> (StationServer, TestPeer) {
        var configuration = StationServer.Configuration()
        configuration.sourcePassword = "hackme"
        configuration.mounts = ["/live"]
        configuration.segmentBytes = 4170
        configuration.options.hls.targetDuration = 1
        var control = ControlPlane.Configuration()
        control.listenerAuthURL = app.url
        configuration.control = ControlPlane(control, loop: loop)
        await configuration.control?.start()
        let server = try StationServer.start(configuration, address: .loopback(port: 0), loop: loop, logger: log.logger)
        let source = try await TestPeer.connect(to: server.address, on: loop)
        await source.send("PUT /live HTTP/1.1\r\nHost: x\r\nAuthorization: Basic \(Base64.encode(Array("source:hackme".utf8)))\r\n"
            + "Content-Type: audio/mpeg\r\n\r\n")
        await StationServerTests().sendPaced(source, StationServerTests.silentFrames(400))  // 10 s of audio
        var playlist = try await get(server, "/live/index.m3u8", agent: admitted)
        for _ in 0..<50 where playlist.status.contains("503") {  // until the first segments are made
            try await Task.sleep(for: .milliseconds(100))
            playlist = try await get(server, "/live/index.m3u8", agent: admitted)
        }
        #expect(playlist.status == "HTTP/1.0 200 OK", "\(playlist.status)")
        return (server, source)
    }

    @Test("An HLS player caught by an application outage (a 5xx, a redirect) gets 503, nothing is remembered, and its next playlist after the recovery is served",
          arguments: ["502 Bad Gateway", "301 Moved Permanently"])
    func hlsPlayer_DuringAnOutage_Gets503_AndIsServedOnceTheApplicationRecovers(status: String) async throws {
        let app = try ListenerAuthApp(on: loop)
        let log = StationServerTests.Log()
        let (server, source) = try await liveServer(app, log: log)
        app.failing.update { $0 = status }
        let during = try await get(server, "/live/index.m3u8", agent: "admitted-caught")
        #expect(during.status == "HTTP/1.0 503 Service Unavailable" && during.body.contains("cannot be authorized now"),
                "an outage, not a login prompt: \(during.status) \(during.body)")
        #expect(app.forms("listener_add", agent: "admitted-caught") == 1)
        #expect(log.contains("refused on HLS /live by the listener authorization: the application could not be asked: it answered \(status.prefix(3))"),
                "\(log.lines.value.filter { $0.contains("refused") })")
        app.failing.update { $0 = nil }
        let after = try await get(server, "/live/index.m3u8", agent: "admitted-caught")
        #expect(after.status == "HTTP/1.0 200 OK", "asked again, not refused from memory: \(after.status)")
        #expect(app.forms("listener_add", agent: "admitted-caught") == 2)
        await source.close()
        server.close()
        await app.close()
    }

    @Test("A token in an HLS player's URL is its login: a refused player with a fresh token is asked again, an admitted one's other token is asked about")
    func hlsPlayer_AnotherToken_IsAnotherLogin() async throws {
        let app = try ListenerAuthApp(on: loop)
        let log = StationServerTests.Log()
        let (server, source) = try await liveServer(app, log: log)
        let agent = "tokened-player"
        #expect(try await get(server, "/live/index.m3u8?token=stale", agent: agent).status == "HTTP/1.0 401 Unauthorized")
        #expect(try await get(server, "/live/index.m3u8?token=stale", agent: agent).status == "HTTP/1.0 401 Unauthorized")
        #expect(app.forms("listener_add", agent: agent) == 1, "the same token is refused from memory")
        let fresh = try await get(server, "/live/index.m3u8?token=admitted-fresh", agent: agent)
        #expect(fresh.status == "HTTP/1.0 200 OK", "a fresh token is another login: \(fresh.status)")
        #expect(app.forms("listener_add", agent: agent) == 2)
        #expect(try await get(server, "/live/index.m3u8?token=revoked", agent: agent).status == "HTTP/1.0 401 Unauthorized",
                "an admitted address and agent lets no other token through")
        #expect(app.forms("listener_add", agent: agent) == 3)
        #expect(app.forms.value.last?.contains("token%3Drevoked") == true, "\(app.forms.value)")
        #expect(try await get(server, "/live/index.m3u8?token=admitted-fresh", agent: agent).status == "HTTP/1.0 200 OK")
        #expect(app.forms("listener_add", agent: agent) == 3, "the admitted token's verdict is kept")
        await source.close()
        server.close()
        await app.close()
    }

    @Test("An HLS player that hangs up while the application is asked is logged as having left waiting")
    func hlsPlayer_GoneWhileAsked_IsLogged() async throws {
        // 3 s: on a loaded run the player must still be waiting when it hangs up, after the application saw the form.
        let app = try ListenerAuthApp(on: loop, delay: .seconds(3))
        let log = StationServerTests.Log()
        let (server, source) = try await liveServer(app, log: log)
        let peer = try await TestPeer.connect(to: server.address, on: loop)
        await peer.send("GET /live/index.m3u8 HTTP/1.0\r\nUser-Agent: admitted-impatient\r\n\r\n")
        #expect(await eventually(timeout: .seconds(5)) { app.forms("listener_add", agent: "admitted-impatient") == 1 })
        await peer.close()
        #expect(await eventually(timeout: .seconds(8)) { log.contains("while the listener authorization of HLS /live was asked, before it was admitted") },
                "\(log.lines.value)")
        await source.close()
        server.close()
        await app.close()
    }

    @Test func hlsPlayer_IsAskedAboutOnce_RefusedOnes_GetNoPlaylistNorSegment_AndQuietOnesAreRemoved() async throws {
        let app = try ListenerAuthApp(on: loop)
        var configuration = StationServer.Configuration()
        configuration.sourcePassword = "hackme"
        configuration.mounts = ["/live"]
        configuration.segmentBytes = 4170
        configuration.options.hls.targetDuration = 1  // a player counts for 3 s after its last playlist
        var control = ControlPlane.Configuration()
        control.listenerAuthURL = app.url
        configuration.control = ControlPlane(control, loop: loop)
        await configuration.control?.start()  // listener_remove calls are sent from a queue, as casty-cli starts it
        let log = StationServerTests.Log()
        let server = try StationServer.start(configuration, address: .loopback(port: 0), loop: loop, logger: log.logger)
        let source = try await TestPeer.connect(to: server.address, on: loop)
        await source.send("PUT /live HTTP/1.1\r\nHost: x\r\nAuthorization: Basic \(Base64.encode(Array("source:hackme".utf8)))\r\n"
            + "Content-Type: audio/mpeg\r\n\r\n")
        await StationServerTests().sendPaced(source, StationServerTests.silentFrames(400))  // 10 s of audio

        let asked = ContinuousClock.now
        var playlist = try await get(server, "/live/index.m3u8", agent: "admitted-player")
        for _ in 0..<50 where playlist.status.contains("503") {  // until the window lasts three target durations
            try await Task.sleep(for: .milliseconds(100))
            playlist = try await get(server, "/live/index.m3u8", agent: "admitted-player")
        }
        #expect(playlist.status == "HTTP/1.0 200 OK", "\(playlist.status)")
        #expect(app.forms("listener_add", agent: "admitted-player") == 1)
        #expect(app.forms.value.first?.contains("mount=%2Flive") == true, "\(app.forms.value)")
        let again = try await get(server, "/live/index.m3u8", agent: "admitted-player")
        #expect(again.status == "HTTP/1.0 200 OK")
        #expect(app.forms("listener_add", agent: "admitted-player") == 1, "the verdict is kept: not asked again")

        let name = try #require(playlist.body.split(separator: "\n").last { !$0.hasPrefix("#") })
        #expect(try await get(server, "/live/\(name)", agent: "admitted-player").status == "HTTP/1.0 200 OK")
        let listened = ContinuousClock.now - asked  // at most: it is heard from no more
        #expect(try await get(server, "/live/\(name)", agent: "stranger").status == "HTTP/1.0 403 Forbidden",
                "no segment for a client the application has not admitted")

        #expect(try await get(server, "/live/index.m3u8", agent: "stranger").status == "HTTP/1.0 401 Unauthorized")
        #expect(try await get(server, "/live/index.m3u8", agent: "stranger").status == "HTTP/1.0 401 Unauthorized")
        #expect(app.forms("listener_add", agent: "stranger") == 1, "a refusal is kept too")
        let refusals = log.lines.value.filter { $0.contains("refused on HLS /live") }
        #expect(refusals.count == 1 && refusals[0].contains("by the listener authorization: the application answered 403 (401)"),
                "one line, naming the application's answer: \(refusals)")
        #expect(try await get(server, "/live/\(name)", agent: "stranger").status == "HTTP/1.0 403 Forbidden")

        // The admitted player stops fetching playlists: within two windows the application hears it left.
        #expect(await eventually(timeout: .seconds(10)) { app.forms("listener_remove", agent: "admitted-player") == 1 },
                "\(app.forms.value)")
        #expect(app.forms("listener_remove", agent: "stranger") == 0)
        // It listened until its last fetch, not until it was found gone (three target durations later).
        let remove = try #require(app.forms.value.first { $0.contains("action=listener_remove") })
        let duration = try #require(remove.split(separator: "&").first { $0.hasPrefix("duration=") }.flatMap { Int($0.dropFirst(9)) })
        #expect(duration <= Int(listened / .seconds(1)) + 1, "\(duration) s, listened \(listened)")
        await source.close()
        server.close()
        await app.close()
    }
}
