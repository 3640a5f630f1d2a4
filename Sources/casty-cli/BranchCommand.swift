import CastyNet
import CastyWire
import Casty

/// `casty-cli branch`: a relay in the distribution tree.
enum BranchCommand: Command {
    static let name = "branch"
    static let summary = "a relay in a distribution tree: takes a place under the root, serves players and branches"
    static let options: Set<String> = Set(["root", "port", "host", "client-port", "advertise", "fanout", "status-every", "tree-key", "tree-key-file"])
        .union(PortOptions.names)
    static let flags: Set<String> = Set(["eager"]).union(PortOptions.flags)
    static let usage = """
        usage: casty-cli branch --root http://host:port/ [options]

        Asks the root for a place in the tree, follows its redirects, and relays the numbered stream to its own
        players and to at most --fanout branches of its own. When its parent dies or goes silent it asks the
        root again and resumes where it was, without a gap or a duplicate. It takes its place when the first
        player or branch asks for the stream, or at once with --eager (or --record /).

        A root URL without a path relays any mount of the tree: a player or a branch asking this branch for
        /<mount> makes it ask the root for /<mount> and relay it, in that mount's own tree, from then on (a
        mount the root does not have, or that nobody listened to for 60 s, is dropped; --eager applies to /).
        A root URL with a path (http://root:8000/live) relays that mount only, to players at any path.

        options:
          --root URL          the tree's root (with a mount's path: that mount only)
          --port P            port for branches and players (default 8001)
          --host ADDR         address to listen on (default 0.0.0.0)
          --client-port C     an extra port for media players only (never redirected)
          --advertise H:P     the address other machines reach --port at (default: the listening address)
          --fanout N          branches served here (default 2)
          --eager             take a place in the tree at once
          --status-every S    seconds between status lines (default 10)
          --tree-key K        the tree's key (as given to its root): sent to every parent, and asked of
                              this branch's own branches; --tree-key-file F reads it from a file, and
                              again on SIGHUP: a new key is sent from the next request on (and taken
                              for branches of its own, the one it replaces still accepted)

        Reverse proxies, browsers, event loops, live HLS (/<mount>/index.m3u8; a branch cuts its segments with
        its root's --hls-target, told on the tree link, so that every node's are the same files) and recordings:
        \(PortOptions.usage)
        """

    /// A branch with `--tree-key-file` reads it again on SIGHUP (``TreeKeyReload``).
    static func readsAgainOnHangup(_ arguments: Arguments) -> Bool {
        arguments.value("tree-key-file") != nil
    }

    static func run(_ arguments: Arguments) async throws {
        try arguments.none()
        guard let text = arguments.value("root") else { throw UsageError("missing --root <url>") }
        let root = try StreamURL.given(text)
        let logger = EventLog.standardError
        let address = try listenAddress(arguments, defaultPort: 8001, defaultHost: "0.0.0.0")
        let clientAddress = try arguments.value("client-port").map { _ in
            try listenAddress(arguments, option: "client-port", defaultPort: 0, defaultHost: "0.0.0.0")
        }
        if let clientAddress, clientAddress.port != 0, clientAddress.port == address.port {
            throw UsageError("--client-port \(clientAddress.port) is --port too: give the players' port another number")
        }
        var options = ClientOptions()
        try PortOptions.apply(arguments, to: &options, oneStream: root.path != "/")
        let interval = try ServerCommand.statusInterval(arguments)  // a usage mistake before anything starts
        let advertise = try advertisedAddress(arguments)
        let key = try treeKey(arguments)
        try PortOptions.prepareDirectories(arguments, &options, oneStream: root.path != "/")
        let serving = try Branch.serve(
            root: root, address: address, clientAddress: clientAddress, advertise: advertise,
            fanout: try arguments.integer("fanout", default: 2, in: 1...64), eager: arguments.flag("eager"),
            treeKey: key, options: options, logger: logger)
        let branch = serving.branch
        TreeKeyReload.reloadOnHangup(key, arguments, node: "branch", logger: logger)
        logger("branch: listening on \(serving.port.address) (advertised as \(branch.address)), root \(root.shown)"
            + (serving.mounts == nil ? "" : "; relays any mount asked")
            + (serving.clientPort.map { "; players only on \($0.address)" } ?? ""))
        warnIfAdvertisingEveryInterface(advertise, listening: serving.port.address, logger: logger)
        if let mounts = serving.mounts {
            Task { await reportMounts(mounts, every: interval, logger: logger) }
        }
        await ServedStream(distributor: serving.distributor, port: serving.port).reportStatus(
            every: interval, logger: logger, upstream: { branch.assumeIsolated { $0.status } })
    }

    /// Logs a status line for every mount relayed but the root path's (whose line is the usual one), every
    /// `interval`, forever — one that says what the mount's last one said only now and then (``BranchMounts/StatusLines``).
    private static func reportMounts(_ mounts: BranchMounts, every interval: Duration, logger: EventLog) async {
        var lines = BranchMounts.StatusLines(every: interval)
        while true {
            try? await Task.sleep(for: interval)
            for line in await lines.next(of: mounts) { logger(line) }
        }
    }
}
