import CastyNet
import Casty
import Icy

/// The part every serving command shares: a distributor fed by `source`, a client port for players, and a
/// status line every few seconds.
struct ServedStream {
    let distributor: Distributor
    let port: ClientPort

    /// Starts serving `source`'s stream on `host:port`. `upstreamState` tells the status page what the source
    /// is doing; it is called on the event loop.
    static func start(
        source: any Node, host: String, port: UInt16, burst: Int, options: ClientOptions = ClientOptions(), logger: EventLog,
        upstreamState: @escaping @Sendable () -> String
    ) throws -> ServedStream {
        guard let address = SocketAddress(host: host, port: port) else {
            throw UsageError("--host must be a numeric IPv4 or IPv6 address, not '\(host)'")
        }
        let distributor = try Distributor(configuration: .init(burst: burst), logger: logger)
        var options = options
        options.upstreamState = upstreamState
        let clientPort: ClientPort
        do {
            clientPort = try ClientPort(distributor: distributor, address: address, options: options, logger: logger)
        } catch {
            throw ServeError("cannot listen on \(address): \(error)")
        }
        Task { await distributor.attach(to: source) }
        return ServedStream(distributor: distributor, port: clientPort)
    }

    /// The URL players should open.
    var url: String {
        let address = port.address
        let host = address.host == "0.0.0.0" ? "127.0.0.1" : address.host == "::" ? "::1" : address.host
        return "http://\(host.contains(":") ? "[\(host)]" : host):\(address.port)/"
    }

    /// The start line: the URL players open, and — on every interface (`0.0.0.0`, `::`), where that URL is this
    /// machine's own — the address the port listens on.
    var listeningLine: String {
        let address = port.address
        let everywhere = address.host == "0.0.0.0" || address.host == "::"
        return "listening on " + (everywhere ? "\(address) (every interface; on this machine \(url))" : url) + " (status: \(url)status.json)"
    }

    /// Logs a status line every `interval`, forever — one that says what the last one said only now and then
    /// (``RepeatedLine``).
    func reportStatus(every interval: Duration, logger: EventLog, upstream: @escaping @Sendable () -> String) async -> Never {
        var repeated = RepeatedLine(heartbeat: RepeatedLine.statusHeartbeat(every: interval))
        while true {
            try? await Task.sleep(for: interval)
            let stat = await distributor.stat()
            let state = await distributor.loop.submit(upstream)
            // Last on the line, after `title: ` as in the title-change lines, so a quote in it is not mistaken for an end.
            let title = stat.context?.title?.streamTitle.map { $0.isEmpty ? "" : ", title: \(SafeText.shortened($0))" } ?? ""
            let branches = stat.tree == nil ? "" : " \(counted(stat.branches, "branch", plural: "branches")),"
            let line = "status: \(counted(stat.listeners, "listener")) (peak \(stat.peakListeners)),\(branches) \(counted(stat.segments, "segment")),"
                + " \(megabytes(stat.bytesIn)) in, \(megabytes(stat.bytesOut)) out, \(stat.skipped) skipped,"
                + " \(stat.dropped) dropped, \(counted(stat.gaps, "gap")), upstream \(state)\(title)"
            if repeated.shouldLog(line) { logger(line) }
        }
    }
}

/// A serving command could not start.
struct ServeError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
