@testable import CastyNet
import Synchronization
import Testing

@testable import Casty

/// Every connection lets go of what it used once it is closed: a server that takes millions of connections
/// must not keep a few hundred bytes of each (the hardening issue measured 0.7 KB per connection, never
/// returned, from a timer that kept its client alive).
struct ConnectionLifetimeTests {
    let loop = EventLoop.shared

    /// Weak references to the connections a port accepted, so a test can see that they were freed. Whatever
    /// serves a connection — its front door, a client, a pending answer — holds it: a connection that is freed
    /// shows that all of them were.
    final class Accepted: @unchecked Sendable {
        // @unchecked Sendable: the weak references are behind the mutex.
        private let lock = Mutex<[Weak]>([])
        struct Weak: @unchecked Sendable { weak var connection: Connection? }

        func add(_ connection: Connection) { lock.withLock { $0.append(Weak(connection: connection)) } }
        var made: Int { lock.withLock { $0.count } }
        var alive: Int { lock.withLock { $0.filter { $0.connection != nil }.count } }
    }

    /// A port like ``ClientPort`` that remembers (weakly) every connection it accepted.
    func port(_ distributor: Distributor, _ accepted: Accepted, headerTimeout: Duration) throws -> Listener {
        var options = ClientOptions()
        options.headerTimeout = headerTimeout
        let context = PortContext(distributor: distributor, options: options, logger: .silent)
        return try Listener(address: .loopback(port: 0), on: loop) { connection in
            accepted.add(connection)
            FrontDoor(connection: connection, port: context).open()
        }
    }

    @Test(arguments: [
        "DELETE / HTTP/1.0\r\n\r\n",                   // refused with 501
        "GET /status.json HTTP/1.0\r\n\r\n",           // answered and closed
        "GET / HTTP/1.0\r\nIcy-MetaData: 1\r\n\r\n",  // a listener that leaves
        "GET / HTT",                                     // a request that never ends (header deadline)
        "\u{1}\u{2}garbage\r\n\r\n",                     // refused with 400
    ])
    func closedClient_IsFreed(request: String) async throws {
        let distributor = Distributor(loop: loop)
        distributor.send(.reply(next: 0, context: testContext()))
        let accepted = Accepted()
        // Only the request that never ends waits for the header deadline; the others are answered or streamed at
        // once, so their deadline is long: a loaded machine must not turn them into timeouts.
        let neverEnds = !request.hasSuffix("\r\n\r\n")
        let listener = try port(distributor, accepted, headerTimeout: neverEnds ? .milliseconds(200) : .seconds(30))
        for _ in 0..<20 {
            let peer = try await TestPeer.connect(to: listener.localAddress, on: loop)
            await peer.send(request)
            if request.hasPrefix("GET / HTTP") {
                let joined = await eventually { await distributor.stat().listeners == 1 }
                let stat = await distributor.stat()
                #expect(joined, "\(stat.listeners) listeners, \(stat.branches) branches, refused \(stat.refused)")
                await peer.close()
            }
            #expect(await eventually { peer.closed.value })
        }
        #expect(accepted.made == 20)
        // Closed connections go at once; the header deadline (200 ms for the request that never ends) is the longest anything may hold one.
        #expect(await eventually(timeout: .seconds(6)) { accepted.alive == 0 }, "\(accepted.alive) of 20 connections still alive")
        await loop.submit { listener.close() }
    }

    @Test func cancelledTimer_ReleasesItsWork() async {
        final class Token: Sendable {}
        weak var weakToken: Token?
        let scheduled: Scheduled = {
            let token = Token()
            weakToken = token
            return loop.schedule(after: .seconds(3600)) { _ = token }
        }()
        #expect(weakToken != nil)
        scheduled.cancel()
        #expect(weakToken == nil)
    }

    @Test func firedTimer_ReleasesItsWork() async {
        final class Token: Sendable {}
        let ran = Locked(false)
        weak var weakToken: Token?
        let scheduled: Scheduled = {
            let token = Token()
            weakToken = token
            return loop.schedule(after: .milliseconds(1)) { _ = token; ran.update { $0 = true } }
        }()
        #expect(await eventually { ran.value })
        await loop.submit {}
        #expect(weakToken == nil)
        _ = scheduled
    }
}
