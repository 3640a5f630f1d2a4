@testable import CastyNet
import Testing

@testable import Casty

/// Out of descriptors, a new peer takes the place of a connection that has not sent its request: idle connections
/// from one address cannot lock the players out (`scripts/interop/signals-and-limits.sh` (j) does it for real, at a
/// low descriptor limit).
extension FrontDoorTests {
    @Test("Out of descriptors, a player is admitted in the place of the oldest idle connection of the address with the most, which is closed and named in the log")
    func outOfDescriptors_APlayerTakesThePlaceOfTheFloodsOldestIdleConnection() async throws {
        // A loop of its own: the connections waiting on the shared loop are other tests'.
        let loop = EventLoop(name: "test-shed")
        defer { loop.shutdown() }
        let log = StationServerTests.Log()
        let distributor = Distributor(loop: loop, configuration: try .init(burst: 0))
        distributor.send(.reply(next: 0, context: testContext()))
        let port = PortContext(distributor: distributor, options: ClientOptions(), logger: log.logger)
        let listener = try FrontDoor.listen(on: .loopback(port: 0), loop: loop, port: port)
        defer { loop.execute { listener.close() } }
        let flood = SocketAddress(host: "127.0.0.2", port: 0)
        var peers: [TestPeer] = []
        for _ in 0..<3 { peers.append(try await TestPeer.connect(to: listener.localAddress, on: loop, from: flood)) }
        let idle = peers
        let waiting = WaitingDoors.on(loop)
        #expect(await eventually { await loop.submit { waiting.count } == 3 })
        let oldest = try #require(await loop.submit { idle[0].connection.localAddress })

        await loop.submit { listener.simulatedDescriptorFailures = 1 }  // the next accept fails as with EMFILE
        let player = try await TestPeer.connect(to: listener.localAddress, on: loop)
        await player.send("GET /live HTTP/1.0\r\n\r\n")
        #expect(await eventually { await distributor.stat().listeners == 1 }, "\(log.lines.value)")
        #expect(await eventually { idle[0].closed.value }, "the oldest idle connection is shed")
        #expect(!idle[1].closed.value && !idle[2].closed.value)
        #expect(log.contains("connection from \(oldest) shed for a new peer (out of file descriptors): it had sent no request, the oldest of 3 waiting from 127.0.0.2"),
                "\(log.lines.value)")
        #expect(await loop.submit { (listener.refusedCount, waiting.count) } == (0, 2))
        for peer in idle + [player] { await peer.close() }
    }

    @Test("Out of descriptors with no connection waiting for its request, the newcomer is refused as before")
    func outOfDescriptors_WithNoneWaiting_TheNewcomerIsRefused() async throws {
        let loop = EventLoop(name: "test-shed-none")
        defer { loop.shutdown() }
        let log = StationServerTests.Log()
        let distributor = Distributor(loop: loop, configuration: try .init(burst: 0))
        distributor.send(.reply(next: 0, context: testContext()))
        let port = PortContext(distributor: distributor, options: ClientOptions(), logger: log.logger)
        let listener = try FrontDoor.listen(on: .loopback(port: 0), loop: loop, port: port)
        defer { loop.execute { listener.close() } }
        let player = try await TestPeer.connect(to: listener.localAddress, on: loop)
        await player.send("GET /live HTTP/1.0\r\n\r\n")
        #expect(await eventually { await distributor.stat().listeners == 1 })

        await loop.submit { listener.simulatedDescriptorFailures = 1 }
        let newcomer = try await TestPeer.connect(to: listener.localAddress, on: loop)
        #expect(await eventually { newcomer.closed.value })
        #expect(!player.closed.value, "a player is never shed")
        #expect(await loop.submit { listener.refusedCount } == 1)
        #expect(log.contains("refused a peer: out of file descriptors"), "\(log.lines.value)")
        await player.close()
    }
}
