import Synchronization
import Testing

@testable import Casty

/// Every connection lets go of what it used once it is closed: a server that takes millions of connections
/// must not keep a few hundred bytes of each (the hardening issue measured 0.7 KB per connection, never
/// returned, from a timer that kept its client alive).
struct ConnectionLifetimeTests {
    let loop = EventLoop.shared

    /// Weak references to the clients a port made, so a test can see that they were freed.
    final class Clients: @unchecked Sendable {
        // @unchecked Sendable: touched only on the loop thread (accepts) and read after the loop settled.
        private let lock = Mutex<[Weak]>([])
        struct Weak: @unchecked Sendable { weak var client: Client? }

        func add(_ client: Client) { lock.withLock { $0.append(Weak(client: client)) } }
        var made: Int { lock.withLock { $0.count } }
        var alive: Int { lock.withLock { $0.filter { $0.client != nil }.count } }
    }

    /// A port like ``ClientPort`` that remembers (weakly) every client it made.
    func port(_ distributor: Distributor, _ clients: Clients, headerTimeout: Duration) throws -> Listener {
        var options = ClientOptions()
        options.headerTimeout = headerTimeout
        return try Listener(address: .loopback(port: 0), on: loop) { [options] connection in
            let client = Client(connection: connection, distributor: distributor, options: options, logger: .silent)
            clients.add(client)
            client.assumeIsolated { $0.start() }
        }
    }

    @Test(arguments: [
        "DELETE / HTTP/1.0\r\n\r\n",                   // refused with 405
        "GET /status.json HTTP/1.0\r\n\r\n",           // answered and closed
        "GET / HTTP/1.0\r\nIcy-MetaData: 1\r\n\r\n",  // a listener that leaves
        "GET / HTT",                                     // a request that never ends (header deadline)
        "\u{1}\u{2}garbage\r\n\r\n",                     // refused with 400
    ])
    func closedClient_IsFreed(request: String) async throws {
        let distributor = Distributor(loop: loop)
        distributor.send(.reply(next: 0, context: testContext()))
        let clients = Clients()
        let listener = try port(distributor, clients, headerTimeout: .milliseconds(50))
        for _ in 0..<20 {
            let peer = try await TestPeer.connect(to: listener.localAddress, on: loop)
            await peer.send(request)
            if request.hasPrefix("GET / HTTP") {
                #expect(await eventually { await distributor.stat().listeners == 1 })
                await peer.close()
            }
            #expect(await eventually { peer.closed.value })
        }
        #expect(clients.made == 20)
        // Closed clients go at once; the header deadline (50 ms) is the longest anything may hold one.
        #expect(await eventually { clients.alive == 0 }, "\(clients.alive) of 20 clients still alive")
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
