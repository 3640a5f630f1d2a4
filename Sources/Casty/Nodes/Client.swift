internal import Icy

/// Serves one media player (VLC, mpg123, a browser) — or a branch of the tree — on its TCP connection.
///
/// It reads the player's request (any path), asks its distributor for the stream, sends the reply, and then
/// writes each segment it is handed. A player that sent `Icy-MetaData: 1` gets `icy-metaint` and metadata
/// blocks; one that did not (browsers, many players) gets plain audio. A peer that sends
/// `X-Casty-Numbered: 1` or `X-Casty-Branch` gets numbered metadata blocks (`CastySeq`, `CastyTime`), so it
/// can detect gaps and measure its lag.
///
/// Delivery is lossy and low-latency (DESIGN.md): after the first burst, a segment goes out whole or is skipped
/// whole, and a listener that stays behind for too long is disconnected.
public actor Client: LoopNode {
    /// The loop the client runs on (its distributor's).
    public nonisolated let loop: EventLoop
    /// Runs the actor on its event loop.
    public nonisolated var unownedExecutor: UnownedSerialExecutor { loop.asUnownedSerialExecutor() }

    private let connection: Connection
    private let distributor: Distributor
    private let options: ClientOptions
    private let logger: Logger
    private let peer: String
    private var phase = Phase.reading(nil)
    /// Whether the request was a `HEAD` (headers only).
    private var headOnly = false
    /// The request, told in the log line when the listener joins: `GET /live (VLC/3.0.18)`.
    private var requestSummary = ""
    /// Whether the peer is a branch of the tree (its burst may be a whole ring of replayed segments).
    private var isBranch = false
    /// The most bytes of the first burst written reliably (queued) before lossy delivery starts.
    private var burstBudget = 0
    private var form = Form.audio
    private var expected: Int?
    private var segmentDuration: Duration = .milliseconds(500)
    /// Whether the first burst is still being written (reliably, queued), before lossy delivery starts.
    private var bursting = true
    private var sentTitleVersion = 0
    /// Whether the listener got its first segment, in its entry form (it starts on a frame, after a tag).
    private var entered = false
    /// The title current when the listener joined (the reply's), stated in its first metadata block.
    private var joinTitle: Metadata?
    /// The title a player (ICY form) was last told, and its version once known: the title told at joining
    /// is newer than the burst's older segments, whose changes are not told again.
    private var told: (title: Metadata?, version: Int?) = (nil, nil)
    /// What the player will have been told once the segment being delivered is out.
    private var telling: (title: Metadata?, version: Int?) = (nil, nil)
    private var deadline: Scheduled?
    private let joined = ContinuousClock.now
    /// Segments this client was handed, skipped, and the gaps in their numbering.
    private var counts = (segments: 0, skipped: 0, gaps: 0)

    private enum Phase {
        case reading(Continuation<Request>?)
        case waitingForReply
        case streaming
        case closing
    }

    /// Which wire form of a segment the peer gets.
    private enum Form {
        case audio, icy, numbered
    }

    /// A client for a freshly accepted connection. Call ``start()`` on the loop to begin reading.
    init(connection: Connection, distributor: Distributor, options: ClientOptions, logger: Logger) {
        precondition(connection.loop === distributor.loop, "a client runs on its distributor's loop")
        self.loop = connection.loop
        self.connection = connection
        self.distributor = distributor
        self.options = options
        self.logger = logger
        self.peer = connection.remoteAddress?.description ?? "unknown peer"
    }

    /// Hands the client a message from its distributor: the reply, then the segments.
    public nonisolated func send(_ message: Message) { onLoop { $0.receive(message) } }

    /// Stops the client: its connection is closed.
    public nonisolated func stop() { onLoop { $0.stopNow() } }

    /// Starts reading the request, with the header deadline running.
    func start() {
        connection.onRead = { [self] bytes in assumeIsolated { $0.read(bytes) } }
        connection.onClose = { [self] error in assumeIsolated { $0.closed(error) } }
        deadline = loop.schedule(after: options.headerTimeout) { [self] in
            assumeIsolated { $0.headerTimedOut() }
        }
    }

    // MARK: The request

    private func read(_ bytes: [UInt8]) {
        guard case .reading(let continuation) = phase else { return }  // after the request: ignored
        let step = continuation.map { $0(bytes) } ?? Icy.request(bytes)
        switch step {
        case .more(let next):
            phase = .reading(next)
        case .failed(let error):
            refuse(error)
        case .done(let request, _):
            deadline?.cancel()
            handle(request)
        }
    }

    private func handle(_ request: Request) {
        headOnly = request.method == .head
        requestSummary = "\(request.method.rawValue) \(request.path) (\(request.headers["user-agent"] ?? "no user agent"))"
        switch request.method {
        case .source, .put:
            respond(405, "Method Not Allowed", "Casty relays streams; it does not take sources.", ["Allow": "GET, HEAD"])
        case .get, .head:
            let path = request.path.split(separator: "?").first.map(String.init) ?? request.path
            if path == options.statusPath || path == options.treePath {
                let stat = distributor.assumeIsolated { $0.stat() }
                if path == options.treePath {
                    respond(200, "OK", StatusPage.treeLine(stat), [:])
                } else {
                    respond(200, "OK", StatusPage.json(stat, upstream: options.upstreamState?()), ["Content-Type": "application/json"])
                }
                return
            }
            let branch = options.acceptsBranches ? request.headers["x-casty-branch"] : nil
            if let branch, let key = options.treeKey, !key.admits(request.headers["x-casty-key"]) {
                distributor.tally.refused += 1
                logger("tree: branch \(branch) from \(peer) refused: wrong or missing tree key (403)")
                respond(403, "Forbidden", "This tree takes branches with its key only (X-Casty-Key).", [:])
                return
            }
            if let branch, let lost = request.headers["x-casty-lost"] {
                distributor.assumeIsolated { $0.suspect(lost, reportedBy: branch) }
            }
            isBranch = branch != nil
            if request.headers["x-casty-numbered"] == "1" || branch != nil {
                form = .numbered
            } else if request.wantsMetadata {
                form = .icy
            }
            phase = .waitingForReply
            var resume = request.headers["x-casty-resume"].flatMap { Int($0) }
            // A number means something only in the stream it was given in: a resume into another stream (the
            // root restarted) is served like a new listener, from the burst.
            if let asked = request.headers["x-casty-stream"].flatMap(Context.stream(parsing:)),
                let own = distributor.assumeIsolated({ $0.stream }), asked != own {
                resume = nil
            }
            distributor.send(.request(from: self, resume: resume, branch: branch))
        }
    }

    private func refuse(_ error: IcyError) {
        distributor.tally.refused += 1
        logger("listener \(peer) refused: \(error)")
        if case .unsupportedMethod = error {
            respond(405, "Method Not Allowed", error.description, ["Allow": "GET, HEAD"])
        } else {
            respond(400, "Bad Request", error.description, [:])
        }
    }

    private func headerTimedOut() {
        guard case .reading = phase else { return }
        logger("listener \(peer) dropped: no request within \(options.headerTimeout)")
        distributor.tally.refused += 1
        connection.close()
    }

    /// Sends a short non-stream answer and closes once it is out.
    private func respond(_ code: Int, _ reason: String, _ body: String, _ headers: Headers) {
        phase = .closing
        var all = headers
        if all["Content-Type"] == nil { all["Content-Type"] = "text/plain; charset=utf-8" }
        let text = Array((body.hasSuffix("\n") ? body : body + "\n").utf8)
        all["Content-Length"] = String(text.count)
        all["Connection"] = "close"
        var bytes: [UInt8] = []
        sendReply(all, status: StatusLine(version: .http10, code: code, reason: reason)) { bytes += $0 }
        if !headOnly { bytes += text }
        connection.write(bytes)
        closeWhenSent()
    }

    private func closeWhenSent() {
        if connection.pendingBytes == 0 {
            connection.close()
        } else {
            connection.onWritable = { [self] in assumeIsolated { $0.connection.close() } }
            deadline = loop.schedule(after: options.headerTimeout) { [self] in assumeIsolated { $0.connection.close() } }
        }
    }

    // MARK: The stream

    func receive(_ message: Message) {
        switch message {
        case .reply(let next, let context):
            guard case .waitingForReply = phase else { return }
            replied(next: next, context: context)
        case .data(let number, let segment):
            guard case .streaming = phase else { return }
            deliver(number, segment)
        case .redirect(let url):
            guard case .waitingForReply = phase else { return }
            respond(302, "Found", "Moved to \(url)", ["Location": url])
        case .request:
            break  // a client serves; it takes no listeners of its own
        }
    }

    private func replied(next: Int, context: Context) {
        expected = next
        segmentDuration = context.segmentDuration
        sentTitleVersion = 0
        entered = false
        joinTitle = context.title
        told = (nil, nil)
        var headers = context.station
        if headers["Content-Type"] == nil { headers["Content-Type"] = "audio/mpeg" }
        if headers["icy-br"] == nil { headers["icy-br"] = String(context.bitrate) }
        if form != .audio { headers["icy-metaint"] = String(context.segmentBytes) }
        if form == .numbered {
            headers["X-Casty-Next"] = String(next)
            headers["X-Casty-Path"] = context.path.joined(separator: ",")
        }
        headers["Server"] = "Casty"
        headers["Cache-Control"] = "no-cache, no-store"
        headers["Connection"] = "close"
        var bytes: [UInt8] = []
        sendReply(headers, status: .httpOK) { bytes += $0 }
        connection.write(bytes)
        if headOnly {
            phase = .closing
            distributor.leave(self)
            closeWhenSent()
            return
        }
        phase = .streaming
        // The distributor follows its reply with the burst, in this same turn of the loop: after that,
        // delivery turns lossy.
        bursting = true
        burstBudget = isBranch ? options.branchBurstSegments * (context.segmentBytes + 256) : options.burstBytes
        loop.execute { [self] in assumeIsolated { $0.bursting = false } }
        logger("\(isBranch ? "branch" : "listener") \(peer) joined: \(requestSummary)"
            + " \(form == .audio ? "audio only" : form == .icy ? "with titles" : "numbered")")
    }

    private func deliver(_ number: Int, _ segment: StreamSegment) {
        if let expected, number != expected, number > expected {
            counts.gaps += 1
        }
        expected = number + 1
        counts.segments += 1
        let bytes: [UInt8]
        switch form {
        case .audio:
            // The first segment starts on a frame (one copy per listener); every later one is the shared buffer.
            bytes = entered ? segment.audio : segment.entry()
        case .numbered:
            bytes = segment.titleChanged || segment.titleVersion == sentTitleVersion ? segment.numbered : segment.numberedWithTitle
        case .icy:
            bytes = icyForm(of: segment)
        }
        if bursting, connection.pendingBytes + bytes.count <= burstBudget {
            // The burst goes out whole even if the socket cannot take it at once, within a bound.
            connection.write(bytes)
            delivered(bytes.count, segment)
            return
        }
        switch connection.offer(bytes) {
        case .sent, .queued:
            delivered(bytes.count, segment)
        case .skipped:
            counts.skipped += 1
            distributor.tally.skipped += 1
            let limit = isBranch ? options.branchMaxBehind : options.maxBehind
            if Double(connection.consecutiveSkips) * seconds(segmentDuration) > seconds(limit) {
                distributor.tally.dropped += 1
                logger("listener \(peer) dropped: behind for \(connection.consecutiveSkips) segments")
                connection.close()
            }
        case .closed:
            break  // `closed(_:)` follows from the connection's onClose
        }
    }

    /// The ICY bytes for a player: the first segment in its entry form stating the title current at joining
    /// (the burst's first segment may be older than that: its own title would be a step back); then the shared
    /// forms, never telling a title older than one already told.
    private func icyForm(of segment: StreamSegment) -> [UInt8] {
        if !entered {
            // A burst segment is older than the reply's title; a live one (no burst) is the newest there is.
            let stated = bursting ? joinTitle ?? segment.title : segment.title
            telling = (stated, segment.title == stated ? segment.titleVersion : nil)
            return segment.entry(then: stated == segment.title ? segment.titleBlock : StreamSegment.block(stating: stated))
        }
        if let version = told.version {
            telling = (segment.title, segment.titleVersion)
            return segment.titleChanged || segment.titleVersion == version ? segment.icy : segment.icyWithTitle
        }
        if segment.title == told.title {
            telling = (segment.title, segment.titleVersion)
            return segment.icy
        }
        if bursting {
            // Still the burst, before the segment that carries the title told: an older title, not told again.
            telling = told
            return segment.icyUnchanged
        }
        telling = (segment.title, segment.titleVersion)
        return segment.icyWithTitle
    }

    private func delivered(_ count: Int, _ segment: StreamSegment) {
        distributor.tally.bytesOut += count
        entered = true
        if form == .icy { told = telling }
        sentTitleVersion = segment.titleVersion
    }

    // MARK: Closing

    func stopNow() {
        if case .waitingForReply = phase {
            respond(503, "Service Unavailable", "The stream is not available here right now; try again later.", ["Retry-After": "2"])
        } else {
            connection.close()
        }
    }

    private func closed(_ error: SocketError?) {
        deadline?.cancel()
        let wasStreaming: Bool
        if case .streaming = phase { wasStreaming = true } else { wasStreaming = false }
        phase = .closing
        distributor.leave(self)
        guard wasStreaming else { return }
        let duration = seconds(ContinuousClock.now - joined)
        logger("listener \(peer) left after \(formatted(duration)) s (\(error.map { "\($0)" } ?? "closed")):"
            + " \(counts.segments) segments, \(counts.skipped) skipped, \(counts.gaps) gaps")
    }
}

/// How a distributor's clients are served.
public struct ClientOptions: Sendable {
    /// A peer that has not sent its whole request by then is dropped (Icecast uses 15 s).
    public var headerTimeout: Duration = .seconds(15)
    /// A listener skipping segments for longer than this is disconnected.
    public var maxBehind: Duration = .seconds(10)
    /// A branch skipping segments for longer than this is disconnected: a branch that cannot keep up has most
    /// likely lost its link, and its place is better given to another.
    public var branchMaxBehind: Duration = .seconds(2)
    /// The most bytes of a player's first burst written reliably (queued) before lossy delivery starts.
    public var burstBytes = 6 * 8192 + 1024
    /// The most segments a branch's first burst may hold: a branch that resumes gets everything it missed
    /// from the ring, reliably.
    public var branchBurstSegments = 34
    /// `SO_SNDBUF` for each listener: small, about one segment, so a slow listener shows at once.
    public var sendBuffer = 16 * 1024
    /// The path that answers the distributor's status as JSON instead of playing the stream.
    public var statusPath = "/status.json"
    /// The path that answers the tree node's state on one line (see `casty-cli tree`).
    public var treePath = "/tree"
    /// Whether a request with `X-Casty-Branch` is taken as a branch of the tree (which may be redirected).
    /// A port only for media players sets this to `false`: every request there is served.
    public var acceptsBranches = true
    /// The tree's secret: when set, a request with `X-Casty-Branch` must carry it in `X-Casty-Key`, or it is
    /// refused with `403 Forbidden` (players need no key).
    public var treeKey: TreeKey?
    /// Tells the status page what the source is doing (`streaming`, `connecting`, `retrying`), if known.
    public var upstreamState: (@Sendable () -> String)?

    /// The defaults.
    public init() {}
}

/// A duration in seconds.
func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

/// A number of seconds with one decimal.
func formatted(_ value: Double) -> String {
    let tenths = Int((value * 10).rounded())
    return "\(tenths / 10).\(tenths % 10)"
}
