public import CastyNet
public import CastyWire
internal import Synchronization

extension Branch {
    /// A branch with its distributor and ports: what `casty-cli branch` runs.
    public struct Running: Sendable {
        /// The branch's link to the tree.
        public let branch: Branch
        /// Fans the stream out to the branch's players and branches.
        public let distributor: Distributor
        /// Where other branches (and players) connect.
        public let port: ClientPort
        /// A port for media players only (never redirected), if asked for.
        public let clientPort: ClientPort?
        /// Every mount the branch relays, for a branch that relays any mount asked (its root URL has no path);
        /// `nil` for a branch of one stream. ``branch`` and ``distributor`` are then its root path's relay.
        public let mounts: BranchMounts?

        /// Stops the branch: its ports close, and every mount's link to the tree and its listeners are let go.
        public func stop() {
            port.close()
            clientPort?.close()
            if let mounts {
                mounts.stop()
            } else {
                branch.stop()
                distributor.stop()
            }
        }
    }

    /// Starts a branch of the tree whose root is `root`, serving on `address` (branches and players) and, if
    /// given, on `clientAddress` (players only). `advertise` is the `host:port` other machines reach `address`
    /// at. With `eager`, or recording its root path (`--record /`), the branch takes its place at once; otherwise
    /// when someone first asks it. With
    /// `treeKey`, the tree is closed: the branch sends the key to its parents, and refuses branches of its own
    /// that do not send it (`403`).
    ///
    /// A root URL with a path (`http://root:8000/live`) makes a branch of that one stream, which players may
    /// ask for at any path. A root URL without one (`http://root:8000/`) makes a branch of every mount of the
    /// tree (``BranchMounts``): a player or a branch asking for `/<mount>` makes the branch relay that mount,
    /// in that mount's own tree, from then on; `mounts` sets its limits.
    /// - Throws: ``SocketError`` when an address cannot be bound.
    public static func serve(
        root: StreamURL, address: SocketAddress, clientAddress: SocketAddress? = nil, advertise: String? = nil,
        fanout: Int = 2, eager: Bool = false, treeKey: TreeKey? = nil, configuration: Configuration = .init(),
        distribution: Distributor.Configuration = .init(), options: ClientOptions = .init(),
        mounts settings: BranchMounts.Settings = .init(), logger: EventLog = .silent
    ) throws(SocketError) -> Running {
        if root.path == "/" {
            return try serveMounts(
                root: root, address: address, clientAddress: clientAddress, advertise: advertise, fanout: fanout,
                eager: eager, treeKey: treeKey, configuration: configuration, distribution: distribution,
                options: options, settings: settings, logger: logger)
        }
        var distribution = distribution
        distribution.fanout = fanout
        // A recorded stream (`--record /`) is relayed from the start, as an --eager branch's: nobody may ever listen.
        distribution.lazy = !eager && !options.recording.records("")
        var configuration = configuration
        configuration.treeKey = treeKey ?? configuration.treeKey ?? options.treeKey
        // The ports show the branch's state, and the distributor's lines name the branch as its own do (`branch
        // host:port: distributor: gap: …`), but the branch's address is known only once the port is bound.
        let made = MadeLater<Branch>()
        let distributor = Distributor(configuration: distribution, logger: logger.prefixed { made.value.map { "branch \($0.address): " } })
        var options = options
        options.treeKey = configuration.treeKey
        if options.upstreamState == nil {
            options.upstreamState = { made.value?.assumeIsolated { $0.status } ?? "starting" }
        }
        let port = try ClientPort(distributor: distributor, address: address, options: options, logger: logger)
        var playerOptions = options
        playerOptions.acceptsBranches = false
        let clientPort = try clientAddress.map { address throws(SocketError) in
            try ClientPort(distributor: distributor, address: address, options: playerOptions, logger: logger)
        }
        let advertised = advertise ?? port.address.description
        let branch = Branch(root: root, address: advertised, configuration: configuration, loop: distributor.loop, logger: logger)
        made.set(branch)
        distributor.setTreeAddress(advertised, root: root.authority)
        distributor.attachSource(branch)
        return Running(branch: branch, distributor: distributor, port: port, clientPort: clientPort, mounts: nil)
    }

    /// A branch of every mount of the tree: see ``serve(root:address:clientAddress:advertise:fanout:eager:treeKey:configuration:distribution:options:mounts:logger:)``.
    private static func serveMounts(
        root: StreamURL, address: SocketAddress, clientAddress: SocketAddress?, advertise: String?, fanout: Int,
        eager: Bool, treeKey: TreeKey?, configuration: Configuration, distribution: Distributor.Configuration,
        options: ClientOptions, settings: BranchMounts.Settings, logger: EventLog
    ) throws(SocketError) -> Running {
        var distribution = distribution
        distribution.fanout = fanout
        var configuration = configuration
        configuration.treeKey = treeKey ?? configuration.treeKey ?? options.treeKey
        var options = options
        options.treeKey = configuration.treeKey
        // The root path's relay serves `/status.json` and `/tree` as a one-stream branch's does; its branch, and
        // every other mount's, needs the advertised address, known once the port is bound.
        var firstDistribution = distribution
        firstDistribution.lazy = !eager && !options.recording.records("")
        // Its lines name the branch, as the branch's own do: its address is known once the port is bound.
        let advertised = MadeLater<String>()
        let first = Distributor(configuration: firstDistribution, logger: logger.prefixed { advertised.value.map { "branch \($0): " } })
        // The recorded mounts are relayed from the start, listened to or not, and recorded as their relays are made.
        var settings = settings
        settings.kept.formUnion(options.recording.mounts)
        let mounts = BranchMounts(
            root: root, first: first, configuration: configuration, distribution: distribution, settings: settings,
            logger: logger)
        if options.upstreamState == nil {
            options.upstreamState = { mounts.firstBranch?.assumeIsolated { $0.status } ?? "starting" }
        }
        let context = PortContext(distributor: first, options: options, logger: logger, tree: mounts)
        let recording = options.recording
        mounts.onRelay = { mount, distributor in
            context.publishHLS(onceRelaying: distributor, mount: mount)
            if recording.records(mount) { _ = context.record(mount, distributor: distributor) }
        }
        let port = try ClientPort(context: context, address: address, loop: first.loop)
        var playerOptions = options
        playerOptions.acceptsBranches = false
        let clientPort = try clientAddress.map { address throws(SocketError) in
            try ClientPort(
                context: PortContext(distributor: first, options: playerOptions, logger: logger, tree: mounts), address: address,
                loop: first.loop)
        }
        advertised.set(advertise ?? port.address.description)
        let branch = mounts.start(address: advertised.value!)
        return Running(branch: branch, distributor: first, port: port, clientPort: clientPort, mounts: mounts)
    }
}

/// A value made after the closures that read it: set once, then read from any thread.
private final class MadeLater<Value: Sendable>: Sendable {
    private let stored = Mutex<Value?>(nil)

    var value: Value? { stored.withLock { $0 } }

    func set(_ value: Value) { stored.withLock { $0 = value } }
}
