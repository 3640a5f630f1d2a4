internal import Icy

/// Attaches to a Shoutcast/Icecast URL and turns its stream into numbered segments for the nodes that
/// request it (usually one ``Distributor``).
///
/// It sends the ICY request with `Icy-MetaData: 1`, follows up to five redirects, parses the reply and the
/// segments with `Icy`, and re-cuts the audio into segments of its own fixed size, carrying title changes.
/// When the upstream drops or goes silent (for longer than a few segments last), it reconnects with backoff
/// while its listeners stay connected: the numbering jumps by the segments the outage lasted, so every
/// receiver counts a gap instead of losing its connection.
public actor Proxy: LoopNode {
    /// How a proxy talks to its upstream.
    public struct Configuration: Sendable {
        /// The audio bytes per segment: the `icy-metaint` every listener downstream sees.
        public var segmentBytes = 8192
        /// Redirects followed before giving up.
        public var maxRedirects = 5
        /// Deadline for each connect and each reply.
        public var connectTimeout: Duration = .seconds(10)
        /// The upstream is declared silent after this many segment durations without a byte.
        public var silentSegments = 6
        /// The first wait before reconnecting; it doubles up to ``maxBackoff``.
        public var backoff: Duration = .milliseconds(250)
        /// The longest wait between reconnects.
        public var maxBackoff: Duration = .seconds(5)

        /// The defaults.
        public init() {}
    }

    /// What the proxy is doing about its upstream.
    public enum State: Sendable, Equatable, CustomStringConvertible {
        /// Not started, or connecting for the first time.
        case connecting
        /// Receiving the stream.
        case streaming
        /// Lost the upstream; trying again.
        case retrying
        /// Stopped for good.
        case stopped

        /// `connecting`, `streaming`, `retrying` or `stopped`.
        public var description: String {
            switch self {
            case .connecting: "connecting"
            case .streaming: "streaming"
            case .retrying: "retrying"
            case .stopped: "stopped"
            }
        }
    }

    /// The loop the proxy runs on.
    public nonisolated let loop: EventLoop
    /// Runs the actor on its event loop.
    public nonisolated var unownedExecutor: UnownedSerialExecutor { loop.asUnownedSerialExecutor() }
    /// The upstream's URL.
    public nonisolated let url: StreamURL
    /// What the proxy is doing now.
    public private(set) var state = State.connecting
    /// Connections to the upstream that ended, and were (or are being) replaced.
    public private(set) var reconnects = 0

    private let configuration: Configuration
    private let logger: Logger
    private var feed = Feed()
    private var cutter: Cutter
    private var connection: Connection?
    private var parser: StreamParser<Segment>?
    private var station = Headers()
    private var bitrate: Int?
    private var lastData = ContinuousClock.now
    private var lostAt: ContinuousClock.Instant?
    private var watchdog: Scheduled?
    private var ending: CheckedContinuation<CastyError, Never>?
    private var endReason: CastyError?
    private var keeper: Task<Void, Never>?
    private var reportedGarbage = false

    /// A proxy for the stream at `url`. Call ``start()`` to connect.
    public init(url: StreamURL, configuration: Configuration = .init(), loop: EventLoop = .shared, logger: Logger = .silent) {
        self.url = url
        self.configuration = configuration
        self.loop = loop
        self.logger = logger
        self.cutter = Cutter(segmentBytes: configuration.segmentBytes)
    }

    /// Hands the proxy a message: a request from the node it should feed.
    public nonisolated func send(_ message: Message) { onLoop { $0.receive(message) } }

    /// Stops the proxy: it closes its upstream and tells the nodes it feeds to stop.
    public nonisolated func stop() { onLoop { $0.stopNow() } }

    /// Connects to the upstream for the first time and starts streaming; from then on the proxy keeps the
    /// stream alive by itself, reconnecting when needed.
    /// - Throws: ``CastyError`` when the first connection fails, so a command line can say why and exit.
    public func start() async throws(CastyError) {
        let opened = try await open()
        guard state != .stopped else {
            opened.connection.loop.execute { opened.connection.close() }
            return
        }
        attach(opened)
        keeper = Task { await keepAlive() }
    }

    func receive(_ message: Message) {
        switch message {
        case .request(let node, _):
            guard state != .stopped else { return node.stop() }
            feed.request(from: node, next: cutter.next)
        case .reply, .data, .redirect:
            break  // a proxy's source is its upstream, not another node
        }
    }

    func stopNow() {
        state = .stopped
        keeper?.cancel()
        watchdog?.cancel()
        connection?.close()
        feed.stopAll()
    }

    // MARK: Upstream

    private func open() async throws(CastyError) -> OpenedStream {
        try await Upstream.open(
            url, loop: loop, timeout: configuration.connectTimeout, maxRedirects: configuration.maxRedirects,
            segmentBytes: configuration.segmentBytes)
    }

    /// Keeps the stream alive: waits for the current connection to end, then reconnects with backoff.
    private func keepAlive() async {
        var failures = 0
        while state != .stopped {
            let reason = await ended()
            guard state != .stopped else { return }
            reconnects += 1
            lostAt = .now
            state = .retrying
            logger("proxy: upstream lost: \(reason); reconnecting")
            while state != .stopped {
                let wait = min(configuration.maxBackoff, configuration.backoff * (1 << min(failures, 16)))
                try? await Task.sleep(for: wait)
                guard state != .stopped else { return }
                do {
                    let opened = try await open()
                    guard state != .stopped else {
                        opened.connection.close()
                        return
                    }
                    failures = 0
                    attach(opened)
                    logger("proxy: upstream back: \(opened.url)")
                    break
                } catch {
                    failures += 1
                    logger("proxy: \(error); retrying in \(min(configuration.maxBackoff, configuration.backoff * (1 << min(failures, 16))))")
                }
            }
        }
    }

    /// Waits until the current connection ends, and says why.
    private func ended() async -> CastyError {
        if let endReason {
            self.endReason = nil
            return endReason
        }
        return await withCheckedContinuation { ending = $0 }
    }

    private func attach(_ opened: OpenedStream) {
        let connection = opened.connection
        self.connection = connection
        state = .streaming
        station = Context.stationHeaders(from: opened.headers)
        if let declared = opened.headers["icy-br"].flatMap({ Int($0.split(separator: ",").first ?? "") }), (8...1_000).contains(declared) {
            bitrate = declared
        }
        if let lostAt {
            let missing = Int(seconds(.now - lostAt) / seconds(context.segmentDuration))
            cutter.skip(missing)
            self.lostAt = nil
        }
        feed.ready(context, next: cutter.next)
        parser = StreamParser(opened.data)
        lastData = .now
        upstreamRead(Array(opened.rest))
        connection.onRead = { [self] bytes in assumeIsolated { $0.upstreamRead(bytes) } }
        let url = opened.url
        connection.onClose = { [self] error in
            assumeIsolated { $0.finish(connection, error.map { .network(url, $0) } ?? .ended(url)) }
        }
        scheduleWatchdog(for: connection)
    }

    /// The context every listener is told: the station's headers, this proxy's segment size and the bitrate.
    private var context: Context {
        var headers = station
        if headers["icy-br"] == nil, let bitrate { headers["icy-br"] = String(bitrate) }
        return Context(station: headers, segmentBytes: cutter.segmentBytes, bitrate: bitrate ?? 128, title: cutter.title)
    }

    private func upstreamRead(_ bytes: [UInt8]) {
        guard let connection, !bytes.isEmpty else { return }
        lastData = .now
        do {
            try parser?.feed(bytes) { segment in take(segment) }
        } catch {
            finish(connection, .notAStream(url, error))
        }
    }

    private func take(_ segment: Segment) {
        if !segment.metadata.isEmpty {
            let metadata = Metadata(parsing: segment.metadata)
            if let title = metadata.streamTitle {
                let current = Metadata(streamTitle: title, streamURL: metadata.streamURL)
                if current != cutter.title { logger("proxy: title: \(title)") }
                cutter.setTitle(current)
            } else if !reportedGarbage {
                reportedGarbage = true
                logger("proxy: ignoring metadata without a StreamTitle: \(IcyText.decode(segment.metadata.prefix(80)))")
            }
        }
        if bitrate == nil, let found = segment.audio.lazy.compactMap({ MP3Frame.sniffBitrate($0) }).first {
            bitrate = found
            feed.ready(context, next: cutter.next)
        }
        for chunk in segment.audio {
            cutter.add(chunk) { feed.publish($0) }
        }
    }

    /// Checks a few times per segment that the upstream still sends; a silent one is closed.
    private func scheduleWatchdog(for connection: Connection) {
        let limit = context.segmentDuration * configuration.silentSegments
        watchdog = loop.schedule(after: context.segmentDuration / 2) { [self] in
            assumeIsolated { proxy in
                guard proxy.connection === connection else { return }
                if ContinuousClock.now - proxy.lastData > limit {
                    proxy.finish(connection, .silent(proxy.url, after: limit))
                } else {
                    proxy.scheduleWatchdog(for: connection)
                }
            }
        }
    }

    /// Ends the current upstream connection (once) and wakes the keeper.
    private func finish(_ ended: Connection, _ reason: CastyError) {
        guard connection === ended else { return }
        connection = nil
        parser = nil
        watchdog?.cancel()
        ended.onClose = nil
        ended.close()
        guard state != .stopped else { return }
        state = .retrying
        if let ending {
            self.ending = nil
            ending.resume(returning: reason)
        } else {
            endReason = reason
        }
    }
}
