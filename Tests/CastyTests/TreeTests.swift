@testable import CastyNet
@testable import CastyWire
import Icy
import Testing

@testable import Casty

/// A root and branches in one process, on loopback ports, speaking ICY over HTTP to each other.
@Suite(.serialized)
struct TreeTests {
    /// Small, fast segments: 1600 bytes of the built-in tone at 128 kbit/s last 0.1 s.
    static let segmentBytes = 1600

    func station() -> Station {
        try! Station.builtIn(titles: ["Tree test"], titleInterval: .seconds(1), segmentBytes: Self.segmentBytes)
    }

    func branch(_ root: Root, eager: Bool = true, fanout: Int = 2) throws -> Branch.Running {
        var configuration = Branch.Configuration()
        configuration.backoff = .milliseconds(20)
        return try Branch.serve(
            root: StreamURL(host: "127.0.0.1", port: root.port.address.port), address: .loopback(port: 0),
            fanout: fanout, eager: eager, configuration: configuration)
    }

    func stop(_ serving: Branch.Running) {
        serving.port.close()
        serving.branch.stop()
        serving.distributor.stop()
    }

    @Test func branches_FormABalancedTreeWithinTheFanout() async throws {
        let source = station()
        await source.start()
        let root = try Root.start(source: source, address: .loopback(port: 0))
        var branches: [Branch.Running] = []
        for _ in 0..<6 {
            let serving = try branch(root)
            branches.append(serving)
            #expect(await eventually { await serving.branch.state == .streaming })
        }
        let stats = [await root.distributor.stat()] + (await branches.asyncMap { await $0.distributor.stat() })
        #expect(stats.allSatisfy { ($0.tree?.children.count ?? 0) <= 2 })
        #expect(stats[0].tree?.children.count == 2)
        let depths = stats.map(\.path.count)
        #expect(depths.max() == 2, "6 branches under a root with fanout 2: depth 2")
        #expect(Set(stats.compactMap(\.tree?.address)).count == 7)
        source.stop()
        branches.forEach(stop)
        root.port.close()
    }

    @Test func leaves_GetTheSameNumberedSegments_WithTheSameBytes_AsTheRoot() async throws {
        let source = station()
        await source.start()
        let root = try Root.start(source: source, address: .loopback(port: 0))
        let first = try branch(root), second = try branch(root), third = try branch(root)
        #expect(await eventually { await third.branch.state == .streaming })
        let atRoot = RecorderNode(loop: .shared), atLeaf = RecorderNode(loop: .shared)
        root.distributor.send(.request(from: atRoot, resume: nil))
        third.distributor.send(.request(from: atLeaf, resume: nil))
        #expect(await atLeaf.waitForData(15))
        let rootSegments = await atRoot.record.segments, leafSegments = await atLeaf.record.segments
        let common = Set(rootSegments.map(\.number)).intersection(leafSegments.map(\.number))
        #expect(common.count >= 10)
        for number in common {
            let a = rootSegments.first { $0.number == number }!, b = leafSegments.first { $0.number == number }!
            #expect(a.audio == b.audio)
            #expect(a.time == b.time)
            #expect(a.title == b.title)
        }
        source.stop()
        [first, second, third].forEach(stop)
        root.port.close()
    }

    @Test func killingAnInteriorBranch_ItsDescendantsReattach_WithNoGapAndNoDuplicate() async throws {
        let source = station()
        await source.start()
        let root = try Root.start(source: source, address: .loopback(port: 0))
        let a = try branch(root), b = try branch(root)
        #expect(await eventually { await b.branch.state == .streaming })
        let c = try branch(root)  // goes under a or b
        #expect(await eventually { await c.branch.state == .streaming })
        let parent = try #require(await c.branch.parent)
        let interior = [a, b].first { $0.port.address.port == parent.port }!
        let listener = Dummy(loop: .shared)
        listener.attach(to: c.distributor)
        #expect(await eventually { await listener.received >= 5 })
        stop(interior)
        #expect(await eventually(timeout: .seconds(20)) { await c.branch.reattaches >= 1 })
        let before = await listener.received
        #expect(await eventually(timeout: .seconds(20)) { await listener.received >= before + 10 })
        #expect(await listener.gaps == 0)
        #expect(await listener.missing == 0)
        #expect(await c.distributor.stat().gaps == 0)
        let repaired = try #require(await c.branch.parent)
        #expect(repaired.port != parent.port)
        source.stop()
        [a, b, c].filter { $0.port.address != interior.port.address }.forEach(stop)
        root.port.close()
    }

    @Test func whenAnAncestorMovesUp_ItsDescendantsLearnTheirNewPath() async throws {
        let source = station()
        await source.start()
        let root = try Root.start(source: source, address: .loopback(port: 0), fanout: 1)
        let a = try branch(root, fanout: 1)
        #expect(await eventually { await a.branch.state == .streaming })
        let b = try branch(root, fanout: 1)
        #expect(await eventually { await b.branch.state == .streaming })
        let c = try branch(root, fanout: 1)
        #expect(await eventually { await c.distributor.stat().path.count == 3 })
        stop(a)  // b moves up under the root; c stays under b, one level higher than before
        #expect(await eventually(timeout: .seconds(5)) { await b.distributor.stat().path.count == 1 })
        #expect(await eventually(timeout: .seconds(5)) { await c.distributor.stat().path.count == 2 })
        #expect(await c.distributor.stat().path == [root.port.address.description, b.port.address.description])
        #expect(await c.branch.reattaches == 0)
        source.stop()
        [b, c].forEach(stop)
        root.port.close()
    }

    @Test func lazyBranch_TakesItsPlaceWhenItsFirstPlayerArrives() async throws {
        let source = station()
        await source.start()
        let root = try Root.start(source: source, address: .loopback(port: 0))
        let lazy = try branch(root, eager: false)
        try await Task.sleep(for: .milliseconds(200))
        #expect(await lazy.branch.state == .connecting)
        #expect(await root.distributor.stat().tree?.children.isEmpty == true)
        let player = try await TestPeer.connect(to: lazy.port.address, on: .shared)
        await player.send("GET / HTTP/1.0\r\nIcy-MetaData: 1\r\n\r\n")
        #expect(await player.waitFor { $0.count > 3 * Self.segmentBytes })
        #expect(await lazy.branch.state == .streaming)
        let parsed = try #require(try player.parsed())
        #expect(parsed.headers["icy-metaint"] == String(Self.segmentBytes))
        #expect(parsed.segments.compactMap { Metadata(parsing: $0.metadata).streamTitle }.first?.hasPrefix("Tree test") == true)
        await player.close()
        source.stop()
        stop(lazy)
        root.port.close()
    }

    @Test("A lazy branch publishes its live HLS once it relays for a player, not at the first HLS request only")
    func lazyBranch_PublishesItsHLS_OnceItRelays() async throws {
        let source = station()
        await source.start()
        let root = try Root.start(source: source, address: .loopback(port: 0))
        let lazy = try branch(root, eager: false)
        let distributor = lazy.distributor
        let publishes: @Sendable () async -> Bool = { await distributor.loop.submit { distributor.assumeIsolated { $0.packager != nil } } }
        try await Task.sleep(for: .milliseconds(200))
        #expect(await !publishes(), "nothing relayed, nothing published")
        let player = try await TestPeer.connect(to: lazy.port.address, on: .shared)
        await player.send("GET / HTTP/1.0\r\n\r\n")
        #expect(await player.waitFor { $0.count > 3 * Self.segmentBytes })
        #expect(await eventually { await publishes() }, "its HLS is made from the stream it relays")
        await player.close()
        source.stop()
        stop(lazy)
        root.port.close()
    }

    @Test func aFullNode_RedirectsBranches_ButServesPlayers() async throws {
        let source = station()
        await source.start()
        let root = try Root.start(source: source, address: .loopback(port: 0), fanout: 1)
        let only = try branch(root)
        #expect(await eventually { await only.branch.state == .streaming })
        let asBranch = try await TestPeer.connect(to: root.port.address, on: .shared)
        await asBranch.send("GET / HTTP/1.0\r\nX-Casty-Branch: 127.0.0.1:1\r\n\r\n")
        #expect(await eventually { asBranch.closed.value })
        #expect(asBranch.text.hasPrefix("HTTP/1.0 302 Found\r\n"))
        #expect(asBranch.text.contains("Location: http://\(only.port.address)/"))
        let player = try await TestPeer.connect(to: root.port.address, on: .shared)
        await player.send("GET / HTTP/1.0\r\n\r\n")
        #expect(await player.waitFor { $0.count > Self.segmentBytes })
        #expect(player.text.hasPrefix("HTTP/1.0 200 OK\r\n"))
        await player.close()
        source.stop()
        stop(only)
        root.port.close()
    }
}

extension Sequence {
    /// Maps with an async transform, in order.
    func asyncMap<T>(_ transform: (Element) async -> T) async -> [T] {
        var results: [T] = []
        for element in self { results.append(await transform(element)) }
        return results
    }
}
