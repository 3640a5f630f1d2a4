/// An `http://host:port/path` address of a stream: a Shoutcast/Icecast mount, or another Casty node — or an
/// `https://` one, reached through TLS (the system's OpenSSL, loaded when first needed).
public struct StreamURL: Sendable, Equatable, CustomStringConvertible {
    /// The host name or address (IPv6 without brackets).
    public var host: String
    /// The TCP port (80 when the URL names none).
    public var port: UInt16
    /// The path, at least `/`, with any query.
    public var path: String
    /// Whether it is an `https://` URL: the connection is TLS, and the server's certificate is checked.
    public var secure: Bool
    /// The login the URL carries (`http://user:password@host/`, its `%XX` escapes decoded), sent to the server
    /// as Basic auth (``authorization``), as Icecast's relays send theirs: never in ``description``, so never in
    /// a log line.
    public var login: String?

    /// Makes a URL from its parts.
    public init(host: String, port: UInt16, path: String = "/", secure: Bool = false) {
        self.host = host
        self.port = port
        self.path = path.hasPrefix("/") ? path : "/" + path
        self.secure = secure
    }

    /// Parses `http://host[:port][/path]` (port 80 unless written) or `https://…` (443); `[::1]` for IPv6 hosts.
    /// `nil` for anything else.
    public init?(_ text: String) {
        let lowered = text.lowercased()
        let secure = lowered.hasPrefix("https://")
        guard secure || lowered.hasPrefix("http://") else { return nil }
        let rest = text.dropFirst(secure ? "https://".count : "http://".count)
        var authority = rest.prefix { $0 != "/" && $0 != "?" }
        var path = String(rest.dropFirst(authority.count))
        if path.isEmpty || path.hasPrefix("?") { path = "/" + path }
        var login: String?
        if let at = authority.lastIndex(of: "@") {
            guard let decoded = Self.percentDecoded(authority[..<at]), !decoded.isEmpty else { return nil }
            login = decoded.contains(":") ? decoded : decoded + ":"
            authority = authority[authority.index(after: at)...]
        }
        guard let (host, port) = Self.authority(authority) else { return nil }
        self.init(host: host, port: port ?? (secure ? 443 : 80), path: path, secure: secure)
        self.login = login
    }

    /// The `Authorization` header value for ``login``, if the URL carries one.
    public var authorization: String? {
        login.map { "Basic " + Base64.encode(Array($0.utf8)) }
    }

    /// `text` with its `%XX` escapes decoded (a password may hold `@` or `:` written so); `nil` if an escape is
    /// broken or the bytes are not UTF-8.
    private static func percentDecoded(_ text: Substring) -> String? {
        PercentEscapes.unescaped(text, strict: true).flatMap { String(validating: $0, as: UTF8.self) }
    }

    /// Whether `text` is a node's address as a tree writes it — `host:port`, `[v6]:port`: letters, digits and
    /// `.-_:[]` only, a port, at most 270 characters — what `--advertise` takes and `X-Casty-Branch` must be, since
    /// a parent writes it into the `Location` of the redirects that send other branches there.
    package static func isNodeAddress(_ text: String) -> Bool {
        guard text.utf8.count <= 270, text.unicodeScalars.allSatisfy({ scalar in
            ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar) || ".-_:[]".unicodeScalars.contains(scalar)
        }) else { return false }
        return authority(Substring(text))?.port != nil
    }

    /// Reads `host[:port]`, `[v6]` or `[v6]:port`: the host without brackets, and the port if one is written;
    /// `nil` when the host is empty or holds `@`, the port is not 1–65535, or an IPv6 address has no brackets.
    package static func authority(_ authority: Substring) -> (host: String, port: UInt16?)? {
        let hostPart: Substring, portPart: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return nil }
            hostPart = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            guard after.isEmpty || after.hasPrefix(":") else { return nil }
            portPart = after.isEmpty ? nil : after.dropFirst()
        } else {
            let pieces = authority.split(separator: ":", omittingEmptySubsequences: false)
            guard pieces.count <= 2 else { return nil }
            hostPart = pieces[0]
            portPart = pieces.count == 2 ? pieces[1] : nil
        }
        guard !hostPart.isEmpty, !hostPart.contains("@") else { return nil }
        guard let portPart else { return (String(hostPart), nil) }
        guard let port = UInt16(portPart), port > 0 else { return nil }
        return (String(hostPart), port)
    }

    /// `host:port` as written in a `Host` header, with brackets around an IPv6 address.
    public var authority: String {
        (host.contains(":") ? "[\(host)]" : host) + (port == (secure ? 443 : 80) ? "" : ":\(port)")
    }

    /// The URL as text.
    public var description: String {
        "\(secure ? "https" : "http")://\(host.contains(":") ? "[\(host)]" : host):\(port)\(path)"
    }

    /// The URL as a log line may show it: a query, which may hold the application's token (`?token=…`), is
    /// written `?…`.
    public var shown: StreamURL {
        guard let question = path.firstIndex(of: "?") else { return self }
        return StreamURL(host: host, port: port, path: path[..<question] + "?…", secure: secure)
    }

    /// `text` — given as a URL, maybe not one Casty reads — as a log line or an error may show it: what follows a
    /// `?` is written `?…`, and a password before the host (`user:secret@host`) is written `user:…@`.
    public static func shown(_ text: String) -> String {
        var shown = String(text.prefix { $0 != "?" })
        if shown.count < text.count { shown += "?…" }
        let scheme = shown.firstRange(of: "://")?.upperBound ?? shown.startIndex
        let authorityEnd = shown[scheme...].firstIndex(of: "/") ?? shown.endIndex
        guard let at = shown[scheme..<authorityEnd].lastIndex(of: "@"),
              let colon = shown[scheme..<at].firstIndex(of: ":") else { return shown }
        return String(shown[...colon]) + "…" + String(shown[at...])
    }

    /// Where a redirect's `Location` points, relative to this URL (`/other` keeps host and port).
    public func resolving(_ location: String) -> StreamURL? {
        if var absolute = StreamURL(location) {
            // The login goes on to the same server only: a redirect elsewhere must not learn it.
            if absolute.login == nil, absolute.host == host, absolute.port == port, absolute.secure == secure { absolute.login = login }
            return absolute
        }
        guard location.hasPrefix("/") else { return nil }
        var relative = StreamURL(host: host, port: port, path: location, secure: secure)
        relative.login = login
        return relative
    }
}
