public import CastyNet
public import CastyWire
internal import Icy

/// A listener for load tests that connects over TCP like a media player, and counts what it gets.
///
/// It asks for numbered metadata (`X-Casty-Numbered: 1`), so against a Casty node it can detect gaps
/// (`CastySeq`) and measure its lag behind the source (`CastyTime`, the wall-clock time the segment was cut).
/// Against another server (Icecast) it counts segments and bytes only.
public actor NetworkDummy {
    /// What a network dummy has seen so far.
    public struct Report: Sendable {
        /// Connected and receiving now.
        public var connected = false
        /// Segments received.
        public var segments = 0
        /// Audio bytes received.
        public var bytes = 0
        /// Jumps in the segment numbering.
        public var gaps = 0
        /// Segments missing in those jumps — none where a new stream opened (its source changed, a fallback began
        /// or ended: the server says so with `CastyNew='1'`), whose numbering is its own.
        public var missing = 0
        /// How far behind the source the last segment arrived, in milliseconds (numbered streams only).
        public var lagMilliseconds: Int?
        /// Why the dummy is not connected, if it failed or was disconnected.
        public var error: String?
    }

    /// The loop the dummy runs on.
    public nonisolated let loop: EventLoop
    /// Runs the actor on its event loop.
    public nonisolated var unownedExecutor: UnownedSerialExecutor { loop.asUnownedSerialExecutor() }
    /// The stream it listens to.
    public nonisolated let url: StreamURL

    private var connection: Connection?
    private var reader: StreamReader?
    private var expected: Int?
    private var closing = false
    /// What it has seen so far.
    public private(set) var report = Report()

    /// A dummy for the stream at `url`; ``start()`` connects it.
    public init(url: StreamURL, loop: EventLoop = .shared) {
        self.url = url
        self.loop = loop
    }

    /// Connects, sends the request and starts counting. A failure is kept in the report.
    public func start(timeout: Duration = .seconds(10)) async {
        do {
            let opened = try await Upstream.open(url, headers: ["X-Casty-Numbered": "1"], loop: loop, timeout: timeout)
            guard !closing else { return opened.connection.close() }
            connection = opened.connection
            report.connected = true
            expected = StreamSegment.number(opened.headers["x-casty-next"])
            reader = opened.reader
            received([])  // the bytes that came with the head, held by the reader
            opened.connection.onRead = { [self] bytes in assumeIsolated { $0.received(bytes) } }
            opened.connection.onClose = { [self] error in
                assumeIsolated { $0.disconnected(error.map { "\($0)" } ?? "closed by the server") }
            }
        } catch {
            report.error = error.description
        }
    }

    /// Disconnects.
    public func close() {
        closing = true
        connection?.close()
    }

    private func received(_ bytes: [UInt8]) {
        do {
            try reader?.feed(bytes) { event in
                if case .segment(let segment) = event { count(segment) }
            }
        } catch {
            disconnected("\(error)")
            connection?.close()
        }
    }

    private func count(_ segment: Segment) {
        report.segments += 1
        report.bytes += segment.audioCount
        guard !segment.metadata.isEmpty else { return }
        let metadata = Metadata(parsing: segment.metadata)
        if let number = StreamSegment.number(metadata[StreamSegment.sequenceKey]) {
            if let expected, number != expected {
                report.gaps += 1
                if metadata[StreamSegment.newStreamKey] == nil { report.missing += max(0, number - expected) }
            }
            expected = number + 1
        }
        if let cut = StreamSegment.time(metadata[StreamSegment.timeKey]) {
            report.lagMilliseconds = Int(wallClockMilliseconds() - cut)
        }
    }

    private func disconnected(_ reason: String) {
        guard report.connected else { return }
        report.connected = false
        if !closing { report.error = reason }
        connection = nil
    }
}
