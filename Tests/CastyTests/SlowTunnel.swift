@testable import CastyNet
import Testing

/// A link too slow for a stream, for tests: it listens on loopback and joins each connection it accepts to
/// `target`, passing what the target sends at `bytesPerSecond` at most, in one piece `every` (what the client sends
/// goes as it comes): a piece every 100 ms is a slow path; one every few hundred, a path that also stalls.
/// It reads from the target only while it holds less than a little of what it has yet to pass, and with a small
/// receive buffer, so the target's sends back up as they would on a slow network path.
final class SlowTunnel: Sendable {
    let listener: Listener
    /// Connections joined so far.
    let joined = Locked(0)

    init(to target: SocketAddress, bytesPerSecond: Int, every: Duration = .milliseconds(100), on loop: EventLoop = .shared) throws {
        let joined = joined
        listener = try Listener(address: .loopback(port: 0), on: loop) { client in
            joined.update { $0 += 1 }
            Task {
                guard let upstream = try? await Connection.connect(to: target, on: loop, timeout: .seconds(2), receiveBuffer: 4096) else {
                    await loop.submit { client.close() }
                    return
                }
                await loop.submit { Self.join(client, upstream, bytesPerSecond: bytesPerSecond, every: every, loop: loop) }
            }
        }
    }

    var address: SocketAddress { listener.localAddress }

    func close() async {
        let listener = listener
        await listener.loop.submit { listener.close() }
    }

    /// Passes `upstream`'s bytes to `client`, `bytesPerSecond` for each second of `every`, and `client`'s to `upstream`.
    private static func join(_ client: Connection, _ upstream: Connection, bytesPerSecond: Int, every: Duration, loop: EventLoop) {
        let held = Locked<[UInt8]>([])
        let piece = Int(Double(bytesPerSecond) * Double(every.components.attoseconds) / 1e18 + Double(every.components.seconds * Int64(bytesPerSecond)))
        let most = max(1024, bytesPerSecond / 4, piece)
        @Sendable func readUpstream() {
            upstream.onRead = { bytes in
                held.update { $0 += bytes }
                if held.value.count >= most { upstream.onRead = nil }
            }
        }
        @Sendable func pass() {
            guard !client.isClosed else { return upstream.close() }
            let share = min(held.value.count, piece)
            if share > 0 {
                let bytes = Array(held.value.prefix(share))
                held.update { $0.removeFirst(share) }
                _ = client.write(bytes)
            }
            if upstream.isClosed, held.value.isEmpty { return client.close() }
            if !upstream.isClosed, upstream.onRead == nil, held.value.count < most { readUpstream() }
            _ = loop.schedule(after: every) { pass() }
        }
        client.onRead = { bytes in upstream.write(bytes) }
        client.onClose = { _ in upstream.close() }
        upstream.onClose = { _ in }
        readUpstream()
        pass()
    }
}
