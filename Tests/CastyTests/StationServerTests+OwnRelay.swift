import Testing

@testable import Casty
@testable import CastyNet
import CastyWire

/// A `--relay` whose URL reaches its own server (a station moved onto the old Icecast's port, a relay line still
/// naming it): refused with `508 Loop Detected` whatever the address's spelling, and said so by the relay — while a
/// relay of another server, in the same process too, plays as ever.
extension StationServerTests {
    /// A relay for `url`, reconnecting within 200 ms, attached at `mount` of `server` and started.
    func relay(_ url: StreamURL, at mount: String, on server: StationServer, log: Log) async throws -> Proxy {
        var relaying = Proxy.Configuration()
        relaying.segmentBytes = 4170
        relaying.backoff = .milliseconds(100)
        relaying.maxBackoff = .milliseconds(200)
        let proxy = try Proxy(url: url, configuration: relaying, loop: loop, logger: log.logger)
        server.attach(proxy, at: mount)
        await proxy.startInBackground()
        return proxy
    }

    @Test("A relay of its own server, the fallback of the mount it relays, by another spelling of its address: answered 508, said at each attempt, never a listener, no loop once the source leaves")
    func relayOfItsOwnServer_Is508_NeverAListener() async throws {
        let log = Log()
        // A source timeout of a minute: /live's player, waiting for /r once the source leaves, is still there when the
        // test has seen the relay's attempts go on (let go after the source timeout, it would no longer be counted).
        let server = try server(mounts: ["/live", "/r"], fallbacks: ["/live": "/r"], timeout: .seconds(60), log: log)
        defer { server.close() }
        let (source, feeding) = try await feedingSource(server)
        let player = try await listener(server, titles: false)
        #expect(await player.waitFor(timeout: .seconds(10)) { Self.silentFrameCount($0) >= 10 }, "the source plays")
        // `localhost`, not the 127.0.0.1 the server was given: the server knows its relay, not its address.
        let proxy = try await relay(StreamURL(host: "localhost", port: server.address.port, path: "/live"), at: "/r", on: server, log: log)
        defer { proxy.stop() }
        let said = "server answered 508 Loop Detected (localhost:\(server.address.port) is this server itself: a relay of its own mount would feed itself"
        #expect(await eventually(timeout: .seconds(10)) { log.lines.value.filter { $0.contains(said) }.count >= 2 }, "\(log.lines.value)")
        #expect(log.lines.value.allSatisfy { !$0.contains(said) || $0.hasPrefix("proxy: http://localhost:\(server.address.port)/live: ") },
                "one line per attempt, naming the URL: \(log.lines.value)")
        let mounts = try await ask(server, "/admin/listmounts")
        #expect(mounts.contains(#""mount":"/live","listeners":1,"#) && mounts.contains(#""mount":"/r","listeners":0,"#), "\(mounts)")
        #expect(await proxy.state == .retrying)

        // The source leaves: /live's player waits for /r, which does not play — and is not fed /live's own stream.
        feeding.cancel()
        await source.close()
        #expect(await eventually(timeout: .seconds(10)) { log.contains("mount /live: no source; its listeners hear /r once it plays (its relay does not stream either)") },
                "\(log.lines.value)")
        let stats = try await ask(server, "/admin/stats")
        #expect(stats.contains("<listeners>1</listeners>"), "the player alone: \(stats)")
        // Past its first three attempts, the relay's failures are summed up in a line every 10 s: the next one may be
        // that far off.
        let attempts = log.lines.value.filter { $0.contains("Loop Detected") }.count
        #expect(await eventually(timeout: .seconds(30)) { log.lines.value.filter { $0.contains("Loop Detected") }.count > attempts },
                "it retries: \(log.lines.value)")
        #expect(await proxy.state == .retrying)
        #expect(!log.contains("its relay streams"), "\(log.lines.value)")
        await player.close()
    }

    @Test("Relays between two servers of one process play: each server refuses only its own relays")
    func relaysOfAnotherServer_InTheSameProcess_Play() async throws {
        let logA = Log(), logB = Log()
        let a = try server(mounts: ["/live", "/echo"], log: logA)
        defer { a.close() }
        let b = try server(mounts: ["/r"], log: logB)
        defer { b.close() }
        let (_, feeding) = try await feedingSource(a)
        defer { feeding.cancel() }
        let toA = try await relay(StreamURL(host: "127.0.0.1", port: a.address.port, path: "/live"), at: "/r", on: b, log: logB)
        defer { toA.stop() }
        let toB = try await relay(StreamURL(host: "127.0.0.1", port: b.address.port, path: "/r"), at: "/echo", on: a, log: logA)
        defer { toB.stop() }
        let onB = try await listener(b, "/r", titles: false)
        let echoed = try await listener(a, "/echo", titles: false)
        #expect(await onB.waitFor(timeout: .seconds(20)) { Self.silentFrameCount($0) >= 10 }, "b relays a: \(logB.lines.value)")
        #expect(await echoed.waitFor(timeout: .seconds(20)) { Self.silentFrameCount($0) >= 10 }, "a relays b: \(logA.lines.value)")
        #expect(!logA.contains("Loop Detected") && !logB.contains("Loop Detected"))
        await onB.close()
        await echoed.close()
    }

    @Test("Three servers whose relays feed each other in a ring: each relay is answered 508 and says it is a loop, and each server says which of its mounts is in it")
    func relayLoopAcrossServers_Is508_SaidOnBothSides() async throws {
        let logs = [Log(), Log(), Log()]
        let servers = try (0..<3).map { try server(mounts: ["/m\($0)"], log: logs[$0]) }
        defer { for server in servers { server.close() } }
        // /m0 relays /m1, which relays /m2, which relays /m0: no source anywhere.
        var proxies: [Proxy] = []
        for index in 0..<3 {
            let next = (index + 1) % 3
            let url = StreamURL(host: "127.0.0.1", port: servers[next].address.port, path: "/m\(next)")
            proxies.append(try await relay(url, at: "/m\(index)", on: servers[index], log: logs[index]))
        }
        defer { for proxy in proxies { proxy.stop() } }
        let said = "server answered 508 Loop Detected (relay loop)"
        for index in 0..<3 {
            #expect(await eventually(timeout: .seconds(20)) { logs[index].contains(said) }, "relay of /m\(index): \(logs[index].lines.value)")
            #expect(await eventually(timeout: .seconds(10)) {
                logs[index].contains("refused: /m\(index) is relayed from http://127.0.0.1:\(servers[(index + 1) % 3].address.port)/m\((index + 1) % 3), which relays it back from here")
            }, "server \(index): \(logs[index].lines.value)")
            #expect(await proxies[index].state == .retrying)
        }
    }

    @Test("The names of the relays asking, which a relay sends on: only those that look like one, not its own, at most 16, forgotten after two minutes")
    func relayChain_NotesNamesAndSendsThemOn() {
        let chain = RelayChain()
        let t0 = ContinuousClock.now
        #expect(chain.header(now: t0) == nil)
        chain.note(RelayChain.parse("a1, b2") + RelayChain.parse("ff,  NOT-HEX, 0123456789abcdef0, own"), except: "ff", now: t0)
        #expect(chain.header(now: t0) == "a1, b2", "its own name, and what is no relay's name, left out")
        #expect(chain.header(now: t0 + RelayChain.memory + .seconds(1)) == nil, "forgotten once no request carries them")
        chain.note((0..<40).map { String($0, radix: 16) }, except: "x", now: t0)
        #expect(RelayChain.parse(chain.header(now: t0)).count == RelayChain.most)
    }
}
