import Testing

@testable import Casty
@testable import CastyNet

/// Listeners of a mount whose fallback has nothing to play wait for a source for the source timeout, said at once,
/// then are let go — whatever stands in the middle of the chain they hear (a mount off the whitelist, a relay
/// whose upstream is away) — and a relay's outage is logged once, on its own mount.
struct FallbackWaitTests {
    let station = StationServerTests()

    @Test("A reload that leaves a listed mount's fallback chain, through a mount off the whitelist, with nothing to play keeps its listeners waiting for a source, in one line: not let go at once for the middle mount no source can publish")
    func reload_AChainThroughAnUnlistedMountWithNothingToPlay_ItsListenersWait() async throws {
        let log = StationServerTests.Log()
        let mounts = ["/live", "/b", "/c"]
        // /mid is a step of /live's chain only: off the whitelist, no source publishes it.
        let server = try station.server(mounts: mounts, fallbacks: ["/live": "/mid", "/mid": "/b"], timeout: .seconds(60), log: log)
        defer { server.close() }
        let tone = try Station.builtIn(segmentBytes: 4170, loop: station.loop)
        await tone.start()
        defer { tone.stop() }
        server.attach(tone, at: "/b")
        let player = try await station.listener(server, "/live", titles: false)
        #expect(await player.waitFor(timeout: .seconds(5)) { $0.count > 2 * 4170 }, "/live hears the tone through /mid")

        let changes = try await server.reload(StationServerReloadTests().configuration {
            $0.mounts = mounts
            $0.sourceTimeout = .seconds(60)
            $0.fallbacks = ["/live": "/mid", "/mid": "/c"]
        })
        #expect(changes == ["fallback /mid→/c (was /b) (/mid not listed: no source publishes it)"], "\(changes)")
        #expect(await eventually(timeout: .seconds(5)) { log.contains("mount /mid: no source; its listeners hear /c once it plays (it has no source either)") },
                "\(log.lines.value.suffix(4))")
        // A source on /c within the source timeout is what /live's listener hears, on its connection.
        let (_, feeding) = try await station.feedingSource(server, mount: "/c", with: StationServerTests.markedFrames(10, mark: 7))
        defer { feeding.cancel() }
        #expect(await player.waitFor(timeout: .seconds(10)) { StationServerTests.count(of: 7, in: $0) >= 20 }, "\(log.lines.value.suffix(6))")
        #expect(!player.closed.value)
        #expect(!log.contains("off the whitelist") && !log.contains("let go"), "\(log.lines.value)")
    }

    @Test("A mount whose fallback is a relay that loses its upstream, with nothing else to play, says at once that its listeners wait for a source, and lets them go after the source timeout: not held on silence for the outage")
    func fallbackRelayLost_ItsHearersWaitTheSourceTimeout_Said() async throws {
        let upstream = try AwayableStation(on: station.loop)
        defer { Task { await upstream.close() } }
        let log = StationServerTests.Log()
        let server = try station.server(mounts: ["/x", "/ice"], fallbacks: ["/x": "/ice"], timeout: .seconds(1), log: log)
        defer { server.close() }
        let (proxy, onIce) = try await station.relaying(upstream, on: server, log: log)
        defer { proxy.stop() }
        let onX = try await station.listener(server, "/x", titles: false)
        #expect(await onX.waitFor(timeout: .seconds(10)) { StationServerTests.silentFrameCount($0) >= 20 }, "/x hears the relay")

        await upstream.goAway()
        #expect(await eventually(timeout: .seconds(5)) {
            log.contains("mount /x: its fallback /ice plays nothing now (its relay does not stream); its listeners wait for a source (up to 1.0 seconds)")
        }, "\(log.lines.value.suffix(6))")
        #expect(await eventually(timeout: .seconds(10)) { onX.closed.value }, "let go after the 1 s source timeout: \(log.lines.value.suffix(6))")
        #expect(log.contains("mount /x: no source came back within 1.0 seconds; its listeners are disconnected"), "\(log.lines.value.suffix(6))")
        // The relay's own listener waits for its relay, connected, as without a fallback.
        #expect(!onIce.closed.value)
    }

    @Test("A relay's outage heard by a mount through its fallback is one gap line, on the relay's mount: not one more on the mount hearing it")
    func fallbackRelayBack_TheGapIsSaidOnTheRelaysMountOnly() async throws {
        let upstream = try AwayableStation(on: station.loop)
        defer { Task { await upstream.close() } }
        let log = StationServerTests.Log()
        let server = try station.server(mounts: ["/x", "/ice"], fallbacks: ["/x": "/ice"], timeout: .seconds(60), log: log)
        defer { server.close() }
        let (proxy, _) = try await station.relaying(upstream, on: server, log: log)
        defer { proxy.stop() }
        let onX = try await station.listener(server, "/x", titles: false)
        #expect(await onX.waitFor(timeout: .seconds(10)) { StationServerTests.silentFrameCount($0) >= 20 }, "/x hears the relay")

        await upstream.goAway()
        #expect(await eventually(timeout: .seconds(5)) { log.contains("proxy: upstream lost") }, "\(log.lines.value.suffix(6))")
        try await Task.sleep(for: .seconds(2))  // an outage of some segments
        upstream.comeBack()
        let before = onX.received.value.count
        #expect(await onX.waitFor(timeout: .seconds(10)) { $0.count > before + 5 * 4170 }, "/x hears the relay again")
        #expect(await eventually(timeout: .seconds(5)) { log.contains("mount /ice: distributor: gap:") }, "\(log.lines.value.suffix(8))")
        #expect(!log.contains("mount /x: distributor: gap:"), "\(log.lines.value.filter { $0.contains("gap") })")
    }
}
