internal import Icy

/// The player page a browser gets at `/` (with `Accept: text/html`) or `/player/<mount>`: one small HTML file —
/// no framework, no build step — committed in `Resources/player.html` and embedded in the binary. It lists the
/// mounts (`/api/mounts`), plays one in `<audio>`, and shows the station, the current title, the last titles
/// and the listener count, updated live by Server-Sent Events (`/api/mounts/<m>/events`).
enum PlayerPage {
    /// `GET /` from a browser, or `GET /player/…`.
    static func serve(_ exchange: Exchange) {
        exchange.answer(200, "OK", body: String(decoding: PackageResources.player_html, as: UTF8.self),
                        headers: ["Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-cache"])
    }

    /// `/favicon.ico`: none (without this route, a port of one stream would play the stream to a browser's icon
    /// request).
    static func noIcon(_ exchange: Exchange) {
        exchange.answer(404, "Not Found", body: "No icon here.")
    }

    /// Whether a request for `/` comes from a browser that wants a page rather than the stream.
    static func wanted(_ exchange: Exchange) -> Bool {
        exchange.path == "/" && (exchange.request.headers["Accept"]?.contains("text/html") ?? false)
    }
}
