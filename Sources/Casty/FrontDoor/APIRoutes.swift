internal import CastyWire
internal import CastyNet
internal import Icy

/// What a web page needs, as JSON and live events (eradio's metadata API):
///
/// | route | answers |
/// |-------|---------|
/// | `GET /api/mounts` | every mount: name, genre, bitrate, content type, title, listeners (and HLS players) |
/// | `GET /api/mounts/<m>` | one mount, with its last titles and when each began |
/// | `GET /api/mounts/<m>/events` | Server-Sent Events: one `title` event per change, the current one first |
/// | `GET /api/mounts/<m>/ws` | the same events as WebSocket text frames |
///
/// Both kinds of watcher get a heartbeat every ``ClientOptions/titleHeartbeat`` and are dropped when gone
/// (``TitleWatcher``, ``WatcherHealth``).
///
/// A port of one stream (a relay, a branch under a root URL with a path, a proxy) names its mount `/`: `/api/mounts/`
/// is it, and its events are at `/api/events`. As it plays that stream at every path, it answers for it under every
/// mount name too (`/api/mounts/live`, its `/events` and `/ws`, with `"mount":"/"`): a page at `/player/live` follows
/// the stream its `/live` plays.
enum APIRoutes {
    static func call(_ exchange: Exchange) {
        let path = exchange.path
        let all = mounts(exchange.port)
        if path == "/api/mounts" {
            return json(exchange, .list(all.map { describe($0, on: exchange.port, history: false) }))
        }
        let events = path.hasSuffix("/events")
        let socket = path.hasSuffix("/ws")
        let named = events ? String(path.dropLast("/events".count)) : socket ? String(path.dropLast("/ws".count)) : path
        let mountPath: String
        if named == "/api", events || socket {
            mountPath = "/"
        } else if named.hasPrefix("/api/mounts/") {
            mountPath = String(named.dropFirst("/api/mounts".count))
        } else {
            return notFound(exchange, "no API route \(SafeText.printable(path))")
        }
        // A trailing slash (`/api/mounts/live/`) names the same mount, as it does for the player page.
        var wanted = mountPath
        while wanted.count > 1, wanted.hasSuffix("/"), !all.contains(where: { $0.path == wanted }) { wanted.removeLast() }
        // A branch of a many-mount tree relays a mount from the first who asks: a page's too.
        let relayed = exchange.port.tree == nil ? nil : exchange.port.mount(at: wanted).map { (path: wanted, distributor: $0) }
        // A port of one stream plays it whatever the path: its page API is it whatever the mount name.
        let onlyOne = exchange.port.playsOneStream ? all.first : nil
        guard let mount = all.first(where: { $0.path == wanted }) ?? relayed ?? onlyOne else {
            return notFound(exchange, "no mount \(SafeText.printable(mountPath))")
        }
        if events { return follow(exchange, mount) }
        if socket { return upgrade(exchange, mount) }
        json(exchange, describe(mount, on: exchange.port, history: true))
    }

    /// `404` with `error` as JSON — encoded, since it holds the client's path, and a quote or a backslash in it
    /// must not end the string.
    private static func notFound(_ exchange: Exchange, _ error: String) {
        let body = JSONValue.object([("error", .text(error))])
        exchange.answer(404, "Not Found", body: body.encoded, headers: ["Content-Type": "application/json"])
    }

    /// The port's mounts: a station server's; those a branch of a many-mount tree relays now (its root path only
    /// while it has a stream: a root of several mounts has none there); or a relay's one stream as `/`.
    static func mounts(_ port: PortContext) -> [(path: String, distributor: Distributor)] {
        if let mounts = port.mounts { return mounts.all.map { ($0.path, $0.distributor) } }
        if let tree = port.tree {
            return tree.all.filter { $0.mount != "/" || $0.distributor.assumeIsolated { $0.context } != nil }.map { ($0.mount, $0.distributor) }
        }
        return port.single.map { [("/", $0)] } ?? []
    }

    /// A mount as JSON. `live`: it has something to play (a station server's mount whose source and fallback are
    /// both away keeps the last stream's context, but a listener would be refused); `fallback`: what it plays is
    /// its fallback's (on a branch, as its root told on the tree link: ``Context/fallback``).
    private static func describe(_ mount: (path: String, distributor: Distributor), on port: PortContext, history: Bool) -> JSONValue {
        let (path, distributor) = mount
        let stat = distributor.assumeIsolated { $0.stat() }
        let state = port.mounts.flatMap { table in table.mount(at: path).map { table.state(of: $0) } }
        let live = state.map { $0 != "idle" && $0 != "connecting" } ?? (stat.context != nil)
        let station = stat.context?.station ?? [:]
        // Off the air, the type its players were told (an AAC mount waiting for its source is no MP3 one); none, of a
        // mount that never played.
        let contentType = station["Content-Type"] ?? distributor.assumeIsolated { $0.toldContentType } ?? ""
        var fields: [(String, JSONValue)] = [
            ("mount", .text(path)), ("name", .text(station["icy-name"] ?? "")), ("genre", .text(station["icy-genre"] ?? "")),
            ("bitrate", .number(stat.context?.advertisedBitrate ?? 0)), ("contentType", .text(contentType)),
            ("title", .text(stat.context?.title?.streamTitle ?? "")), ("listeners", .number(stat.listeners)),
            ("live", .bool(live)), ("fallback", .bool(state.map { $0 == "fallback" } ?? (stat.context?.fallback == true))),
        ]
        if let players = distributor.assumeIsolated({ $0.hlsPlayers }) {
            fields.append(("hlsPlayers", .number(players)))
        }
        if history {
            let titles = distributor.assumeIsolated { $0.titleHistory() }
            fields.append(("titles", .list(titles.reversed().map { .object([("title", .text($0.title)), ("at", .number(Int($0.at)))]) })))
        }
        return .object(fields)
    }

    /// Answers the event stream's head, and adds the page to the mount's title watchers.
    private static func follow(_ exchange: Exchange, _ mount: (path: String, distributor: Distributor)) {
        var headers: Headers = ["Content-Type": "text/event-stream", "Cache-Control": "no-cache", "Server": "Casty",
                                "X-Accel-Buffering": "no", "Connection": "close"]
        for field in CORS.headers(origin: exchange.request.headers["Origin"], allowed: exchange.port.options.corsOrigins).fields {
            headers[field.name] = field.value
        }
        var head: [UInt8] = []
        sendReply(headers, status: .httpOK) { head += $0 }
        if exchange.headOnly {  // the head of the event stream, and no events
            exchange.connection.write(head)
            return exchange.connection.closeWhenSent(timeout: exchange.port.options.headerTimeout)
        }
        // A comment line first, so that proxies and browsers see the stream open at once.
        exchange.connection.write(head + Array(": casty title events\n\n".utf8))
        watch(exchange, mount, kind: .serverSentEvents)
    }

    /// A WebSocket that pushes the same title events as JSON text frames (`/api/mounts/<m>/ws`).
    private static func upgrade(_ exchange: Exchange, _ mount: (path: String, distributor: Distributor)) {
        let headers = exchange.request.headers
        // RFC 6455 §4.2.1: an HTTP/1.1 GET that asks to upgrade, with a key of 16 random bytes in base64; a client
        // of another version of the protocol is told the one spoken here (§4.4).
        guard exchange.request.method == .get, exchange.request.version == .http11, headers["Upgrade"]?.lowercased() == "websocket",
              let key = headers["Sec-WebSocket-Key"], Base64.decode(key[...].trimmingSpaces)?.count == 16 else {
            return exchange.answer(400, "Bad Request",
                                   body: "A WebSocket handshake is needed here (HTTP/1.1 GET, Upgrade: websocket, a 16-byte Sec-WebSocket-Key).")
        }
        // A WebSocket is not bound by CORS: a browser opens it from any page, and sends the page's Origin for the
        // server to judge. With `--cors-origins`, a page of another site is refused as its fetch would be; one of
        // this site (its own player page, or one behind the same TLS proxy) is not, as its fetch needs no CORS.
        if let allowed = exchange.port.options.corsOrigins, let origin = headers["Origin"],
           !allowed.contains(CORS.origin(origin) ?? origin),
           !CORS.isSameSite(CORS.origin(origin) ?? origin, host: headers["Host"]) {
            exchange.port.refusalLog("page \(exchange.peer) refused: a WebSocket from \(SafeText.shortened(origin, to: 80)), not in --cors-origins (403)")
            return exchange.answer(403, "Forbidden", body: "Pages of this origin may not follow the titles here.")
        }
        // Told the version spoken here once it may speak at all: a page refused for its origin is not told how to retry.
        guard headers["Sec-WebSocket-Version"].map({ $0[...].trimmingSpaces }) == "13" else {
            return exchange.answer(426, "Upgrade Required", body: "This server speaks WebSocket version 13 (RFC 6455).",
                                   headers: ["Sec-WebSocket-Version": "13"])
        }
        var reply: [UInt8] = []
        sendReply(["Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Accept": WebSocket.accept(key: key),
                   "Server": "Casty"],
                  status: StatusLine(version: .http11, code: 101, reason: "Switching Protocols")) { reply += $0 }
        exchange.connection.write(reply)
        watch(exchange, mount, kind: .webSocket)
    }

    /// Makes the exchange's connection a title watcher of `kind` with its port's heartbeat, reading what the page
    /// sends (a WebSocket's first frames may have come with the handshake), and hands it to the distributor.
    private static func watch(_ exchange: Exchange, _ mount: (path: String, distributor: Distributor), kind: TitleWatcher.Kind) {
        let options = exchange.port.options
        let watcher = TitleWatcher(connection: exchange.connection, kind: kind, peer: exchange.peer, mount: mount.path, logger: exchange.port.pageLines,
                                   heartbeat: options.titleHeartbeat, patience: options.titlePatience)
        watcher.start(pending: exchange.rest)
        mount.distributor.assumeIsolated { $0.watch(watcher) }
    }

    private static func json(_ exchange: Exchange, _ value: JSONValue) {
        exchange.answer(200, "OK", body: value.encoded, headers: ["Content-Type": "application/json", "Cache-Control": "no-cache"])
    }
}
