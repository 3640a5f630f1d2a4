public import CastyNet
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
public actor Distributor: LoopNode, FeedingNode {
    /// How a distributor treats its listeners.
    ///
    /// ``init(burst:ringSize:treeAddress:fanout:lazy:)`` checks the numbers and throws a
    /// ``ConfigurationError`` for one out of range. A value set on a property afterwards is not checked: the
    /// distributor brings it within range itself (``burstRange``, ``ringSizeRange``, ``fanoutRange``).
    public struct Configuration: Sendable {
        /// Recent segments a new listener gets at once, so its player starts without waiting (``burstRange``).
        public var burst: Int = 4
        /// Recent segments kept for listeners that resume at a number (``ringSizeRange``; at least ``burst``).
        public var ringSize: Int = 32
        /// For a tree node: its own address (`host:port`, where branches reach it); `nil` outside a tree.
        public var treeAddress: String?
        /// For a tree node: the most branches it serves itself (``fanoutRange``).
        public var fanout = 2
        /// The mount it serves on a station server (`/live`), told to its branches (``Context/mount``).
        public var mount: String?
        /// For a tree node: how often it asks each of its branches the size of its subtree (``TreePlaces``);
        /// zero: never (it counts what it sent down, and a branch that died below a child stays counted).
        public var subtreeRefresh: Duration = .seconds(10)
        /// Whether to request the stream only once the first listener asks (a branch that waits for its
        /// client), rather than at once.
        public var lazy = false
        /// How long a listener may wait for a stream that has not started yet (the upstream is down at
        /// start-up, say); past that it is refused with `503 Service Unavailable` and `Retry-After`.
        public var startWait: Duration = .seconds(3)

        /// The values ``burst`` may take: none (a new listener waits for the next segment) to 1024 segments.
        public static let burstRange = 0...1_024
        /// The values ``ringSize`` may take: 1 to 4096 segments (32 MiB at 8192 bytes a segment).
        public static let ringSizeRange = 1...4_096
        /// The values ``fanout`` may take.
        public static let fanoutRange = 1...1_024

        /// The defaults: a burst of 4 segments (2 s at 8192 bytes and 128 kbit/s), a ring of 32, no tree.
        public init() {}

        /// A burst of `burst` segments, a ring of `ringSize` (raised to `burst` if smaller), and for a tree
        /// node its address and fanout; `lazy` to request the stream only once the first listener asks.
        /// - Throws: ``ConfigurationError/burst(_:allowed:)``, ``ConfigurationError/ringSize(_:allowed:)`` or
        ///   ``ConfigurationError/fanout(_:allowed:)`` when that value is out of its range.
        public init(
            burst: Int, ringSize: Int = 32, treeAddress: String? = nil, fanout: Int = 2, lazy: Bool = false
        ) throws(ConfigurationError) {
            try ConfigurationError.check(burst, in: Self.burstRange, else: ConfigurationError.burst)
            try ConfigurationError.check(ringSize, in: Self.ringSizeRange, else: ConfigurationError.ringSize)
            try ConfigurationError.check(fanout, in: Self.fanoutRange, else: ConfigurationError.fanout)
            self.burst = burst
            self.ringSize = max(ringSize, burst)
            self.treeAddress = treeAddress
            self.fanout = fanout
            self.lazy = lazy
        }

        /// The configuration with every number brought within its range, for values set on the properties
        /// directly: a distributor never traps or misbehaves on a negative burst or a huge ring.
        var clamped: Configuration {
            func clamp(_ value: Int, _ range: ClosedRange<Int>) -> Int { min(max(value, range.lowerBound), range.upperBound) }
            var clamped = self
            clamped.burst = clamp(burst, Self.burstRange)
            clamped.ringSize = clamp(max(ringSize, clamped.burst), Self.ringSizeRange)
            clamped.fanout = clamp(fanout, Self.fanoutRange)
            return clamped
        }
    }

    /// The loop the distributor and its listeners run on.
    public nonisolated let loop: EventLoop
    /// Runs the actor on its event loop.
    public nonisolated var unownedExecutor: UnownedSerialExecutor { loop.asUnownedSerialExecutor() }
    /// Counters its listeners add to.
    public nonisolated let tally = Tally()
    /// Whether it asks for the stream only once the first listener does (``Configuration/lazy``).
    public nonisolated let isLazy: Bool
    /// Deliveries to the listeners of each other loop of the group, by loop.
    private var fanouts: [ObjectIdentifier: LoopFanout] = [:]
    /// The listeners on this loop, once some are on others (until then, every listener is).
    private var locals: Set<NodeReference> = []
    /// Publishes the stream as live HLS, once made (``HLSPackager/attached(to:mount:settings:logger:)``).
    var packager: HLSPackager?

    private let logger: EventLog
    /// The node it takes its stream from now.
    private(set) var source: (any Node)? {
        // Bytes sent of another mount's stream (its fallback's) are counted there too.
        didSet { tally.play((source as? Distributor)?.tally) }
    }
    /// Called on its loop once listeners joined (were replied to): a station's mount table keeps each mount's peak
    /// with those hearing it as their fallback (``MountTable/notePeak(from:)``).
    var onJoin: (() -> Void)?
    /// Called on its loop once it asks its source for the stream — at once, or at its first listener when lazy: a
    /// lazy relay's port publishes its live HLS from then on (``PortContext/publishHLS(onceRelaying:mount:)``).
    var onSourceRequested: (() -> Void)?
    /// Every decision: who listens, the ring, the numbering, the tree places.
    private var core: DistributorCore<NodeReference>
    private var waitingTimer: Scheduled?
    /// When the stream's audio last arrived (a segment, or a piece of one): ``Stat/quiet``.
    private var lastAudio: ContinuousClock.Instant?
    /// When the stream's last whole segment arrived: ``Stat/sinceSegment``.
    private var lastSegment: ContinuousClock.Instant?
    /// Pages following the titles live (Server-Sent Events, WebSocket), and their heartbeat.
    private let watchers: TitleWatchers
    /// For a tree node: asks its branches their subtrees' sizes (``SubtreeSurvey``).
    private var survey: Ticker?
    private let subtreeRefresh: Duration

    /// A distributor on `loop`. Numbers of `configuration` set out of range on its properties are brought
    /// within range (``Configuration/burstRange`` and the others).
    public init(loop: EventLoop = .shared, configuration: Configuration = .init(), logger: EventLog = .silent) {
        let configuration = configuration.clamped
        self.loop = loop
        self.isLazy = configuration.lazy
        self.logger = logger
        self.core = DistributorCore(configuration: configuration)
        self.watchers = TitleWatchers(loop: loop)
        self.subtreeRefresh = configuration.subtreeRefresh
        if configuration.treeAddress != nil { onLoop { $0.startSurvey() } }
    }

    /// Requests the stream from `source` (from any thread; queued in order onto the loop); its reply and data
    /// come back as messages.
    public nonisolated func attachSource(_ source: any Node) {
        onLoop { $0.attach(to: source) }
    }

    /// Makes this distributor a node of a distribution tree, reached by branches at `address` (`host:port`); a
    /// branch's also names the `root` it asks for its place, which it never serves.
    public nonisolated func setTreeAddress(_ address: String, root: String? = nil) {
        onLoop { distributor in
            distributor.core.setTreeAddress(address, root: root)
            distributor.startSurvey()
        }
    }

    /// Asks this tree node's branches their subtrees' sizes every ``Configuration/subtreeRefresh``, off the loop;
    /// each answer is counted on it (``TreePlaces/report(_:subtree:asked:)``) with the time it was asked, and says the
    /// child alive: branches served past the fanout while it was suspected go below again (``DistributorCore/placeBelow(at:)``).
    private func startSurvey() {
        guard survey == nil, subtreeRefresh > .zero else { return }
        survey = Ticker(loop: loop, every: subtreeRefresh) { [weak self] in
            self?.assumeIsolated { distributor in
                let (children, mount) = distributor.core.survey
                for child in children {
                    let asked = ContinuousClock.now
                    Task { [weak distributor, loop = distributor.loop] in
                        guard let size = await SubtreeSurvey.size(of: child, mount: mount, loop: loop) else { return }
                        distributor?.onLoop { distributor in
                            distributor.core.report(child, subtree: size, asked: asked)
                            distributor.perform(distributor.core.placeBelow(at: .now))
                        }
                    }
                }
            }
        }
    }

    /// With ``Configuration/lazy``, the request waits for the first listener.
    public func attach(to source: any Node) {
        self.source = source
        perform(core.sourceAttached())
    }

    /// Takes its stream from `source` from now on, keeping every listener: a mount whose source dropped
    /// switches to its fallback mount, and back when the source returns.
    ///
    /// A previous source that is a distributor (a fallback mount) is left, so it sends nothing more here. The
    /// new source's reply names another stream, so the numbering restarts there: each listener counts one gap
    /// and goes on playing on the same connection, with the same ICY framing (every mount of a server cuts
    /// segments of the same size).
    public nonisolated func switchSource(to source: any Node) {
        onLoop { $0.switchNow(to: source) }
    }

    private func switchNow(to source: any Node) {
        guard source !== self.source else { return }
        (self.source as? any FeedingNode)?.leave(self)
        attach(to: source)
    }

    /// Stops taking the stream from its source (a fallback mount no longer its fallback), without being told the
    /// stream ended: the caller says what comes next (``sourceGone()``, another ``switchSource(to:)``).
    nonisolated func detachSource() {
        onLoop { distributor in
            (distributor.source as? any FeedingNode)?.leave(distributor)
            distributor.source = nil
        }
    }

    /// Whether the stream is another mount's now: a mount whose source is away plays its fallback.
    var playsFallback: Bool { source is Distributor }

    /// Whether its stream is a fallback's: this node's mount plays its fallback (``playsFallback``), or — a branch's
    /// relay — the mount does on the tree's root, as its tree link tells (``Context/fallback``, `X-Casty-Fallback`).
    var hearsFallback: Bool { playsFallback || core.context?.fallback == true }

    /// The `Content-Type` of its stream, if it has one now.
    var contentType: String? { core.context?.contentType }

    /// The `Content-Type` its players were told, kept while its stream is away (``DistributorCore/toldContentType``).
    var toldContentType: String? { core.toldContentType }

    /// Hands the distributor a message: a listener's request, or its source's reply and data.
    public nonisolated func send(_ message: Message) { deliver(message) }

    /// Stops the distributor: every listener is told to stop, and new requests are refused.
    public nonisolated func stop() { onLoop { $0.stopNow() } }

    func receive(_ message: Message) {
        let now = ContinuousClock.now
        switch message {
        case .request(let node, let resume, let branch):
            perform(core.request(from: NodeReference(node), resume: resume, branch: branch, relay: Self.relay(node), at: now))
        case .reply(let first, var context):
            if source is Distributor {
                // Another mount's stream (a fallback) is numbered in this mount's HLS as this node decides — but its
                // sample count is that mount's, through the clock it told (``clockAuthority``): the segments named
                // after its stream are that mount's own, the same audio, bytes and dates under one name.
                context.hlsBase = nil
                context.hlsDiscontinuityBase = nil
                context.hlsFirst = nil
                // That mount, on this node, told its path with this node's address last, as to a branch: this
                // mount adds it itself, once.
                if let own = core.places?.address, context.path.last == own { context.path.removeLast() }
                // Its branches are told so (`X-Casty-Fallback`): their pages say the fallback plays, as this node's do.
                context.fallback = true
            }
            perform(core.reply(first: first, context: context, relayed: source is Distributor, at: now))
        case .redirect(let url):
            logger("distributor: source redirected to \(url); not followed")
        case .data(let number, let segment):
            lastAudio = now
            lastSegment = now
            perform(core.data(number, segment, relayed: playsFallback, at: now))
        case .piece(let number, let piece):
            lastAudio = now
            perform(core.piece(number, piece))
        }
    }

    /// Which of a mount's machinery `node` is, if it is not a player nor a branch link.
    private static func relay(_ node: any Node) -> DistributorCore<NodeReference>.Relay? {
        node is Distributor ? .mount : node is HLSPackager ? .packager : nil
    }

    func stopNow() {
        waitingTimer?.cancel()
        survey?.cancel()
        perform(core.stop())
    }

    /// Stops for good, and lets go of what hangs on the distributor: its HLS packager is closed (stopped, it would
    /// ask again) and forgotten, and so is its source, so that nothing holds the distributor once its owner
    /// forgets it (a mount nobody uses any more).
    func retire() {
        packager?.assumeIsolated { $0.close() }
        packager = nil
        stopNow()
        source = nil  // an ended source session still lists the distributor among its subscribers
    }

    /// Runs `body` with the stream's HLS packager, if it has one, at the loop's next turn (after what the caller is
    /// doing: a source session that ends hands its last segment on first).
    nonisolated func withPackager(_ body: @escaping @Sendable (isolated HLSPackager) -> Void) {
        loop.execute { [self] in assumeIsolated { $0.packager }?.assumeIsolated { body($0) } }
    }

    /// The stream ended (its source left, or a branch's parent said so), at the loop's next turn — after what the
    /// caller is doing (a source session that ends hands its last segment on first): the HLS segment being filled
    /// is published, shorter, and branches are told (``DistributorCore/streamEnded()``), so that every node of the
    /// tree publishes the same last segment.
    nonisolated func endOfStream() {
        loop.execute { [self] in
            assumeIsolated { distributor in
                distributor.packager?.assumeIsolated { $0.streamEnded() }
                distributor.perform(distributor.core.streamEnded())
            }
        }
    }

    /// Answers the listeners waiting for the stream `404`: its source has no such stream now (a branch's root has
    /// no stream at the root path); later requests wait for it again.
    nonisolated func refuseWaiting() {
        onLoop { $0.perform($0.core.refuseWaiting()) }  // the waiting timer, armed, fires on nobody
    }

    /// Stops the distributor because its stream does not exist upstream (a branch's root has no such mount):
    /// listeners waiting for it are answered `404`, as the root answers them; the others are told to stop.
    nonisolated func stopNotFound() {
        onLoop { distributor in
            distributor.waitingTimer?.cancel()
            distributor.perform(distributor.core.stopNotFound())
        }
    }

    /// Removes a listener (one that closed, or was closed); it gets no more messages.
    public nonisolated func leave(_ node: any Node) { onLoop { $0.core.leave(NodeReference(node)) } }

    /// A branch reported `child` lost (`X-Casty-Lost`): if it is one of this node's branches, no branch is
    /// sent there for a while.
    func suspect(_ child: String, reportedBy branch: String) {
        perform(core.suspect(child, reportedBy: branch, at: .now))
    }

    /// Its source ended and nothing replaces it: new listeners wait for the next source (`503` after
    /// ``Configuration/startWait``), those listening stay until ``dropListeners()``.
    public nonisolated func sourceGone() {
        onLoop { distributor in
            distributor.core.sourceGone()
        }
    }

    /// Its tree node left its place (``DistributorCore/placeLost()``): its `/tree` and `/status.json` say no parent.
    nonisolated func placeLost() {
        onLoop { $0.core.placeLost() }
    }

    /// The stream ended upstream and will not come back (a branch's root let its own players go past its source
    /// timeout): its players and branches are let go, its HLS window is dropped, and new listeners wait for the
    /// next stream.
    nonisolated func streamLetGo() {
        onLoop { distributor in
            distributor.packager?.assumeIsolated { $0.sessionOver() }
            distributor.perform(distributor.core.streamLetGo())
        }
    }

    /// Disconnects every listener, and goes on taking new ones; `reason` is what their leave lines tell.
    public nonisolated func dropListeners(because reason: String? = nil) {
        onLoop { $0.perform($0.core.dropListeners(because: reason)) }
    }

    /// The last titles, newest last, with the time each began (ms since 1970).
    func titleHistory() -> [(title: String, at: Int64)] {
        core.titles
    }

    /// Adds a page that follows the titles live; it is told the current one at once, and gets heartbeats from now on.
    func watch(_ watcher: TitleWatcher) {
        let current = core.titles.last.map {
            TitleWatcher.event(title: $0.title, at: $0.at, listeners: core.playerCount, hlsPlayers: hlsPlayers)
        }
        watchers.add(watcher, greeting: current)
    }

    /// The players listening now (not branch links, nor mounts relaying this one): O(1), for listener limits.
    var playerCount: Int { core.playerCount }
    /// The players connected now: those listening, and those waiting for a stream not started yet or away (a
    /// relay's first, or its upstream back), whom it will feed — every client of the mount, as Icecast counts them
    /// (``stat()``, `/admin/stats`).
    var connectedPlayers: Int { core.playerCount + core.waitingPlayers }
    /// How many listeners are links to branches of the tree.
    var branchCount: Int { core.branchCount }

    /// The players served, waiting, or admitted and on their way (``DistributorCore/admittedPlayers(at:)``): what a
    /// listener limit counts.
    var admittedPlayers: Int { core.admittedPlayers(at: .now) }

    /// Holds a place for a player admitted at the front door until its request arrives.
    func promisePlace() { core.promise(at: .now) }

    /// Frees the place held for a player admitted at the front door that will not come after all.
    func withdrawPlace() { core.withdrawPromise() }

    /// Whether nobody listens: no player, no branch, nobody waiting for the stream, no page following the titles
    /// (a relay, such as an HLS packager, does not count).
    var isIdle: Bool { core.playerCount == 0 && core.branchCount == 0 && core.waitingCount == 0 && watchers.isEmpty }

    /// Whether it places branches of a distribution tree (a root's stream, a branch's): only then is a request
    /// with `X-Casty-Branch` a branch; anywhere else the header means nothing and the peer is a player.
    var placesBranches: Bool { core.places != nil }

    /// The nodes listening now (players and branch links), with those waiting for the stream, for the admin API.
    func listenerNodes() -> [any Node] {
        (core.listeners + core.waitingListeners).map(\.node)
    }

    /// The name of the stream being served, once the source has replied.
    var stream: UInt64? { core.context?.stream }
    /// Whether the stream played and is away now (``DistributorCore/streamAway``), not yet started.
    var streamAway: Bool { core.streamAway }

    /// The stream's context as a listener asking now is told (with the HLS sequence base), while there is one.
    var context: Context? { core.context.map(withHLSBase) }

    /// The reply a player asking now would get, without serving it (``DistributorCore/promise(resume:)``).
    func promise(resume: Int?) -> (next: Int, context: Context)? {
        core.promise(resume: resume).map { ($0.next, told($0.context, next: $0.next)) }
    }

    /// Who decides the sample count of the stream (``HLSSampleCount/Authority``): this node when its source told
    /// no HLS numbers (a root, a branch of a root without HLS), else the tree's root, through the clock its source
    /// told (if it told one) — and so for a mount playing its fallback, whose count is the fallback mount's: it
    /// numbers that stream's segments in its own playlist, but they are the fallback's segments.
    var clockAuthority: HLSSampleCount.Authority { clockAuthority(at: nil) }

    /// Who decides the sample count of relay segment `number` of the stream (``clockAuthority``): for a mount
    /// playing its fallback, the fallback's count at the first frame that starts there, once the fallback's packager
    /// has counted it (it hears each segment first, having listened longer), else the clock that mount told.
    func clockAuthority(at number: Int?) -> HLSSampleCount.Authority {
        guard let context = core.context, context.hlsBase != nil || playsFallback else { return .own }
        let fallback = number.flatMap { number in
            fallbackPackager?.assumeIsolated { $0.clock(from: number, stream: context.stream) }
        }
        return .told(fallback.flatMap { $0.segment == number ? $0 : nil } ?? context.hlsClock)
    }

    /// When relay segment `number - 1` of the stream was cut, for a mount playing its fallback that begins with
    /// `number` (it gets no burst): its HLS segments that start in `number` are dated as the fallback's are.
    func cutBefore(_ number: Int) -> Int64? {
        guard let fallback = source as? Distributor, fallback.loop === loop else { return nil }
        return fallback.assumeIsolated { $0.core.segment(number - 1)?.time }
    }

    /// The HLS packager of the mount this one plays as its fallback (a mount of the same server, on this loop).
    private var fallbackPackager: HLSPackager? {
        guard let fallback = source as? Distributor, fallback.loop === loop else { return nil }
        return fallback.assumeIsolated { $0.packager }
    }

    /// The context a listener whose first segment is `next` is told: with the HLS numbers (``withHLSBase(_:)``)
    /// and the sample clock at its first frame — this node's packager's while its count is exact (or, when this
    /// node counts on its own and its packager begins the stream with that very segment, that its count starts
    /// there), else the one its source told when the listener meets that frame too, else none.
    private func told(_ context: Context, next: Int) -> Context {
        var told = withHLSBase(context)
        let starts = next == core.next && clockAuthority == .own
        let own = packager?.assumeIsolated {
            $0.clock(from: next, stream: context.stream) ?? (starts ? $0.startClock(at: next, stream: context.stream) : nil)
        }
        told.hlsClock = own ?? context.hlsClock.flatMap { $0.segment >= next ? $0 : nil }
        return told
    }

    /// The context a listener is told, with the HLS sequence base of its stream: the one its source told (a
    /// branch passes its root's on), else this node's packager's (a root).
    private func withHLSBase(_ context: Context) -> Context {
        guard context.hlsBase == nil, let packager else { return context }
        var told = context
        let first = core.streamFirst ?? core.next ?? 0
        // A fallback's stream: its first whole segment here is known from the fallback's count.
        let group = fallbackPackager?.assumeIsolated { $0.firstWholeGroup(from: first, stream: context.stream) }
        let base = packager.assumeIsolated { $0.sequenceBase(for: context.stream, from: first, context: context, group: group) }
        told.hlsBase = base.sequence
        told.hlsDiscontinuityBase = base.discontinuity
        told.hlsFirst = base.first
        return told
    }

    /// Where a browser's burst (``ClientOptions/browserBurst`` of audio) starts
    /// (``DistributorCore/burstStart(segments:)``); `nil` before the stream has begun.
    func browserBurstStart(_ options: ClientOptions) -> Int? {
        guard let context = core.context else { return nil }
        return core.burstStart(segments: options.browserBurstSegments(segmentDuration: context.segmentDuration))
    }

    /// When a listener (a player, a branch link) last left; `nil` if none has.
    var lastLeft: ContinuousClock.Instant? { core.lastLeft }

    /// The numbers that describe the distributor now.
    public func stat() -> Stat {
        Stat(
            listeners: connectedPlayers, branches: core.branchCount,
            counters: core.counters,
            bytesOut: tally.bytesOut, skipped: tally.skipped, dropped: tally.dropped, refused: tally.refused,
            context: core.currentContext, next: core.next, tree: core.places, quiet: lastAudio.map { ContinuousClock.now - $0 },
            sinceSegment: lastSegment.map { ContinuousClock.now - $0 },
            lastPath: core.lastPath, lastKnown: core.lastKnown,
            streamStart: core.streamStarted.map { wallClockMilliseconds() - Int64(($0.duration(to: .now)) / .milliseconds(1)) })
    }

    /// Carries out the core's actions, in order.
    ///
    /// **Re-entrancy.** Sending a message to a node on this loop runs it at once, and it may call back into this
    /// distributor (a client whose socket fails leaves at once). That is safe because no action is performed
    /// while the core is being changed: the core has returned its actions before the first one runs, and a
    /// fan-out walks the listener list as it was then (a copy, should a listener leave during the walk).
    ///
    /// A listener's reply and the segments of its burst, which follow one another in the actions, are handed to
    /// it together (``Node/send(contentsOf:)``): one hand-over to a player on another loop, not one per message.
    private func perform(_ actions: [DistributorCore<NodeReference>.Action]) {
        var mail = Mail()
        var joined = false
        defer { if joined { onJoin?() } }
        for action in actions {
            if !action.isMessage { mail.post() }  // what was gathered goes before any other action
            switch action {
            case .reply(let listener, let next, let context):
                served(listener)
                joined = true
                mail.add(.reply(next: next, context: told(context, next: next)), for: listener)
            case .send(let listener, let number, let segment):
                mail.add(.data(number, segment), for: listener)
            case .requestSource:
                source?.send(.request(from: self, resume: nil))
                onSourceRequested?()
            case .fanOut(let number, let segment):
                fanOut(.data(number, segment))
            case .fanOutPiece(let number, let piece):
                fanOut(.piece(number, piece))
            case .redirect(let listener, let url):
                listener.node.send(.redirect(to: url))
            case .stop(let listener, let reason):
                if let reason, let client = listener.node as? Client { client.stop(because: reason) } else { listener.node.stop() }
            case .relink(let listener, let reason):
                if let client = listener.node as? Client { client.relink(because: reason) } else { listener.node.stop() }
            case .release(let listener, let reason):
                if let mount = listener.node as? Distributor { mount.dropListeners(because: reason) } else { listener.node.stop() }
            case .notFound(let listener):
                if let client = listener.node as? Client { client.notFound() } else { listener.node.stop() }
            case .conflict(let listener, let reason):
                if let client = listener.node as? Client { client.conflict(reason) } else { listener.node.stop() }
            case .armWaitingTimer(let delay):
                waitingTimer = loop.schedule(after: delay) { [weak self] in
                    self?.assumeIsolated { $0.perform($0.core.waitingTimedOut(at: .now)) }
                }
            case .log(let line):
                logger(line)
            case .titleChanged(let title, let time):
                let event = TitleWatcher.event(title: title, at: time, listeners: core.playerCount, hlsPlayers: hlsPlayers)
                watchers.send(event)
            }
        }
        mail.post()
    }
}

extension DistributorCore.Action {
    /// Whether the action is a message for one listener (a reply, a segment), which ``Mail`` gathers.
    fileprivate var isMessage: Bool {
        switch self {
        case .reply, .send: true
        default: false
        }
    }
}

/// Messages for one listener, gathered while a distributor performs its actions and handed over in one go.
private struct Mail {
    private var listener: NodeReference?
    private var messages: [Message] = []

    /// Adds a message for `listener`; what was gathered for another listener is posted first.
    mutating func add(_ message: Message, for listener: NodeReference) {
        if self.listener != listener { post() }
        self.listener = listener
        messages.append(message)
    }

    /// Hands what was gathered to its listener: one message as it is, several in one hand-over.
    mutating func post() {
        guard let listener, !messages.isEmpty else { return }
        if messages.count == 1 { listener.node.send(messages[0]) } else { listener.node.send(contentsOf: messages) }
        self.listener = nil
        messages = []
    }
}

extension Distributor {
    /// Hands `message` to every listener: those on this loop with a plain call each; for each other loop of the
    /// group that has listeners, one hand-over of the whole listener list (a copy-on-write snapshot: no copy,
    /// no work per listener here), which that loop walks a slice at a time, sending to its own (``LoopFanout``).
    /// This loop does not even sort the listeners: every loop scans the list in parallel, on its own core.
    func fanOut(_ message: Message) {
        let listeners = core.listeners
        guard !fanouts.isEmpty else {
            for listener in listeners { listener.node.send(message) }
            return
        }
        // With listeners on other loops, those of this one (branch links, an HLS packager) are few: kept apart,
        // so that this loop does not walk millions of others. One that left is forgotten here as it goes.
        for listener in locals {
            if core.serves(listener) { listener.node.send(message) } else { locals.remove(listener) }
        }
        for fanout in fanouts.values {
            fanout.deliver(message, to: listeners)
        }
    }

    /// Notes the loop of a listener just served: its loop gets every fan-out from now on, and one of this loop
    /// is kept among the locals.
    func served(_ listener: NodeReference) {
        let home = ObjectIdentifier(loop)
        guard let other = listener.loopID, other != home, let otherLoop = (listener.node as? any LoopBound)?.loop else {
            if !fanouts.isEmpty { locals.insert(listener) }
            return
        }
        guard fanouts[other] == nil else { return }
        if fanouts.isEmpty {
            // The first listener on another loop: from now on this loop's own are kept apart.
            locals = Set(core.listeners.filter { $0.loopID == nil || $0.loopID == home })
        }
        fanouts[other] = LoopFanout(loop: otherLoop)
    }
}

/// A node as a key: the same node is the same listener, whatever protocol value it comes wrapped in.
struct NodeReference: Hashable, Sendable {
    /// The node.
    let node: any Node
    /// The loop it runs on, if it is a node of a loop (a client on another loop of the group gets its
    /// segments in that loop's batch). An identity, not a reference: every loop of the group compares it once
    /// per listener and segment, and a reference would have each of them count references to the same few
    /// loop objects — one cache line fought over by every core.
    let loopID: ObjectIdentifier?

    init(_ node: any Node) {
        self.node = node
        self.loopID = ((node as? any LoopBound)?.loop).map(ObjectIdentifier.init)
    }

    static func == (lhs: NodeReference, rhs: NodeReference) -> Bool { lhs.node === rhs.node }
    func hash(into hasher: inout Hasher) { hasher.combine(ObjectIdentifier(node)) }
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
