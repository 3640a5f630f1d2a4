import Testing

@testable import Casty
@testable import CastyNet
import CastyWire

/// A `--relay` mount whose upstream is away plays its fallback: what its listeners hear, where the admin API and
/// the status pages count them, what a reload of its fallback does, and what the log says of it.
extension StationServerTests {
    /// A relay of `upstream` at /ice, reconnecting within 200 ms, on `server`; started, and playing to a player
    /// (returned) once it streams.
    func relaying(
        _ upstream: AwayableStation, on server: StationServer, log: Log, silence: Duration? = nil
    ) async throws -> (proxy: Proxy, player: TestPeer) {
        var relaying = Proxy.Configuration()
        relaying.segmentBytes = 4170
        if let silence { relaying.minimumSilence = silence }
        relaying.backoff = .milliseconds(100)
        relaying.maxBackoff = .milliseconds(200)
        let proxy = try Proxy(url: upstream.url, configuration: relaying, loop: loop, logger: log.logger)
        server.attach(proxy, at: "/ice")
        await proxy.startInBackground()
        #expect(await eventually(timeout: .seconds(10)) { (try? await ask(server, "/admin/listmounts"))?.contains(#""mount":"/ice","listeners":0,"feeding":"relay""#) == true })
        let player = try await listener(server, "/ice", titles: false)
        #expect(await player.waitFor(timeout: .seconds(10)) { Self.silentFrameCount($0) >= 20 }, "the relay plays")
        return (proxy, player)
    }

    @Test("A player waiting for a relay's first stream is a client of its mount: listed by /admin/listclients with its connected time, counted by /admin/stats, moved by /admin/moveclients")
    func waitingPlayer_IsListedCountedAndMoved() async throws {
        let server = try server(mounts: ["/ice", "/backup"]) { $0.distribution.startWait = .seconds(30) }
        defer { server.close() }
        let (_, backup) = try await feedingSource(server, mount: "/backup")
        defer { backup.cancel() }
        var relaying = Proxy.Configuration()
        relaying.segmentBytes = 4170
        let proxy = try Proxy(url: StreamURL(host: "127.0.0.1", port: 9), configuration: relaying, loop: loop, logger: .silent)  // nothing there
        defer { proxy.stop() }
        server.attach(proxy, at: "/ice")
        await proxy.startInBackground()
        let player = try await listener(server, "/ice", titles: false)
        let listed = await eventually { (try? await ask(server, "/admin/listclients?mount=/ice"))?.contains(#""request":"GET /ice"#) == true }
        let clients = try await ask(server, "/admin/listclients?mount=/ice")
        #expect(listed, "\(clients)")
        #expect(clients.contains(#""connected_seconds":"#) && clients.contains(#""segments":0"#), "\(clients)")
        let stats = try await ask(server, "/admin/stats")
        #expect(stats.contains("<listeners>1</listeners>"), "\(stats)")
        let moved = try await ask(server, "/admin/moveclients?mount=/ice&destination=/backup")
        #expect(moved.contains(#""moved":1"#), "\(moved)")
        #expect(await player.waitFor(timeout: .seconds(10)) { Self.silentFrameCount($0) >= 10 }, "it plays /backup")
        await player.close()
    }

    @Test("A title set with /admin/metadata on a relay mount is refused with 409 saying its titles come from its upstream, not 'no source'; so is /admin/killsource; taken off the whitelist it is said to relay on")
    func adminMetadata_OnARelayMount_SaysItsTitlesComeFromUpstream() async throws {
        let upstream = try AwayableStation(on: loop)
        let log = Log()
        let server = try server(mounts: ["/ice"], log: log)
        let (proxy, _) = try await relaying(upstream, on: server, log: log)
        let answer = try await ask(server, "/admin/metadata?mount=/ice&mode=updinfo&song=Hello")
        #expect(answer.hasPrefix("HTTP/1.0 409") && answer.contains("/ice relays another server's stream: its titles come from there"), "\(answer)")
        // Nor has it a source to disconnect: 409 again, not "no source on /ice" as if nothing fed it.
        let kill = try await ask(server, "/admin/killsource?mount=/ice")
        #expect(kill.hasPrefix("HTTP/1.0 409") && kill.contains("/ice relays another server's stream, no source: there is none to disconnect"), "\(kill)")
        // Off the whitelist, it still relays: its line says so, for an operator who expected the mount to go.
        let removed = try await ask(server, "/admin/whitelist?action=remove&mount=/ice")
        #expect(removed.hasPrefix("HTTP/1.0 200"), "\(removed)")
        #expect(log.contains("admin: whitelist remove: /ice (no source may publish it now; it still relays another server's stream)"), "\(log.lines.value)")
        proxy.stop()
        server.close()
        await upstream.close()
    }

    @Test("A mount whose fallback is a relay that does not stream lets its listeners go after the source timeout, as with no fallback: not kept on silence")
    func fallbackToARelayThatDoesNotStream_ListenersLetGoAfterTheTimeout() async throws {
        let upstream = try AwayableStation(on: loop)
        let log = Log()
        let server = try server(mounts: ["/live", "/ice"], fallbacks: ["/live": "/ice"], timeout: .seconds(1), log: log)
        let (proxy, _) = try await relaying(upstream, on: server, log: log)
        await upstream.goAway()
        #expect(await eventually(timeout: .seconds(5)) { log.contains("proxy: upstream lost") }, "\(log.lines.value)")
        let (live, feeding) = try await feedingSource(server, mount: "/live")
        let player = try await listener(server, "/live", titles: false)
        #expect(await player.waitFor(timeout: .seconds(10)) { $0.count > 8340 })
        feeding.cancel()
        await live.close()
        #expect(await eventually(timeout: .seconds(5)) { log.contains("mount /live: no source; its listeners hear /ice once it plays (its relay does not stream either)") },
                "\(log.lines.value)")
        #expect(await eventually(timeout: .seconds(5)) { player.closed.value }, "let go after the 1 s source timeout")
        proxy.stop()
        server.close()
        await upstream.close()
    }

    /// Waits until the relay at /ice lost its upstream and its listener hears its fallback.
    func onTheFallback(_ server: StationServer, log: Log) async -> Bool {
        guard await eventually(timeout: .seconds(5), { log.contains("proxy: upstream lost") }) else { return false }
        return await eventually(timeout: .seconds(5)) {
            (try? await ask(server, "/admin/listmounts"))?.contains(#""mount":"/ice","listeners":1,"feeding":"fallback""#) == true
        }
    }

    @Test("An MP3 relay whose fallback plays AAC keeps its listeners through an upstream blip: they wait for the relay, connected, and hear it again")
    func relayAway_FallbackOfAnotherCodec_ListenersWaitForTheRelay() async throws {
        let upstream = try AwayableStation(on: loop)
        let log = Log()
        let server = try server(mounts: ["/ice", "/backup"], fallbacks: ["/ice": "/backup"], log: log)
        let (proxy, player) = try await relaying(upstream, on: server, log: log)
        let (_, feeding) = try await feedingSource(server, mount: "/backup", type: "audio/aac", with: adtsFrames(10))
        defer { feeding.cancel() }
        #expect(await eventually(timeout: .seconds(10)) {
            ((try? await ask(server, "/api/mounts/backup", admin: false)) ?? "").contains("\"contentType\":\"audio/aac\"")
        })

        await upstream.goAway()
        let line = "mount /ice: its relay does not stream; its fallback /backup plays audio/aac, not audio/mpeg like /ice: its listeners are not moved there"
        #expect(await eventually(timeout: .seconds(5)) { log.contains(line) }, "\(log.lines.value)")
        upstream.comeBack()
        let silentBefore = Self.silentFrameCount(player.received.value)
        #expect(await player.waitFor(timeout: .seconds(10)) { Self.silentFrameCount($0) >= silentBefore + 20 }, "the relay plays again")
        #expect(!player.closed.value, "one connection throughout")
        #expect(!log.contains("disconnected, to come back"), "\(log.lines.value)")
        let adtsHeader: [UInt8] = [0xFF, 0xF1, 0x50]
        let heard = player.received.value
        #expect(!heard.indices.dropLast(2).contains { Array(heard[$0..<$0 + 3]) == adtsHeader }, "no AAC frame reached the MP3 player")
        proxy.stop()
        server.close()
        await upstream.close()
    }

    @Test("A reload that changes a relay's fallback while its upstream is away moves its listeners to the new fallback, on their connection")
    func reload_ANewFallbackOfARelayAway_TakesItsListeners() async throws {
        let upstream = try AwayableStation(on: loop)
        let log = Log()
        let server = try server(mounts: ["/ice", "/backup", "/other"], fallbacks: ["/ice": "/backup"], log: log)
        let (_, feedingBackup) = try await feedingSource(server, mount: "/backup")
        defer { feedingBackup.cancel() }
        let (_, feedingOther) = try await feedingSource(server, mount: "/other", with: Self.markedFrames(10, mark: 7))
        defer { feedingOther.cancel() }
        let (proxy, player) = try await relaying(upstream, on: server, log: log)
        await upstream.goAway()
        #expect(await onTheFallback(server, log: log), "\(log.lines.value)")

        _ = try await server.reload(StationServerReloadTests().configuration {
            $0.mounts = ["/ice", "/backup", "/other"]
            $0.fallbacks = ["/ice": "/other"]
        })
        #expect(await eventually(timeout: .seconds(5)) { log.contains("mount /ice: its relay does not stream; its listeners hear /other meanwhile") },
                "\(log.lines.value)")
        #expect(await player.waitFor(timeout: .seconds(10)) { Self.count(of: 7, in: $0) >= 20 }, "the new fallback is heard")
        #expect(!player.closed.value, "one connection throughout")
        proxy.stop()
        server.close()
        await upstream.close()
    }

    @Test("The players of a relay hearing its fallback are counted at the fallback in /admin/stats, its peak too: the mounts' listeners add up to the server's")
    func relayAway_ItsFallbackCountsItsListeners() async throws {
        let upstream = try AwayableStation(on: loop)
        let log = Log()
        let server = try server(mounts: ["/ice", "/backup"], fallbacks: ["/ice": "/backup"], log: log)
        let (_, feeding) = try await feedingSource(server, mount: "/backup")
        defer { feeding.cancel() }
        let (proxy, _) = try await relaying(upstream, on: server, log: log)
        await upstream.goAway()
        #expect(await onTheFallback(server, log: log), "\(log.lines.value)")

        let stats = try await ask(server, "/admin/stats?mount=/backup")
        #expect(stats.contains("<source mount=\"/backup\">\n<listeners>1</listeners>\n"), "\(stats)")
        #expect(stats.contains("<listener_peak>1</listener_peak>"), "\(stats)")
        proxy.stop()
        server.close()
        await upstream.close()
    }

    @Test("A relay whose listeners move to a fallback of another channel count, and back, says so both ways, as a source's move does")
    func relayAway_FallbackOfAnotherShape_IsSaid_BothWays() async throws {
        let upstream = try AwayableStation(on: loop)
        let log = Log()
        let server = try server(mounts: ["/ice", "/backup"], fallbacks: ["/ice": "/backup"], log: log)
        let backup = try await source(server, mount: "/backup")
        let feeding = keepFeeding(backup, with: Self.monoFrames(10))
        defer { feeding.cancel() }
        let (proxy, player) = try await relaying(upstream, on: server, log: log)
        await upstream.goAway()
        #expect(await onTheFallback(server, log: log), "\(log.lines.value)")
        #expect(await eventually(timeout: .seconds(5)) {
            log.contains("mount /ice: its listeners hear /backup in 44100 Hz mono, after 44100 Hz stereo: some players (VLC, a browser's <audio>)")
        }, "\(log.lines.value.suffix(6))")
        upstream.comeBack()
        #expect(await eventually(timeout: .seconds(15)) {
            log.contains("mount /ice: its listeners hear its relay again in 44100 Hz stereo, after 44100 Hz mono")
        }, "\(log.lines.value.suffix(6))")
        #expect(log.lines.value.contains { $0.contains("after 44100 Hz mono") && $0.hasSuffix("give the source and its fallback the same sample rate and channels") })
        #expect(!player.closed.value, "one connection throughout")
        proxy.stop()
        server.close()
        await upstream.close()
    }

    @Test("A relay whose upstream comes back with a burst and then nothing (an encoder frozen behind Icecast) is not heard again: its listeners stay on the fallback")
    func relayBackForABurstOnly_LeavesItsListenersOnTheFallback() async throws {
        let upstream = try AwayableStation(on: loop)
        let log = Log()
        let server = try server(mounts: ["/ice", "/backup"], fallbacks: ["/ice": "/backup"], log: log)  // the 3 s hold
        let station = try Station.builtIn(segmentBytes: 4170, loop: loop)
        await station.start()
        server.attach(station, at: "/backup")
        // A silence deadline of 6 s: the frozen upstream's link is still open when the hold is over, and its audio is
        // found not to be coming — twice more, a second apart — before the link is lost.
        let (proxy, player) = try await relaying(upstream, on: server, log: log, silence: .seconds(6))
        await upstream.goAway()
        #expect(await onTheFallback(server, log: log), "\(log.lines.value)")
        // Back with a second of audio at once (Icecast's burst of what was heard before the freeze), then nothing — not
        // a second of it sent a tenth at a time by the test's feeding task, which a loaded run may spread past the
        // hold's end (the relay's return is then rightly heard).
        upstream.comeBack(as: AwayableStation.Sound(tenth: { [] }, burst: StationServerTests.silentFrames(40)))
        #expect(await eventually(timeout: .seconds(10)) { log.lines.value.filter { $0.contains("proxy: upstream back") }.count == 1 })
        #expect(await eventually(timeout: .seconds(20)) { log.lines.value.filter { $0.contains("proxy: upstream lost") }.count == 2 },
                "lost again at its silence deadline: \(log.lines.value)")
        #expect(!log.contains("its relay streams again"), "\(log.lines.value)")
        #expect(try await ask(server, "/admin/listmounts").contains(#""mount":"/ice","listeners":1,"feeding":"fallback""#))
        #expect(!player.closed.value)
        proxy.stop()
        station.stop()
        server.close()
        await upstream.close()
    }

    @Test("A relay that streams from the start, with a fallback that plays, is not said to stop nor to stream again")
    func relayAtTheStart_ItsLogTellsWhatHappened() async throws {
        let upstream = try AwayableStation(on: loop)
        let log = Log()
        let server = try server(mounts: ["/ice", "/backup"], fallbacks: ["/ice": "/backup"], log: log)
        let station = try Station.builtIn(segmentBytes: 4170, loop: loop)
        await station.start()
        server.attach(station, at: "/backup")
        let (proxy, _) = try await relaying(upstream, on: server, log: log)
        #expect(!log.contains("its relay does not stream") && !log.contains("its relay streams"), "\(log.lines.value.joined(separator: "\n"))")
        proxy.stop()
        station.stop()
        server.close()
        await upstream.close()
    }

    @Test("As the server stops, its sources end and the fallbacks their mounts take are not said: nobody will hear them")
    func serverStopping_SaysNoFallback() async throws {
        let log = Log()
        let server = try server(fallbacks: ["/live": "/backup"], log: log)
        let (_, backup) = try await feedingSource(server, mount: "/backup")
        defer { backup.cancel() }
        let (_, live) = try await feedingSource(server, mount: "/live")
        defer { live.cancel() }
        let player = try #require(await TestPeer.player(of: server.address, on: loop, request: "GET /live HTTP/1.0\r\n\r\n"))
        #expect(await player.waitFor(timeout: .seconds(10)) { Self.silentFrameCount($0) >= 10 })
        await server.endSources()
        #expect(await eventually { log.contains("on /live ended: the server is stopping") && log.contains("on /backup ended: the server is stopping") },
                "\(log.lines.value)")
        #expect(!log.contains("no source; its listeners hear"), "\(log.lines.value)")
    }

    @Test("/admin/listclients gives each listener's IP alone beside the peer the log names: behind a trusted proxy, the listener's own")
    func listedClients_HaveTheirIPAlone_TheRealOneBehindATrustedProxy() async throws {
        let server = try server { configuration in configuration.options.trustedProxies = TrustedProxies(["127.0.0.1"]) }
        defer { server.close() }
        let (_, feeding) = try await feedingSource(server)
        defer { feeding.cancel() }
        let player = try #require(await TestPeer.player(
            of: server.address, on: loop, request: "GET /live HTTP/1.0\r\nX-Forwarded-For: 203.0.113.9\r\n\r\n"))
        #expect(await player.waitFor(timeout: .seconds(10)) { Self.silentFrameCount($0) >= 10 })
        let clients = try await ask(server, "/admin/listclients?mount=/live")
        #expect(clients.contains(#""ip":"203.0.113.9""#), "\(clients)")
        #expect(clients.contains(#""peer":"203.0.113.9 (via 127.0.0.1:"#), "\(clients)")
    }

    @Test("A listener the admin disconnects (/admin/killclient) leaves saying so, not as if its player had closed")
    func killedListener_ItsLeaveLineSaysTheAdmin() async throws {
        let log = Log()
        let server = try server(log: log)
        defer { server.close() }
        let (_, feeding) = try await feedingSource(server)
        defer { feeding.cancel() }
        let player = try #require(await TestPeer.player(of: server.address, on: loop, request: "GET /live HTTP/1.0\r\n\r\n"))
        #expect(await player.waitFor(timeout: .seconds(10)) { Self.silentFrameCount($0) >= 10 })
        let clients = try await ask(server, "/admin/listclients?mount=/live")
        let id = try #require(clients.firstRange(of: #/"id":(\d+)/#).map { String(clients[$0]).dropFirst(5) })
        #expect(try await ask(server, "/admin/killclient?mount=/live&id=\(id)").hasPrefix("HTTP/1.0 200"))
        #expect(await eventually { log.contains("left after") }, "\(log.lines.value)")
        #expect(log.contains("(disconnected by the admin (/admin/killclient))"), "\(log.lines.value)")
    }

    @Test("A listener /admin/killclient disconnects through the fallback it hears is logged under its own mount, saying which it heard")
    func killedListenerOfAMountHearingItsFallback_IsLoggedUnderItsOwnMount() async throws {
        let log = Log()
        let (server, feeding, player) = try await playerOnTheFallback(log)  // a player of /live, hearing /backup
        defer { feeding.cancel(); server.close() }
        #expect(await player.waitFor(timeout: .seconds(10)) { $0.count > 4170 })
        let clients = try await ask(server, "/admin/listclients?mount=/backup")
        let id = try #require(clients.firstRange(of: #/"id":(\d+)/#).map { String(clients[$0]).dropFirst(5) })
        #expect(try await ask(server, "/admin/killclient?mount=/backup&id=\(id)").hasPrefix("HTTP/1.0 200"))
        #expect(log.contains("admin: listener \(id) on /live (hearing /backup as its fallback) disconnected"), "\(log.lines.value.suffix(4))")
        #expect(await eventually { player.closed.value })
    }

    @Test("The players of a mount hearing its fallback are the fallback's for /admin/listclients and /admin/moveclients, as /admin/stats counts them")
    func fallbackHearers_AreListedAndMovedWithTheFallbacksListeners() async throws {
        let log = Log()
        let server = try server(mounts: ["/live", "/backup", "/other"], fallbacks: ["/live": "/backup"], log: log)
        defer { server.close() }
        let (_, backup) = try await feedingSource(server, mount: "/backup")
        defer { backup.cancel() }
        let (_, other) = try await feedingSource(server, mount: "/other", with: Self.markedFrames(10, mark: 7))
        defer { other.cancel() }
        let player = try #require(await TestPeer.player(of: server.address, on: loop, request: "GET /live HTTP/1.0\r\n\r\n"))
        #expect(await player.waitFor(timeout: .seconds(10)) { Self.silentFrameCount($0) >= 10 })

        let clients = try await ask(server, "/admin/listclients?mount=/backup")
        #expect(clients.contains(#""request":"GET /live"#), "\(clients)")
        let moved = try await ask(server, "/admin/moveclients?mount=/backup&destination=/other")
        #expect(moved.contains(#""moved":1"#), "\(moved)")
        #expect(await player.waitFor(timeout: .seconds(10)) { Self.count(of: 7, in: $0) >= 10 }, "moved to /other")
        let stats = try await ask(server, "/admin/stats?mount=/backup")
        #expect(stats.contains("<listeners>0</listeners>"), "\(stats)")
    }

    @Test("Moving a fallback's listeners to a mount hearing it as its fallback moves its own, not that mount's listeners, who are there already")
    func movingAFallbacksListeners_ToAMountHearingIt_LeavesThatMountsListenersBe() async throws {
        let server = try server(mounts: ["/live", "/backup"], fallbacks: ["/live": "/backup"])
        defer { server.close() }
        let (_, backup) = try await feedingSource(server, mount: "/backup")
        defer { backup.cancel() }
        let own = try #require(await TestPeer.player(of: server.address, on: loop, request: "GET /backup HTTP/1.0\r\n\r\n"))
        let hearing = try #require(await TestPeer.player(of: server.address, on: loop, request: "GET /live HTTP/1.0\r\n\r\n"))
        #expect(await hearing.waitFor(timeout: .seconds(10)) { Self.silentFrameCount($0) >= 10 })
        let moved = try await ask(server, "/admin/moveclients?mount=/backup&destination=/live")
        #expect(moved.contains(#""moved":1"#) && moved.contains(#""left":0"#), "\(moved)")
        await own.close()
        await hearing.close()
    }
}
