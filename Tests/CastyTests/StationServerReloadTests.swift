import Testing

@testable import Casty
@testable import CastyNet
import CastyWire

/// A station server takes new rules while it runs (SIGHUP reads its config file again, as Icecast does): passwords,
/// the whitelist, fallbacks and limits change for those who come next, and what is live follows at once.
struct StationServerReloadTests {
    let station = StationServerTests()

    /// The configuration ``StationServerTests/server`` starts with, changed by `change`.
    func configuration(_ change: (inout StationServer.Configuration) -> Void) -> StationServer.Configuration {
        var configuration = StationServer.Configuration()
        configuration.sourcePassword = "hackme"
        configuration.adminPassword = "adminpw"
        configuration.mounts = ["/live", "/backup"]
        configuration.segmentBytes = 4170
        configuration.distribution.burst = 1
        change(&configuration)
        return configuration
    }

    @Test func reload_NewPasswordsAndWhitelist_ApplyToWhoComesNext_ASourceOffTheListIsDisconnected() async throws {
        let log = StationServerTests.Log()
        let server = try station.server(log: log)
        let (backup, feeding) = try await station.feedingSource(server, mount: "/backup")
        let changes = try await server.reload(configuration {
            $0.sourcePassword = "newpw"
            $0.adminPassword = "newadmin"
            $0.mounts = ["/live", "/extra"]
        })
        #expect(changes == ["mounts +/extra -/backup", "source password changed", "admin password changed"], "\(changes)")
        #expect(!changes.joined().contains("newpw") && !changes.joined().contains("hackme"), "a password is never shown")
        #expect(await eventually { backup.closed.value }, "/backup is off the whitelist: its source is disconnected")
        #expect(await eventually { log.lines.value.contains { $0.contains("on /backup ended: its mount taken off the whitelist (SIGHUP) (") } },
                "its end line says why, and nobody listened: \(log.lines.value.suffix(4))")
        #expect(!log.contains("mount /backup:"), "no line of the mount's own besides: \(log.lines.value.suffix(4))")
        feeding.cancel()
        // The old source password is refused, the new one publishes a mount the list has just gained.
        let old = try await station.source(server, mount: "/extra")
        #expect(await eventually { old.closed.value })
        #expect(old.text.hasPrefix("HTTP/1.0 401"), "\(old.text.prefix(40))")
        let new = try await station.source(server, mount: "/extra", password: "newpw")
        #expect(await new.waitFor { String(decoding: $0, as: UTF8.self).hasPrefix("HTTP/1.1 100") })
        // The old admin password no longer opens the admin API.
        #expect(try await station.ask(server, "/admin/listmounts").hasPrefix("HTTP/1.0 401"))
        // Nothing changed: nothing said.
        #expect(try await server.reload(configuration {
            $0.sourcePassword = "newpw"
            $0.adminPassword = "newadmin"
            $0.mounts = ["/live", "/extra"]
        }).isEmpty)
        await new.close()
        server.close()
    }

    @Test func reload_ANewSourceTimeoutAndCatchUp_ApplyToTheSourcesPublishing() async throws {
        let log = StationServerTests.Log()
        let server = try station.server(timeout: .seconds(30), log: log)
        defer { server.close() }
        let source = try await station.source(server)
        #expect(await source.waitFor(timeout: .seconds(10)) { String(decoding: $0, as: UTF8.self).hasPrefix("HTTP/1.1 100") })
        await station.sendAudio(source, StationServerTests.silentFrames(20))
        let changes = try await server.reload(configuration {
            $0.sourceTimeout = .seconds(2)
            $0.sourceCatchUp = .seconds(1)
        })
        #expect(changes.contains { $0.hasPrefix("source catch-up 1.0 seconds (was unlimited)") }, "\(changes)")
        // The source live before the reload: its backlog is cut to the new catch-up ...
        await station.sendAudio(source, StationServerTests.markedFrames(800, mark: 1))
        try await Task.sleep(for: .milliseconds(600))
        await station.sendAudio(source, StationServerTests.markedFrames(10, mark: 2))
        #expect(await eventually(timeout: .seconds(10)) { log.contains("source on /live: ") && log.contains("came all at once") },
                "\(log.lines.value)")
        // ... and its silence to the new timeout.
        #expect(await eventually(timeout: .seconds(10)) { source.closed.value })
        #expect(log.contains("nothing arrived for 2.0 seconds"), "\(log.lines.value)")
    }

    @Test func reload_ANewFallback_TakesTheWaitingListeners_OnTheirConnection() async throws {
        let log = StationServerTests.Log()
        let server = try station.server(timeout: .seconds(30), log: log)
        let tone = try Station.builtIn(segmentBytes: 4170, loop: station.loop)
        await tone.start()
        server.attach(tone, at: "/backup")
        let (source, feeding) = try await station.feedingSource(server)
        let player = try #require(try await TestPeer.player(of: server.address, on: station.loop, request: "GET /live HTTP/1.0\r\n\r\n"))
        #expect(await player.waitFor { StationServerTests.silentFrameCount($0) >= 10 })
        feeding.cancel()
        await source.close()
        // No fallback: the player waits for a source, connected, hearing nothing.
        #expect(await eventually { log.contains("on /live ended") })
        #expect(!log.contains("its listeners hear /backup"))
        let changes = try await server.reload(configuration { $0.sourceTimeout = .seconds(30); $0.fallbacks = ["/live": "/backup"] })
        #expect(changes == ["fallback /live→/backup (was none)"], "\(changes)")
        #expect(await eventually { log.contains("mount /live: no source; its listeners hear /backup") }, "\(log.lines.value.suffix(4))")
        let before = player.received.value.count
        #expect(await player.waitFor(timeout: .seconds(5)) { $0.count > before + 3 * 4170 }, "the new fallback's tone comes")
        #expect(!player.closed.value)
        // A fallback circle is refused, and changes nothing.
        await #expect(throws: ConfigurationError.self) {
            try await server.reload(configuration { $0.sourceTimeout = .seconds(30); $0.fallbacks = ["/live": "/backup", "/backup": "/live"] })
        }
        #expect(try await server.reload(configuration { $0.sourceTimeout = .seconds(30); $0.fallbacks = ["/live": "/backup"] }).isEmpty)
        tone.stop()
        server.close()
    }

    @Test("A new fallback of another channel count than the old one moves the listeners there, and the line says so, as a source leaving for it would")
    func reload_ANewFallbackOfAnotherShape_IsSaid() async throws {
        let log = StationServerTests.Log()
        let mounts = ["/live", "/backup", "/mono"]
        let server = try station.server(mounts: mounts, fallbacks: ["/live": "/backup"], timeout: .seconds(30), log: log)
        defer { server.close() }
        let (_, feedingBackup) = try await station.feedingSource(server, mount: "/backup")
        defer { feedingBackup.cancel() }
        let (_, feedingMono) = try await station.feedingSource(server, mount: "/mono", with: StationServerTests.monoFrames(10))
        defer { feedingMono.cancel() }
        let player = try #require(try await TestPeer.player(of: server.address, on: station.loop, request: "GET /live HTTP/1.0\r\n\r\n"))
        #expect(await player.waitFor(timeout: .seconds(10)) { StationServerTests.silentFrameCount($0) >= 5 })
        #expect(await eventually(timeout: .seconds(10)) {
            await station.loop.submit { server.table.mount(at: "/mono")?.distributor.assumeIsolated { $0.stat().context != nil } ?? false }
        })
        let changes = try await server.reload(configuration {
            $0.mounts = mounts
            $0.sourceTimeout = .seconds(30)
            $0.fallbacks = ["/live": "/mono"]
        })
        #expect(changes == ["fallback /live→/mono (was /backup)"], "\(changes)")
        #expect(await eventually(timeout: .seconds(10)) {
            log.contains("mount /live: its listeners hear /mono in 44100 Hz mono, after 44100 Hz stereo: some players (VLC, a browser's <audio>)")
        }, "\(log.lines.value.suffix(4))")
    }

    @Test("A fallback taken away leaves its mount nothing to play: no listener is moved there, those hearing it wait, then are let go")
    func reload_AFallbackTakenAway_LeavesTheMountNothingToPlay() async throws {
        let log = StationServerTests.Log()
        let mounts = ["/live", "/backup", "/four", "/x"]
        // /x hears /four's stream, which is /backup's; nobody listens to /four itself.
        let fallbacks = ["/live": "/backup", "/four": "/backup", "/x": "/four"]
        let server = try station.server(mounts: mounts, fallbacks: fallbacks, timeout: .seconds(1), log: log)
        defer { server.close() }
        let tone = try Station.builtIn(segmentBytes: 4170, loop: station.loop)
        await tone.start()
        defer { tone.stop() }
        server.attach(tone, at: "/backup")
        let onLive = try await station.listener(server, "/live", titles: false)
        let onX = try await station.listener(server, "/x", titles: false)
        #expect(await onLive.waitFor(timeout: .seconds(5)) { $0.count > 2 * 4170 })
        #expect(await onX.waitFor(timeout: .seconds(5)) { $0.count > 2 * 4170 }, "/x hears the tone through /four")
        let changes = try await server.reload(configuration {
            $0.mounts = mounts
            $0.sourceTimeout = .seconds(1)
            $0.fallbacks = ["/live": "/backup", "/x": "/four"]
        })
        #expect(changes == ["fallback /four→none (was /backup)"], "\(changes)")
        #expect(log.contains("mount /four: no fallback any more; its listeners (and those of /x, hearing it as their fallback) wait for a source"),
                "\(log.lines.value.suffix(4))")
        // Nothing to play: a player is told 404, and no listener is moved there — nor to /x, which hears /four.
        #expect(try await station.ask(server, "/four", admin: false).hasPrefix("HTTP/1.0 404"))
        for destination in ["/four", "/x"] {
            let answer = try await station.ask(server, "/admin/moveclients?mount=/live&destination=\(destination)")
            #expect(answer.hasPrefix("HTTP/1.0 409 Conflict"), "\(destination): \(answer.suffix(80))")
            #expect(answer.contains("\(destination) has no stream to move listeners to"))
        }
        #expect(!onLive.closed.value, "the listener asked to move stays where it plays")
        // Those hearing /four wait for a source for the source timeout, as when a source leaves, then are let go.
        #expect(await eventually(timeout: .seconds(6)) { onX.closed.value }, "\(log.lines.value.suffix(4))")
        #expect(log.contains("mount /four: no source came back within 1.0 seconds; its listeners are disconnected (and those of /x, hearing it as their fallback)"),
                "\(log.lines.value.suffix(4))")
        #expect(try await station.ask(server, "/admin/moveclients?mount=/live&destination=/four").hasPrefix("HTTP/1.0 409"))
        #expect(!onLive.closed.value)
    }

    @Test("A mount taken off the whitelist lets its listeners go at once, its source disconnected: no source can come back to wait for")
    func reload_AMountTakenOff_LetsItsListenersGoAtOnce() async throws {
        let log = StationServerTests.Log()
        // A source timeout of a minute: listeners kept waiting for a source would still be there when the test ends.
        let server = try station.server(timeout: .seconds(60), log: log)
        defer { server.close() }
        let (source, feeding) = try await station.feedingSource(server, mount: "/backup")
        defer { feeding.cancel() }
        let player = try await station.listener(server, "/backup", titles: false)
        #expect(await player.waitFor(timeout: .seconds(10)) { StationServerTests.silentFrameCount($0) >= 10 })
        let changes = try await server.reload(configuration { $0.sourceTimeout = .seconds(60); $0.mounts = ["/live"] })
        #expect(changes == ["mounts -/backup"], "\(changes)")
        #expect(await eventually(timeout: .seconds(10)) { source.closed.value && player.closed.value }, "\(log.lines.value.suffix(4))")
        // One line: the source's end, why, and what becomes of its listeners.
        #expect(log.lines.value.contains { $0.contains("on /backup ended: its mount taken off the whitelist (SIGHUP); its listeners are disconnected (") },
                "\(log.lines.value.suffix(4))")
        #expect(!log.contains("mount /backup:"), "no line of the mount's own besides: \(log.lines.value.suffix(4))")
        #expect(await eventually { log.lines.value.contains { $0.contains(" left after ") && $0.contains("(let go: /backup is off the whitelist)") } },
                "\(log.lines.value.suffix(4))")
        #expect(!log.contains("wait for a source") && !log.contains("no source came back"), "\(log.lines.value)")
    }

    @Test("A mount taken off the whitelist with its fallback lets go at once the listeners who heard the fallback, not after the source timeout")
    func reload_AMountTakenOffWithItsFallback_LetsItsListenersGoAtOnce() async throws {
        let log = StationServerTests.Log()
        let server = try station.server(fallbacks: ["/live": "/backup"], timeout: .seconds(60), log: log)
        defer { server.close() }
        let (_, feeding) = try await station.feedingSource(server, mount: "/backup")
        defer { feeding.cancel() }
        let player = try await station.listener(server, "/live", titles: false)  // /live has no source: it hears /backup
        #expect(await player.waitFor(timeout: .seconds(10)) { StationServerTests.silentFrameCount($0) >= 10 })
        let changes = try await server.reload(configuration { $0.sourceTimeout = .seconds(60); $0.mounts = ["/backup"] })
        #expect(changes == ["mounts -/live", "fallback /live→none (was /backup)"], "\(changes)")
        #expect(await eventually(timeout: .seconds(10)) { player.closed.value }, "\(log.lines.value.suffix(4))")
        #expect(log.contains("mount /live: off the whitelist, no source can publish it; its listeners are disconnected"), "\(log.lines.value.suffix(4))")
        #expect(!log.contains("wait for a source"), "\(log.lines.value)")
    }

    @Test("A mount /admin/whitelist takes off while its listeners wait for its source lets them go at once; one whose fallback plays keeps its listeners there")
    func whitelistRemove_LetsWaitingListenersGoAtOnce_AndKeepsThoseAFallbackPlaysTo() async throws {
        let log = StationServerTests.Log()
        let server = try station.server(mounts: ["/live", "/backup", "/talk"], fallbacks: ["/live": "/backup"], timeout: .seconds(60), log: log)
        defer { server.close() }
        let (_, backupFeeding) = try await station.feedingSource(server, mount: "/backup")
        defer { backupFeeding.cancel() }
        let (talk, talkFeeding) = try await station.feedingSource(server, mount: "/talk")
        let (_, liveFeeding) = try await station.feedingSource(server, mount: "/live")
        defer { liveFeeding.cancel() }
        let onTalk = try await station.listener(server, "/talk", titles: false)
        let onLive = try await station.listener(server, "/live", titles: false)
        for player in [onTalk, onLive] {
            #expect(await player.waitFor(timeout: .seconds(10)) { StationServerTests.silentFrameCount($0) >= 10 },
                    "\(player === onTalk ? "/talk" : "/live"): \(log.lines.value.suffix(8))")
        }
        // /talk's source leaves: its listener waits for it, for the source timeout ...
        talkFeeding.cancel()
        await talk.close()
        #expect(await eventually(timeout: .seconds(10)) { log.contains("on /talk ended") })
        // ... until /talk is taken off the whitelist: then no source can come back.
        #expect(try await station.ask(server, "/admin/whitelist?action=remove&mount=/talk").hasPrefix("HTTP/1.0 200"))
        #expect(await eventually(timeout: .seconds(10)) { onTalk.closed.value }, "\(log.lines.value.suffix(4))")
        #expect(log.contains("mount /talk: off the whitelist, no source can publish it; its listeners are disconnected"), "\(log.lines.value.suffix(4))")
        #expect(await eventually { log.lines.value.contains { $0.contains(" left after ") && $0.contains("(let go: /talk is off the whitelist)") } },
                "\(log.lines.value.suffix(4))")
        // /live, taken off with its source live, keeps its listener on its fallback: what a player asking for it hears now.
        #expect(try await station.ask(server, "/admin/whitelist?action=remove&mount=/live").hasPrefix("HTTP/1.0 200"))
        #expect(await eventually(timeout: .seconds(10)) {
            log.lines.value.contains { $0.contains("on /live ended: its mount taken off the whitelist (/admin/whitelist); its listeners hear /backup (") }
        }, "\(log.lines.value.suffix(4))")
        #expect(!log.contains("mount /live:"), "no line of the mount's own besides: \(log.lines.value.suffix(4))")
        let before = onLive.received.value.count
        #expect(await onLive.waitFor(timeout: .seconds(10)) { $0.count > before + 3 * 4170 }, "the fallback plays on")
        #expect(!onLive.closed.value)
        #expect(!log.contains("no source came back"), "\(log.lines.value)")
    }

    @Test("A fallback a reload gives a mount off the list is said to be of a mount no source publishes, as the start line says: a typo such as /Live is seen")
    func reload_AFallbackOfAnUnlistedMount_IsSaidSo() async throws {
        let server = try station.server()
        defer { server.close() }
        let changes = try await server.reload(configuration { $0.fallbacks = ["/Live": "/backup"] })
        #expect(changes == ["fallback /Live→/backup (was none) (/Live not listed: no source publishes it)"], "\(changes)")
    }

    @Test("An admin password removed, then put back, is said removed, then set (not changed)")
    func reload_AnAdminPasswordPutBack_IsSaidSet() async throws {
        let server = try station.server()
        defer { server.close() }
        #expect(try await server.reload(configuration { $0.adminPassword = nil }) == ["admin password removed: the admin API answers 401"])
        #expect(try await server.reload(configuration { _ in }) == ["admin password set"])
        #expect(try await station.ask(server, "/admin/whitelist").hasPrefix("HTTP/1.0 200"))
        #expect(try await server.reload(configuration { $0.adminPassword = "another" }) == ["admin password changed"])
    }

    @Test func reload_KeepsTheMountsTheAdminAPIAdded_AppliesOnlyWhatTheFileChanged() async throws {
        let server = try station.server()  // mounts /live, /backup
        #expect(try await station.ask(server, "/admin/whitelist?action=add&mount=/extra").hasPrefix("HTTP/1.0 200"))
        let changes = try await server.reload(configuration { $0.mounts = ["/live", "/new"] })
        #expect(changes == ["mounts +/new -/backup"], "\(changes)")
        #expect(try await station.ask(server, "/admin/whitelist").contains(#"["/extra","/live","/new"]"#), "/extra, added by the admin API, stays")
        // Read again unchanged: nothing changes, /extra included.
        #expect(try await server.reload(configuration { $0.mounts = ["/live", "/new"] }).isEmpty)
        server.close()
    }

    @Test func reload_ANewMountUser_IsSaid_AndTheLiveSourceKeepsSettingTitlesAsTheUserItPublishedAs() async throws {
        let server = try station.server { $0.mountUsers = ["/live": "dj"] }
        defer { server.close() }
        let source = try await station.source(server, user: "dj")
        #expect(await source.waitFor(timeout: .seconds(10)) { String(decoding: $0, as: UTF8.self).hasPrefix("HTTP/1.1 100") })
        await station.sendAudio(source, StationServerTests.silentFrames(20))
        let changes = try await server.reload(configuration { $0.mountUsers = ["/live": "dj2"] })
        #expect(changes == ["mount user of /live changed"], "\(changes)")
        func title(_ user: String) async throws -> String {
            let peer = try await TestPeer.connect(to: server.address, on: station.loop)
            let credentials = Base64.encode(Array("\(user):hackme".utf8))
            await peer.send("GET /admin/metadata?mount=/live&mode=updinfo&song=by+\(user) HTTP/1.0\r\nAuthorization: Basic \(credentials)\r\n\r\n")
            _ = await eventually { peer.closed.value }
            return peer.text
        }
        #expect(try await title("dj").hasPrefix("HTTP/1.0 200"), "the live source set its titles as dj, and still does")
        #expect(try await title("dj2").hasPrefix("HTTP/1.0 200"), "the mount's user now")
        #expect(try await title("someone").hasPrefix("HTTP/1.0 401"))
        // A new source of /live logs in as the new name only.
        await source.close()
        let old = try await station.source(server, user: "dj")
        #expect(await eventually(timeout: .seconds(10)) { old.closed.value })
        #expect(old.text.hasPrefix("HTTP/1.0 401"), "\(old.text.prefix(60))")
    }

    @Test func reloadDifferences_NameEveryRuleThatChanged() {
        var old = MountTable.Rules()
        old.whitelist = ["/a"]
        old.maxListeners = 10
        var new = old
        new.whitelist = nil
        new.maxListeners = nil
        new.mountMaxListeners = ["/a": 5]
        new.sourceTimeout = .seconds(20)
        new.mountPasswords = ["/a": Secret("x")!]
        new.mountUsers = ["/a": "dj"]
        #expect(MountTable.differences(old, new) == [
            "--accept-all (was a whitelist)", "mount password of /a set", "mount user of /a set", "max listeners unlimited (was 10)",
            "max listeners of /a 5 (was unlimited)", "source timeout 20.0 seconds (was 10.0 seconds)",
        ])
        #expect(MountTable.differences(old, old).isEmpty)
    }

    @Test func reloadDifferences_SayAMountUserSetChangedOrRemoved_AsAPassword() {
        var old = MountTable.Rules()
        old.mountUsers = ["/a": "dj", "/b": "dj"]
        old.mountPasswords = ["/a": Secret("x")!, "/b": Secret("x")!]
        var new = MountTable.Rules()
        new.mountUsers = ["/a": "dj2", "/c": "dj"]
        new.mountPasswords = ["/a": Secret("y")!, "/c": Secret("x")!]
        #expect(MountTable.differences(old, new) == [
            "mount password of /c set", "mount password of /a changed", "mount password of /b removed",
            "mount user of /c set", "mount user of /a changed", "mount user of /b removed",
        ])
    }
}
