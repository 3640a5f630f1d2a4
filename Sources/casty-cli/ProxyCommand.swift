import CastyNet
import CastyWire
import Casty

/// `casty-cli proxy <url>`: relay a Shoutcast/Icecast stream to media players.
enum ProxyCommand: Command {
    static let name = "proxy"
    static let summary = "relay a Shoutcast/Icecast stream to media players on a port"
    static let options: Set<String> = Set(["port", "host", "segment-bytes", "burst", "status-every"]).union(PortOptions.names)
    static let flags = PortOptions.flags
    static let usage = """
        usage: casty-cli proxy <url> [options]

        Attaches to the Shoutcast/Icecast stream at <url> (http://host:port/path, https://…, or a station's
        .pls/.m3u playlist) and serves it to media players (VLC, mpg123, browsers) on a TCP port: any path
        plays the stream, /status.json tells the relay's state. If the upstream drops, listeners stay connected while the proxy reconnects; if it is
        down or not a stream at start-up, the proxy keeps retrying (new players get 503 until a stream arrives, and while it is lost).

        options:
          --port P            port for players (default 8080)
          --host ADDR         address to listen on (default 127.0.0.1; 0.0.0.0 or :: for every interface)
          --segment-bytes N   audio bytes per segment, the icy-metaint players see (default 8192)
          --burst N           recent segments a new player gets at once (default 4)
          --status-every S    seconds between status lines (default 10)

        Reverse proxies, browsers, event loops, live HLS (/index.m3u8) and recordings:
        \(PortOptions.usage)
        """

    static func run(_ arguments: Arguments) async throws {
        let text = try arguments.single("the stream's URL")
        let url = try StreamURL.given(text)
        var configuration = Proxy.Configuration()
        configuration.segmentBytes = try arguments.segmentBytes()
        let interval = try ServerCommand.statusInterval(arguments)  // every usage mistake before anything starts
        let logger = EventLog.standardError
        let proxy = try Proxy(url: url, configuration: configuration, logger: logger)
        var options = ClientOptions()
        try PortOptions.apply(arguments, to: &options, oneStream: true)
        try PortOptions.prepareDirectories(arguments, &options, oneStream: true)
        // The port first: a port in use is a mistake to fix at once; a station that is down is not.
        let serving = try ServedStream.start(
            source: proxy, host: arguments.value("host") ?? "127.0.0.1", port: try arguments.port("port", default: 8080),
            burst: try arguments.integer("burst", default: 4, in: 0...64), options: options, logger: logger,
            upstreamState: { proxy.assumeIsolated { "\($0.state)" } })
        await proxy.startInBackground()
        logger("proxy: attaching to \(url.shown)")
        logger(serving.listeningLine)
        await serving.reportStatus(
            every: interval, logger: logger,
            upstream: { proxy.assumeIsolated { "\($0.state)" } })
    }
}
