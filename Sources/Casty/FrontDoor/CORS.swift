internal import Icy

/// Cross-origin access for browsers (CORS): a page on another site may play a stream, read its `icy-*` headers
/// and titles (`fetch(url, {headers: {'Icy-MetaData': '1'}})`, as the icecast-metadata-js libraries do) and call
/// the status and API routes.
///
/// - A preflight `OPTIONS` is answered `204` with the origin allowed, the methods, the request headers a player
///   sends (`Icy-MetaData`, `Range`, `Content-Type`, `Authorization`, and those the page asks for) and how long
///   to cache that.
/// - Every `GET`/`HEAD` answer names the origin allowed and exposes the stream's headers to the page's script.
///
/// The allowed origins are ``ClientOptions/corsOrigins``: `*` by default (any site may play the stations, as with
/// any radio stream), or a list, in which case a listed `Origin` is echoed, other origins get no permission, and
/// every answer says `Vary: Origin`, so that a cache keeps them apart.
package enum CORS {
    /// The request headers a page may send.
    static let allowedHeaders = "Icy-MetaData, Range, Content-Type, Authorization"
    /// The answer headers a page's script may read: the stream's, when to ask again after a `503` (`Retry-After`),
    /// where a `206`'s part lies (`Content-Range`, for the `Range` it may send) and what to revalidate with (`ETag`) —
    /// none of which a script may read unless told.
    static let exposedHeaders =
        "Icy-MetaInt, Icy-Br, Icy-Name, Icy-Genre, Icy-Description, Icy-Url, Icy-Pub, Ice-Audio-Info, Retry-After, Content-Range, ETag"

    /// An origin as a browser writes it in `Origin` — `scheme://host[:port]`, both lowercased, without the
    /// scheme's default port or a trailing `/` — from one a person wrote (`https://Radio.Example:443/`), so that
    /// the two compare equal; `null` (a page opened from a file) as it is. `nil` for anything else (a path, no
    /// host): a listed origin that no browser could ever send would refuse every page without a word.
    package static func origin(_ text: some StringProtocol) -> String? {
        let written = text.lowercased()
        if written == "null" { return written }
        guard let separator = written.firstRange(of: "://") else { return nil }
        let scheme = written[..<separator.lowerBound]
        var authority = written[separator.upperBound...]
        if authority.hasSuffix("/") { authority = authority.dropLast() }
        guard let first = scheme.first, first.isLetter,
              scheme.allSatisfy({ $0.isLetter || $0.isNumber || "+-.".contains($0) }), isAuthority(authority) else { return nil }
        return "\(scheme)://\(withoutDefaultPort(authority, scheme: scheme))"
    }

    /// Whether `authority` is a `host[:port]` a browser could send: a name of letters, digits, `-`, `_` and `.` (no
    /// `*`: an origin is matched whole), or an IPv6 address in brackets, and a port from 1 to 65535.
    private static func isAuthority(_ authority: Substring) -> Bool {
        var host = authority, port: Substring?
        if let colon = authority.lastIndex(of: ":"), !authority[colon...].contains("]") {
            host = authority[..<colon]
            port = authority[authority.index(after: colon)...]
        }
        if let port, !(port.count <= 5 && port.allSatisfy { ("0"..."9").contains($0) } && (1...65535).contains(Int(port) ?? 0)) { return false }
        if host.hasPrefix("[") {
            return host.count > 2 && host.hasSuffix("]") && host.dropFirst().dropLast().allSatisfy { $0.isHexDigit || ":.".contains($0) }
        }
        return !host.isEmpty && host.allSatisfy { ($0.isASCII && ($0.isLetter || $0.isNumber)) || "-._".contains($0) }
    }

    /// Whether `origin` (as ``origin(_:)`` writes it) is the site the request was sent to: its host and port are
    /// the request's `Host` — a page this server served, or the TLS proxy in front of it that passes `Host` on
    /// (`proxy_set_header Host $http_host`). The check a WebSocket server makes of a page's `Origin` (RFC 6455
    /// §10.2): a page of its own site needs no listing.
    package static func isSameSite(_ origin: String, host: String?) -> Bool {
        guard let host, let separator = origin.firstRange(of: "://") else { return false }
        let scheme = origin[..<separator.lowerBound]
        let asked = withoutDefaultPort(Substring(host.lowercased()).trimmingSpaces, scheme: scheme)
        return !asked.isEmpty && origin[separator.upperBound...] == asked
    }

    /// `authority` (`host[:port]`) without the default port of `scheme` (`:80` for `http`, `:443` for `https`).
    private static func withoutDefaultPort(_ authority: Substring, scheme: Substring) -> Substring {
        guard let port = ["http": ":80", "https": ":443"][String(scheme)], authority.hasSuffix(port) else { return authority }
        return authority.dropLast(port.count)
    }

    /// `headers` with the headers that give `origin` access under `allowed` (``headers(origin:allowed:)``) added —
    /// `Vary` to the answer's own (`Vary: Accept` at `/` becomes `Vary: Accept, Origin`), each name once (a
    /// preflight's `Vary: Origin, Access-Control-Request-Headers` stays as it is).
    static func adding(to headers: inout Headers, origin: String?, allowed: [String]?) {
        for field in Self.headers(origin: origin, allowed: allowed).fields {
            if field.name == "Vary", let own = headers["Vary"] {
                let named = own.split(separator: ",").map { $0.trimmingSpaces.lowercased() }
                if !named.contains(field.value.lowercased()) { headers["Vary"] = own + ", " + field.value }
            } else {
                headers[field.name] = field.value
            }
        }
    }

    /// The headers that give `origin` access, under `allowed` (`nil`: any origin).
    static func headers(origin: String?, allowed: [String]?) -> Headers {
        var headers = Headers()
        if let allowed {
            // The answer depends on the Origin asked with, allowed or not: a cache (an HLS edge) must not hand the
            // answer without permission to the listed site, nor the other way round.
            headers["Vary"] = "Origin"
            guard let origin, allowed.contains(origin) else { return headers }
            headers["Access-Control-Allow-Origin"] = origin
        } else {
            headers["Access-Control-Allow-Origin"] = "*"
        }
        headers["Access-Control-Expose-Headers"] = exposedHeaders
        return headers
    }

    /// The headers a page asks to send besides those always allowed (`Access-Control-Request-Headers`: a token its
    /// player adds, as hls.js's `xhrSetup` does): allowed too, since no route acts on a header it does not know.
    /// Header names only (letters, digits and `!#$%&'*+-.^_`|~`), 20 at most, and none of those `allowed` already.
    static func asked(_ list: String?, besides allowed: String = allowedHeaders) -> [String] {
        guard let list else { return [] }
        let always = Set(allowed.lowercased().split(separator: ",").map { String($0.trimmingSpaces) })
        let token = { (name: Substring) in
            (1...64).contains(name.count) && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "!#$%&'*+-.^_`|~".contains($0)) }
        }
        let names = list.split(separator: ",").map(\.trimmingSpaces).filter { token($0) && !always.contains($0.lowercased()) }
        return names.prefix(20).map(String.init)
    }

    /// `OPTIONS`, any path: the preflight a browser sends before a request with `Icy-MetaData` or `Range`.
    static func preflight(_ exchange: Exchange) {
        var headers = headers(origin: exchange.request.headers["Origin"], allowed: exchange.port.options.corsOrigins)
        // The command API takes POST (`/commands/close`, naming the stream in headers), each command its own method;
        // the admin API GET only; every other path is read only.
        let commands = exchange.path.hasPrefix("/commands/")
        let admin = exchange.path.hasPrefix("/admin/")
        let methods = commands ? CommandRoutes.allowed(exchange.path) : admin ? "GET, OPTIONS" : "GET, HEAD, OPTIONS"
        headers["Access-Control-Allow-Methods"] = methods
        let allowed = allowedHeaders + (commands ? ", x-streaming-channel, x-streaming-id" : "")
        headers["Access-Control-Allow-Headers"] = allowed
            + asked(exchange.request.headers["Access-Control-Request-Headers"], besides: allowed).map { ", " + $0 }.joined()
        if exchange.request.headers["Access-Control-Request-Headers"] != nil {
            headers["Vary"] = (headers["Vary"].map { $0 + ", " } ?? "") + "Access-Control-Request-Headers"
        }
        headers["Access-Control-Max-Age"] = "86400"
        // What the path takes of any client (a station server's mount: its sources' `SOURCE` and `PUT` too), as a
        // `405` would name them; a browser's script may use `methods` of them.
        // `OPTIONS *` asks what the server takes anywhere (libshout's first question, before it publishes).
        headers["Allow"] = exchange.request.pathWithoutQuery == "*" ? Router.serverMethods(exchange.port)
            : commands || admin ? methods : Router.standard.allowed(exchange) ?? methods
        exchange.answer(204, "No Content", body: "", headers: headers)
    }
}
