public import CastyNet
/// The top of a distribution tree: a source's stream (a proxy or a station), served to media players and to
/// at most `fanout` branches; every further branch is redirected down the tree, towards the smaller subtree.
///
/// Across machines the tree speaks ICY over HTTP, so a root is also an ordinary stream for VLC, and its
/// source can be a proxy hanging under a plain Icecast server.
public struct Root: Sendable {
    /// Fans the stream out and places branches.
    public let distributor: Distributor
    /// Where players and branches connect.
    public let port: ClientPort

    /// Starts a root serving `source` on `address`; `advertise` is the `host:port` other machines reach it at.
    /// With `treeKey`, the tree is closed to strangers: a branch that does not send the key (`X-Casty-Key`)
    /// is refused with `403 Forbidden`; players are served as ever.
    /// - Throws: ``SocketError`` when the address cannot be bound.
    public static func start(
        source: any Node, address: SocketAddress, advertise: String? = nil, fanout: Int = 2, treeKey: TreeKey? = nil,
        configuration: Distributor.Configuration = .init(), options: ClientOptions = .init(), logger: EventLog = .silent
    ) throws(SocketError) -> Root {
        var configuration = configuration
        configuration.fanout = fanout
        var options = options
        options.treeKey = treeKey ?? options.treeKey
        let distributor = Distributor(configuration: configuration, logger: logger)
        let port = try ClientPort(distributor: distributor, address: address, options: options, logger: logger)
        distributor.setTreeAddress(advertise ?? port.address.description)
        distributor.attachSource(source)
        return Root(distributor: distributor, port: port)
    }
}
