import CastyNet
import CastyWire
import Casty
import Glibc

/// `casty-bench serve`: the Casty server that `fanout` loads, in a process of its own so that its CPU time
/// and memory are its own. It is what `casty-cli proxy` (with `--upstream URL`) or `casty-cli station`
/// (without) runs: a source, one distributor, a client port with the default options, on the shared event
/// loop. It prints `ready port=P` and serves until its standard input closes.
///
/// With `--loops N`, players are spread over N event loops besides the accepting one (``EventLoopGroup``).
///
/// With `--mounts N` it runs what `casty-cli server` runs instead: a ``StationServer`` whose mounts `/m0` …
/// `/m<N-1>` take sources that publish (`PUT`, password `--password`, `bench` by default); with `--built-in`
/// each mount gets its own built-in station as a permanent source instead.
enum Serve {
    /// `casty-bench serve --help`.
    static let usage = Usage(
        measures: """
            (Used by fanout, mounts and hls.) A Casty server on 127.0.0.1 in a process of its own: a proxy of
            --upstream, or the built-in station, on one distributor and client port; or with --mounts a station
            server. Prints `ready port=P` and serves until its standard input closes. Every mount is also
            published as live HLS.
            """,
        options: [
            ("--port P", "the port (0: any free one)"),
            ("--upstream URL", "relay this ICY stream instead of the built-in station"),
            ("--mounts N", "a station server with mounts /m0 … /m<N-1> taking PUT sources"),
            ("--built-in", "with --mounts: a built-in station on every mount"),
            ("--loops N", "spread players over N event loops besides the accepting one (default: none)"),
            ("--password P", "with --mounts: the source password (bench)"),
            ("--hls-target S", "HLS segments' target duration in seconds (6)"),
            ("--burst N", "segments a new player gets at once (4, as casty-cli)"),
            ("--verbose", "log every listener joining and leaving"),
        ])

    static func run(_ arguments: [String]) async throws {
        raiseFileDescriptorLimit()
        let port = UInt16(option("--port", in: arguments) ?? "0") ?? 0
        let logger = arguments.contains("--verbose") ? EventLog.standardError : EventLog { line in
            // Keep what matters for a benchmark: problems, not every listener joining and leaving.
            if !line.contains(" joined: "), !line.contains(" left after ") {
                EventLog.standardError("serve: " + line)
            }
        }
        var options = ClientOptions()
        if let target = option("--hls-target", in: arguments).flatMap({ Int($0) }) { options.hls.targetDuration = target }
        if let loops = option("--loops", in: arguments).flatMap({ Int($0) }), loops > 0 {
            options.loops = EventLoopGroup(count: 1 + loops)
        }
        if let mounts = option("--mounts", in: arguments).flatMap({ Int($0) }) {
            var configuration = StationServer.Configuration()
            configuration.options = options
            configuration.sourcePassword = option("--password", in: arguments) ?? "bench"
            configuration.mounts = (0..<mounts).map { "/m\($0)" }
            let server = try StationServer.start(configuration, address: .loopback(.ipv4, port: port), logger: logger)
            if arguments.contains("--built-in") {
                for mount in configuration.mounts ?? [] {
                    let station = try Station.builtIn(name: "Casty Station \(mount)")
                    await station.start()
                    server.attach(station, at: mount)
                }
            }
            say("ready port=\(server.address.port)")
            serveUntilInputCloses()
        }
        let source: any Node
        if let text = option("--upstream", in: arguments) {
            guard let url = StreamURL(text) else { fatalError("serve: not a URL: \(text)") }
            let proxy = try Proxy(url: url, logger: logger)
            try await proxy.start()
            source = proxy
        } else {
            let station = try Station.builtIn()
            await station.start()
            source = station
        }
        var distribution = Distributor.Configuration()
        if let burst = option("--burst", in: arguments).flatMap({ Int($0) }) { distribution.burst = burst }
        let distributor = Distributor(configuration: distribution, logger: logger)
        let clientPort = try ClientPort(
            distributor: distributor, address: .loopback(.ipv4, port: port), options: options, logger: logger)
        await distributor.attach(to: source)
        say("ready port=\(clientPort.address.port)")
        serveUntilInputCloses()
    }

    /// Serves until the parent closes our standard input (or ends us).
    static func serveUntilInputCloses() -> Never {
        var byte: UInt8 = 0
        while read(0, &byte, 1) > 0 {}
        exit(0)
    }
}
