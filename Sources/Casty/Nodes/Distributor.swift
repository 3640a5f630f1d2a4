internal import Icy

/// Fans one stream out to many listeners: the node between a source (proxy, station, or a parent in the
/// tree) and its clients.
///
/// It requests the stream from its source, answers every listener's request with a reply (the next segment
/// number and the station's context), then hands each segment it gets to every listener with one
/// ``Node/send(_:)`` — on the event loop, with no task and no copy per listener. It keeps the last few
/// segments in a ring: a new listener starts with a burst of them (players start at once), and a branch that
/// re-attaches after a failure resumes from the number it asks for, without a gap or a duplicate.
///
/// In a distribution tree (a root or a branch) it also places the branches that ask it for the stream: it
/// serves at most `fanout` of them and redirects the rest down the tree (``TreePlaces``). Media players are
/// always served, never redirected.
///
/// Segment numbers belong to a stream (``Context/stream``). When the source replies with another stream than
/// the one being served — a restarted root numbers from 0 again — the distributor restarts its numbering at
/// the reply's `next`, empties its ring, counts the break as one gap and keeps its players, who go on
/// playing the new numbers; its branch links are closed, so that each branch re-attaches and reads the new
/// stream in its reply head. A source that does not name its stream (a proxy or a station in this process)
/// gets a name from the distributor, drawn once per source.
public actor Distributor: LoopNode {
    /// How a distributor treats its listeners.
    public struct Configuration: Sendable {
        /// Recent segments a new listener gets at once, so its player starts without waiting.
        public var burst: Int = 4
        /// Recent segments kept for listeners that resume at a number.
        public var ringSize: Int = 32
        /// For a tree node: its own address (`host:port`, where branches reach it); `nil` outside a tree.
        public var treeAddress: String?
        /// For a tree node: the most branches it serves itself.
        public var fanout = 2
        /// Whether to request the stream only once the first listener asks (a branch that waits for its
        /// client), rather than at once.
        public var lazy = false
        /// How long a listener may wait for a stream that has not started yet (the upstream is down at
        /// start-up, say); past that it is refused with `503 Service Unavailable` and `Retry-After`.
        public var startWait: Duration = .seconds(3)

        /// The defaults: a burst of 4 segments (2 s at 8192 bytes and 128 kbit/s), a ring of 32, no tree.
        public init(burst: Int = 4, ringSize: Int = 32, treeAddress: String? = nil, fanout: Int = 2, lazy: Bool = false) {
            self.burst = burst
            self.ringSize = max(ringSize, burst)
            self.treeAddress = treeAddress
            self.fanout = fanout
            self.lazy = lazy
        }
    }

    /// The loop the distributor and its listeners run on.
    public nonisolated let loop: EventLoop
    /// Runs the actor on its event loop.
    public nonisolated var unownedExecutor: UnownedSerialExecutor { loop.asUnownedSerialExecutor() }
    /// Counters its listeners add to.
    public nonisolated let tally = Tally()

    private let configuration: Configuration
    private let logger: Logger
    private var source: (any Node)?
    private var context: Context?
    private var ring: Ring<StreamSegment>
    /// The number of the segment expected next from the source.
    private var next: Int?
    private var listeners: [any Node] = []
    private var positions: [ObjectIdentifier: Int] = [:]
    private var waiting: [(node: any Node, resume: Int?, branch: String?, since: ContinuousClock.Instant)] = []
    /// Refuses the listeners that waited too long for a stream that has not started.
    private var waitingTimer: Scheduled?
    private var places: TreePlaces?
    private var branchOf: [ObjectIdentifier: String] = [:]
    private var requested = false
    private var delivering = false
    private var leaving: [any Node] = []
    private var stopped = false
    private var counters = Stat.Counters()
    /// The name of the stream of a source that does not name its own (drawn anew for each source attached).
    private var sourceStream = Context.newStream()
    /// Segments ignored because their number was already passed: told once, then summed up now and then.
    private var ignored = RepeatedEvent(interval: .seconds(10))

    /// A distributor on `loop`.
    public init(loop: EventLoop = .shared, configuration: Configuration = .init(), logger: Logger = .silent) {
        self.loop = loop
        self.configuration = configuration
        self.logger = logger
        self.ring = Ring(capacity: configuration.ringSize)
        self.places = configuration.treeAddress.map { TreePlaces(address: $0, fanout: configuration.fanout) }
    }

    /// Requests the stream from `source`; its reply and data come back as messages.
    /// Requests the stream from `source` (from any thread; queued in order onto the loop).
    public nonisolated func attachSource(_ source: any Node) {
        onLoop { $0.attach(to: source) }
    }

    /// Makes this distributor a node of a distribution tree, reached by branches at `address` (`host:port`).
    public nonisolated func setTreeAddress(_ address: String) {
        onLoop { $0.places = TreePlaces(address: address, fanout: $0.configuration.fanout) }
    }

    /// With ``Configuration/lazy``, the request waits for the first listener.
    public func attach(to source: any Node) {
        self.source = source
        sourceStream = Context.newStream()
        if !configuration.lazy { requestSource() }
    }

    private func requestSource() {
        guard !requested, let source else { return }
        requested = true
        source.send(.request(from: self, resume: nil))
    }

    /// Hands the distributor a message: a listener's request, or its source's reply and data.
    public nonisolated func send(_ message: Message) { onLoop { $0.receive(message) } }

    /// Stops the distributor: every listener is told to stop, and new requests are refused.
    public nonisolated func stop() { onLoop { $0.stopNow() } }

    func receive(_ message: Message) {
        guard !stopped else {
            if case .request(let node, _, _) = message { node.stop() }
            return
        }
        switch message {
        case .request(let node, let resume, let branch):
            requestSource()
            if context == nil {
                waiting.append((node, resume, branch, .now))
                scheduleWaitingTimeout()
            } else {
                admit(node, resume: resume, branch: branch)
            }
        case .reply(let first, var context):
            if context.stream == 0 { context.stream = sourceStream }
            if let old = self.context, old.stream != context.stream {
                restartNumbering(at: first, stream: context.stream)
            } else if self.context == nil || next == nil {
                next = first
            }
            self.context = context
            let queued = waiting
            waiting = []
            waitingTimer?.cancel()
            waitingTimer = nil
            for (node, resume, branch, _) in queued { admit(node, resume: resume, branch: branch) }
        case .redirect(let url):
            logger("distributor: source redirected to \(url); not followed")
        case .data(let number, let segment):
            deliver(number, segment)
        }
    }

    /// The source started a new stream: its numbers start again at `first` and mean nothing in the old one.
    private func restartNumbering(at first: Int, stream: UInt64) {
        let links = listeners.filter { branchOf[ObjectIdentifier($0)] != nil }
        logger("tree: new stream \(Context.streamText(stream)): numbering restarts at \(first) (was \(next ?? 0));"
            + " counted as one gap; \(links.count) branch link\(links.count == 1 ? "" : "s") closed to re-read it")
        counters.gaps += 1
        next = first
        ring = Ring(capacity: configuration.ringSize)
        ignored = RepeatedEvent(interval: ignored.interval)
        // A branch learns a stream in its reply head: closed, it re-attaches at once and is told the new one.
        for link in links { link.stop() }
    }

    /// A branch reported `child` lost (`X-Casty-Lost`): if it is one of this node's branches, no branch is
    /// sent there for a while.
    func suspect(_ child: String, reportedBy branch: String) {
        guard places?.suspect(child, until: .now + .seconds(10)) == true else { return }
        logger("tree: branch \(branch) lost its parent \(child); no branch is sent there for 10 s")
    }

    /// The name of the stream being served, once the source has replied.
    var stream: UInt64? { context?.stream }

    /// Refuses (with `503`, see ``Client``) the listeners that have waited ``Configuration/startWait`` for a
    /// stream that has not started; the others wait on.
    private func scheduleWaitingTimeout() {
        // Only a source that was asked and has not answered keeps listeners waiting; without a source yet (a
        // distributor being set up), they simply wait for it.
        guard waitingTimer == nil, requested, let oldest = waiting.first?.since else { return }
        waitingTimer = loop.schedule(after: configuration.startWait - (.now - oldest)) { [weak self] in
            self?.assumeIsolated { $0.refuseLongWaiting() }
        }
    }

    private func refuseLongWaiting() {
        waitingTimer = nil
        guard context == nil else { return }
        let now = ContinuousClock.now
        let expired = waiting.filter { now - $0.since >= configuration.startWait }
        waiting.removeAll { now - $0.since >= configuration.startWait }
        if !expired.isEmpty {
            logger("distributor: no stream yet; refused \(expired.count) listener\(expired.count == 1 ? "" : "s") with 503")
        }
        for entry in expired { entry.node.stop() }
        scheduleWaitingTimeout()
    }

    func stopNow() {
        stopped = true
        waitingTimer?.cancel()
        let all = listeners + waiting.map(\.node)
        listeners = []
        positions = [:]
        waiting = []
        for node in all { node.stop() }
    }

    /// Removes a listener (one that closed, or was closed); it gets no more messages.
    public nonisolated func leave(_ node: any Node) { onLoop { $0.remove(node) } }

    private func remove(_ node: any Node) {
        if delivering {
            leaving.append(node)
            return
        }
        waiting.removeAll { $0.node === node }
        // A branch that re-attached before its old link's close arrived is served by a new node with the same
        // address: its place stays.
        if let branch = branchOf.removeValue(forKey: ObjectIdentifier(node)), !branchOf.values.contains(branch) {
            places?.remove(branch)
        }
        guard let position = positions.removeValue(forKey: ObjectIdentifier(node)) else { return }
        let last = listeners.removeLast()
        if position < listeners.count {
            listeners[position] = last
            positions[ObjectIdentifier(last)] = position
        }
    }

    /// The numbers that describe the distributor now.
    public func stat() -> Stat {
        Stat(
            listeners: listeners.count - branchOf.count, branches: branchOf.count, counters: counters, bytesOut: tally.bytesOut, skipped: tally.skipped,
            dropped: tally.dropped, refused: tally.refused, context: currentContext, next: next, tree: places)
    }

    /// The context with what is playing now.
    private var currentContext: Context? {
        guard var context else { return nil }
        if let last = ring.last { context.title = last.title }
        return context
    }

    /// Serves a listener, or — for a branch when this tree node is full — redirects or refuses it.
    private func admit(_ node: any Node, resume: Int?, branch: String?) {
        guard let branch, places != nil, let context else { return subscribe(node, resume: resume) }
        switch places!.place(branch, path: context.path) {
        case .serve:
            branchOf[ObjectIdentifier(node)] = branch
            subscribe(node, resume: resume)
        case .redirect(let url):
            logger("tree: branch \(branch) redirected to \(url)")
            node.send(.redirect(to: url))
        case .refuse(let reason):
            logger("tree: branch refused: \(reason)")
            node.stop()
        }
    }

    private func subscribe(_ node: any Node, resume: Int?) {
        guard var context = currentContext, positions[ObjectIdentifier(node)] == nil else { return }
        if let places { context.path.append(places.address) }
        let upcoming = next ?? 0
        let oldest = ring.first?.number ?? upcoming
        let start: Int
        if let resume, resume >= oldest, resume <= upcoming {
            start = resume
        } else {
            start = max(oldest, upcoming - configuration.burst)
        }
        positions[ObjectIdentifier(node)] = listeners.count
        listeners.append(node)
        counters.peakListeners = max(counters.peakListeners, listeners.count - branchOf.count)
        deferringLeaves {
            node.send(.reply(next: start, context: context))
            for segment in ring where segment.number >= start {
                node.send(.data(segment.number, segment))
            }
        }
    }

    /// Runs `body`, in which listeners may leave (a listener that closes while it is sent something), and
    /// removes them after it, so the listener list never changes while it is being walked.
    private func deferringLeaves(_ body: () -> Void) {
        let outer = delivering
        delivering = true
        body()
        delivering = outer
        guard !outer, !leaving.isEmpty else { return }
        let gone = leaving
        leaving = []
        for node in gone { remove(node) }
    }

    private func deliver(_ number: Int, _ segment: StreamSegment) {
        if let expected = next, number != expected {
            if number > expected {
                counters.gaps += 1
                counters.missing += number - expected
                logger("distributor: gap: received segment \(number), expected \(expected)")
            } else {
                if let count = ignored.occurred() {
                    logger(count == 1
                        ? "distributor: duplicate or old segment \(number) (expected \(expected)) ignored"
                        : "distributor: \(count) duplicate or old segments ignored in \(ignored.interval), the last \(number) (expected \(expected))")
                }
                return
            }
        }
        next = number + 1
        counters.segments += 1
        counters.bytesIn += segment.audio.count
        ring.append(segment)
        deferringLeaves {
            for listener in listeners {
                listener.send(.data(number, segment))
            }
        }
    }
}

/// An event that may repeat many times a second (a parent resending old segments): told the first time, then
/// at most once per ``interval``, with how many times it happened since it was last told.
struct RepeatedEvent {
    /// The shortest time between two lines about it.
    let interval: Duration
    private var count = 0
    private var told: ContinuousClock.Instant?

    /// Nothing counted yet.
    init(interval: Duration) {
        self.interval = interval
    }

    /// Counts one occurrence; returns how many to tell of now (`1` the first time), or `nil` to stay quiet.
    mutating func occurred(at now: ContinuousClock.Instant = .now) -> Int? {
        count += 1
        if let told, now - told < interval { return nil }
        told = now
        defer { count = 0 }
        return count
    }
}
