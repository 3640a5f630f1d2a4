import CastyNet
import CastyWire
import Casty
import Glibc

/// `casty-cli demo`: station + proxy + client port in one process.
enum DemoCommand: Command {
    static let name = "demo"
    static let summary = "a built-in station relayed by a proxy, in one process: give VLC the URL it prints"
    static let options: Set<String> = Set(["port", "host", "status-every"]).union(PortOptions.names)
    static let flags = PortOptions.flags
    static let usage = """
        usage: casty-cli demo [options]

        Starts the built-in station on a free loopback port, attaches a proxy to it over TCP — the same way it
        would attach to a Shoutcast or Icecast server — and serves the relayed stream to players. Needs no
        internet. Open the printed URL in VLC, mpg123 or a browser.

        options:
          --port P            port for players (default 8080)
          --host ADDR         address to listen on (default 127.0.0.1)
          --status-every S    seconds between status lines (default 10)

        Reverse proxies, browsers, event loops, live HLS (/index.m3u8) and recordings:
        \(PortOptions.usage)
        """

    static func run(_ arguments: Arguments) async throws {
        try arguments.none()
        let logger = EventLog.standardError
        let interval = try ServerCommand.statusInterval(arguments)  // a usage mistake before anything starts
        let port = try arguments.port("port", default: 8080)
        var options = ClientOptions()
        try PortOptions.apply(arguments, to: &options, oneStream: true)
        try PortOptions.prepareDirectories(arguments, &options, oneStream: true)
        let station = try Station.builtIn(name: "Casty Demo", titles: ["Casty demo tone"], titleInterval: .seconds(10))
        await station.start()
        let stationServing = try ServedStream.start(
            source: station, host: "127.0.0.1", port: 0, burst: 4, logger: .silent, upstreamState: { "streaming" })
        let proxy = try Proxy(url: StreamURL(host: "127.0.0.1", port: stationServing.port.address.port), logger: logger)
        let serving = try ServedStream.start(
            source: proxy, host: arguments.value("host") ?? "127.0.0.1", port: port,
            burst: 4, options: options, logger: logger, upstreamState: { proxy.assumeIsolated { "\($0.state)" } })
        try await proxy.start()
        logger("demo: station on \(stationServing.url), proxy attached to it")
        logger(serving.listeningLine)
        print("Casty demo is playing. Give VLC this URL:  \(serving.url)    (or: mpg123 \(serving.url))")
        fflush(nil)  // at once, also when standard output is a pipe or a file
        await serving.reportStatus(
            every: interval, logger: logger,
            upstream: { proxy.assumeIsolated { "\($0.state)" } })
    }
}
