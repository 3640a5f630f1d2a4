public import CastyNet
public import CastyWire
internal import Icy

/// The mounts a branch of a many-mount tree relays: one ``Branch`` and one ``Distributor`` per mount, each
/// with its own place in that mount's tree, made when the first player or branch asks the branch's port for
/// the mount.
///
/// A branch started under `http://root:8000/` (no path) relays whatever mount it is asked for: a player's
/// `GET /live` makes a branch that asks the root for `GET /live` as a branch of the tree (and follows its
/// redirects to `/live` at other nodes), then serves it. The root URL's own path (`/`) is relayed from the
/// start, as a one-stream branch relays it, so `/tree` and `/status.json` answer before anyone asks. A mount
/// the root does not have (`404` before the stream ever came) is dropped at once — its waiting players get
/// `404`, as the root answers them (a mount the root has whose source is not live yet is answered `503` to the
/// branch, which keeps asking; its players wait, and get `503` with `Retry-After` if nothing comes) — and remembered:
/// asked for again within ``Settings/missingFor``, it is answered `404` without asking the root (``isMissing(_:)``).
/// A mount nobody has asked for or listened to for ``idleTimeout`` is dropped too; at most
/// ``maxMounts`` are relayed at once. Under a root of one stream (its reply says ``Context/everyPath``), every
/// path is played from the root path's relay: the root would send the same stream again on each link.
///
/// Loop-confined (`@unchecked Sendable` so that the port's callbacks may capture it): the router consults it on
/// the loop; its `async` methods hop there.
public final class BranchMounts: @unchecked Sendable {
    /// One mount relayed.
    public struct Relay: Sendable {
        /// The mount's path: `/live`.
        public let mount: String
        /// The mount's link to the tree.
        public let branch: Branch
        /// Fans the mount out to its players and its branches.
        public let distributor: Distributor
    }

    /// How a branch's mounts are relayed.
    public struct Settings: Sendable {
        /// The most mounts relayed at once (further mounts are `404`).
        public var maxMounts = 64
        /// A mount with no player, no branch and no request for this long is dropped (not the root's own path).
        public var idleTimeout: Duration = .seconds(60)
        /// Mounts relayed from the start, asked for or not, and never dropped: the recorded ones (`--record`), which a
        /// branch records whether anyone listens or not. One the root has not now (`404`: its source is away past
        /// the root's source timeout) keeps its link, which asks again every 2 s — the root path every 10 s: its link
        /// never rests.
        public var kept: Set<String> = []
        /// A path the root answered `404` is answered `404` here at once for this long, the root not asked again
        /// (its waiting players got the root's answer): a scanner trying a thousand paths, or a player retrying a
        /// typo, costs the root one ask per path, not one per request.
        public var missingFor: Duration = .seconds(10)
        /// The most paths remembered as missing at the root (the oldest are forgotten first): a few hundred KB at
        /// most, whatever a scanner asks.
        public var maxMissing = 1024

        /// The defaults.
        public init() {}
    }

    /// The loop of every relay.
    public let loop: EventLoop
    /// The root: each mount is asked for at its host and port, at the mount's path.
    public let root: StreamURL
    /// The mount relayed from the start, never dropped: the root URL's path.
    public let defaultMount: String
    /// Limits.
    public let settings: Settings

    private let first: Distributor
    private let configuration: Branch.Configuration
    private let distribution: Distributor.Configuration
    private let logger: EventLog
    /// Where the branch serves other branches (`host:port`), once its port is bound.
    private var address = ""
    private var relays: [String: (relay: Relay, asked: ContinuousClock.Instant)] = [:]
    private var order: [String] = []
    private var sweeper: Scheduled?
    private var stopped = false
    /// A path the root answered `404` for.
    private struct Missing {
        /// Until when a request for it is answered `404` without asking the root again.
        var until: ContinuousClock.Instant
        /// Whether a stream played there: its source may come back any moment, so a request asks the root at once.
        var hadStream: Bool
    }
    /// Whether the log said once that every path is relayed on the root path's link.
    private var toldEveryPath = false
    /// Whether the log said the root has no stream at the root path.
    private var toldRootPathMissing = false
    /// The paths the root answered `404` (no stream there, or none any more): forgotten once the root answers
    /// otherwise (``found(_:)``), or when ``Settings/maxMissing`` newer ones came.
    private var missing: [String: Missing] = [:]
    /// The mounts relayed whose relaying the log told: a mount is told once the root answers for it otherwise
    /// than `404` (a path the root has not is not worth two lines), a kept one at once.
    private var announced: Set<String> = []
    /// Called on the loop with each mount's relay as it is made (not the root path's, which the port serves from
    /// the start): where a recorded mount's recording starts. Set before ``start(address:)``.
    var onRelay: ((String, Distributor) -> Void)?

    /// The mounts of a branch under `root`, whose root path is served by `first`; ``start(address:)``
    /// starts them.
    init(
        root: StreamURL, first: Distributor, configuration: Branch.Configuration,
        distribution: Distributor.Configuration, settings: Settings, logger: EventLog
    ) {
        self.root = root
        self.defaultMount = root.path
        self.first = first
        self.configuration = configuration
        self.distribution = distribution
        self.settings = settings
        self.loop = first.loop
        self.logger = logger
    }

    /// Starts relaying the root path, as a branch serving other branches at `address` (`host:port`). From any
    /// thread, once.
    func start(address: String) -> Branch {
        let branch = Branch(root: root, address: address, configuration: configuration, loop: loop, logger: logger)
        // The root path is kept (the root may have it later), but a root that has no stream there is said once, with
        // what to do: its players name a mount, which the branch relays on its own link.
        // A placeholder, not a mount the root is known to have (`/live` would be taken for one).
        let example = StreamURL(host: root.host, port: root.port, path: "/<mount>", secure: root.secure)
        loop.execute { [self] in
            branch.assumeIsolated { branch in
                branch.onMissing = { [weak self, loop, first, defaultMount, recorded = settings.kept.contains(defaultMount)] hadStream in
                    // Recorded (`--record /`): it keeps asking, as a kept mount does, to record the stream once it is back.
                    if recorded {
                        first.refuseWaiting()
                        loop.execute { [weak self] in self?.remember(missing: defaultMount, hadStream: true) }
                        return false
                    }
                    // The root has no stream there (a root of several mounts; a root restarted so; a mount let go past
                    // its source timeout — while its source is only away, the root answers 503 and the link asks on):
                    // the link rests, as a fresh branch's does, until a player or a branch asks for the path — its
                    // players were let go (``Branch``), and asking every 10 s for ever would change nothing.
                    loop.execute { [weak self] in self?.rootPathMissing(example: example, hadStream: hadStream) }
                    return true
                }
                branch.onFound = { [weak self, loop, defaultMount] in loop.execute { [weak self] in self?.found(defaultMount) } }
            }
        }
        first.setTreeAddress(address, root: root.authority)
        first.attachSource(branch)
        loop.execute { [self] in
            self.address = address
            relays[defaultMount] = (Relay(mount: defaultMount, branch: branch, distributor: first), .now)
            order.insert(defaultMount, at: 0)
            relayKept()
            scheduleSweep()
        }
        return branch
    }

    /// Relays every kept mount not relayed now (``Settings/kept``). Loop thread only.
    private func relayKept() {
        for mount in settings.kept.sorted() where mount != defaultMount && relays[mount] == nil {
            _ = distributor(at: mount)
        }
    }

    /// The root has no stream at the root path: its waiting players get the root's answer, `404`, as a mount's do,
    /// the link rests until someone asks for the path again (an `--eager` branch asked once, not every 10 s for
    /// ever), and what to do is said once — or, when the branch had the stream there (`hadStream`: its end was said
    /// with its players let go), that the link rests; its source may come back any moment, so a player asking for it
    /// asks the root at once (``remember(missing:hadStream:)``), as for a mount whose stream ended. Loop thread only.
    private func rootPathMissing(example: StreamURL, hadStream: Bool) {
        first.refuseWaiting()
        remember(missing: defaultMount, hadStream: hadStream)
        if hadStream {
            return logger("branch \(address): asks the root for \(defaultMount) again when a player or a branch asks for it")
        }
        guard !toldRootPathMissing else { return }
        toldRootPathMissing = true
        logger("branch: the root has no stream at \(defaultMount) (404): players asking this branch for one of the root's "
            + "mounts get it on a link of its own; to take a place in one mount's tree at once, give that mount in --root "
            + "(\(example))")
    }

    /// The root path's branch, once started. Loop thread only.
    var firstBranch: Branch? { relays[defaultMount]?.relay.branch }

    // MARK: On the loop

    /// The distributor of `mount`, made (and its branch set up, lazily) if the branch does not relay it yet;
    /// `nil` for a path that cannot name a mount, or past ``Settings/maxMounts``. Loop thread only.
    func distributor(at mount: String) -> Distributor? {
        // The root answered 404 there a moment ago: so is this request, without asking it again.
        if let until = missing[mount]?.until, ContinuousClock.now < until { return nil }
        if let entry = relays[mount] {
            relays[mount]!.asked = .now
            // The root path's link rests once the root said it has no stream there: someone asks for it now.
            if mount == defaultMount { entry.relay.branch.askAgain() }
            return entry.relay.distributor
        }
        guard !stopped, !address.isEmpty else { return mount == defaultMount ? first : nil }
        // The root path's link carries the mount the root plays there (a root of one mount): not a second link.
        if let carried = carrying(mount) { return carried }
        // A root of one stream plays it at every path — `/a%20b` too, which names no mount: the root path's link
        // carries it for every path.
        if let every = playingEveryPath {
            if !toldEveryPath {
                toldEveryPath = true
                logger("branch \(address): the root plays one stream at every path: \(mount) and every other path are relayed on \(defaultMount)'s link")
            }
            return every
        }
        // A path no mount of the root can have (an HLS playlist's or a segment's, `/status.json`) is not asked for.
        guard Router.isReachableMount(mount), relays.count < settings.maxMounts else { return nil }
        let relay = make(mount, logger: EventLog { [logger] in logger("\(mount): \($0)") })
        let kept = settings.kept.contains(mount)
        relay.branch.assumeIsolated { branch in
            branch.onMissing = { [weak self, loop, distributor = relay.distributor] hadStream in
                // A kept mount stays, its link asking again: its waiting players get the root's answer, as the root
                // path's do. Another is dropped.
                if kept {
                    distributor.refuseWaiting()
                    // Asked for all the while: never answered 404 from memory, but its HLS playlist is 404 meanwhile.
                    loop.execute { [weak self] in self?.remember(missing: mount, hadStream: true) }
                    return false
                }
                let reason = hadStream ? "its stream ended at the root (404)" : "the root has no stream there now (404)"
                loop.execute { [weak self] in self?.drop(mount, because: reason, notFound: true, hadStream: hadStream) }
                return true
            }
            branch.onFound = { [weak self, loop] in loop.execute { [weak self] in self?.found(mount) } }
        }
        relays[mount] = (relay, .now)
        order.append(mount)
        onRelay?(mount, relay.distributor)
        if kept { announce(mount) }
        return relay.distributor
    }

    /// Whether the root answered `404` for `mount` at its last ask, and has not answered otherwise since: an HLS
    /// player asking for its playlist is told `404`, as at the root, not "try again shortly". Loop thread only.
    func isMissing(_ mount: String) -> Bool {
        missing[mount] != nil
    }

    /// Remembers that the root has no stream at `mount` now (``missing``), forgetting the oldest path if there are
    /// ``Settings/maxMissing`` already. A player asking for it within ``Settings/missingFor`` is answered `404` without
    /// asking the root again — unless a stream played there (`hadStream`, now or at an earlier `404`): its source may
    /// come back any moment. Loop thread only.
    private func remember(missing mount: String, hadStream: Bool = false) {
        if missing[mount] == nil, missing.count >= settings.maxMissing,
           let oldest = missing.min(by: { $0.value.until < $1.value.until })?.key {
            missing[oldest] = nil
        }
        let played = hadStream || missing[mount]?.hadStream == true
        missing[mount] = Missing(until: played ? .now : .now + settings.missingFor, hadStream: played)
    }

    /// The root answered for `mount` otherwise than `404`: it is not missing, and its relaying is told if it was not
    /// yet. Loop thread only.
    private func found(_ mount: String) {
        missing[mount] = nil
        guard mount != defaultMount, relays[mount] != nil else { return }
        announce(mount)
    }

    /// Tells, once, that the branch relays `mount`. Loop thread only.
    private func announce(_ mount: String) {
        guard announced.insert(mount).inserted else { return }
        let asked = relays.keys.count { $0 != defaultMount }
        logger("branch \(address): relays \(mount) from now on (\(asked) mount\(asked == 1 ? "" : "s") asked of it)")
    }

    /// The root path's distributor, when the root plays one stream at every path (``Context/everyPath``): it is
    /// every path's. Loop thread only.
    var playingEveryPath: Distributor? {
        first.assumeIsolated { $0.context?.everyPath } == true ? first : nil
    }

    /// The root path's distributor, when it carries `mount` (the root of one mount plays it at `/`). Loop thread only.
    func carrying(_ mount: String) -> Distributor? {
        mount != defaultMount && first.assumeIsolated({ $0.context?.mount }) == mount ? first : nil
    }

    /// The relay of `mount`, if the branch relays it (none is made). Loop thread only.
    func existing(at mount: String) -> Relay? {
        relays[mount]?.relay
    }

    /// The relay `GET /tree` shows when asked for no mount: the root path's — unless it has no place in its tree
    /// and no stream from the root (a root of several mounts has none at `/`: not asked for, or answered `404`)
    /// while a mount relayed has a place: then the first such mount's, as a station server shows its first mount,
    /// rather than a branch placed in its mounts' trees seen as one with no place. `nil` before ``start(address:)``.
    /// Loop thread only.
    var shownInTree: Relay? {
        guard let rootPath = relays[defaultMount]?.relay else { return nil }
        let placed = { (relay: Relay) in relay.distributor.assumeIsolated { !$0.stat().path.isEmpty } }
        guard !placed(rootPath), isMissing(defaultMount) || rootPath.distributor.assumeIsolated({ $0.context == nil }) else { return rootPath }
        return all.first { $0.mount != defaultMount && placed($0) } ?? rootPath
    }

    /// Every relay, in the order they were made. Loop thread only.
    var all: [Relay] { order.compactMap { relays[$0]?.relay } }

    /// `/status.json` of the port: one mount as a relay shows it, several as a station server lists its mounts
    /// (Icecast's `source` object, or an array of them). Loop thread only.
    func statusJSON(upstream: String?, refused: Int, listenBase: String? = nil, serverStart: Int64? = nil) -> String {
        let all = all
        guard all.count > 1 else {
            return StatusPage.json(first.assumeIsolated { $0.stat() }, upstream: upstream, hls: first.assumeIsolated { $0.hlsStatus },
                                   listenBase: listenBase, serverStart: serverStart)
        }
        return StatusPage.serverJSON(all.map { relay in
            (relay.mount, relay.distributor.assumeIsolated { $0.stat() }, relay.branch.assumeIsolated { $0.status },
             relay.distributor.assumeIsolated { $0.hlsStatus })
        }, refused: refused, listenBase: listenBase, serverStart: serverStart)
    }

    // MARK: From anywhere

    /// The relays now, in the order they were made.
    public func relays() async -> [Relay] {
        await loop.submit { [self] in all }
    }

    /// The relay of `mount`, if the branch relays it now.
    public func relay(at mount: String) async -> Relay? {
        await loop.submit { [self] in existing(at: mount) }
    }

    /// Stops every relay: each leaves its parent, and its players and branches are let go.
    public func stop() {
        loop.execute { [self] in
            stopped = true
            sweeper?.cancel()
            for relay in all {
                relay.branch.stop()
                relay.distributor.stop()
            }
        }
    }

    // MARK: Making and dropping

    private func make(_ mount: String, logger: EventLog) -> Relay {
        var distribution = distribution
        distribution.lazy = !settings.kept.contains(mount)
        var configuration = configuration
        if settings.kept.contains(mount) { configuration.missingBackoff = .seconds(2) }
        let branch = Branch(
            root: StreamURL(host: root.host, port: root.port, path: mount), address: address,
            configuration: configuration, loop: loop, logger: logger)
        // Its lines name the mount and the branch, as the branch's own do (`/jazz: branch host:port: distributor: gap: …`).
        let distributor = Distributor(loop: loop, configuration: distribution, logger: logger.prefixed("branch \(address): "))
        distributor.setTreeAddress(address, root: root.authority)
        distributor.attachSource(branch)
        return Relay(mount: mount, branch: branch, distributor: distributor)
    }

    /// Stops relaying `mount`. `notFound`: the root has no such mount, and the players waiting for it are
    /// answered `404`, as the root answers them; it is remembered as missing (``remember(missing:hadStream:)``).
    private func drop(_ mount: String, because reason: String, notFound: Bool = false, hadStream: Bool = false) {
        guard mount != defaultMount, let entry = relays.removeValue(forKey: mount) else { return }
        order.removeAll { $0 == mount }
        // The distributor first: the branch's stop would tell it to stop (a 503 to whoever waits).
        if notFound { entry.relay.distributor.stopNotFound() } else { entry.relay.distributor.stop() }
        entry.relay.branch.stop()
        if notFound { remember(missing: mount, hadStream: hadStream) }
        // A mount whose relaying was never told (the root had no stream there) goes as quietly.
        guard announced.remove(mount) != nil else { return }
        logger("branch \(address): no longer relays \(mount): \(reason)")
    }

    private func scheduleSweep() {
        guard !stopped else { return }
        let interval = min(settings.idleTimeout / 2, .seconds(10))
        sweeper = loop.schedule(after: interval) { [weak self] in
            guard let self else { return }
            sweep()
            scheduleSweep()
        }
    }

    /// Drops the mounts no one has asked for or listened to for ``Settings/idleTimeout``: none connected now, and
    /// none asked for it or left it since — a listener that stayed an hour keeps the mount a whole timeout after it
    /// left, not one measured from its request.
    private func sweep() {
        let now = ContinuousClock.now
        defer { relayKept() }
        for mount in order where mount != defaultMount && !settings.kept.contains(mount) {
            guard let entry = relays[mount], now - entry.asked >= settings.idleTimeout else { continue }
            let (stat, lastLeft) = entry.relay.distributor.assumeIsolated { ($0.stat(), $0.lastLeft) }
            guard stat.listeners == 0, stat.branches == 0 else { continue }
            if let lastLeft, now - lastLeft < settings.idleTimeout { continue }
            drop(mount, because: "no listener for \(settings.idleTimeout)")
        }
    }
}
