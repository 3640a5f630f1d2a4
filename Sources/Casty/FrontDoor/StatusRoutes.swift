internal import Icy

/// The routes that tell a node's state: `/status.json` for people and monitoring, `/tree` for `casty-cli tree`.
enum StatusRoutes {
    /// `GET /status.json`: the distributor's counters and the station, as JSON.
    static func status(_ exchange: Exchange) {
        let port = exchange.port
        let body: String
        if let tree = port.tree {
            body = tree.statusJSON(upstream: port.options.upstreamState?(), refused: port.refusedCount)
        } else if let mounts = port.mounts {
            let all = mounts.all
            body = StatusPage.serverJSON(all.map { mount in
                (mount.path, mount.distributor.assumeIsolated { $0.stat() }, mount.state, mount.distributor.assumeIsolated { $0.hlsStatus })
            }, refused: port.refusedCount, ingest: Dictionary(uniqueKeysWithValues: all.compactMap { mount in
                mount.ingestStatus.map { (mount.path, $0()) }
            }), rtmp: port.rtmp?.json)
        } else if let single = port.single {
            body = StatusPage.json(single.assumeIsolated { $0.stat() }, upstream: port.options.upstreamState?(),
                                   hls: single.assumeIsolated { $0.hlsStatus })
        } else {
            body = "{}"
        }
        exchange.answer(200, "OK", body: body, headers: ["Content-Type": "application/json", "Cache-Control": "no-cache"])
    }

    /// `GET /tree`: the node's place in the tree, on one line; `/tree?mount=/live`: in that mount's tree.
    static func tree(_ exchange: Exchange) {
        guard let (distributor, mount) = exchange.port.treeDistributor(mount: exchange.query("mount")) else {
            return exchange.answer(404, "Not Found", body: "No stream here.")
        }
        let stat = distributor.assumeIsolated { $0.stat() }
        let line = StatusPage.treeLine(stat) + (mount.map { " mount=\($0)" } ?? "")
        exchange.answer(200, "OK", body: line, headers: ["Cache-Control": "no-cache"])
    }
}
