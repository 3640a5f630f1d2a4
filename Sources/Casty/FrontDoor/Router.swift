internal import CastyNet
internal import Icy

/// Which requests a Casty port answers, and with what: one table, read top to bottom, first match wins.
///
/// | method          | path           | answered by                                                       |
/// |-----------------|----------------|-------------------------------------------------------------------|
/// | `GET`, `HEAD`   | `/status.json` | ``StatusRoutes/status(_:)``: the node's state as JSON              |
/// | `GET`, `HEAD`   | `/status-json.xsl` | the same, where tools written for Icecast ask                  |
/// | `GET`, `HEAD`   | `/tree`        | ``StatusRoutes/tree(_:)``: the node's place in the tree, one line  |
/// | `GET`, `HEAD`   | `/player/…`    | ``PlayerPage/serve(_:)``: the player page (also `/` for a browser)   |
/// | `GET`, `HEAD`   | `/favicon.ico`, `/apple-touch-icon…`, `/robots.txt` | what browsers and crawlers fetch on their own: no icon, no crawling |
/// | `GET`, `HEAD`   | `/api/…`       | ``APIRoutes/call(_:)``: mounts, titles and live title events for pages |
/// | `GET`           | `/admin/metadata` | ``AdminRoutes/metadata(_:)``: a mount's new title (admin or its source) |
/// | `GET`, `HEAD`   | `/admin/…`     | ``AdminRoutes/call(_:)``: the admin API (admin, or a mount's source for its calls; `HEAD` is `405` where it is, `404` as `GET` where not) |
/// | `GET`, `HEAD`, `POST` | `/commands/…` | ``CommandRoutes/call(_:)``: the platform application's commands      |
/// | `SOURCE`, `PUT` | any            | ``SourceRoutes/publish(_:)``: a source publishes a mount (`405` on a relay) |
/// | `GET`, `HEAD`   | `…/index.m3u8`, `…/master.m3u8`, segments | ``HLSRoutes/serve(_:)``: a mount's live HLS |
/// | `GET`, `HEAD`   | `/<mount>.m3u`, `.pls`, `.xspf` | ``PlaylistRoutes/serve(_:)``: a playlist naming the mount's URL |
/// | `GET`, `HEAD`   | a mount        | ``StreamRoutes/play(_:)``: the stream, to a player or a branch     |
/// | `OPTIONS`       | any            | ``CORS/preflight(_:)``: what a page on another site may do          |
///
/// A relay's port serves one stream, and a player may use any path for it (players and playlists put all
/// kinds of paths in their URLs); so does a station server with one mount. With several mounts, an unknown
/// path gets `404`. Every route above takes `HEAD` where it takes `GET`, so that a `HEAD` of a path one answers is
/// never taken for the stream (`HEAD /admin/stats` is the admin route's). Methods the parser does not
/// know were already refused by the ``FrontDoor`` with `501`. A request from one of the port's own relays is
/// answered `508` before the table is read (``dispatch(_:)``).
struct Router: Sendable {
    /// One line of the table.
    struct Route: Sendable {
        /// The methods the route takes.
        let methods: Set<Request.Method>
        /// The path it takes.
        let path: Path
        /// Answers the request; runs on the connection's loop.
        let handle: @Sendable (Exchange) -> Void

        init(_ methods: Set<Request.Method>, _ path: Path, _ handle: @escaping @Sendable (Exchange) -> Void) {
            self.methods = methods
            self.path = path
            self.handle = handle
        }
    }

    /// The paths a route takes.
    enum Path: Sendable, Equatable {
        /// Exactly this path (the query, if any, is not part of it).
        case exact(String)
        /// Any path that starts with this.
        case prefix(String)
        /// A path that names a mount of the port (any path, while the port has one mount).
        case mount
        /// A playlist or segment of one of the port's mounts (``HLSRoutes/matches(_:)``).
        case hls
        /// A playlist file of one of the port's mounts, `/live.m3u` (``PlaylistRoutes/match(_:)``).
        case playlist
        /// Any path.
        case any
    }

    /// The routes, tried in order.
    let routes: [Route]

    /// The `Allow` header of a `405` for a method no route takes: the methods a player (and a page's preflight) may use.
    static let allowedMethods = "GET, HEAD, OPTIONS"

    /// The table every Casty port uses.
    static let standard = Router(routes: [
        Route([.get, .head], .exact("/status.json"), StatusRoutes.status),
        Route([.get, .head], .exact("/status-json.xsl"), StatusRoutes.status),
        Route([.get, .head], .exact("/tree"), StatusRoutes.tree),
        Route([.get, .head], .prefix("/api/"), APIRoutes.call),
        Route([.get, .head], .prefix("/player/"), PlayerPage.serve),
        Route([.get, .head], .exact("/favicon.ico"), PlayerPage.noIcon),
        Route([.get, .head], .exact("/robots.txt"), PlayerPage.robots),
        Route([.get, .head], .prefix("/apple-touch-icon"), PlayerPage.noIcon),
        Route([.get], .exact("/admin/metadata"), AdminRoutes.metadata),
        // HEAD too, so that it is never the stream's on a port of one (RFC 9110 §9.3.2: HEAD is answered as GET).
        Route([.get, .head], .prefix("/admin/"), AdminRoutes.call),
        Route([.get, .head, .post], .prefix("/commands/"), CommandRoutes.call),
        Route([.source, .put], .any, SourceRoutes.publish),
        Route([.get, .head], .hls, HLSRoutes.serve),
        Route([.get, .head], .playlist, PlaylistRoutes.serve),
        // `/` is the player page for a browser, else the stream of a port with one (404 with several).
        Route([.get, .head], .exact("/"), StreamRoutes.play),
        Route([.get, .head], .mount, StreamRoutes.play),
        Route([.options], .any, CORS.preflight),
    ])

    /// Whether a source may make a new mount at `path` (a station server that accepts any mount): a mount name
    /// (``StationServer/Configuration/isMountName(_:)``) the server does not answer itself (``reservedRoute(of:)``),
    /// so that listeners and pages can reach it.
    static func isReachableMount(_ path: String) -> Bool {
        StationServer.Configuration.isMountName(path) && reservedRoute(of: path) == nil
    }

    /// What the server answers itself at `path`, or under it, where a mount's HLS would be (`<mount>/index.m3u8`),
    /// as a log line or an answer names it (`/admin/…`, `/status.json`, `an HLS playlist or segment`); `nil` when a
    /// mount there would be all its own. Read from the routes (``standard``), so a route added is reserved too:
    /// `/`, `/status.json`, `/tree`, `/api/…`, `/admin/…`, `/commands/…`, `/player/…` — `/admin` and `/api` with
    /// them, whose playlists `/admin/index.m3u8` and `/api/index.m3u8` those routes would answer —; an HLS playlist
    /// or segment; a playlist file (`/live.m3u` is `/live`'s); a name ending in `/events` or `/ws` (its page API,
    /// `/api/mounts/news/events`, would be taken for `/news`'s titles).
    static func reservedRoute(of path: String) -> String? {
        if HLSRoutes.parse(path) != nil { return "an HLS playlist or segment" }
        if let dot = path.lastIndex(of: "."), PlaylistRoutes.Form(rawValue: String(path[path.index(after: dot)...])) != nil {
            return "a playlist file (/live.m3u is /live's)"
        }
        if let last = path.split(separator: "/").last, last == "events" || last == "ws" {
            return "a page API's title route (…/\(last))"
        }
        for route in standard.routes where route.methods.contains(.get) {
            switch route.path {
            case .exact(let taken) where path == taken: return taken
            // `/admin` itself: the route answers `/admin/…`, where its HLS would be.
            case .prefix(let start) where (path + "/").hasPrefix(start): return start + "…"
            default: continue
            }
        }
        return nil
    }

    /// Hands the request to the first route that takes it; else `405` with `Allow` if routes take its path with
    /// other methods (`POST /live`), `404` if routes take its method on other paths
    /// (``StreamRoutes/noMount(_:)``), `405` if none takes its method.
    ///
    /// Before any route, a request from one of the port's own relays (``PortContext/isOwnRelay(_:)``) is answered
    /// `508 Loop Detected` (``StreamRoutes/ownRelay(_:)``): never a listener, whatever path it asks; and so is another
    /// server's relay whose stream would come back to the mount it asks for (``PortContext/relayLoop(_:path:)``).
    func dispatch(_ exchange: Exchange) {
        if exchange.port.isOwnRelay(exchange.request.headers[Proxy.relayHeader]) { return StreamRoutes.ownRelay(exchange) }
        if let feeding = exchange.port.relayLoop(exchange.request, path: exchange.path) {
            return StreamRoutes.relayLoop(exchange, feeding: feeding)
        }
        let method = exchange.request.method
        if let route = routes.first(where: { $0.methods.contains(method) && matches($0.path, exchange) }) {
            return route.handle(exchange)
        }
        // A path some route answers, asked with another method (`POST /live`): 405, naming the methods it takes.
        if let allow = allowed(exchange) {
            refuseMethod(exchange, allow: allow)
        } else if routes.contains(where: { $0.methods.contains(method) }) {
            StreamRoutes.noMount(exchange)
        } else {
            exchange.answer(405, "Method Not Allowed", body: "\(method.rawValue) is not taken here.",
                            headers: ["Allow": Self.allowedMethods])
        }
    }

    /// `405` for a path that routes answer, asked with a method they do not take (`POST /live`), naming those they
    /// do (`allow`, ``allowed(_:)``), in JSON on the APIs, and one refusal line.
    func refuseMethod(_ exchange: Exchange, allow: String) {
        exchange.port.refusalLog("\(exchange.peer) refused: \(exchange.request.method.rawValue) \(exchange.path) (405, \(allow) only)")
        let message = "\(exchange.path) takes \(allow)."
        // The APIs answer JSON, their refusals too: a script reads `error` whatever went wrong.
        if ["/admin/", "/api/", "/commands/"].contains(where: exchange.path.hasPrefix) {
            return exchange.answer(405, "Method Not Allowed", body: JSONValue.object([("error", .text(message))]).encoded,
                                   headers: ["Allow": allow, "Content-Type": "application/json"])
        }
        exchange.answer(405, "Method Not Allowed", body: message, headers: ["Allow": allow])
    }

    /// The methods routes take on the exchange's path — with those every path takes (`OPTIONS`), and a station
    /// server's mount its sources' (`PUT`, `SOURCE`) — as an `Allow` header; `nil` if no route takes the path. The
    /// admin API, where there is one, takes no `HEAD` (``AdminRoutes/call(_:)`` refuses it: its calls act).
    func allowed(_ exchange: Exchange) -> String? {
        let specific = routes.filter { route in
            if case .any = route.path { return false }
            return matches(route.path, exchange)
        }
        guard !specific.isEmpty else { return nil }
        let everywhere = routes.filter { route in
            guard case .any = route.path else { return false }
            return !route.methods.contains(.put) || (exchange.port.mounts != nil && specific.first?.path == .mount)
        }
        var taken = Set(specific.flatMap(\.methods)).union(everywhere.flatMap { $0.methods })
        if exchange.port.mounts != nil, exchange.path.hasPrefix("/admin/") { taken.remove(.head) }
        return Request.Method.allCases.filter(taken.contains).map(\.rawValue).joined(separator: ", ")
    }

    /// The methods an encoder may use on the server, as an `Allow` header for `OPTIONS *` (RFC 9110 §9.3.7: a
    /// question about the server, not one resource) and a source's `401`: `GET, HEAD, OPTIONS` on every port,
    /// `SOURCE` and `PUT` on a station server's (sources publish there). libshout (ezstream, Mixxx, butt) reads the
    /// `Allow` of its first answers: it publishes with `PUT` only where it lists `PUT`, and sends its titles as a
    /// form in a `POST /admin/metadata` where it lists `POST` — so the command API's `POST`, which is the
    /// application's and lives under `/commands/` alone, is not listed here (its own `405`s say it), and libshout
    /// sets titles with the `GET` every tool uses.
    static func serverMethods(_ port: PortContext) -> String {
        var taken: Set<Request.Method> = [.get, .head, .options]
        if port.mounts != nil { taken.formUnion([.source, .put]) }
        return Request.Method.allCases.filter(taken.contains).map(\.rawValue).joined(separator: ", ")
    }

    private func matches(_ path: Path, _ exchange: Exchange) -> Bool {
        switch path {
        case .exact(let wanted): exchange.path == wanted
        case .prefix(let start): exchange.path.hasPrefix(start)
        case .mount: exchange.port.mount(at: exchange.path) != nil
        case .hls: HLSRoutes.matches(exchange)
        case .playlist: PlaylistRoutes.match(exchange) != nil
        case .any: true
        }
    }
}
