@testable import CastyNet
import Testing

@testable import Casty

/// Out of descriptors, a new peer takes the place of a connection that has not sent its request: idle connections
/// from one address cannot lock the players out (`scripts/interop/signals-and-limits.sh` (j) does it for real, at a
/// low descriptor limit).
extension FrontDoorTests {
    /// A port serving one stream through a front door on a loop of its own (the connections waiting on the shared
    /// loop are other tests'), logging to ``log``.
    struct ShedDoor {
        let loop: EventLoop
        let log = StationServerTests.Log()
        let distributor: Distributor
        let port: PortContext
        let listener: Listener

        init(_ name: String) throws {
            loop = EventLoop(name: name)
            distributor = Distributor(loop: loop, configuration: try .init(burst: 0))
            distributor.send(.reply(next: 0, context: testContext()))
            port = PortContext(distributor: distributor, options: ClientOptions(), logger: log.logger)
            listener = try FrontDoor.listen(on: .loopback(port: 0), loop: loop, port: port)
        }

        /// The next accept of `listener` fails as with `EMFILE`.
        func runOutOfDescriptors(_ listener: Listener) async {
            await loop.submit { listener.simulatedDescriptorFailures = 1 }
        }

        /// `count` connections from `host` that send nothing, once the front door counts them as waiting.
        func idle(_ count: Int, from host: String) async throws -> [TestPeer] {
            var peers: [TestPeer] = []
            for _ in 0..<count {
                peers.append(try await TestPeer.connect(to: listener.localAddress, on: loop, from: SocketAddress(host: host, port: 0)))
            }
            let waiting = WaitingDoors.on(loop)
            #expect(await eventually { await loop.submit { waiting.count } == count })
            return peers
        }

        func close(_ others: Listener...) {
            loop.execute { [listener] in
                listener.close()
                for other in others { other.close() }
            }
            loop.shutdown()
        }
    }

    @Test("Out of descriptors, a player is admitted in the place of the oldest idle connection of the address with the most, which is closed and named in the log")
    func outOfDescriptors_APlayerTakesThePlaceOfTheFloodsOldestIdleConnection() async throws {
        let door = try ShedDoor("test-shed")
        defer { door.close() }
        let idle = try await door.idle(3, from: "127.0.0.2")
        let oldest = try #require(await door.loop.submit { idle[0].connection.localAddress })

        await door.runOutOfDescriptors(door.listener)
        let player = try await TestPeer.connect(to: door.listener.localAddress, on: door.loop)
        await player.send("GET /live HTTP/1.0\r\n\r\n")
        #expect(await eventually { await door.distributor.stat().listeners == 1 }, "\(door.log.lines.value)")
        #expect(await eventually { idle[0].closed.value }, "the oldest idle connection is shed")
        #expect(!idle[1].closed.value && !idle[2].closed.value)
        #expect(door.log.contains("connection from \(oldest) shed for a new peer (out of file descriptors): it had sent no request, the oldest of 3 waiting from 127.0.0.2"),
                "\(door.log.lines.value)")
        let (listener, waiting) = (door.listener, WaitingDoors.on(door.loop))
        let counts = await door.loop.submit { (listener.refusedCount, waiting.count) }
        #expect(counts == (0, 2))
        for peer in idle + [player] { await peer.close() }
    }

    @Test("Out of descriptors with no connection waiting for its request, the newcomer is refused as before")
    func outOfDescriptors_WithNoneWaiting_TheNewcomerIsRefused() async throws {
        let door = try ShedDoor("test-shed-none")
        defer { door.close() }
        let player = try await TestPeer.connect(to: door.listener.localAddress, on: door.loop)
        await player.send("GET /live HTTP/1.0\r\n\r\n")
        #expect(await eventually { await door.distributor.stat().listeners == 1 })

        await door.runOutOfDescriptors(door.listener)
        let newcomer = try await TestPeer.connect(to: door.listener.localAddress, on: door.loop)
        #expect(await eventually { newcomer.closed.value })
        #expect(!player.closed.value, "a player is never shed")
        let listener = door.listener
        #expect(await door.loop.submit { listener.refusedCount } == 1)
        #expect(door.log.contains("refused a peer: out of file descriptors"), "\(door.log.lines.value)")
        await player.close()
    }

    @Test("Out of descriptors, an RTMP publisher is admitted at its port in the place of an idle connection of the HTTP port")
    func outOfDescriptors_AnRTMPPublisherTakesThePlaceOfAnIdleHTTPConnection() async throws {
        let door = try ShedDoor("test-shed-rtmp")
        let counters = RTMPCounters(port: 0)
        let rtmp = try RTMPPublisher.listen(on: .loopback(port: 0), loop: door.loop, port: door.port, counters: counters)
        defer { door.close(rtmp) }
        let idle = try await door.idle(2, from: "127.0.0.3")

        await door.runOutOfDescriptors(rtmp)
        let publisher = try await TestPeer.connect(to: rtmp.localAddress, on: door.loop)
        #expect(await eventually { await door.loop.submit { counters.waiting } == 1 }, "\(door.log.lines.value)")
        #expect(await eventually { idle[0].closed.value }, "the oldest idle HTTP connection is shed")
        #expect(!idle[1].closed.value && !publisher.closed.value)
        #expect(await door.loop.submit { rtmp.refusedCount } == 0)
        #expect(door.log.contains("shed for a new peer (out of file descriptors): it had sent no request, the oldest of 2 waiting from 127.0.0.3"),
                "\(door.log.lines.value)")
        for peer in idle + [publisher] { await peer.close() }
    }
}
