import CastyNet
import CastyWire

@testable import Casty

/// A relayed station for a relay's tests that can go away and come back: while up, it answers `200` and sends
/// silent frames (``StationServerTests/silentFrames(_:)``), 40 a second, to every listener; while away, `503`.
final class AwayableStation: Sendable {
    let upstream: FakeUpstream
    private let up = Locked(true)
    private let live = Locked<[Connection]>([])
    private let feeder: Task<Void, Never>
    private let loop: EventLoop

    /// Up, on `loop`.
    init(on loop: EventLoop) throws {
        let up = up, live = live
        self.loop = loop
        upstream = try FakeUpstream(on: loop) { connection, _ in
            guard up.value else {
                connection.write(Array("HTTP/1.0 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n".utf8))
                return connection.close()
            }
            connection.write(Array("HTTP/1.0 200 OK\r\nContent-Type: audio/mpeg\r\nicy-br: 128\r\n\r\n".utf8))
            live.update { $0.append(connection) }
        }
        feeder = Task {
            while !Task.isCancelled {
                await loop.submit { for connection in live.value { connection.write(StationServerTests.silentFrames(4)) } }
                try? await Task.sleep(for: .milliseconds(100))
            }
        }
    }

    var url: StreamURL { upstream.url }

    /// Goes away: its listeners' connections are closed, and whoever connects is told `503`.
    func goAway() async {
        up.update { $0 = false }
        let live = live
        await loop.submit {
            for connection in live.value { connection.close() }
            live.update { $0 = [] }
        }
    }

    /// Comes back: whoever connects gets the stream again.
    func comeBack() {
        up.update { $0 = true }
    }

    /// Stops feeding and listening.
    func close() async {
        feeder.cancel()
        await upstream.close()
    }
}
