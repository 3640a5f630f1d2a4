internal import CastyNet
internal import Icy

/// What every connection of one port shares: its mounts, its options, its log and its router.
///
/// A port serves either one distributor (a relay, a branch: any path plays it) or the mounts of a station
/// server. Loop-confined like the distributors it serves (`@unchecked Sendable` so that the listener's
/// callback may capture it): used only on their loop.
final class PortContext: @unchecked Sendable {
    /// The one stream of a port that is not a station server.
    let single: Distributor?
    /// The mounts of a station server.
    let mounts: MountTable?
    /// The mounts a branch of a many-mount tree relays, made as players and branches ask (``single`` is then
    /// its root path's relay).
    let tree: BranchMounts?
    /// The admin password of a station server (`admin:<password>`), if it has an admin API; changed only by a
    /// reload (``StationServer/reload(_:)``).
    var adminPassword: Secret?
    /// The platform's application: key verification, events, commands.
    let control: ControlPlane?
    /// The counters of the station server's RTMP port, if it has one.
    let rtmp: RTMPCounters?
    /// How its clients are served.
    let options: ClientOptions
    /// Where its log lines go.
    let logger: EventLog
    /// Listeners joining and leaving: logged one by one up to a budget, then summed up.
    let joinsAndLeaves: LogBudget
    /// Pages following titles (``TitleWatcher``) coming, going and dropped: as many as listeners, with no
    /// credentials — a loop opening event streams would fill the log.
    let pageLines: LogBudget
    /// Branches refused for a wrong or missing tree key: a branch with the wrong key asks again every 10 s for as long
    /// as it runs, so each address's first refusal is told, then its repeats summed up every 10 minutes; many
    /// strangers at once are logged a few per window, the rest summed up.
    let treeKeyRefusals: TreeKeyRefusals
    /// Connections dropped because no request came in time: a few logged one by one per window, the rest summed up.
    let silentConnections: LogBudget
    /// Connections still waiting for their request, shed for new peers when descriptors are short (``WaitingDoors``):
    /// a flood of idle connections sheds one per new peer, so a few are logged one by one per window, the rest summed up.
    let shedConnections: LogBudget
    /// Requests refused before they could be read (``FrontDoor``): a stranger may send them at line rate, so a few
    /// are logged one by one per window, the rest summed up.
    let malformedRequests: LogBudget
    /// Sources, admins, players and pages refused — a wrong password, a mount off air or full, a method its path does
    /// not take: an encoder with a wrong password reconnects every few seconds, a guesser faster, an HLS audience
    /// polls an off-air playlist every few seconds — a few logged one by one per window, the rest summed up.
    let refusalLog: LogBudget
    /// The route table.
    let router: Router
    /// Players' reply heads, made once per stream and kind of request (``ReplyHeads``).
    let replyHeads = ReplyHeads()
    /// When the port began to serve, in milliseconds since 1970: Icecast's `server_start` on the status pages.
    let started = wallClockMilliseconds()
    /// Peers refused at the door of a station server (a relay counts them on its distributor).
    private let refusals = Tally()

    /// Whether the port plays one stream at every path: it serves one distributor, neither a station server's
    /// mounts nor a many-mount branch's.
    var playsOneStream: Bool { mounts == nil && tree == nil }

    /// A port for one distributor (and, for a branch of a many-mount tree, for its other mounts).
    init(distributor: Distributor, options: ClientOptions, logger: EventLog, router: Router = .standard, tree: BranchMounts? = nil) {
        self.single = distributor
        self.mounts = nil
        self.tree = tree
        self.adminPassword = nil
        self.control = nil
        self.rtmp = nil
        self.options = options
        self.logger = logger
        self.joinsAndLeaves = LogBudget(loop: distributor.loop, logger: logger, what: "listener joins and leaves")
        self.pageLines = LogBudget(loop: distributor.loop, logger: logger, what: "title pages come and gone")
        self.treeKeyRefusals = TreeKeyRefusals(loop: distributor.loop, logger: logger)
        self.silentConnections = .silentConnections(loop: distributor.loop, logger: logger)
        self.shedConnections = .shedConnections(loop: distributor.loop, logger: logger)
        self.malformedRequests = .malformedRequests(loop: distributor.loop, logger: logger)
        self.refusalLog = .refusals(loop: distributor.loop, logger: logger)
        self.router = router
        if distributor.isLazy { publishHLS(onceRelaying: distributor, mount: "") } else { publishHLS([("", distributor)]) }
        tellCountedLinesAtShutdown(on: distributor.loop)
    }

    /// A port for the mounts of a station server.
    init(mounts: MountTable, adminPassword: Secret?, control: ControlPlane? = nil, rtmp: RTMPCounters? = nil, loop: EventLoop,
         options: ClientOptions, logger: EventLog, router: Router = .standard) {
        self.single = nil
        self.mounts = mounts
        self.tree = nil
        self.adminPassword = adminPassword
        self.control = control
        self.rtmp = rtmp
        self.options = options
        self.logger = logger
        self.joinsAndLeaves = LogBudget(loop: loop, logger: logger, what: "listener joins and leaves")
        self.pageLines = LogBudget(loop: loop, logger: logger, what: "title pages come and gone")
        self.treeKeyRefusals = TreeKeyRefusals(loop: loop, logger: logger)
        self.silentConnections = .silentConnections(loop: loop, logger: logger)
        self.shedConnections = .shedConnections(loop: loop, logger: logger)
        self.malformedRequests = .malformedRequests(loop: loop, logger: logger)
        self.refusalLog = .refusals(loop: loop, logger: logger)
        self.router = router
        publishHLS(mounts.all.map { ($0.path, $0.distributor) })
        tellCountedLinesAtShutdown(on: loop)
        loop.execute { [self] in
            mounts.onNewMount = { [weak self] mount in self?.publishHLS([(mount.path, mount.distributor)]) }
        }
    }

    /// When the process stops, the lines each budget counted in its window but has not summed up yet are: the
    /// listeners who came and went in its last seconds are in the log, if not one by one.
    private func tellCountedLinesAtShutdown(on loop: EventLoop) {
        Shutdown.register(.logs) { [weak self] _ in
            guard let self else { return }
            let budgets = [joinsAndLeaves, pageLines, treeKeyRefusals.budget, silentConnections, shedConnections, malformedRequests, refusalLog]
            await loop.submit { for budget in budgets { budget.closeWindow() } }
        }
    }

    /// How HLS is published on this port.
    var hls: HLSPackager.Settings { options.hls }

    /// Publishes `distributor`'s stream as HLS at `mount` from the moment it relays: at once, or — a relay that waits
    /// for its first listener (``Distributor/isLazy``) — once a player, a branch or an HLS request made it ask for
    /// the stream, so that `--hls-dir` fills and HLS players find a window from then on. (Its recording, if any, is
    /// started by whoever made it.)
    func publishHLS(onceRelaying distributor: Distributor, mount: String) {
        guard hls.enabled else { return }
        let settings = hls
        let logger = logger
        distributor.onLoop { isolated in
            let publish = { _ = HLSPackager.attached(to: distributor, mount: mount, settings: settings, logger: logger) }
            if distributor.isLazy { isolated.onSourceRequested = publish } else { publish() }
        }
    }

    /// Starts publishing these streams as HLS at once (so that `--hls-dir` fills and a CDN's first request
    /// finds a full window), if HLS is on.
    private func publishHLS(_ streams: [(mount: String, distributor: Distributor)]) {
        guard hls.enabled else { return }
        let settings = hls
        let logger = logger
        for (mount, distributor) in streams {
            distributor.loop.execute { [self] in
                _ = HLSPackager.attached(to: distributor, mount: mount, settings: settings, logger: logger)
                if options.recording.records(mount) { _ = record(mount, distributor: distributor) }
            }
        }
    }

    /// The distributor of the mount at `path`. A port of one stream plays it whatever the path (players put all
    /// kinds of paths in their URLs), and so does a server with one configured mount (``MountTable/soleMount``);
    /// otherwise only a mount's path — and only while it has a stream to serve (its source, a relay, a fallback).
    func mount(at path: String) -> Distributor? {
        if let tree { return tree.distributor(at: path) }
        guard let mounts else { return single }
        guard let mount = mounts.mount(asked: path), mounts.isServing(mount) else {
            return nil
        }
        return mount.distributor
    }

    /// The distributor whose live HLS `path` names: a mount's that plays (``mount(at:)``), or one whose source
    /// left and is waited for, for the source timeout, with HLS already published — or which plays its fallback,
    /// whose source is waited for so (``MountTable/hearsWaitedFor(_:)``): its players keep polling the window they
    /// were given, and its segments stay downloadable, while the source may return (RFC 8216 6.2.2).
    func hlsMount(at path: String) -> Distributor? {
        if let playing = mount(at: path) { return playing }
        guard let mounts, let mount = mounts.mount(at: path), mounts.hearsWaitedFor(mount),
              mount.distributor.assumeIsolated({ $0.packager }) != nil else { return nil }
        return mount.distributor
    }

    /// The distributor whose HLS segments `path` names: ``hlsMount(at:)``'s, or that of a mount whose live window was
    /// withdrawn (its source did not come back within the source timeout) while the segments it listed may still be
    /// fetched — for their own duration plus the longest playlist that listed them (RFC 8216 §6.2.2).
    func hlsSegmentMount(at path: String) -> Distributor? {
        if let live = hlsMount(at: path) { return live }
        guard let mounts, let mount = mounts.mount(at: path),
              mount.distributor.assumeIsolated({ $0.packager?.assumeIsolated { $0.keepsWithdrawn } }) == true else { return nil }
        return mount.distributor
    }

    /// Whether a request carrying `relayID` (``Proxy/relayHeader``) comes from a relay that feeds this port — one
    /// of its mounts' (`--relay`), or its one stream's (`casty-cli proxy`): the port asking itself, by whatever
    /// address, which would feed its stream its own stream. On the loop.
    func isOwnRelay(_ relayID: String?) -> Bool {
        guard let relayID else { return false }
        let relays = mounts?.all.map(\.permanent) ?? [single?.assumeIsolated { $0.source }]
        return relays.contains { ($0 as? Proxy)?.relayID == relayID }
    }

    /// The relay (`--relay`, or a proxy port's one stream) that feeds the mount a request for `path` is about, if
    /// a relay feeds it. On the loop.
    func feedingRelay(asked path: String) -> Proxy? {
        if tree != nil { return nil }  // a tree has its own rule against loops (``TreePlaces``)
        guard let mounts else { return single?.assumeIsolated { $0.source } as? Proxy }
        return mounts.mount(asked: path)?.permanent as? Proxy
    }

    /// For a request from another server's relay (`X-Casty-Relay`) for a mount this port's own relay feeds: notes
    /// the relays it names on that relay, which sends them on upstream (``RelayChain``), and returns that relay if
    /// it is among them — the stream asked for would come back to its own mount: a relay loop. On the loop.
    func relayLoop(_ request: Request, path: String) -> Proxy? {
        guard let asking = request.headers[Proxy.relayHeader], let feeding = feedingRelay(asked: path) else { return nil }
        let names = RelayChain.parse(asking) + RelayChain.parse(request.headers[Proxy.relayedForHeader])
        feeding.relayedFor.note(names, except: feeding.relayID)
        return names.contains(feeding.relayID) ? feeding : nil
    }

    /// Counts a refused peer.
    func refused() {
        (single?.tally ?? refusals).count(refused: 1)
    }

    /// Peers refused so far.
    var refusedCount: Int { (single?.tally ?? refusals).refused }
}
