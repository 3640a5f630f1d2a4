public import CastyNet

extension StationServer {
    /// Starts a station server that is also the root of a distribution tree: every mount's distributor serves
    /// its players and at most `fanout` branches, and redirects further branches down that mount's own tree
    /// (a branch asks for `GET /<mount>` with `X-Casty-Branch`, and relays that mount). What `casty-cli root`
    /// runs when given the station server's options.
    ///
    /// `advertise` is the `host:port` branches reach the server at (default: the address bound; with port 0,
    /// give it, or mounts made after the start — by a source on a new mount with ``Configuration/mounts``
    /// `nil` — are placed under the unbound address). With `treeKey` (or ``ClientOptions/treeKey`` in the
    /// configuration's options), a branch without the key is refused with `403`; players and sources are not
    /// concerned.
    /// - Throws: as ``start(_:address:loop:logger:)``.
    public static func startRoot(
        _ configuration: Configuration, address: SocketAddress, advertise: String? = nil, fanout: Int = 2,
        treeKey: TreeKey? = nil, loop: EventLoop = .shared, logger: EventLog = .silent
    ) throws -> StationServer {
        var configuration = configuration
        configuration.distribution.fanout = fanout
        configuration.distribution.treeAddress = advertise ?? address.description
        configuration.options.treeKey = treeKey ?? configuration.options.treeKey
        let server = try start(configuration, address: address, loop: loop, logger: logger)
        if advertise == nil, server.address != address {
            let table = server.table, bound = server.address.description
            loop.execute { for mount in table.all { mount.distributor.setTreeAddress(bound) } }
        }
        return server
    }

}
