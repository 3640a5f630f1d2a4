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
    }

    /// Starts a branch of the tree whose root is `root`, serving on `address` (branches and players) and, if
    /// given, on `clientAddress` (players only). `advertise` is the `host:port` other machines reach `address`
    /// at. With `eager`, the branch takes its place at once; otherwise when someone first asks it. With
    /// `treeKey`, the tree is closed: the branch sends the key to its parents, and refuses branches of its own
    /// that do not send it (`403`).
    /// - Throws: ``SocketError`` when an address cannot be bound.
    public static func serve(
        root: StreamURL, address: SocketAddress, clientAddress: SocketAddress? = nil, advertise: String? = nil,
        fanout: Int = 2, eager: Bool = false, treeKey: TreeKey? = nil, configuration: Configuration = .init(),
        distribution: Distributor.Configuration = .init(), options: ClientOptions = .init(), logger: EventLog = .silent
    ) throws(SocketError) -> Running {
        var distribution = distribution
        distribution.fanout = fanout
        distribution.lazy = !eager
        var configuration = configuration
        configuration.treeKey = treeKey ?? configuration.treeKey ?? options.treeKey
        let distributor = Distributor(configuration: distribution, logger: logger)
        // The ports show the branch's state, but the branch's address is known only once the port is bound.
        let made = MadeLater<Branch>()
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
        distributor.setTreeAddress(advertised)
        distributor.attachSource(branch)
        return Running(branch: branch, distributor: distributor, port: port, clientPort: clientPort)
    }
}

/// A value made after the closures that read it: set once, then read from any thread.
private final class MadeLater<Value: Sendable>: Sendable {
    private let stored = Mutex<Value?>(nil)

    var value: Value? { stored.withLock { $0 } }

    func set(_ value: Value) { stored.withLock { $0 = value } }
}
