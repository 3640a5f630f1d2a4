@testable import CastyNet
@testable import CastyWire
import Icy
import Testing

@testable import Casty

/// A station context for tests: small segments so that tests run fast.
func testContext(segmentBytes: Int = 1000, bitrate: Int = 128) -> Context {
    Context(station: ["Content-Type": "audio/mpeg", "icy-name": "Test FM", "icy-genre": "Test"],
            segmentBytes: segmentBytes, bitrate: bitrate)
}

/// Numbered segments with recognisable audio (segment `n` is filled with byte `n % 251`), cut by a `Cutter`,
/// with a title change at `titleAt`.
func testSegments(_ count: Int, first: Int = 0, bytes: Int = 1000, titleAt: Set<Int> = [0]) -> [StreamSegment] {
    var cutter = try! Cutter(segmentBytes: bytes, first: first)
    var segments: [StreamSegment] = []
    for number in first..<(first + count) {
        if titleAt.contains(number) { cutter.setTitle(Metadata(streamTitle: "Song \(number)")) }
        cutter.add([UInt8](repeating: UInt8(number % 251), count: bytes)[...]) { segments.append($0) }
    }
    return segments
}

/// A raw TCP peer for tests: sends bytes, collects everything it receives.
final class TestPeer: Sendable {
    let connection: Connection
    let received = Locked<[UInt8]>([])
    let closed = Locked(false)
    /// What broke the connection (a reset), if it did not end in order.
    let closeError = Locked<SocketError?>(nil)

    private init(_ connection: Connection) {
        self.connection = connection
    }

    /// Connects to `address` (from `source`, if given: another loopback address is another host to the server) and
    /// starts collecting (unless `reading` is false: a peer that never reads).
    static func connect(
        to address: SocketAddress, on loop: EventLoop, reading: Bool = true, receiveBuffer: Int? = nil, from source: SocketAddress? = nil
    ) async throws -> TestPeer {
        let connection = try await Connection.connect(to: address, on: loop, timeout: .seconds(2), from: source)
        let peer = TestPeer(connection)
        await loop.submit {
            if let receiveBuffer { try? connection.socket.setReceiveBufferSize(receiveBuffer) }
            if reading { connection.onRead = { bytes in peer.received.update { $0 += bytes } } }
            connection.onClose = { error in
                peer.closeError.update { $0 = error }
                peer.closed.update { $0 = true }
            }
        }
        return peer
    }

    /// Connects to `address` and sends `request` until the answer is a `200` (a node that has not yet heard its
    /// upstream answers `503`, and a loaded run may ask before it has); `nil` if none within `timeout`.
    static func player(of address: SocketAddress, on loop: EventLoop, request: String, timeout: Duration = .seconds(15)) async throws -> TestPeer? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let peer = try await connect(to: address, on: loop)
            await peer.send(request)
            _ = await peer.waitFor(timeout: .seconds(3)) { bytes in bytes.count >= 12 || peer.closed.value }
            if peer.text.hasPrefix("HTTP/1.0 200") || peer.text.hasPrefix("ICY 200") || peer.text.hasPrefix("HTTP/1.1 200") { return peer }
            await peer.close()
            try await Task.sleep(for: .milliseconds(100))
        }
        return nil
    }

    /// Sends text.
    func send(_ text: String) async {
        let connection = connection
        await connection.loop.submit { _ = connection.write(Array(text.utf8)) }
    }

    /// Sends bytes (a WebSocket frame).
    func send(bytes: [UInt8]) async {
        let connection = connection
        await connection.loop.submit { _ = connection.write(bytes) }
    }

    /// Starts reading (for a peer that did not).
    func startReading() async {
        let connection = connection
        await connection.loop.submit { connection.onRead = { bytes in self.received.update { $0 += bytes } } }
    }

    /// Sends `text`, then ends the sending side only (`shutdown(SHUT_WR)`, as `nc -N` does after the request),
    /// still reading.
    func send(_ text: String, thenShutdownWriting: Bool) async {
        let connection = connection
        await connection.loop.submit {
            _ = connection.write(Array(text.utf8))
            if thenShutdownWriting { connection.socket.shutdownWriting() }
        }
    }

    /// Closes the connection.
    func close() async {
        let connection = connection
        await connection.loop.submit { connection.close() }
    }

    /// What arrived so far, as text (for headers).
    var text: String { String(decoding: received.value, as: UTF8.self) }

    /// Waits until `condition` holds for the bytes received.
    func waitFor(timeout: Duration = .seconds(3), _ condition: @escaping @Sendable ([UInt8]) -> Bool) async -> Bool {
        await eventually(timeout: timeout) { condition(self.received.value) }
    }

    /// Parses what arrived as a reply and its segments.
    /// `nil` when no complete `200` head arrived.
    func parsed(segmentBytes: Int = 8192) throws -> (status: StatusLine, headers: Headers, segments: [Segment])? {
        try Self.parse(received.value, segmentBytes: segmentBytes)
    }

    /// Parses `bytes` — what a peer received up to some moment — as a reply and its segments.
    static func parse(_ bytes: [UInt8], segmentBytes: Int = 8192) throws -> (status: StatusLine, headers: Headers, segments: [Segment])? {
        var reader = StreamReader(segmentBytes: segmentBytes)
        var head: (status: StatusLine, headers: Headers)?
        var segments: [Segment] = []
        do {
            try reader.feed(bytes) { event in
                switch event {
                case .head(let status, let headers): head = (status, headers)
                case .redirect: break
                case .segment(let segment): segments.append(segment)
                }
            }
        } catch {
            guard head != nil else { return nil }
            throw error
        }
        return head.map { ($0.status, $0.headers, segments) }
    }
}

/// A fake upstream server on loopback: for each connection it reads the request, then hands the connection
/// to `serve` on the loop (which writes a reply and whatever stream it wants).
final class FakeUpstream: Sendable {
    let listener: Listener
    let requests = Locked<[Request]>([])
    let connections = Locked(0)

    init(on loop: EventLoop, serve: @escaping @Sendable (Connection, Request) -> Void) throws {
        let requests = requests, connections = connections
        listener = try Listener(address: .loopback(port: 0), on: loop) { connection in
            connections.update { $0 += 1 }
            let pending = Locked<Continuation<Request>?>(nil)
            connection.onRead = { bytes in
                let step = pending.value.map { $0(bytes) } ?? Icy.request(bytes)
                switch step {
                case .more(let next): pending.update { $0 = next }
                case .failed: connection.close()
                case .done(let request, _):
                    connection.onRead = { _ in }
                    requests.update { $0.append(request) }
                    serve(connection, request)
                }
            }
        }
    }

    var url: StreamURL { StreamURL(host: "127.0.0.1", port: listener.localAddress.port, path: "/live") }

    func close() async {
        let listener = listener
        await listener.loop.submit { listener.close() }
    }
}

/// Writes an ICY stream to `connection` from a loop timer: `segments` of `metaint` audio bytes (byte value
/// = segment index % 251), a title change in segment 0 and every `titleEvery`, one segment every `interval`.
/// Returns a handle that stops it.
@discardableResult
func streamICY(
    to connection: Connection, metaint: Int, count: Int = .max, interval: Duration = .milliseconds(20),
    titleEvery: Int = 10, start: Int = 0, metadata: @escaping @Sendable (Int) -> [UInt8]? = { _ in nil }
) -> Locked<Bool> {
    let stopped = Locked(false)
    @Sendable func tick(_ index: Int) {
        guard !stopped.value, !connection.isClosed, index < count else { return }
        var bytes = [UInt8](repeating: UInt8((start + index) % 251), count: metaint)
        if let custom = metadata(index) {
            bytes += custom
        } else if index % titleEvery == 0 {
            bytes += try! metadataBlock(Metadata(streamTitle: "Upstream title \((start + index) / titleEvery)").bytes)
        } else {
            bytes += [0]
        }
        connection.write(bytes)
        connection.loop.schedule(after: interval) { tick(index + 1) }
    }
    tick(0)
    return stopped
}

/// `ICY 200 OK` with station headers and the given metaint.
func icyReplyHead(metaint: Int, extra: String = "") -> [UInt8] {
    Array("ICY 200 OK\r\nicy-name: Fake FM\r\nicy-genre: Test\r\nicy-br: 128\r\nContent-Type: audio/mpeg\r\nicy-metaint: \(metaint)\r\n\(extra)\r\n".utf8)
}
