internal import CastyNet
internal import Icy

/// The command API a platform's application calls on a node (`--commands-auth`; off, and `404`, without it):
///
/// | call | answers |
/// |------|---------|
/// | `GET /commands/capacity` | `{"load": live sources, "capacity": --max-sources or -1, "encoderCount": HLS packagers, "listeners": n, "mounts": n}` |
/// | `POST /commands/close` | disconnects the source of `x-streaming-channel` with `x-streaming-id` (`*`: every session of the channel); `stream-closed` follows |
/// | `GET /commands/report` | `activeStreams` (each with `available`: whether `stream-available` went out), `streamingServers` (this node, then each branch it serves itself, once, with the mounts it relays), `encoders` (each mount's HLS packager) |
///
/// An encoder is a mount's HLS packager (every mount has one unless `--no-hls`): its `id` (`hls:/live`, the
/// `encoder` of the mount's active stream), `mount`, `targetDuration`, `segmentsMade`, `playlist`, and `packs`
/// (false while its audio is neither MP3 nor AAC). A root knows only the branches it serves itself; those below
/// them are in each branch's `/tree`.
///
/// A wrong or missing `Authorization` gets `401`.
enum CommandRoutes {
    static func call(_ exchange: Exchange) {
        guard let control = exchange.port.control, let auth = control.configuration.commandsAuth, let mounts = exchange.port.mounts else {
            return json(exchange, 404, "Not Found", .object([("error", .text("the command API is off on this node (no --commands-auth)"))]))
        }
        guard auth.admits(exchange.request.headers["Authorization"]) else {
            let sent = exchange.request.headers["Authorization"] != nil
            exchange.port.refused()
            exchange.port.refusalLog("commands: \(exchange.peer) refused on \(exchange.path): \(sent ? "wrong" : "no") credentials (401)")
            var challenge = Headers()
            challenge["WWW-Authenticate"] = auth.challenge(realm: "Casty commands")
            return json(exchange, 401, "Unauthorized", .object([("error", .text(sent ? "wrong credentials" : "credentials needed"))]),
                        headers: challenge)
        }
        let live = mounts.all.compactMap { mount in mount.source.map { (mount, $0) } }
        let encoders = encoders(of: mounts, server: control.configuration.advertisedURL)
        guard let method = methods[exchange.path] else {
            return json(exchange, 404, "Not Found", .object([("error", .text("no command \(exchange.request.method.rawValue) \(exchange.path)"))]))
        }
        // A command asked with another method (`GET /commands/close`): 405, naming the one it takes (`HEAD` goes
        // with `GET`, as HTTP wants: the same head, no body), and `Allow` listing all the path takes.
        guard exchange.request.method == method || (method == .get && exchange.request.method == .head) else {
            return json(exchange, 405, "Method Not Allowed", .object([("error", .text("\(exchange.path) takes \(method.rawValue)"))]),
                        headers: ["Allow": allowed(exchange.path)])
        }
        switch exchange.path {
        case "/commands/capacity":
            json(exchange, 200, "OK", .object([
                ("load", .number(live.count)), ("capacity", .number(mounts.rules.maxSources ?? -1)), ("encoderCount", .number(encoders.count)),
                ("listeners", .number(mounts.playerCount)), ("mounts", .number(mounts.all.count)),
            ]))
        case "/commands/close":
            guard let channel = exchange.request.headers["x-streaming-channel"], let id = exchange.request.headers["x-streaming-id"] else {
                return json(exchange, 400, "Bad Request", .object([("error", .text("x-streaming-channel and x-streaming-id are needed"))]))
            }
            // A channel is its mount without the slash (`live` for /live), as events name it: `/live` or nothing
            // names no channel, and is told so, not answered as a session gone.
            guard !channel.isEmpty, !channel.hasPrefix("/") else {
                return json(exchange, 400, "Bad Request", .object([("error", .text(
                    "x-streaming-channel names a mount without its leading slash, as events name it (live for /live)"))]))
            }
            // Named as events name it: beyond ASCII, %XX-encoded.
            let path = URLQuery.decodePath("/" + channel) ?? "/" + channel
            let closing = live.filter { mount, session in mount.path == path && (id == "*" || session.streamID == id) }
            for (_, session) in closing { session.disconnect("closed by the application (/commands/close)") }
            // Named as sent, shortened: a header of thousands of bytes is no name for a log line. A close that found
            // nothing (a retry, a session gone already) is answered 404 and logged as refusals are: an application
            // retrying in a loop does not fill the log.
            let line = "commands: close \(SafeText.shortened(channel, to: 100)) \(SafeText.shortened(id, to: 100)):"
                + " \(closing.count) session\(closing.count == 1 ? "" : "s") disconnected"
            if closing.isEmpty { exchange.port.refusalLog(line) } else { exchange.port.logger(line) }
            json(exchange, closing.isEmpty ? 404 : 200, closing.isEmpty ? "Not Found" : "OK", .object([
                ("closed", .list(closing.map { .text($0.1.streamID) })),
            ]))
        case "/commands/report":
            let server = control.configuration.advertisedURL
            let children = mounts.all.flatMap { mount in
                mount.distributor.assumeIsolated { $0.stat().tree?.children ?? [] }.map { (mount: mount.path, address: $0.address) }
            }
            let node = StreamingServer(server).map { [$0] } ?? []
            json(exchange, 200, "OK", .object([
                ("activeStreams", .list(live.map { mount, session in
                    .object([
                        ("channel", .text(URLQuery.encodeChannel(String(mount.path.dropFirst())))), ("streamId", .text(session.streamID)),
                        ("streamServer", .text(server)), ("encoder", .text(encoders.first { $0.mount == mount.path }?.id ?? "")),
                        ("record", session.record.map { .bool($0) } ?? .null),
                        // Whether `stream-available` went out: a session admitted whose audio has not proved to be
                        // frames yet is listed too, and ends without events if it never does.
                        ("available", .bool(session.assumeIsolated { $0.isAnnounced })),
                    ] + (mount.ingestStatus.map { [("srt", .object($0()))] } ?? []))
                })),
                ("streamingServers", .list((node + StreamingServer.branches(children)).map(\.json))),
                ("encoders", .list(encoders.map(\.json))),
            ]))
        default:
            break  // every path of `methods` has its case
        }
    }

    /// An HLS packager, as the report lists it in `encoders`: every mount published as HLS has one.
    private struct Encoder {
        let id: String
        let mount: String
        let json: JSONValue
    }

    /// The mounts' HLS packagers (on the loop).
    private static func encoders(of mounts: MountTable, server: String) -> [Encoder] {
        mounts.all.compactMap { mount in
            guard let packager = mount.distributor.assumeIsolated({ $0.packager }) else { return nil }
            let (target, made, packs) = packager.assumeIsolated { ($0.targetDuration, $0.made, $0.packs) }
            let id = "hls:" + mount.path
            return Encoder(id: id, mount: mount.path, json: .object([
                ("id", .text(id)), ("type", .text("HLS")), ("mount", .text(mount.path)), ("packs", .bool(packs)),
                ("targetDuration", .number(target)), ("segmentsMade", .number(made)),
                ("playlist", .text(server + URLQuery.encodePath(mount.path) + "/index.m3u8")),
            ]))
        }
    }

    /// The commands, by path, and the method each takes.
    private static let methods: [String: Request.Method] = ["/commands/capacity": .get, "/commands/close": .post, "/commands/report": .get]

    /// The methods a path under `/commands/` takes, as `Allow` lists them (a `405`, an `OPTIONS`): a command's own
    /// (`GET` with `HEAD`), and `OPTIONS`; of a path that is no command, all the command API takes.
    static func allowed(_ path: String) -> String {
        switch methods[path] {
        case .get?: "GET, HEAD, OPTIONS"
        case let method?: "\(method.rawValue), OPTIONS"
        case nil: "GET, HEAD, POST, OPTIONS"
        }
    }

    private static func json(_ exchange: Exchange, _ code: Int, _ reason: String, _ value: JSONValue, headers: Headers = [:]) {
        var headers = headers
        headers["Content-Type"] = "application/json"
        headers["Cache-Control"] = "no-cache"
        exchange.answer(code, reason, body: value.encoded, headers: headers)
    }
}
