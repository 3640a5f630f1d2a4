public import CastyNet
public import CastyWire
internal import Icy

/// A relay in the distribution tree: it takes a place under the root, or wherever the root sends it, and
/// passes the numbered segments on to its own distributor, which serves media players and at most two
/// branches of its own.
///
/// It asks the root with `X-Casty-Branch: <its address>` and follows the redirects it is given (a loop is
/// detected) until a node serves it; on tree links every metadata block carries the segment's number
/// (`CastySeq`) and the time it was cut (`CastyTime`), so the numbering — and gap detection — survive the
/// wire. When its parent dies or goes silent (for longer than a few segments last), it asks the root again,
/// with `X-Casty-Resume: <next number>`: the new parent replays what it missed from its ring, so the
/// branch — and the branches below it — see no gap and no duplicate. Its media players get the replay within
/// their burst allowance (``ClientOptions/burstBytes``); after a longer repair they skip whole segments, as any
/// listener that falls behind does, rather than make the branch buffer without bound.
///
/// The numbers belong to a stream, named in every reply head (`X-Casty-Stream`). When the branch is told of
/// another stream than it had — the root restarted and numbers from 0 again — it restarts its numbering at
/// the reply's `X-Casty-Next`, and its distributor counts the break as one gap and keeps its players; what the new
/// stream's start repeats of the audio it delivered (a relay root's station burst) is left out (``SegmentJoin``). In a
/// closed tree it sends the tree's key (``TreeKey``) with every request.
public actor Branch: UpstreamNode, FeedingNode {
    /// How a branch talks to the tree.
    public struct Configuration: Sendable {
        /// The parent is declared silent after this many segment durations without a byte, plus a quarter of
        /// one per level of depth (a branch right under the root waits 2.25, one at depth 4 waits 3): a branch
        /// cut off with its parent gives up in well under 2 s and re-attaches elsewhere (it tells the root
        /// which parent it lost, so it is not sent back there), and the branch right under a broken link gives
        /// up a little before its own branches, which are then usually fed again before they give up too.
        public var silentSegments = 2
        /// The first wait before asking the root again; it doubles up to ``maxBackoff``.
        public var backoff: Duration = .milliseconds(100)
        /// The longest wait between attempts: short, so that when a root that was away returns, the branches
        /// are back within about a segment (asking a root that is down costs it nothing but a refused connect).
        public var maxBackoff: Duration = .milliseconds(500)
        /// Deadline for each connect and each reply.
        public var connectTimeout: Duration = .seconds(3)
        /// Redirects followed before giving up (the tree's depth is far less).
        public var maxRedirects = 16
        /// The tree's secret, sent to every parent as `X-Casty-Key`; `nil` for an open tree.
        public var treeKey: TreeKey?
        /// How often a branch whose root has no such stream (`404`) asks again: every 10 s, not at a repair's pace
        /// (the root would log two refusals a second, for as long as it lasts); a mount the branch records asks
        /// every 2 s, so that the recording misses little of a show that starts.
        public var missingBackoff: Duration = .seconds(10)
        /// How long each of the two windows is over which a link too slow for the stream is told
        /// (``RealTimeWatch``): 10 s.
        public var paceWindow: Duration = .seconds(10)

        /// The defaults.
        public init() {}
    }

    /// The loop the branch runs on.
    public nonisolated let loop: EventLoop
    /// Runs the actor on its event loop.
    public nonisolated var unownedExecutor: UnownedSerialExecutor { loop.asUnownedSerialExecutor() }
    /// The root of the tree: where a branch asks for a place, first and after every failure.
    public nonisolated let root: StreamURL
    /// Where this branch serves other branches (`host:port`), told to its parents.
    public nonisolated let address: String
    /// What the branch is doing about its parent.
    public var state: UpstreamState { keeper.state }
    /// What the branch is doing, for status lines: `idle (no listener yet)` for a lazy branch that nobody has
    /// asked for the stream, else its ``state``.
    public var status: String {
        if keeper.state == .connecting && keeper.task == nil && keeper.link == nil {
            return missing ? "idle (the root has no stream here)" : "idle (no listener yet)"
        }
        // Its link open, but the stream it carried ended upstream: not streaming, whatever the link does.
        if endedUpstream, keeper.state != .retrying, keeper.state != .stopped { return "waiting (the stream ended upstream)" }
        return "\(keeper.state)"
    }
    /// Whether the stream ended upstream (``streamEnded(told:)``), or the root has none (``followRootAway(_:)``),
    /// and no segment has come since.
    private var endedUpstream = false
    /// Times the branch lost its parent and asked the root again.
    public var reattaches: Int { keeper.reconnects }
    /// The parent serving the branch now.
    public private(set) var parent: StreamURL?
    /// How long the last repair took: from losing the parent (noticing it) to the first segment from the new one.
    public private(set) var lastRepair: Duration?

    private let configuration: Configuration
    let logger: EventLog
    var keeper = UpstreamKeeper()
    private var subscribers = Subscribers()
    private(set) var context: Context?
    /// Tells a link to the parent too slow for the stream (``RealTimeWatch``). It counts across links: a link much
    /// too slow is dropped by its parent within seconds (it falls 2 s behind) and re-attached again and again, so
    /// no one link lasts the windows it takes — while the links that break and heal in the tree owe nothing, since a
    /// branch that re-attaches is sent what it missed. Only a stream that ended upstream starts it again.
    private(set) var realTime: RealTimeWatch
    /// How far behind its best the current link brings the stream (``LinkLag``): a silence after a link that fell
    /// behind so is the link's, not its parent's (``linkTrickled``).
    private(set) var linkLag = LinkLag()
    /// The number of the next segment; sent as `X-Casty-Resume` when re-attaching.
    private var next: Int?
    private var title: Metadata?
    private var titleVersion = 0
    /// A new stream began (the root restarted, its source changed) while a title was told: the bytes of its audio it
    /// may bring before it tells its own title. A restarted root cuts its first segments before its station's first
    /// metadata block came (Icecast's comes after its `icy-metaint` bytes, 16,000): the old title is kept
    /// meanwhile — unchanged if the new stream tells the same, replaced if another —, and only a new stream that
    /// tells none by ``titleGraceBytes`` has none (the players are told so: the old stream's is no title of the new one).
    private var titleGrace: Int?
    /// The audio a new stream may bring before it tells its title (``titleGrace``): more than a station's usual
    /// `icy-metaint` (Icecast's 16,000, Shoutcast's up to 32,768 bytes), about 2 s at 128 kbit/s.
    static let titleGraceBytes = 32_768
    /// Title changes, told as a proxy tells its station's: five of every 10 s, the rest summed up.
    private let titleChanges: LogBudget
    private var lostAt: ContinuousClock.Instant?
    /// When the last segment came: a repair's line says how long the stream was away, which the repair alone does not
    /// (a branch stopped for 27 s, `kill -STOP`, notices its lost link when it runs again, and repairs it in 0.1 s).
    private var lastSegmentAt: ContinuousClock.Instant?
    /// Forgets the stream for newcomers if the parent is not back within ``staleAfter`` of its loss.
    private var staleTimer: Scheduled?
    /// How long a branch whose parent is lost goes on admitting newcomers to the stream as it was: a repair takes
    /// a second or two; past that (the root gone, the network cut), a new player would get the seconds before the
    /// loss as a burst, then silence — it waits instead, and is told `503` with `Retry-After`.
    static let staleAfter: Duration = .seconds(3)
    /// The parent lost last (`host:port`), told to the tree as `X-Casty-Lost` until the branch is placed again; the
    /// branch's log says so once (``lostBecause``), so that an engineer reading the root's line about it finds why here.
    var lostParent: String? {
        didSet { if lostParent != oldValue { lostTold = false } }
    }
    /// Why ``lostParent`` is named lost, for the branch's line that says so.
    var lostBecause = ""
    /// Whether the branch's log said it names ``lostParent`` lost.
    var lostTold = false
    /// The parent that closed the link in order (`host:port`), until the branch is placed again: a parent that died
    /// (its process killed), or one that dropped this branch — its link too slow for the stream, behind past its
    /// patience. It is asked which before the branch asks the root again (``judgeClose(by:)``): one that answers is
    /// not named lost.
    var closedBy: String?
    /// Whether ``closedBy`` was asked since the link closed.
    var closeJudged = false
    /// The drops by a live parent past the first few of a flapping link, summed up every ten seconds as its losses
    /// are (``judgeClose(by:)``).
    var drops = RepeatedEvent(interval: .seconds(10))
    /// Whether the root did not answer when the link's silence was checked with it (``askIfSilenceIsUpstream``):
    /// the link is then given up without blaming the parent — the root is away (restarting, cut off), and the
    /// parent, silent with it, did nothing wrong; named as lost, it would get no branch for a while just as the
    /// whole tree re-attaches, which piles every branch into the other subtree.
    private var rootUnanswered = false
    /// Whether the root answered the branch's last ask (a redirect, a refusal, a stream), for the line that says the
    /// branch is cut off from the tree (``forgetStaleStream()``).
    private var rootReached = false
    private var reportedUnnumbered = false
    /// The audio of the segment the link is bringing, as it arrives (the link hands audio on read by read), and
    /// what of it was handed on ahead of it (``StreamPiece``, a quiet stream).
    private var arriving: [UInt8] = []
    private var gauge = PieceGauge()
    /// Where a new stream from the parent joins the audio delivered before (its root restarted behind a station with
    /// a burst): what its start repeats is left out.
    private var join = SegmentJoin()
    /// Delivers a new stream's first segments once ``SegmentJoin/patience`` is up, should none come meanwhile.
    private var joinTimer: Scheduled?
    /// Whether the link is kept through a silence the root has too (``askIfSilenceIsUpstream``): said once.
    private var waitingWithRoot = false
    /// Whether the parent's stream has metadata blocks (a Casty parent's always has): else it is cut here.
    private var parentHasBlocks = true
    private var pieces: Ticker?
    /// The path last told to this branch's own branches in a segment (`CastyPath`).
    private var announcedPath: [String]?
    /// Whether the log said that the parent places no branches (no tree node): said once.
    private var toldNotATree = false
    /// Called each time the root answers `404` (set by ``BranchMounts``), with whether the branch had the stream
    /// (the root let its players go, its source away past its source timeout) or never had it (the tree has no such
    /// mount now); it returns whether the branch rests (``UpstreamKeeper/resting``): it stops asking, untold, until
    /// it is asked for the stream again — rather than ask every ``Configuration/missingBackoff``.
    var onMissing: (@Sendable (_ hadStream: Bool) -> Bool)?
    /// Called each time the root answers otherwise than `404` — the stream, `503` (no source yet), or nothing: the
    /// mount is not known to be missing (set by ``BranchMounts``).
    var onFound: (@Sendable () -> Void)?
    /// Whether the root's last answer was `404` before the branch ever had the stream: it asks again every
    /// ``Configuration/missingBackoff`` then, not at a repair's pace (from ``Configuration/backoff`` up to every
    /// ``Configuration/maxBackoff``).
    private var missing = false
    /// The receive buffer of a branch's link to its parent: two seconds of a 128 kbit/s stream. Left to the
    /// kernel, it grows to megabytes — a minute of audio —, and a branch that hangs (its process stopped, its
    /// kernel still accepting) would keep its place that long while its parent's sends still went out; this small,
    /// the parent's send buffer fills within seconds and the branch is dropped as lagging, its place given to
    /// another. Thirty times what the stream needs even across an ocean (32 KiB a 100 ms round trip is 320 KB/s).
    static let linkReceiveBuffer = 32 * 1024

    /// A branch of the tree whose root is at `root`, serving other branches at `address` (`host:port`).
    public init(root: StreamURL, address: String, configuration: Configuration = .init(), loop: EventLoop = .shared, logger: EventLog = .silent) {
        self.root = root
        self.address = address
        self.configuration = configuration
        self.realTime = RealTimeWatch(window: configuration.paceWindow)
        self.loop = loop
        self.logger = logger
        self.titleChanges = LogBudget(loop: loop, logger: logger.prefixed("branch \(address): "), what: "title changes", perWindow: 5)
    }

    /// Hands the branch a message: a request from its distributor.
    public nonisolated func send(_ message: Message) { deliver(message) }

    /// Stops the branch: it leaves its parent and tells its distributor to stop.
    public nonisolated func stop() { onLoop { $0.stopNow() } }

    /// Asks the root again if the branch rests (``UpstreamKeeper/resting``): someone asked this branch for the
    /// stream. Nothing changes for a branch that is asking or streaming.
    nonisolated func askAgain() { onLoop { $0.keepInBackground() } }

    /// Stops sending to `node` (a mount that takes its stream from elsewhere now).
    public nonisolated func leave(_ node: any Node) { onLoop { $0.subscribers.remove(node) } }

    /// Takes a place in the tree and starts streaming; from then on the branch repairs itself.
    /// - Throws: ``CastyError`` when the first attempt fails (the root is unreachable, a redirect loop, …).
    public func start() async throws(CastyError) {
        try await startKeeping()
    }

    func receive(_ message: Message) {
        guard case .request(let node, _, _) = message else { return }
        guard keeper.state != .stopped else { return node.stop() }
        subscribers.request(from: node, next: nextDelivered ?? 0)
        keepInBackground()  // a branch takes its place in the tree when someone first asks it for the stream
    }

    func stopNow() {
        stopKeeping()
        pieces?.cancel()
        joinTimer?.cancel()
        subscribers.stopAll()
    }

    // MARK: The parent

    let role = "branch"
    /// `branch <address>`, as every other line of a branch's says.
    var speaker: String { "branch \(address)" }
    var backoff: (first: Duration, most: Duration) {
        missing ? (configuration.missingBackoff, configuration.missingBackoff) : (configuration.backoff, configuration.maxBackoff)
    }

    func openUpstream() async throws(CastyError) -> OpenedStream {
        var headers: Headers = ["X-Casty-Branch": address]
        if let next { headers["X-Casty-Resume"] = String(next) }
        if let stream = context?.stream, stream != 0 { headers[Context.streamHeader] = Context.streamText(stream) }
        if let key = configuration.treeKey { headers[TreeKey.header] = key.headerValue }
        if let closedBy, !closeJudged {
            closeJudged = true
            await judgeClose(by: closedBy)
        }
        if let lostParent {
            headers["X-Casty-Lost"] = lostParent
            tellNamedLost(lostParent)
        }
        do {
            let opened = try await open(headers: headers)
            missing = false
            onFound?()
            return opened
        } catch {
            if case .notAStream(_, .status(code: 404, _)) = error {
                let hadStream = context != nil
                if hadStream, !missing { streamLetGo() }
                missing = true
                keeper.resting = onMissing?(hadStream) ?? false  // a branch made on demand for a mount is dropped
            } else {
                onFound?()
            }
            throw error
        }
    }

    /// The root answered `404` for the stream the branch had: its source stayed away past the source timeout, and
    /// the root let its players go. So does the branch: its distributors forget the stream and let their players
    /// and branches go (those asking from now on are told `404`, as at the root), and what it does next is
    /// ``onMissing``'s to say: a kept mount asks again every ``Configuration/missingBackoff``, one relayed on demand
    /// is dropped, and the root path's link rests until it is asked for the stream again.
    private func streamLetGo() {
        // Two causes look alike from here: a source that stayed away past the root's source timeout, and a root that
        // restarted and has no such mount (yet: under --accept-all, until its source publishes again).
        logger("branch \(address): \(root.shown) has no stream any more (404: its source stayed away past the root's source timeout,"
            + " or the root restarted without it): its players are let go, as the root's were")
        join.forget()  // its players are let go: the next stream's start repeats nothing they heard
        for node in subscribers.forgetContext() { (node as? Distributor)?.streamLetGo() }
    }

    /// Opens the stream at the root, following the tree's redirects. A tree node redirects a branch to a
    /// child's root path (`http://child/`); the branch asks the child for the same mount it asked the root
    /// for, so a tree of many mounts places each mount's branches in that mount's own tree.
    ///
    /// A node it was sent to that cannot be reached — refused, silent, hung (its kernel still accepts, its
    /// process answers nothing) — is told to the tree at the next ask as the parent lost (`X-Casty-Lost`), so that
    /// the node that sent it there sends it elsewhere rather than to the same place again, as long as its parent
    /// has not noticed the hung child itself.
    private func open(headers: Headers) async throws(CastyError) -> OpenedStream {
        var chain = [root]
        var current = root
        while true {
            do {
                return try await Upstream.open(
                    current, headers: headers, loop: loop, timeout: configuration.connectTimeout, maxRedirects: 0,
                    audioAsItArrives: true, receiveBuffer: Self.linkReceiveBuffer)
            } catch .redirects(let followed, loop: false) where followed.count == 2 {
                var next = followed[1]
                if next.path == "/" { next.path = root.path }
                let looped = chain.contains(next)
                chain.append(next)
                if looped || chain.count > configuration.maxRedirects + 1 { throw .redirects(chain, loop: looped) }
                current = next
            } catch {
                rootReached = current != root || !Self.isUnreachable(error)
                if current != root, Self.isUnreachable(error) {
                    lostParent = Self.treeAddress(current)
                    lostBecause = "sent there, it could not be reached: \(error)"
                }
                throw error
            }
        }
    }

    /// Whether `error` says a node could not be reached or answered nothing, rather than answering no.
    private static func isUnreachable(_ error: CastyError) -> Bool {
        switch error {
        case .network, .noReply, .silent, .ended: true
        default: false
        }
    }

    /// A node's address as the tree names it: `host:port`, `[v6]:port`.
    static func treeAddress(_ url: StreamURL) -> String {
        url.host.contains(":") ? "[\(url.host)]:\(url.port)" : "\(url.host):\(url.port)"
    }

    func lost(_ reason: CastyError) {
        lostAt = .now
        let named = rootUnanswered ? nil : parent.map(Self.treeAddress)
        // A link closed in order: the parent died, or dropped this branch; which is asked before it is named lost —
        // unless it said it closes the link for a new stream, to be asked again (``UpstreamKeeper/relinking``).
        if case .ended = reason, keeper.relinking {
            closedBy = nil
            lostParent = nil
        } else if case .ended = reason, let named {
            closedBy = named
            closeJudged = false
            lostParent = nil
        } else if let named, let slow = linkTrickled {
            // The link, not the parent: named lost, a healthy parent would get no branch for a while.
            lostParent = nil
            if keeper.flaps <= Self.toldAttempts {
                logger("branch \(address): its link to its parent \(named) gave out (\(reason)) after \(slow): the link is too"
                    + " slow for the stream, not the parent at fault; asking the root again without naming it lost")
            }
        } else {
            lostParent = named
            lostBecause = "its link: \(reason)"
        }
        linkLag.reset()
        rootUnanswered = false
        parent = nil
        staleTimer?.cancel()
        staleTimer = loop.schedule(after: Self.staleAfter) { [weak self] in self?.assumeIsolated { $0.forgetStaleStream() } }
    }

    /// The parent stayed away past ``staleAfter``: the distributors forget the stream until a parent is found (their
    /// listeners stay, and go on from where they were once it is), so newcomers wait for it rather than get its past
    /// — here and below: the links of this branch's own branches stay open, and quiet (an AAC stream's links wait
    /// 30 s for a quiet parent), so they are told the stream ended.
    private func forgetStaleStream() {
        staleTimer = nil
        guard keeper.state == .retrying else { return }
        let away = "\(formatted(seconds(Self.staleAfter))) s"
        // What the branch knows: it has no parent, not that the stream ended (only a parent or the root tells that).
        let cutOff = lostParent.map { "its parent \($0) lost, and no new place for \(away)" }
            ?? closedBy.map { "dropped by its parent \($0), and no new place for \(away)" }
            ?? "no parent for \(away), and the root \(Self.treeAddress(root)) \(rootReached ? "has not placed it again" : "does not answer")"
        streamEnded(told: "cut off from the tree: \(cutOff): newcomers here wait for the stream to come back")
        // No longer where it was: its status says so until it is placed again (it asks the root meanwhile).
        for node in subscribers.all { (node as? Distributor)?.placeLost() }
    }

    /// The stream ended upstream — the root's source left (its end came down the link), or this branch's parent
    /// stayed away: the HLS segment being filled is published, as every node of the tree publishes it, the links
    /// below are told, and newcomers here wait for the next stream, as they do at the root — at once, not once a
    /// link's silence makes a branch ask the root (seconds of `200` and silence for a player who came meanwhile).
    /// `told` is what the branch's line says of it: the stream ended upstream, or the branch is cut off from the tree.
    private func streamEnded(told: String) {
        finishJoin()
        endedUpstream = true
        realTime.restart()
        for node in subscribers.nodes { (node as? Distributor)?.endOfStream() }
        guard subscribers.context != nil else { return }
        logger("branch \(address): \(told)")
        subscribers.streamAway()
    }

    func attach(_ opened: OpenedStream) {
        finishJoin()  // held segments do not outlive the link that brought them
        keeper.state = .connected
        staleTimer?.cancel()
        staleTimer = nil
        parent = opened.url
        lostParent = nil
        closedBy = nil
        rootUnanswered = false
        let headers = opened.headers
        let segmentBytes = (try? headers.metaint()).flatMap { $0 } ?? context?.segmentBytes ?? 8192
        // Numbers a parent tells are bounded: past them they are its mistake, and would overflow once counted on.
        let bounded = { (name: String, range: ClosedRange<Int>) in headers[name].flatMap { Int($0) }.flatMap { range.contains($0) ? $0 : nil } }
        // The bitrate the tree counts with (a measured one, where icy-br tells listeners the encoder's setting).
        let counted = bounded(Context.bitrateHeader, 1...10_000), told = bounded("icy-br", 1...10_000)
        let bitrate = counted ?? told ?? context?.bitrate ?? 128
        let path = headers["x-casty-path"].map { $0.split(separator: ",").map(String.init) } ?? []
        rootReached = true
        let first = StreamSegment.number(headers["x-casty-next"]) ?? next ?? 0
        let stream = headers[Context.streamHeader].flatMap(Context.stream(parsing:)) ?? context?.stream ?? 0
        var current = Context(
            station: Context.stationHeaders(from: headers), segmentBytes: segmentBytes, bitrate: bitrate,
            title: title, path: path, stream: stream)
        current.hlsTarget = bounded(Context.hlsTargetHeader, HLSPackager.Settings.targetRange)
        // A base below zero is a fallback's that took over after playing a while (``HLSSegmenter``).
        current.hlsBase = bounded(Context.hlsBaseHeader, -(1 << 52)...(1 << 52))
        current.hlsDiscontinuityBase = bounded(Context.hlsDiscontinuityHeader, 0...(1 << 52))
        current.hlsFirst = bounded(Context.hlsFirstHeader, 0...(1 << 52))
        current.hlsClock = headers[Context.hlsClockHeader].flatMap { HLSClock(header: $0, segmentBytes: segmentBytes) }
        current.everyPath = headers[Context.everyPathHeader] == "1"
        current.mount = headers[Context.mountHeader].flatMap { StationServer.Configuration.isMountName($0) ? $0 : nil }
        current.fallback = headers[Context.fallbackHeader] == "1"
        if let old = context?.stream, old != stream {
            // The new stream may go on from the number the old one would have had next: then nothing restarts.
            let numbering = next.map { $0 == first ? "numbering goes on at \(first)" : "numbering restarts at \(first) (was \($0))" }
            logger("tree: branch \(address): new stream \(Context.streamText(stream)) from \(opened.url.shown) (was"
                + " \(Context.streamText(old))): \(numbering ?? "numbering starts at \(first)")")
            next = first
            announcedPath = nil
            join.newStream(contentType: current.contentType)
            titleGrace = title.map { $0.streamTitle != "" } ?? false ? Self.titleGraceBytes : nil
        } else if next == nil {
            next = first
        }
        if current != context || subscribers.context == nil {
            context = current
            subscribers.ready(current, next: first)
        }
        if path.isEmpty, !toldNotATree {
            // A server, a proxy or a station answers a branch as it answers a dummy: numbered segments, and no place.
            toldNotATree = true
            logger("branch \(address): \(opened.url.shown) places no branches (it is no tree node: start it with casty-cli root):"
                + " this branch relays it as a player would, with no place in a tree to repair, and is not told when its"
                + " stream restarts there (its HLS goes on under its own names)")
        }
        logger("branch \(address): attached to \(opened.url.shown) (depth \(path.count), next segment \(first))")
        // The old link's unfinished segment is gone with it (pieces handed on of it are abandoned downstream).
        arriving = []
        gauge.reset()
        parentHasBlocks = ((try? headers.metaint()) ?? nil) != nil
        if pieces == nil {
            pieces = Ticker(loop: loop, every: StreamPiece.interval) { [weak self] in self?.assumeIsolated { $0.handOnPieces() } }
        }
        keeper.link = UpstreamLink(
            opened, silence: current.segmentDuration * configuration.silentSegments + current.segmentDuration * path.count / 4,
            onSegment: { [self] segment in
                assumeIsolated { $0.take(segment) }
                return nil
            },
            onEnd: { [self] reason in assumeIsolated { $0.linkEnded(reason) } })
        keeper.followQuiet(contentType: headers["Content-Type"]) { [self] silent in assumeIsolated { $0.waitsForQuietParent(silent) } }
        let mount = current.mount ?? opened.url.path
        keeper.link?.isSilenceUpstream = { [self] quiet, answer in
            assumeIsolated { $0.askIfSilenceIsUpstream(mount: mount, quiet: quiet, answer) }
        }
        keeper.link?.whileQuiet = { [self] _ in assumeIsolated { $0.askRootWhileQuiet(mount: mount) } }
    }

    /// The link waits for a quiet parent — a quiet passage of an AAC or variable-bitrate stream, or its root's source
    /// gone, which look alike from here: the root's `/tree` line tells which, so that a root without a stream has
    /// newcomers here wait for it at once, as at the root, not once the quiet allowance (30 s) is spent.
    private func askRootWhileQuiet(mount: String) {
        Task {
            followRootAway(await TreeLine.fetch(from: root.authority, mount: mount, timeout: .seconds(1), loop: loop))
        }
    }

    /// The root has no stream now (`stream=-` on its `/tree`: its upstream lost, its source gone): newcomers here wait
    /// for it as they would there, rather than get the seconds before the silence and then nothing.
    private func followRootAway(_ line: TreeLine?) {
        guard line?["stream"] == "-" else { return }
        endedUpstream = true  // its status says so, not `streaming` over a link that carries nothing
        guard subscribers.context != nil else { return }
        logger("branch \(address): the root \(root.authority) has no stream now (its source or upstream away): newcomers here wait for it")
        subscribers.streamAway()
    }

    /// Whether the silence of this branch's link, `quiet` long, is its stream's: the root's own stream stopped
    /// coming as long ago (its `/tree` says `quiet=` and `whole=`: ``TreeLine/quiet(reaching:)``), its source or
    /// upstream away — then every link of the tree goes silent at once, and a branch that gave its link up would only
    /// blame its parent, ask the root again and be placed anew, every second, all over the tree. The root is asked, not the parent: a parent cut off from
    /// the root is silent too, and its subtree must find a place elsewhere. A root that does not answer within a
    /// second (hung, gone, unreachable), or whose stream still comes, has the link given up as before. Said once
    /// per silence.
    private func askIfSilenceIsUpstream(mount: String, quiet: Duration, _ answer: @escaping @Sendable (Bool) -> Void) {
        let slack = context?.segmentDuration ?? .milliseconds(500), depth = context?.path.count ?? 1
        Task {
            let line = await TreeLine.fetch(from: root.authority, mount: mount, timeout: .seconds(1), loop: loop)
            // Like with like: the root's audio this branch could have had by now (a piece of a stalled source's
            // unfinished segment, just handed on at the root, is still on its way down), not its very last.
            let upstream = line.map { ($0.quiet(reaching: depth) ?? .zero) + slack >= quiet } ?? false
            rootUnanswered = line == nil
            if upstream, !waitingWithRoot {
                waitingWithRoot = true
                realTime.restart()  // the audio the link did not bring, the root did not have: no slowness of the link
                logger("branch \(address): no segment for \(formatted(seconds(quiet))) s, nor has the root \(root.authority) had"
                    + " one: the stream stopped upstream (the root's source away); the link is kept, waiting with it")
            }
            if upstream { followRootAway(line) }
            answer(upstream)
        }
    }

    /// The link went past its silence deadline, but the parent's host answers: the stream is quiet, not the link.
    private func waitsForQuietParent(_ silent: Duration) {
        logger("branch \(address): no segment for \(formatted(seconds(silent))) s, but the parent's host answers: waiting up to"
            + " \(Int(seconds(QuietStream.allowance))) s more (a quiet AAC or variable-bitrate source fills segments slowly)")
    }

    /// An ancestor re-attached elsewhere: this branch's place in the tree (its depth, its ancestors) changed.
    private func moved(to path: [String], from context: Context) {
        guard path != context.path else { return }
        var current = context
        current.path = path
        self.context = current
        subscribers.ready(current, next: nextDelivered ?? 0)
    }

    /// Takes what the link read: audio as it arrived, gathered until its segment's metadata block, which
    /// completes the segment.
    private func take(_ segment: Segment) {
        if !segment.audio.isEmpty { _ = streamsNow() }
        if waitingWithRoot {
            waitingWithRoot = false
            logger("branch \(address): the stream comes again")
        }
        guard segment.lengthByte == nil else {
            // A metadata block, which comes with no audio of its own: the segment is the audio gathered.
            let whole = Segment(audio: arriving, metadata: segment.metadata, fault: segment.fault, lengthByte: segment.lengthByte)
            arriving.removeAll(keepingCapacity: true)
            gauge.reset()
            return takeWhole(whole)
        }
        for chunk in segment.audio {
            gauge.adding(to: arriving.count)
            arriving += chunk
        }
        // A parent without metadata blocks (not a Casty node) is cut here, a segment's worth at a time.
        let size = context?.segmentBytes ?? 8192
        while !parentHasBlocks, arriving.count >= size {
            let audio = Array(arriving.prefix(size))
            arriving.removeFirst(size)
            gauge.reset(left: arriving.count)
            takeWhole(Segment(audio: audio))
        }
    }

    /// Hands on what the segment the link is bringing holds so far, if it comes slowly (every
    /// ``StreamPiece/interval``): a quiet stream's players below this branch stay live too.
    private func handOnPieces() {
        // A segment that may be left out (a new stream's start, looked at) is handed on only whole.
        guard !join.isLooking, let next, let piece = gauge.piece(of: arriving, after: StreamPiece.waitOnLink, now: .now) else { return }
        subscribers.publish(piece, of: next)
    }

    /// Passes a numbered segment on, exactly as numbered by the root — unless it is padding standing in for a
    /// segment that never came (its pieces were abandoned above: `CastyVoid`).
    private func takeWhole(_ segment: Segment) {
        let metadata = Metadata(parsing: segment.metadata)
        guard metadata[StreamSegment.voidKey] == nil else {
            if metadata[StreamSegment.endKey] != nil {
                streamEnded(told: "the stream ended upstream (its end came down the link): newcomers here wait for the next one")
            }
            if metadata[StreamSegment.newStreamKey] != nil { keeper.relinking = true }
            return
        }
        keeper.learnQuiet(from: segment)
        endedUpstream = false
        let number = StreamSegment.number(metadata[StreamSegment.sequenceKey])
        if number == nil, !reportedUnnumbered {
            reportedUnnumbered = true
            logger("branch \(address): the parent sends no segment numbers; numbering them here")
        }
        if let path = metadata[StreamSegment.pathKey], let context {
            moved(to: path.split(separator: ",").map(String.init), from: context)
        }
        let casty = [StreamSegment.sequenceKey, StreamSegment.timeKey, StreamSegment.pathKey, StreamSegment.entryKey]
        let fields = metadata.fields.filter { !casty.contains($0.key) }
        var told = fields.isEmpty ? nil : Metadata(fields)
        let wasHeld = titleGrace != nil
        if let grace = titleGrace {
            // A new stream's audio before its title: the old title stands, until the stream tells its own or has none.
            let left = grace - segment.audioCount
            if told == nil, left <= 0 { told = Metadata(streamTitle: "") }
            titleGrace = told == nil ? left : nil
        }
        let changed = told != nil && told != title
        if changed {
            title = told
            titleVersion += 1
            if let text = told?.streamTitle { titleChanges(text.isEmpty ? "title: none" : "title: \(SafeText.shortened(text))") }
        }
        // The title held, now told as the stream's own: the branches below, which were not told it while it was held
        // (``StreamSegment/numberedWithTitle`` states the stream's own only), are told it now.
        let restated = wasHeld && !changed && told != nil
        if restated { titleVersion += 1 }
        // This branch's own branches learn the path above them again whenever it changes.
        let below = (context?.path ?? []) + [address]
        let cut = StreamSegment.time(metadata[StreamSegment.timeKey]), arrived = wallClockMilliseconds()
        if let cut { linkLag.heard(cut: cut, at: arrived) }
        let numbered = StreamSegment(
            number: number ?? next ?? 0,
            time: cut ?? arrived,
            audio: segment.audioBytes, title: title, titleVersion: titleVersion, titleChanged: changed || restated,
            path: below == announcedPath ? nil : below, entryOffset: metadata[StreamSegment.entryKey].flatMap { Int($0) },
            titleHeld: titleGrace != nil)
        announcedPath = below
        next = numbered.number + 1
        // A link too slow for the stream: its segments come slower than they play. Counted for a stream of one
        // bitrate only, whose segments all play as long (a quiet AAC or VBR segment plays longer than its bytes say).
        if !keeper.quiet.mayGoQuiet, let context, let news = realTime.heard(seconds(context.segmentDuration), at: .now) {
            logger("branch \(address): the stream from its parent: \(news.told(cause: "the link to the parent"))")
        }
        let now = ContinuousClock.now
        if let lostAt {
            lastRepair = now - lostAt
            self.lostAt = nil
            let away = lastSegmentAt.map { ": the stream is back \(formatted(seconds(now - $0))) s after its last segment" } ?? ""
            logger("branch \(address): repaired in \(formatted(seconds(lastRepair!))) s\(away)")
        }
        lastSegmentAt = now
        deliver(join.take(numbered, at: now))
    }

    /// The number of the next segment the distributors get: the first one held while a new stream's start is looked
    /// at, else the next from the parent.
    private var nextDelivered: Int? { join.firstHeld ?? next }

    /// Hands `segments` on to the distributors: the new stream's start, what of it is new (`skipped`: the bytes of
    /// its start delivered before, left out), or the next segment.
    private func deliver(_ joined: (deliver: [StreamSegment], skipped: Int?)) {
        if join.firstHeld == nil {
            joinTimer?.cancel()
            joinTimer = nil
        } else if joinTimer == nil {
            joinTimer = loop.schedule(after: SegmentJoin.patience) { [weak self] in self?.assumeIsolated { $0.joinTimeUp() } }
        }
        if let skipped = joined.skipped {
            logger("branch \(address): the new stream's first \(megabytes(skipped)) were audio delivered here before (its"
                + " station's burst, sent again to its restarted root): left out, the stream goes on where the last one ended")
        }
        for segment in joined.deliver {
            // The stream comes again on the same link after the root had none: the distributors are told where it goes on.
            if subscribers.context == nil, let context { subscribers.ready(context, next: segment.number) }
            subscribers.publish(segment)
        }
    }

    /// A new stream's start was looked at for ``SegmentJoin/patience`` and no segment came since: what is held goes.
    private func joinTimeUp() {
        joinTimer = nil
        deliver(join.timeUp(at: .now))  // (held on, should the timer be early: it is set again)
    }

    /// The segments held while a new stream's start is looked at are delivered whole: the link that brought them
    /// ended, or the stream did.
    private func finishJoin() {
        joinTimer?.cancel()
        joinTimer = nil
        deliver((join.finish(), nil))
    }
}
