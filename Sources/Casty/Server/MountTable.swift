internal import CastyAudio
internal import CastyNet

/// One mount point of a station server: a path (`/live`), the distributor its listeners hang on, and what
/// feeds it now — a source that publishes, a permanent source (a relay or the built-in station), or its
/// fallback mount while neither is there.
final class Mount: @unchecked Sendable {
    // @unchecked Sendable: loop-confined, like the table that owns it.

    /// The path listeners and sources use: `/live`.
    let path: String
    /// Fans the mount's stream out to its listeners (and, on a tree, to branches).
    let distributor: Distributor
    /// The source publishing now, if any.
    var source: SourceSession?
    /// A source that is always there (a relay, the built-in station), if the mount has one.
    var permanent: (any Node)?
    /// The status of the source's ingest, when it is not an HTTP body (an SRT connection's statistics), for
    /// `/status.json` and `/commands/report`.
    var ingestStatus: (() -> [(String, JSONValue)])?
    /// Whether its fallback was refused when its source ended, for playing another codec: the mount is then served
    /// as if it had no fallback, until a source publishes it again.
    var fallbackRefused = false
    /// The sample rate and channels of the source its listeners wait for (its `Content-Type` is the distributor's
    /// ``Distributor/toldContentType``): a source that returns in another shape is said.
    var waitingShape: AudioShape?
    /// Whether its listeners were let go — no source came back within the source timeout — with no source since:
    /// a branch of the tree asking for it is then answered `404`, as a player is, so that it lets its own players
    /// go too (while the mount waits for its source, a branch is told `503`, and keeps its players).
    var letGo = false
    /// The wait for a source to return (``MountTable/dropListenersUnlessServed(_:)``): one at a time, ended when a
    /// source is heard — a source that comes back and drops again starts its own wait, not the first one's rest.
    var waiting: Scheduled?
    /// Whether its listeners wait for a source that took the mount over (an encoder reconnecting over its dead
    /// connection): they hear nothing meanwhile, not the fallback. Until that source's first frames — one that ends
    /// before them leaves the listeners to the fallback, as the old source's end would have.
    var heldForTakeover = false
    /// Since when the mount has been idle — no source, nobody listening — if it may be forgotten.
    var idleSince: ContinuousClock.Instant?
    /// Whether its relay (its permanent source, a ``Proxy``) has streamed since it was given: a relay that never did
    /// is not said to stream "again", nor to have stopped.
    var relayStreamed = false
    /// The wait before a relay back from an outage is heard again instead of the fallback
    /// (``MountTable/Rules/relayReturnHold``): cancelled if the relay is lost again meanwhile.
    var relayReturn: Scheduled?
    /// The most listeners the mount had at once, those of mounts hearing it as their fallback included
    /// (``MountTable/notePeak(from:)``): its distributor's own peak counts its players only.
    var peakListeners = 0

    init(path: String, distributor: Distributor) {
        self.path = path
        self.distributor = distributor
    }
}

/// The mounts of a station server, and the rules of who may publish where: the whitelist, per-mount
/// passwords, fallbacks and listener limits.
///
/// Loop-confined (`@unchecked Sendable` so that callbacks may capture it): used only on its loop, where the
/// front door and every node of the server run.
///
/// **Fallbacks.** A mount may name a fallback mount. While the mount has no source, its distributor takes its
/// stream from the fallback's distributor — as one more listener there — so its listeners keep playing on
/// the same connection with the same ICY framing; when a source publishes again, the distributor switches
/// back (``Distributor/switchSource(to:)``). Every mount of a server cuts segments of the same size, so the
/// `icy-metaint` a listener was told stays true whatever feeds its mount.
final class MountTable: @unchecked Sendable {
    /// The rules, as configured.
    struct Rules: Sendable {
        /// Mounts sources may publish to; `nil` accepts any mount (`--accept-all`).
        var whitelist: Set<String>?
        /// The password of every source (`source:<password>`, any user name).
        var sourcePassword: Secret?
        /// Per-mount passwords, which replace the common one for their mount.
        var mountPasswords: [String: Secret] = [:]
        /// Per-mount source user names (Icecast's `<username>` of a mount): an Icecast source of that mount must log
        /// in with it; elsewhere any user name is taken.
        var mountUsers: [String: String] = [:]
        /// The fallback of each mount.
        var fallbacks: [String: String] = [:]
        /// A source that sends nothing for this long is dropped.
        var sourceTimeout: Duration = .seconds(10)
        /// How much audio a source may send ahead of the clock, if limited (``StationServer/Configuration/sourceCatchUp``).
        var sourceCatchUp: Duration?
        /// A mount no rule names is forgotten after this long without a source or anyone listening
        /// (``StationServer/Configuration/idleMountTimeout``).
        var idleMountTimeout: Duration = .seconds(60)
        /// How long a relay back from an outage streams before its mount leaves its fallback
        /// (``StationServer/Configuration/relayReturnHold``).
        var relayReturnHold: Duration = .seconds(3)
        /// The audio bytes per segment, the same on every mount.
        var segmentBytes = 8192
        /// How each mount's distributor treats its listeners.
        var distribution = Distributor.Configuration()
        /// The most listeners the whole server takes, if limited.
        var maxListeners: Int?
        /// The most listeners of each mount, where limited.
        var mountMaxListeners: [String: Int] = [:]
        /// The most sources publishing at once, if limited (``StationServer/Configuration/maxSources``).
        var maxSources: Int?
    }

    /// Why a source may not publish.
    enum Refusal: Error, Equatable, CustomStringConvertible {
        /// No or wrong credentials: `401`; which of them, the log line says (``WrongCredentials``), never the
        /// source (``toldSource``).
        case unauthorized(WrongCredentials)
        /// The mount is not on the whitelist: `403`.
        case notAllowed
        /// With any mount accepted, the path is no mount name, and why (``StationServer/Configuration/whyNotMountName(_:)``):
        /// `403`.
        case notMountName(String)
        /// With any mount accepted, the path is one the server answers itself (``Router/reservedRoute(of:)``), named
        /// (`/admin/…`), so listeners could not reach all of a mount there: `403`.
        case serverPath(String)
        /// A source is publishing there already: `403 Mountpoint in use`.
        case inUse
        /// The audio is not a kind Casty can cut on its frames: `415`.
        case unsupportedType(String)
        /// The server has as many sources as it takes (`--max-sources`): `503`.
        case full(Int)

        /// What went wrong, without the answer: each way in tells its own (an HTTP status, an RTMP status code,
        /// an SRT rejection code).
        var description: String {
            switch self {
            case .unauthorized(let wrong): "wrong or missing credentials\(wrong.why)"
            case .notAllowed: "mount not on the whitelist"
            case .notMountName(let why): "not a mount name: \(why)"
            case .serverPath(let route): "a path the server answers itself (\(route)), not a mount listeners could reach"
            case .inUse: "mount in use"
            case .unsupportedType(let type): "content type \(type) not supported"
            case .full(let limit): "the server has its most sources (\(limit))"
            }
        }

        /// What the source is told: ``description``, but nothing of the mount's own password.
        var toldSource: String {
            if case .unauthorized = self { return "wrong or missing credentials" }
            return description
        }

        /// The HTTP status an Icecast source is answered.
        var status: Int {
            switch self {
            case .unauthorized: 401
            case .notAllowed, .notMountName, .serverPath, .inUse: 403
            case .unsupportedType: 415
            case .full: 503
            }
        }
    }

    /// Changed only by the whitelist calls of the admin API and by ``reload(_:)``.
    var rules: Rules {
        didSet { if rules.fallbacks != oldValue.fallbacks { fallingBack = Self.fallingBack(rules.fallbacks) } }
    }
    /// The mounts that fall back to each mount (`/backup`: `/a`, `/b`): ``Rules/fallbacks`` turned round, made again
    /// whenever they change, so that who hears a mount is found from its own dependants, not from every rule.
    private(set) var fallingBack: [String: [String]] = [:]
    /// How many steps along the fallback rules the table has taken to find who hears what (``hearingAsFallback(_:)``,
    /// ``heardMount(_:)``): what a server with many mounts does on its loop for a page or a join, counted for tests.
    var hearingSteps = 0
    /// The whitelist as the configuration last read gave it (the admin API changes ``rules`` only).
    var configuredWhitelist: Set<String>?
    /// The fallbacks as the configuration last read gave them (`/admin/fallbacks` changes ``rules`` only).
    var configuredFallbacks: [String: String]
    /// Told the new whitelist when the admin API changes it (the SRT ingest's listen callback keeps a copy).
    var whitelistChanged: ((Set<String>?) -> Void)?
    /// Told, whenever a source starts or ends (or a mount is held or let go), the mounts in use and whether the
    /// server has its most sources (`--max-sources`): the SRT ingest's listen callback keeps a copy, to refuse a
    /// caller of a mount in use during the handshake.
    var sourcesChanged: ((_ inUse: Set<String>, _ full: Bool) -> Void)? {
        didSet { tellSources() }
    }
    /// The loop the table, its mounts and their sessions live on.
    let loop: EventLoop
    let logger: EventLog
    /// The mounts, by path, and their paths sorted (for listings: Icecast lists its mounts by name too).
    private(set) var mounts: [String: Mount] = [:]
    private(set) var order: [String] = []
    /// Mounts held for sources admitted but not started yet (``hold(_:)``).
    private var held: Set<String> = []
    /// What the mounts forgotten so far carried (``forget(_:)``): the server's totals never go down.
    private(set) var forgottenTotals = Totals()
    /// Looks for idle mounts to forget, every few seconds.
    private var sweeper: Scheduled?
    /// Whether the server is stopping (``StationServer/endSources()``): its sources end, and their mounts do not fall
    /// back, since nobody will hear the fallbacks.
    var stopping = false
    /// The mount whose source is ending as it was taken off the whitelist, and what became of its listeners then
    /// (``ended(_:_:)``): said in the source's end line rather than in a line of the mount's own (``say(_:_:fate:)``).
    private var takingOff: (path: String, fate: String?)?
    /// The mount whose source is being ended for a source that takes it over (``takeOver(_:credentials:passphrase:by:)``): its
    /// listeners wait for the newcomer, who publishes at once, rather than hear its fallback for a moment.
    var takingOver: String?

    init(rules: Rules, loop: EventLoop, logger: EventLog) {
        self.rules = rules
        self.fallingBack = Self.fallingBack(rules.fallbacks)
        self.configuredWhitelist = rules.whitelist
        self.configuredFallbacks = rules.fallbacks
        self.loop = loop
        self.logger = logger
        for path in rules.whitelist?.sorted() ?? [] { _ = make(path) }
        for (path, target) in rules.fallbacks {
            _ = make(path)
            _ = make(target)
        }
        for path in order { fallBack(mounts[path]!) }
        loop.execute { [weak self] in self?.scheduleSweep() }
    }

    /// The mount at `path`, if there is one.
    func mount(at path: String) -> Mount? {
        mounts[path]
    }

    /// Whether `mount` has a stream to serve now: its source, its permanent source (a relay reconnecting
    /// included: its players wait), or a fallback that plays. A mount without (a whitelisted mount before its first
    /// source, one whose source left) answers `404`, as Icecast does.
    func isServing(_ mount: Mount) -> Bool {
        mount.permanent != nil || playsNow(mount)
    }

    /// Whether the stream `mount` hears — its own, or down its fallbacks (`/x` → `/y` → `/z`) the one it plays — is
    /// waited for (its source left, for the source timeout): its listeners keep their places meanwhile, and its
    /// live HLS keeps answering the window its players were given, as the mount waited for does.
    func hearsWaitedFor(_ mount: Mount) -> Bool {
        fallbackChain(from: mount).first { $0.waiting != nil || feeds($0) }?.waiting != nil
    }

    /// Whether `mount` plays something now: a stream of its own (``feeds(_:)``), or its fallback's.
    func playsNow(_ mount: Mount) -> Bool {
        fallbackChain(from: mount).contains(where: feeds)
    }

    /// `mount`, then down its fallbacks (`/x` → `/y` → `/z`) — but past one refused for its codec —, each once.
    private func fallbackChain(from mount: Mount) -> [Mount] {
        var chain: [Mount] = []
        var current: Mount? = mount
        var seen: Set<String> = []
        while let candidate = current, seen.insert(candidate.path).inserted {
            chain.append(candidate)
            current = candidate.fallbackRefused ? nil : rules.fallbacks[candidate.path].flatMap { mounts[$0] }
        }
        return chain
    }

    /// What feeds `mount` now, for the status page, `/admin/listmounts` and `/api/mounts`: `source` (a source
    /// publishes, its audio heard), `station` or `relay` (its permanent source: the built-in station, a relayed URL), `fallback`
    /// (its fallback mount's stream, which has something to play — a relay's too while its upstream is away),
    /// `connecting` (a relay whose upstream does not stream now, with no fallback playing: it is tried again, and
    /// players wait or are told `503`) or `idle` (a listener would be refused).
    func state(of mount: Mount) -> String {
        // A source whose audio has not proved to be frames yet feeds nothing: its listeners hear what they heard.
        if let source = mount.source, source.assumeIsolated({ $0.isAnnounced }) { return "source" }
        if mount.permanent is Proxy, !feeds(mount) {
            return mount.distributor.assumeIsolated { $0.playsFallback } ? "fallback" : "connecting"
        }
        if let permanent = mount.permanent { return permanent is Station ? "station" : "relay" }
        return isServing(mount) ? "fallback" : "idle"
    }

    /// Admits one more listener of `mount`, holding its place until its request reaches the mount's distributor
    /// (``Distributor/promisePlace()``) — or tells which limit it would pass: the mount's own, or the server's.
    /// Players arriving together are counted as they are admitted, not as their requests arrive.
    ///
    /// A mount that plays its fallback now passes its players on to the fallback, whose own limit counts them too, as
    /// Icecast counts the listeners it sends to a fallback: a limit is not got round by asking for a mount without a
    /// source.
    func admitListener(to mount: Mount) -> String? {
        if let limit = rules.mountMaxListeners[mount.path], room(on: mount) == 0 {
            return "\(mount.path) has its most listeners (\(limit))"
        }
        let heard = heardMount(mount)
        if heard !== mount, let limit = rules.mountMaxListeners[heard.path], room(on: heard) == 0 {
            return "\(mount.path) plays its fallback \(heard.path), which has its most listeners (\(limit))"
        }
        if let limit = rules.maxListeners, all.reduce(0, { $0 + $1.distributor.assumeIsolated { $0.admittedPlayers } }) >= limit {
            return "the server has its most listeners (\(limit))"
        }
        if holdsPlaces(mount) { mount.distributor.assumeIsolated { $0.promisePlace() } }
        return nil
    }

    /// How many more listeners `mount`'s own limit takes, if it has one (`--mount-max-listeners`): its own players,
    /// those admitted and on their way included, and those of the mounts that hear it as their fallback.
    func room(on mount: Mount) -> Int? {
        guard let limit = rules.mountMaxListeners[mount.path] else { return nil }
        let hearing = hearingAsFallback(mount).reduce(0) { sum, path in
            sum + (mounts[path]?.distributor.assumeIsolated { $0.admittedPlayers } ?? 0)
        }
        return max(0, limit - mount.distributor.assumeIsolated { $0.admittedPlayers } - hearing)
    }

    /// Whether a listener admitted to `mount` holds its place until it arrives (``Distributor/promisePlace()``): when
    /// a limit counts it — the server's, the mount's, or that of the fallback it would hear.
    private func holdsPlaces(_ mount: Mount) -> Bool {
        rules.maxListeners != nil || rules.mountMaxListeners[mount.path] != nil || rules.mountMaxListeners[heardMount(mount).path] != nil
    }

    /// A listener ``admitListener(to:)`` admitted will not come after all (its connection closed on the way, the
    /// listener authorization refused it): the place held for it is freed now, not seconds later — a few requests
    /// reset right after they were sent must not keep a full server's players out.
    func withdrawListener(from mount: Mount) {
        guard holdsPlaces(mount) else { return }
        mount.distributor.assumeIsolated { $0.withdrawPlace() }
    }

    /// Every mount, sorted by path (the order of `/admin/listmounts`, `/status.json` and the status line).
    var all: [Mount] { order.compactMap { mounts[$0] } }
    /// Counters of the status line, summed over mounts.
    struct Totals {
        var bytesIn = 0, bytesOut = 0, skipped = 0, dropped = 0

        /// Adds one mount's counters.
        mutating func add(_ stat: Stat) {
            bytesIn += stat.bytesIn
            bytesOut += stat.bytesOut
            skipped += stat.skipped
            dropped += stat.dropped
        }
    }

    /// The mount a request for `path` is about: the mount of that name, or else the ``soleMount``.
    func mount(asked path: String) -> Mount? {
        mounts[path] ?? soleMount
    }

    /// The mount a player gets whatever path it asks for: the only one of a server whose mounts are all
    /// configured. A server that accepts any mount (`--accept-all`) has none — one broadcaster live on `/bob` is
    /// not what a player of `/alice` asked for, however many mounts happen to exist now.
    var soleMount: Mount? {
        guard rules.whitelist != nil, order.count == 1 else { return nil }
        return mounts[order[0]]
    }

    // MARK: Publishing

    /// Why a source with `password` may not publish audio of `contentType` to `path`, or `nil` if it may.
    /// With `checkPassword` false (the platform's application verifies keys), the credentials are not checked here;
    /// otherwise the password, and a `user` (an Icecast source's) against the mount's own user name, if it has one
    /// (``Rules/mountUsers``).
    ///
    /// It makes no mount: a source refused afterwards — by the application, say, with `--accept-all` — leaves
    /// nothing behind, so sources trying random mounts cannot grow the table (``mount(for:)`` makes it once the
    /// source is admitted).
    func refusal(path: String, user: String? = nil, password: String?, contentType: String?, checkPassword: Bool = true) -> Refusal? {
        if checkPassword, !acceptsSource(path: path, user: user, password: password) {
            return .unauthorized(acceptsSource(path: path, user: nil, password: password) ? .userName(given: user ?? "", mount: path)
                : rules.mountPasswords[path] != nil ? .mountPassword : .password)
        }
        if let whitelist = rules.whitelist {
            guard whitelist.contains(path) else { return .notAllowed }
        } else if let why = StationServer.Configuration.whyNotMountName(path) {
            return .notMountName(why)
        } else if let route = Router.reservedRoute(of: path) {
            return .serverPath(route)
        }
        guard FrameChain.Format(contentType: contentType) != nil else { return .unsupportedType(contentType ?? "none") }
        if mounts[path]?.source != nil || held.contains(path) { return .inUse }
        if let limit = rules.maxSources, liveSources >= limit { return .full(limit) }
        return nil
    }

    /// Whether `user` and `password` are a source's credentials for `path` — what publishing it asks, and setting
    /// its title (`/admin/metadata`): the mount's own password, or else the common one, compared in constant time
    /// (or, with `live`, the password or key the source live on it published with: on a platform, a key only the
    /// application knew); and the mount's own user name, if it has one (``Rules/mountUsers``) — or the one the
    /// live source published as, which keeps setting its titles when a reload renames the mount's user, as it
    /// keeps its password. A `nil` user (an ingest without user names: RTMP, SRT) is not checked.
    func acceptsSource(path: String, user: String?, password: String?, live: SourceSession? = nil) -> Bool {
        let secret = rules.mountPasswords[path] ?? rules.sourcePassword
        let published = live?.isPublished(with: password) == true
        guard secret?.matches(password) == true || published else { return false }
        guard let user else { return true }
        if published, let liveUser = live?.user, user == liveUser { return true }
        guard let wanted = rules.mountUsers[path] else { return true }
        return user == wanted
    }

    /// The sources publishing now, with those admitted whose session has not started yet (``hold(_:)``).
    var liveSources: Int {
        mounts.values.reduce(held.count) { $0 + ($1.source == nil ? 0 : 1) }
    }

    /// The players of every mount, those waiting for a stream too: the server's listeners (those a mount's fallback
    /// plays to are its own mount's).
    var playerCount: Int {
        mounts.values.reduce(0) { $0 + $1.distributor.assumeIsolated { $0.connectedPlayers } }
    }

    /// Tells ``sourcesChanged`` the mounts in use now, and whether the server is full.
    func tellSources() {
        guard let sourcesChanged else { return }
        let inUse = held.union(mounts.values.lazy.filter { $0.source != nil }.map(\.path))
        sourcesChanged(inUse, rules.maxSources.map { liveSources >= $0 } ?? false)
    }

    /// Holds `path` for a source that was admitted and told so before its session can start — an RTMP publisher,
    /// told `NetStream.Publish.Start` before its first audio says the format —, so that a second source is told the
    /// mount is in use at once rather than after it, too, was told to go ahead. `false` if the mount is in use or
    /// held already. The holder lets go (``release(_:)``) as its session starts, or as it leaves.
    func hold(_ path: String) -> Bool {
        guard mounts[path]?.source == nil, held.insert(path).inserted else { return false }
        tellSources()
        return true
    }

    /// Lets go of a mount ``hold(_:)`` held.
    func release(_ path: String) {
        guard held.remove(path) != nil else { return }
        tellSources()
    }

    /// The mount an admitted source of `contentType` publishes at `path` — made now if it is new —, or why it may
    /// not after all (the rules checked once more, the password aside: the mount may have been taken meanwhile).
    func mount(for path: String, contentType: String?) -> Result<Mount, Refusal> {
        if let refusal = refusal(path: path, password: nil, contentType: contentType, checkPassword: false) { return .failure(refusal) }
        return .success(make(path))
    }

    /// `session` publishes `mount` from now on (the mount is in use); `status` tells
    /// about its ingest. The mount's listeners move to it once its audio proved to be frames
    /// (``SourceSession/whenAnnounced``, ``hear(_:on:contentType:)``, with the type its frames proved to be): a
    /// source that sends nothing or garbage never takes them from what they hear. `heard` is told then, once (the platform learns the stream is live).
    func publish(
        _ session: SourceSession, on mount: Mount, status: (() -> [(String, JSONValue)])? = nil,
        heard: (@Sendable () -> Void)? = nil
    ) {
        mount.source = session
        mount.ingestStatus = status
        tellSources()
        session.assumeIsolated { isolated in
            isolated.whenAnnounced = { [weak self, weak mount, weak session] in
                guard let self, let mount, let session, mount.source === session else { return }
                hear(session, on: mount, contentType: session.assumeIsolated { $0.contentType })
                relaysFallBack()  // a relay that does not stream, whose fallback this mount is, is heard here now
                heard?()
            }
        }
    }

    /// The mount's listeners hear `session` from now on — unless they were playing another codec (its fallback's,
    /// before the mount's first source; or its last source's, while they wait for a source to return): they are
    /// then disconnected, with one log line (none when nobody listens), so that their players reconnect and are
    /// told the new type.
    private func hear(_ session: SourceSession, on mount: Mount, contentType type: String) {
        // What they hear now (a fallback's stream), or what they heard before the source they wait for left.
        let fallback = contentType(of: mount)
        if let heard = mount.distributor.assumeIsolated({ $0.toldContentType }), !Context.sameCodec(heard, type) {
            // Players and branches, not the mount's own listeners (its HLS packager), which are let go all the same.
            let hearing = hearingAsFallback(mount)
            if hasPlayers(mount) || !hearing.isEmpty {
                let from = fallback == nil ? "" : rules.fallbacks[mount.path].map { " from its fallback \($0)" } ?? ""
                logger("mount \(mount.path): its source plays \(type), its listeners were playing \(heard)\(from): they are disconnected"
                    + "\(Self.alsoLetGo(hearing)), to come back to \(type)")
            }
            mount.distributor.dropListeners(because: "let go: \(mount.path)'s source plays \(type), it was told \(heard)")
        }
        let heardShape = fallback != nil && mount.permanent == nil
            ? rules.fallbacks[mount.path].flatMap { mounts[$0] }.flatMap(heardShape) : mount.waitingShape
        // "Again" where they waited for it; from a fallback, the mount's source may be its first.
        sayShapeChange(mount, from: heardShape, to: session.assumeIsolated { $0.shape },
                       hearing: fallback == nil ? "its source again" : "its source")
        mount.fallbackRefused = false
        mount.waitingShape = nil
        mount.letGo = false
        mount.heldForTakeover = false
        mount.waiting?.cancel()
        mount.waiting = nil
        mount.distributor.switchSource(to: session)
    }

    /// `session` ended (for `reason`): its mount falls back (to its permanent source or its fallback mount), listeners
    /// stay. A session that was never announced (an encoder that hung up before its first frames) never took the
    /// listeners from what they heard: nothing changes for them, and nothing is logged (listeners waiting for a
    /// source to return wait on, for the source timeout from now) — unless it took the mount over, and its listeners
    /// waited for it: they then fall back as the old source's end would have made them. Returns, for a session ended as its mount was
    /// taken off the whitelist, what became of the mount's listeners (`its listeners are disconnected`): said in
    /// the session's end line, not in a line of the mount's own.
    func ended(_ session: SourceSession, _ reason: SourceSession.End) -> String? {
        guard let mount = mounts[session.mount], mount.source === session else { return nil }
        if case .takenOff = reason { takingOff = (mount.path, nil) }
        defer { takingOff = nil }
        endSession(session, on: mount)
        return takingOff?.fate
    }

    private func endSession(_ session: SourceSession, on mount: Mount) {
        mount.source = nil
        mount.ingestStatus = nil
        tellSources()
        guard session.assumeIsolated({ $0.isAnnounced }) else {
            // Taken over in turn: its listeners wait on, for the next newcomer.
            if takingOver == mount.path { return }
            // The listeners it held since it took the mount over hear nothing: they go where the old source's end
            // would have sent them (the fallback; without one, they wait for a source, for the source timeout).
            if mount.heldForTakeover {
                mount.heldForTakeover = false
                return fallBack(mount, sourceEnded: true, shape: mount.waitingShape)
            }
            if !isServing(mount) { dropListenersUnlessServed(mount) }
            return
        }
        // Its last frames, padded to a segment, reached the mount already: HLS publishes what it was filling, and
        // the mount's branches are told to do the same.
        mount.distributor.endOfStream()
        // The server stopping: nobody will hear a fallback — its branches would re-attach to it, and their HLS mark a
        // discontinuity, a moment before the root is gone.
        guard !stopping else { return }
        // Taken over: the newcomer's audio comes within moments — a detour through the fallback would be two splices
        // and a title that is not the station's. Its listeners wait for it, as for a source that returns.
        if takingOver == mount.path {
            mount.heldForTakeover = true
            return waitForSource(mount, shape: session.assumeIsolated { $0.shape })
        }
        fallBack(mount, sourceEnded: true, shape: session.assumeIsolated { $0.shape })
    }

    /// Feeds a mount that has no source from its permanent source, or from its fallback mount — unless the
    /// fallback plays another codec than the mount's listeners were told (``codecMismatch(moving:to:)``); a
    /// source that `ended` in another sample rate or channel count than the fallback's is said. With
    /// neither, its listeners wait for a source to return for the source timeout, and are then disconnected; new
    /// listeners are refused meanwhile (`404`: nothing to play there, as Icecast answers).
    func fallBack(_ mount: Mount, sourceEnded: Bool = false, shape ended: AudioShape? = nil) {
        guard mount.source == nil else { return }
        let target = rules.fallbacks[mount.path].flatMap { mounts[$0] }
        if let permanent = mount.permanent {
            mount.distributor.switchSource(to: permanent)
            if !feeds(mount) { relayChanged(mount, streaming: false) }  // a relay that does not stream: its fallback meanwhile
        } else if sourceEnded, let target, hasPlayers(mount) || !hearingAsFallback(mount).isEmpty,
                  let mismatch = codecMismatch(moving: mount, to: target) {
            // Players cannot change codec mid-stream — its own, or those of a mount hearing it as its fallback: the
            // fallback is not used, as if there were none. (At the start, off the loop, no mount has played anything
            // yet: there is nothing to compare.)
            if !stopping {
                logger("mount \(mount.path): no source; its fallback \(mismatch): its listeners\(Self.alsoLetGo(hearingAsFallback(mount))) are not moved there")
            }
            mount.fallbackRefused = true
            waitForSource(mount, shape: ended)
        } else if let target {
            // Said when someone hears it: not for every mount with a fallback as the server starts (off the loop), nor
            // as it stops, when nobody will.
            if !stopping, sourceEnded || (loop.inEventLoop && hasPlayers(mount)) {
                let neither = target.permanent is Proxy ? "its relay does not stream either" : "it has no source either"
                let later = playsNow(target) ? "" : " once it plays (\(neither))"
                say(mount, "no source; \(whoHears(mount)) \(target.path)\(later)", fate: "\(whoHears(mount)) \(target.path)\(later)")
                sayShapeChange(mount, from: ended, to: shape(of: target), hearing: target.path)
            }
            mount.distributor.switchSource(to: target.distributor)
            notePeak(from: mount)  // its players count at the fallback now
            // A fallback with nothing to play either (a relay that does not stream included): its listeners wait as
            // for a source, and hear whichever comes.
            if sourceEnded, !playsNow(target) { dropListenersUnlessServed(mount) }
        } else if sourceEnded {
            // Said when someone waits — its own listeners or those hearing it as their fallback —, so that the
            // source's end line is not all an operator sees until they are let go a source timeout later.
            let hearing = hearingAsFallback(mount)
            if !stopping, listenersMayWait(mount), hasPlayers(mount) || !hearing.isEmpty {
                let waits = "its listeners\(Self.alsoLetGo(hearing)) wait for a source (up to \(rules.sourceTimeout))"
                say(mount, "no source; \(waits)", fate: waits)
            }
            waitForSource(mount, shape: ended)
        }
    }

    /// The mount's source ended (in `shape`, if known) and nothing replaces it: its listeners wait for a source to
    /// return for the source timeout, and are then disconnected.
    private func waitForSource(_ mount: Mount, shape: AudioShape?) {
        mount.waitingShape = shape
        mount.distributor.sourceGone()
        dropListenersUnlessServed(mount)
    }

    /// Disconnects the mount's listeners after the source timeout, unless something feeds it by then: its source,
    /// or its fallback's. (A mount relaying this one is told to let go of its listeners too, and stays attached.)
    /// A mount no source may publish any more (off the whitelist) has no source to wait for: they are let go at once
    /// — unless a mount hearing it as its fallback may have one (``listenersMayWait(_:)``).
    func dropListenersUnlessServed(_ mount: Mount) {
        mount.letGo = false  // waited for again
        mount.waiting?.cancel()
        mount.waiting = nil
        guard listenersMayWait(mount) else {
            if !isServing(mount) {
                letListenersGo(mount, said: "off the whitelist, no source can publish it", reason: "\(mount.path) is off the whitelist")
            }
            return
        }
        mount.waiting = loop.schedule(after: rules.sourceTimeout) { [weak self, weak mount] in
            mount?.waiting = nil
            guard let self, let mount, !isServing(mount) else { return }
            letListenersGo(mount, said: "no source came back within \(rules.sourceTimeout)",
                           reason: "no source came back to \(mount.path) within \(rules.sourceTimeout)")
        }
    }

    /// Disconnects the listeners of `mount`, which has nothing to play, `said` telling why in the log line (said when
    /// someone is let go) and `reason` in their leave lines. A fallback refused for its codec is the mount's again
    /// once they are gone: new listeners hear it.
    private func letListenersGo(_ mount: Mount, said: String, reason: String) {
        mount.waitingShape = nil
        mount.letGo = true
        mount.distributor.withPackager { $0.sessionOver() }
        // Its players, or those of a mount hearing it as its fallback.
        let hearing = hearingAsFallback(mount)
        if hasPlayers(mount) || !hearing.isEmpty {
            say(mount, "\(said); its listeners are disconnected\(Self.alsoLetGo(hearing))",
                fate: "its listeners are disconnected\(Self.alsoLetGo(hearing))")
        }
        mount.distributor.dropListeners(because: "let go: \(reason)")
        if mount.fallbackRefused {
            mount.fallbackRefused = false
            fallBack(mount)
        }
    }

    /// Whether the listeners of `mount`, if it has nothing to play, may wait for a source: not on a mount the
    /// whitelist no longer lists, which no source can publish (a mount with a permanent source waits for that).
    func awaitsSource(_ mount: Mount) -> Bool {
        mount.permanent != nil || rules.whitelist?.contains(mount.path) != false
    }

    /// Who hears what a line says `mount` plays now (its fallback): `its listeners hear` where it has some (its own, or
    /// those of a mount hearing it as its fallback), else `new listeners will hear` — no listeners are said to hear it.
    func whoHears(_ mount: Mount) -> String {
        hasPlayers(mount) || !hearingAsFallback(mount).isEmpty ? "its listeners hear" : "new listeners will hear"
    }

    /// A line about `mount` (`no source; its listeners hear /backup`) — or, while its source ends as it is taken off
    /// the whitelist (``ended(_:_:)``), `fate` (`its listeners hear /backup`), said in that source's end line instead.
    private func say(_ mount: Mount, _ line: String, fate: String) {
        if takingOff?.path == mount.path {
            takingOff?.fate = fate
        } else {
            logger("mount \(mount.path): \(line)")
        }
    }

    /// How a line about a mount's listeners let go names the mounts let go with it (``hearingAsFallback(_:)``).
    static func alsoLetGo(_ hearing: [String]) -> String {
        hearing.isEmpty ? "" : " (and those of \(hearing.joined(separator: ", ")), hearing it as their fallback)"
    }

    /// Whether players or branches listen to `mount` (not counting the mount's own listeners: its HLS packager, a
    /// mount falling back to it).
    func hasPlayers(_ mount: Mount) -> Bool {
        // Counted, not read off a whole `stat()`: asked at every player's join (``notePeak(from:)``).
        mount.distributor.assumeIsolated { $0.playerCount + $0.branchCount } > 0
    }

    // MARK: The whitelist

    /// Adds `path` to the whitelist (with `--accept-all` every mount is allowed already).
    func allow(_ path: String) {
        rules.whitelist?.insert(path)
        _ = make(path)
        whitelistChanged?(rules.whitelist)
    }

    /// Removes `path` from the whitelist (``takeOff(_:by:)``).
    func disallow(_ path: String) {
        rules.whitelist?.remove(path)
        whitelistChanged?(rules.whitelist)
        takeOff(path, by: "/admin/whitelist")
    }

    /// `path` is off the whitelist now (taken off by `how`: `SIGHUP`, `/admin/whitelist`), and no source may publish
    /// it: its source is disconnected, and its listeners, with no source to wait for, hear its fallback if that plays
    /// — as when a source leaves, and as a player asking for the mount is served — or are let go at once
    /// (``dropListenersUnlessServed(_:)``), those waiting for its source already included.
    func takeOff(_ path: String, by how: String) {
        guard let mount = mounts[path] else { return }
        if let session = mount.source {
            session.disconnect(takenOffBy: how)  // its end line says it, and what becomes of the listeners
        } else if mount.waiting != nil {
            dropListenersUnlessServed(mount)
        }
    }

    // MARK: Forgetting idle mounts

    private func scheduleSweep() {
        let interval = min(rules.idleMountTimeout / 2, .seconds(10))
        sweeper = loop.schedule(after: interval) { [weak self] in
            guard let self else { return }
            sweep()
            scheduleSweep()
        }
    }

    /// Forgets the mounts that have been idle (``isForgettable(_:)``) for ``Rules/idleMountTimeout``.
    private func sweep(now: ContinuousClock.Instant = .now) {
        for path in order {
            guard let mount = mounts[path] else { continue }
            guard isForgettable(mount) else {
                mount.idleSince = nil
                continue
            }
            guard let since = mount.idleSince else {
                mount.idleSince = now
                continue
            }
            if now - since >= rules.idleMountTimeout { forget(mount) }
        }
    }

    /// Whether `mount` may be forgotten now: no rule names it (the whitelist, a fallback, either side), it has no
    /// source nor a permanent one (a relay, a station), and nobody listens (players, branches, players waiting,
    /// pages following its titles).
    private func isForgettable(_ mount: Mount) -> Bool {
        guard mount.source == nil, mount.permanent == nil, rules.whitelist?.contains(mount.path) != true,
              rules.fallbacks[mount.path] == nil, fallingBack[mount.path] == nil else { return false }
        return mount.distributor.assumeIsolated { $0.isIdle }
    }

    /// Lets `mount` go: its distributor stops (its HLS packager with it) and the table forgets it.
    private func forget(_ mount: Mount) {
        forgottenTotals.add(mount.distributor.assumeIsolated { $0.stat() })
        mounts.removeValue(forKey: mount.path)
        order.removeAll { $0 == mount.path }
        mount.distributor.assumeIsolated { $0.retire() }
        logger("mount \(mount.path): forgotten, idle for \(rules.idleMountTimeout) (no source, no listener)")
    }

    func make(_ path: String) -> Mount {
        if let mount = mounts[path] { return mount }
        var distribution = rules.distribution
        distribution.mount = path
        let mount = Mount(path: path, distributor: Distributor(loop: loop, configuration: distribution, logger: logger.prefixed("mount \(path): ")))
        // On the loop: mounts are made off it too, as the server starts.
        mount.distributor.onLoop { [weak self, weak mount] in $0.onJoin = { if let self, let mount { self.notePeak(from: mount) } } }
        mounts[path] = mount
        order.insert(path, at: order.firstIndex(where: { $0 > path }) ?? order.endIndex)
        onNewMount?(mount)
        return mount
    }

    /// Told of every mount made from now on (its port publishes it as HLS). On the loop.
    var onNewMount: ((Mount) -> Void)?
}
