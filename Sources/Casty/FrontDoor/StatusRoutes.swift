internal import Icy

/// The routes that tell a node's state: `/status.json` for people and monitoring, `/tree` for `casty-cli tree`.
enum StatusRoutes {
    /// `GET /status.json`: the distributor's counters and the station, as JSON.
    static func status(_ exchange: Exchange) {
        let port = exchange.port
        let stat = port.distributor.assumeIsolated { $0.stat() }
        exchange.answer(200, "OK", body: StatusPage.json(stat, upstream: port.options.upstreamState?()),
                        headers: ["Content-Type": "application/json", "Cache-Control": "no-cache"])
    }

    /// `GET /tree`: the node's place in the tree, on one line.
    static func tree(_ exchange: Exchange) {
        let stat = exchange.port.distributor.assumeIsolated { $0.stat() }
        exchange.answer(200, "OK", body: StatusPage.treeLine(stat), headers: ["Cache-Control": "no-cache"])
    }
}
