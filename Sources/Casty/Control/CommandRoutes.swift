internal import CastyNet
internal import Icy

/// The command API a platform's application calls on a node (`--commands-auth`; off, and `404`, without it):
///
/// | call | answers |
/// |------|---------|
/// | `GET /commands/capacity` | `{"load": live sources, "capacity": -1, "encoderCount": 0, "listeners": n}` |
/// | `POST /commands/close` | disconnects the source of `x-streaming-channel` with `x-streaming-id` (`*`: every session of the channel); `stream-closed` follows |
/// | `GET /commands/report` | `activeStreams`, `streamingServers` (this node, and a root's branches), `encoders` |
///
/// A wrong or missing `Authorization` gets `401`.
enum CommandRoutes {
    static func call(_ exchange: Exchange) {
        guard let control = exchange.port.control, let auth = control.configuration.commandsAuth, let mounts = exchange.port.mounts else {
            return exchange.answer(404, "Not Found", body: "The command API is off on this node.")
        }
        guard auth.admits(exchange.request.headers["Authorization"]) else {
            exchange.port.refused()
            exchange.port.logger("commands: \(exchange.peer) refused on \(exchange.path): wrong or missing credentials (401)")
            return json(exchange, 401, "Unauthorized", .object([("error", .text("credentials needed"))]))
        }
        let live = mounts.all.compactMap { mount in mount.source.map { (mount, $0) } }
        switch (exchange.request.method, exchange.path) {
        case (.get, "/commands/capacity"):
            let listeners = mounts.all.reduce(0) { $0 + $1.distributor.assumeIsolated { $0.playerCount } }
            json(exchange, 200, "OK", .object([
                ("load", .number(live.count)), ("capacity", .number(-1)), ("encoderCount", .number(0)),
                ("listeners", .number(listeners)), ("mounts", .number(mounts.all.count)),
            ]))
        case (.post, "/commands/close"):
            guard let channel = exchange.request.headers["x-streaming-channel"], let id = exchange.request.headers["x-streaming-id"] else {
                return json(exchange, 400, "Bad Request", .object([("error", .text("x-streaming-channel and x-streaming-id are needed"))]))
            }
            let closing = live.filter { mount, session in mount.path == "/" + channel && (id == "*" || session.streamID == id) }
            for (_, session) in closing { session.stop() }
            exchange.port.logger("commands: close \(channel) \(id): \(closing.count) session\(closing.count == 1 ? "" : "s") disconnected")
            json(exchange, closing.isEmpty ? 404 : 200, closing.isEmpty ? "Not Found" : "OK", .object([
                ("closed", .list(closing.map { .text($0.1.streamID) })),
            ]))
        case (.get, "/commands/report"):
            let server = control.configuration.publicURL
            let authority = server.split(separator: "/").last.map(String.init) ?? server
            let host = authority.split(separator: ":").first.map(String.init) ?? authority
            let portNumber = authority.split(separator: ":").last.flatMap { Int($0) } ?? 80
            var servers: [JSONValue] = [.object([
                ("id", .text(authority)), ("ip", .text(host)), ("port", .number(portNumber)), ("ssl", .bool(false)),
                ("serverType", .text("ICY")),
            ])]
            for mount in mounts.all {
                for child in mount.distributor.assumeIsolated({ $0.stat().tree?.children ?? [] }) {
                    let parts = child.address.split(separator: ":")
                    servers.append(.object([
                        ("id", .text(child.address)), ("ip", .text(String(parts.first ?? ""))),
                        ("port", .number(parts.last.flatMap { Int($0) } ?? 0)), ("ssl", .bool(false)), ("serverType", .text("ICY")),
                    ]))
                }
            }
            json(exchange, 200, "OK", .object([
                ("activeStreams", .list(live.map { mount, session in
                    .object([
                        ("channel", .text(String(mount.path.dropFirst()))), ("streamId", .text(session.streamID)),
                        ("streamServer", .text(server)), ("encoder", .text("")),
                        ("record", session.record.map { .bool($0) } ?? .text("")),
                    ] + (mount.ingestStatus.map { [("srt", .object($0()))] } ?? []))
                })),
                ("streamingServers", .list(servers)),
                ("encoders", .list([])),
            ]))
        default:
            json(exchange, 404, "Not Found", .object([("error", .text("no command \(exchange.request.method.rawValue) \(exchange.path)"))]))
        }
    }

    private static func json(_ exchange: Exchange, _ code: Int, _ reason: String, _ value: JSONValue) {
        exchange.answer(code, reason, body: value.encoded, headers: ["Content-Type": "application/json", "Cache-Control": "no-cache"])
    }
}
