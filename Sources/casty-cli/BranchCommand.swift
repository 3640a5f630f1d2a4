import CastyNet
import CastyWire
import Casty

/// `casty-cli branch`: a relay in the distribution tree.
enum BranchCommand: Command {
    static let name = "branch"
    static let summary = "a relay in a distribution tree: takes a place under the root, serves players and branches"
    static let options: Set<String> = ["root", "port", "host", "client-port", "advertise", "fanout", "status-every", "tree-key", "tree-key-file"]
    static let flags: Set<String> = ["eager"]
    static let usage = """
        usage: casty-cli branch --root http://host:port/ [options]

        Asks the root for a place in the tree, follows its redirects, and relays the numbered stream to its own
        players and to at most --fanout branches of its own. When its parent dies or goes silent it asks the
        root again and resumes where it was, without a gap or a duplicate. It takes its place when the first
        player or branch asks for the stream, or at once with --eager.

        options:
          --root URL          the tree's root
          --port P            port for branches and players (default 8001)
          --host ADDR         address to listen on (default 0.0.0.0)
          --client-port C     an extra port for media players only (never redirected)
          --advertise H:P     the address other machines reach --port at (default: the listening address)
          --fanout N          branches served here (default 2)
          --eager             take a place in the tree at once
          --status-every S    seconds between status lines (default 10)
          --tree-key K        the tree's key (as given to its root): sent to every parent, and asked of
                              this branch's own branches; --tree-key-file F reads it from a file
        """

    static func run(_ arguments: Arguments) async throws {
        try arguments.none()
        guard let text = arguments.value("root") else { throw UsageError("missing --root <url>") }
        guard let root = StreamURL(text) else { throw UsageError("not an http://host:port/path URL: \(text)") }
        let logger = EventLog.standardError
        let address = try listenAddress(arguments, defaultPort: 8001, defaultHost: "0.0.0.0")
        let clientAddress = try arguments.value("client-port").map { _ in
            try listenAddress(arguments, option: "client-port", defaultPort: 0, defaultHost: "0.0.0.0")
        }
        let serving = try Branch.serve(
            root: root, address: address, clientAddress: clientAddress, advertise: arguments.value("advertise"),
            fanout: try arguments.integer("fanout", default: 2, in: 1...64), eager: arguments.flag("eager"),
            treeKey: try treeKey(arguments), logger: logger)
        let branch = serving.branch
        logger("branch: listening on \(serving.port.address) (advertised as \(branch.address)), root \(root)")
        let interval = Duration.seconds(try arguments.integer("status-every", default: 10, in: 1...3600))
        await ServedStream(distributor: serving.distributor, port: serving.port).reportStatus(
            every: interval, logger: logger, upstream: { branch.assumeIsolated { $0.status } })
    }
}
