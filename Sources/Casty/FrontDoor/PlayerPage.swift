internal import Icy

/// The player page a browser gets at `/` (with `Accept: text/html`) or `/player/<mount>`: one small HTML file —
/// no framework, no build step — committed in `Resources/player.html` and embedded in the binary. It lists the
/// mounts (`/api/mounts`), plays one in `<audio>`, and shows the station, the current title, the last titles
/// and the listener count, updated live over the title WebSocket (`/api/mounts/<m>/ws`), or by Server-Sent Events
/// (`/api/mounts/<m>/events`) where the WebSocket is refused.
enum PlayerPage {
    /// `GET /` from a browser, or `GET /player/…`.
    static func serve(_ exchange: Exchange) {
        exchange.answer(200, "OK", body: String(decoding: PackageResources.player_html, as: UTF8.self),
                        headers: varying(["Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-cache"], exchange))
    }

    /// `headers` with `Vary: Accept` for an answer at `/`, where a browser's page load (`Accept: text/html`) gets
    /// this page and another client the stream or a `404`: a shared cache keeps one answer per kind of request.
    static func varying(_ headers: Headers, _ exchange: Exchange) -> Headers {
        var headers = headers
        if exchange.path == "/" { headers["Vary"] = "Accept" }
        return headers
    }

    /// `/favicon.ico`, `/apple-touch-icon…`: none (without these routes, a port of one stream would play the stream
    /// to a browser's, or an iPhone's, icon request, holding a listener's place).
    static func noIcon(_ exchange: Exchange) {
        exchange.answer(404, "Not Found", body: "No icon here.")
    }

    /// `/robots.txt`: crawlers are asked to stay away — every path of a one-mount port is the stream, and a
    /// crawler following links would hold a listener's place for as long as it read.
    static func robots(_ exchange: Exchange) {
        exchange.answer(200, "OK", body: "User-agent: *\nDisallow: /\n", headers: ["Cache-Control": "max-age=86400"])
    }

    /// Whether a request for `/` comes from a browser that wants a page rather than the stream.
    static func wanted(_ exchange: Exchange) -> Bool {
        exchange.path == "/" && (exchange.request.headers["Accept"]?.contains("text/html") ?? false)
    }
}
