extension Branch {
    /// A branch with its distributor and ports: what `casty-cli branch` runs.
    public struct Serving: Sendable {
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
    /// at. With `eager`, the branch takes its place at once; otherwise when someone first asks it.
    /// - Throws: ``SocketError`` when an address cannot be bound.
    public static func serve(
        root: StreamURL, address: SocketAddress, clientAddress: SocketAddress? = nil, advertise: String? = nil,
        fanout: Int = 2, eager: Bool = false, configuration: Configuration = .init(),
        distribution: Distributor.Configuration = .init(), options: ClientOptions = .init(), logger: Logger = .silent
    ) throws(SocketError) -> Serving {
        var distribution = distribution
        distribution.fanout = fanout
        distribution.lazy = !eager
        let distributor = Distributor(configuration: distribution, logger: logger)
        let port = try ClientPort(distributor: distributor, address: address, options: options, logger: logger)
        var playerOptions = options
        playerOptions.acceptsBranches = false
        let clientPort = try clientAddress.map { address throws(SocketError) in
            try ClientPort(distributor: distributor, address: address, options: playerOptions, logger: logger)
        }
        let advertised = advertise ?? port.address.description
        let branch = Branch(root: root, address: advertised, configuration: configuration, logger: logger)
        distributor.setTreeAddress(advertised)
        distributor.attachSource(branch)
        return Serving(branch: branch, distributor: distributor, port: port, clientPort: clientPort)
    }
}
