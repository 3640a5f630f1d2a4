import CastyNet
import CastyWire
import Casty

/// `casty-cli root`: the top of a distribution tree.
enum RootCommand: Command {
    static let name = "root"
    static let summary = "the top of a distribution tree: serve a source to players and to two branches"
    static let options: Set<String> = ServerCommand.options.union([
        "source", "file", "port", "host", "advertise", "fanout", "title", "name", "title-every", "segment-bytes", "status-every",
        "tree-key", "tree-key-file",
    ])
    static let flags: Set<String> = Set(["station", "accept-all", "rtmp"]).union(PortOptions.flags)
    static let usage = """
        usage: casty-cli root (--source <url> | --station [--file <mp3>]) [options]
               casty-cli root [the options of casty-cli server] [options]

        Relays a source — a Shoutcast/Icecast URL through a proxy, or the built-in station — to media players
        and to at most --fanout branches (casty-cli branch); every further branch is redirected down the tree,
        towards the smaller subtree. GET /status.json and GET /tree tell the node's state.

        Given the options of casty-cli server instead (--source-password, --mounts, --relay /m=URL,
        --station /m, --fallback, --rtmp, --config, …; see casty-cli server --help), the root is a station server
        whose every mount is the root of its own tree: a branch asks for GET /<mount> and is placed in that
        mount's tree; GET /tree?mount=/m tells a mount's place (casty-cli tree http://root:8000/m).

        options:
          --source URL        the upstream stream (http://host:port/path, https://…, or a .pls/.m3u)
          --station           play the built-in station instead (or --file <mp3> with it)
          --port P            port for branches and players (default 8000)
          --host ADDR         address to listen on (default 0.0.0.0)
          --advertise H:P     the address branches reach this node at (default: the listening address)
          --fanout N          branches served here, per mount (default 2)
          --burst N           recent segments a new player gets at once (default 4)
          --title T           the station's title (with --station); --name, --title-every and
                              --segment-bytes as for casty-cli station
          --status-every S    seconds between status lines (default 10; one stream only)
          --tree-key K        close the tree: branches must send this key (players need none);
                              --tree-key-file F reads it from the first line of a file instead, and
                              again on SIGHUP: a new key is taken at once, the one it replaces still
                              accepted until the next change
        \(PortOptions.usage)

        SRT callers publish a root of many mounts as they publish casty-cli server (libsrt is loaded at
        start-up: apt-get install libsrt1.5-gnutls; see README, "Publishing with SRT"):
        \(SRTOptions.usage)
        """

    /// The options that make a root a station server (besides `--station /m`).
    static let serverOnly: Set<String> = ServerCommand.options.subtracting([
        "port", "host", "status-every", "title", "name", "title-every", "file", "segment-bytes", "station", "burst",
    ]).subtracting(PortOptions.names)

    /// Whether `arguments` make a root of mounts, a station server (``runServer(_:)``), rather than a root of one stream.
    private static func asServer(_ arguments: Arguments) -> Bool {
        arguments.value("station") != nil || arguments.flag("accept-all") || arguments.flag("rtmp")
            || serverOnly.contains { arguments.value($0) != nil }
    }

    /// A root of mounts reads its options again on SIGHUP, a root of one stream its `--tree-key-file`.
    static func readsAgainOnHangup(_ arguments: Arguments) -> Bool {
        asServer(arguments) || arguments.value("tree-key-file") != nil
    }

    static func run(_ arguments: Arguments) async throws {
        try arguments.none()
        if asServer(arguments) {
            guard arguments.value("source") == nil, !arguments.flag("station") else {
                throw UsageError("--source, or --station without a mount, makes a root of one stream; the options of"
                    + " casty-cli server (--mounts, --relay /m=URL, --station /m, …) make a root of many mounts: not both")
            }
            return try await runServer(arguments)
        }
        let logger = EventLog.standardError
        var options = ClientOptions()
        try PortOptions.apply(arguments, to: &options, oneStream: true)  // a usage mistake ends before the source starts and logs
        let address = try listenAddress(arguments, defaultPort: 8000, defaultHost: "0.0.0.0")
        let fanout = try arguments.integer("fanout", default: 2, in: 1...64)
        let key = try treeKey(arguments)
        let advertise = try advertisedAddress(arguments)
        let interval = try ServerCommand.statusInterval(arguments)
        let source: any Node
        var state: @Sendable () -> String = { "streaming" }
        var sourceStart: @Sendable () async -> Void = {}
        if let text = arguments.value("source") {
            // The built-in station's options shape nothing here: a forgotten choice, not a silent one.
            if arguments.flag("station") { throw UsageError("--source and --station are two roots' sources: give one of them") }
            if let ignored = ["file", "title", "name", "title-every", "segment-bytes"].first(where: { arguments.value($0) != nil }) {
                throw UsageError("--\(ignored) is for the built-in station (--station), not --source")
            }
            let url = try StreamURL.given(text)
            let proxy = try Proxy(url: url, logger: logger)
            source = proxy
            sourceStart = { await proxy.startInBackground() }
            state = { proxy.assumeIsolated { "\($0.state)" } }
        } else if arguments.flag("station") {
            let station = try StationCommand.makeStation(arguments, logger: logger, started: false)
            source = station
            sourceStart = { await station.start() }
        } else {
            throw UsageError("give --source <url> or --station (or the options of casty-cli server)")
        }
        options.upstreamState = state
        let burst = try Distributor.Configuration(burst: try arguments.integer("burst", default: 4, in: 0...64))
        try PortOptions.prepareDirectories(arguments, &options, oneStream: true)
        let root: Root
        do {
            root = try Root.start(
                source: source, address: address, advertise: advertise,
                fanout: fanout, treeKey: key, configuration: burst, options: options, logger: logger)
        } catch {
            throw ServeError("cannot listen on \(address): \(error)")
        }
        await sourceStart()
        TreeKeyReload.reloadOnHangup(key, arguments, node: "root", logger: logger)
        logger("root: listening on \(root.port.address), advertised as \(advertise ?? root.port.address.description)"
            + (key == nil ? "; open to any branch (no --tree-key)" : "; branches need the tree key"))
        warnIfAdvertisingEveryInterface(advertise, listening: root.port.address, logger: logger)
        await ServedStream(distributor: root.distributor, port: root.port).reportStatus(every: interval, logger: logger, upstream: state)
    }

    /// `--advertise`, `--tree-key` (or `--tree-key-file`, unless not `readingKey`) and `--fanout`: how a root of mounts
    /// places its branches.
    private static func treeOptions(_ arguments: Arguments, readingKey: Bool = true) throws -> (advertise: String?, key: TreeKey?, fanout: Int) {
        (try advertisedAddress(arguments), readingKey ? try treeKey(arguments) : nil, try arguments.integer("fanout", default: 2, in: 1...64))
    }

    /// A root that is a station server: every mount places the branches that ask for it.
    private static func runServer(_ arguments: Arguments) async throws {
        let logger = EventLog.standardError
        let address = try listenAddress(arguments, defaultPort: 8000, defaultHost: "0.0.0.0")
        let interval = try ServerCommand.statusInterval(arguments)
        let (advertise, key, fanout) = try treeOptions(arguments)
        let configuration = try await ServerCommand.configuration(arguments, address: address, logger: logger)
        let server = try ServerCommand.starting(configuration, on: address) {
            try StationServer.startRoot(configuration, address: address, advertise: advertise, fanout: fanout, treeKey: key, logger: logger)
        }
        try await ServerCommand.feedMounts(server, arguments, configuration: configuration, logger: logger)
        // A closed tree's key is read again by the reload itself, once, and taken; an open tree's is only checked.
        ServerCommand.reloadOnHangup(server, arguments, runningKey: key, alsoChecking: { _ = try treeOptions($0, readingKey: key == nil) }, logger: logger)
        let rtmp = server.rtmpAddress.map { ", RTMP on \($0)" } ?? ""
        logger("root: listening on \(server.address)\(rtmp), advertised as \(advertise ?? server.address.description);"
            + " \(ServerCommand.describe(configuration)); every mount places its own branches"
            + (key == nil ? "; open to any branch (no --tree-key)" : "; branches need the tree key")
            + SRTOptions.describe(server, configuration))
        warnIfAdvertisingEveryInterface(advertise, listening: server.address, logger: logger)
        await ServerCommand.reportStatus(of: server, every: interval, logger: logger)
    }
}

/// The tree's key from `--tree-key` or the first line of `--tree-key-file`, if either is given. The key file must
/// be a regular file (through any link), of which the first 4 KiB only are read: anything else — a FIFO, a
/// device, a longer first line — is a mistake naming the file and why, read with no byte of it taken.
func treeKey(_ arguments: Arguments) throws -> TreeKey? {
    var text = arguments.value("tree-key")
    if let path = arguments.value("tree-key-file") {
        guard text == nil else { throw UsageError("give --tree-key or --tree-key-file, not both") }
        // A regular file only, and its first line only (``RegularFile``): a FIFO would block, /dev/zero never end.
        text = try withOption("tree-key-file", path) { try RegularFile.firstLine(path) }
        guard let key = TreeKey(text!) else {
            throw UsageError("--tree-key-file \(path): the first line holds no key (it is empty or blank, or holds a control character)")
        }
        return key
    }
    guard let text else { return nil }
    guard let key = TreeKey(text) else { throw UsageError("--tree-key must be text, not empty or blank, without control characters") }
    return key
}

/// The address `--host`/`--port` name.
func listenAddress(_ arguments: Arguments, option: String = "port", defaultPort: UInt16, defaultHost: String) throws -> SocketAddress {
    let host = arguments.value("host") ?? defaultHost
    guard let address = SocketAddress(host: host, port: try arguments.port(option, default: defaultPort)) else {
        throw UsageError("--host must be a numeric IPv4 or IPv6 address, not '\(host)'")
    }
    return address
}

/// `--advertise H:P`, if given: the `host:port` (`[v6]:port` for IPv6) other machines reach this node at. Its
/// parent writes it into the `Location` of the redirects that send other branches here, so anything else — no
/// port, a space, a path — would place unreachable nodes in the tree: a usage mistake.
func advertisedAddress(_ arguments: Arguments) throws(UsageError) -> String? {
    guard let text = arguments.value("advertise") else { return nil }
    guard StreamURL.isNodeAddress(text) else {
        throw UsageError("--advertise must be host:port as other machines reach it (10.0.0.2:8001, [2001:db8::2]:8001), not '\(text)'")
    }
    return text
}

/// Warns at start when a root or a branch advertises the address it listens on and that is every interface
/// (`0.0.0.0`, `::`, the default): its parent sends other branches there, which another machine cannot reach,
/// and to a parent every branch advertised so on the same port is the same node.
func warnIfAdvertisingEveryInterface(_ advertise: String?, listening address: SocketAddress, logger: EventLog) {
    guard advertise == nil, address.host == "0.0.0.0" || address.host == "::" else { return }
    logger("warning: advertised as \(address), which other machines cannot reach (and to a parent every branch advertised"
        + " so on this port is the same node); pass --advertise HOST:PORT unless the whole tree runs on this machine")
}
