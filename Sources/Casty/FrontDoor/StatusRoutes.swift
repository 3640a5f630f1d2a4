internal import CastyNet
internal import Icy

/// The routes that tell a node's state: `/status.json` for people and monitoring, `/tree` for `casty-cli tree`.
enum StatusRoutes {
    /// `GET /status.json` (and `/status-json.xsl`, where tools written for Icecast look): the distributor's
    /// counters and the station, as JSON; `?mount=/live`: that mount's only. Under Icecast's name, a station
    /// server lists only the mounts that stream, as Icecast does.
    static func status(_ exchange: Exchange) {
        let port = exchange.port
        let body: String
        let base = listenBase(exchange)
        if let tree = port.tree {
            body = tree.statusJSON(upstream: port.options.upstreamState?(), refused: port.refusedCount, listenBase: base,
                                   serverStart: port.started)
        } else if let mounts = port.mounts {
            // Icecast's name lists what Icecast would — the mounts that stream — and `?mount=/m` only that one.
            let listed = mounts.listed(asked: exchange.mountQuery(), streaming: exchange.path == "/status-json.xsl")
            body = StatusPage.serverJSON(listed.map { mount, stat in
                (mount.path, stat, mounts.state(of: mount), mount.distributor.assumeIsolated { $0.hlsStatus })
            }, refused: port.refusedCount, listenBase: base, ingest: Dictionary(uniqueKeysWithValues: listed.compactMap { mount, _ in
                mount.ingestStatus.map { (mount.path, $0()) }
            }), rtmp: port.rtmp?.json, serverStart: port.started, icecastShape: exchange.path == "/status-json.xsl",
                shapes: Dictionary(uniqueKeysWithValues: listed.compactMap { mount, _ in mounts.shape(of: mount).map { (mount.path, $0) } }))
        } else if let single = port.single {
            body = StatusPage.json(single.assumeIsolated { $0.stat() }, upstream: port.options.upstreamState?(),
                                   hls: single.assumeIsolated { $0.hlsStatus }, listenBase: base, serverStart: port.started)
        } else {
            body = "{}"
        }
        exchange.answer(200, "OK", body: body, headers: ["Content-Type": "application/json", "Cache-Control": "no-cache"])
    }

    /// Where a listener reaches this port, as `http://host:port` for Icecast's `listenurl`: the request's `Host`
    /// (the name the client used) when it is a plain host name or address with an optional port, else the
    /// address the connection came in on — `https://` behind a trusted TLS terminator that says the client used it
    /// (``TrustedProxies/scheme(peer:forwardedProto:)``).
    static func listenBase(_ exchange: Exchange) -> String {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]")
        let scheme = exchange.port.options.trustedProxies.map { proxies in
            proxies.scheme(peer: exchange.connection.remoteAddress?.host ?? exchange.peer,
                           forwardedProto: exchange.request.headers["X-Forwarded-Proto"])
        } ?? "http"
        if let host = exchange.request.headers["host"], !host.isEmpty, host.count <= 255, host.allSatisfy(allowed.contains) {
            return scheme + "://" + host
        }
        return scheme + "://" + (exchange.connection.localAddress?.description ?? "127.0.0.1")
    }

    /// `GET /tree`: the node's place in the tree, on one line; `/tree?mount=/live`: in that mount's tree.
    static func tree(_ exchange: Exchange) {
        // `?mount=live`, as the command API and the events name channels, is `/live`.
        let asked = exchange.mountQuery().map { $0.isEmpty || $0.hasPrefix("/") ? $0 : "/" + $0 }
        guard let (distributor, mount) = exchange.port.treeDistributor(mount: asked) else {
            return exchange.answer(404, "Not Found", body: "No stream here.")
        }
        let (stat, hls) = distributor.assumeIsolated { ($0.stat(), $0.hlsPlayers) }
        let line = StatusPage.treeLine(stat, hlsPlayers: hls) + (mount.map { " mount=\($0)" } ?? "")
        exchange.answer(200, "OK", body: line, headers: ["Cache-Control": "no-cache"])
    }
}
