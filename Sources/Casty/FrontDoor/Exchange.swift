internal import CastyNet
internal import Icy

/// One request that came in through a ``FrontDoor``, with what a route needs to answer it.
struct Exchange {
    /// The request, as parsed.
    let request: Request
    /// The connection it came on. The route owns it from now on: it answers and closes it, or hands it on.
    let connection: Connection
    /// The peer's address, for log lines (the real client's, behind a trusted proxy).
    var peer: String
    /// The port it came to.
    let port: PortContext
    /// The client's IP address: the peer's, or, behind a trusted reverse proxy, what the proxy says it is.
    ///
    /// A proxy may add its `X-Forwarded-For` as a line of its own (HAProxy's `add-header`) after the one the
    /// client wrote: the lines are one list, as HTTP combines repeated fields (RFC 9110 §5.3), read from the right.
    /// Of several `X-Real-IP` lines, the last — the one the proxy added — is taken.
    var clientIP: String {
        let host = connection.remoteAddress?.host ?? peer
        guard let proxies = port.options.trustedProxies else { return host }
        let forwarded = request.headers.values("X-Forwarded-For")
        return proxies.client(peer: host, forwardedFor: forwarded.isEmpty ? nil : forwarded.joined(separator: ", "),
                              realIP: request.headers.values("X-Real-IP").last)
    }

    /// Bytes that came after the request's head: the start of a source's body, or a pipelined request.
    var rest: ArraySlice<UInt8> = []

    /// Requests answered on this connection before this one (see ``keepsAlive``).
    var served = 0

    /// The value of `name` in the request's query (`?mount=/live&song=…`), decoded (in `charset`; by default as
    /// UTF-8 when the bytes are that; a `+` a space unless `plusIsSpace` is `false`, ``URLQuery/decode(_:charset:plusIsSpace:)``);
    /// `nil` if absent.
    func query(_ name: String, charset: Charset = .utf8, plusIsSpace: Bool = true) -> String? {
        escapedQuery(name).map { URLQuery.decode($0, charset: charset, plusIsSpace: plusIsSpace) }
    }

    /// The value of `name` in the request's query as it was sent, its escapes not decoded (`""` for a name without
    /// `=`); `nil` if absent.
    private func escapedQuery(_ name: String) -> Substring? {
        guard let question = request.path.firstIndex(of: "?") else { return nil }
        return URLQuery.escapedValue(name, in: request.path[request.path.index(after: question)...])
    }

    /// A mount named in the request's query (`?mount=/live`, `&destination=/backup`), decoded as UTF-8 only
    /// (``URLQuery/decodeMount(_:)``): bytes that are not UTF-8 name no mount, as in a request's path, rather than
    /// another mount read as Windows-1252 (`/%FF` is not `/ÿ`); `nil` if absent.
    func mountQuery(_ name: String = "mount") -> String? {
        escapedQuery(name).map(URLQuery.decodeMount)
    }

    /// The request's path without its query, its `%XX` escapes decoded: `/live` for `GET /live?type=.mp3`,
    /// `/músic` for `GET /m%C3%BAsic` (``URLQuery/decodePath(_:)``).
    var path: String {
        let raw = request.pathWithoutQuery
        return URLQuery.decodePath(raw) ?? raw
    }

    /// Whether only the headers were asked for (`HEAD`).
    var headOnly: Bool { request.method == .head }

    /// Sends a short answer and closes the connection once it is out (see ``Connection/answer(_:_:body:headers:headOnly:timeout:)``)
    /// — or, if the client keeps its connection (``keepsAlive``), reads its next request then.
    func answer(_ code: Int, _ reason: String, body: String, headers: Headers = [:]) {
        answer(code, reason, bytes: Array((body.hasSuffix("\n") ? body : body + "\n").utf8), headers: headers)
    }

    /// Sends an answer whose body is `bytes` (a playlist, a segment) and closes the connection once it is out, or
    /// reads the next request then (``keepsAlive``).
    func answer(_ code: Int, _ reason: String, bytes: [UInt8], headers: Headers = [:]) {
        var headers = headers
        if request.method != .source, request.method != .put, headers["Access-Control-Allow-Origin"] == nil {
            CORS.adding(to: &headers, origin: request.headers["Origin"], allowed: port.options.corsOrigins)
        }
        logAccess(status: code, bytes: headOnly || code == 204 || code == 304 ? 0 : bytes.count)
        let keep = keepsAlive
        let widened = headOnly ? false : widenSendBuffer(for: bytes.count)
        connection.answer(code, reason, bytes: bytes, headers: headers, headOnly: headOnly, timeout: port.options.headerTimeout,
                          keepAlive: keep)
        if keep { readNext(narrowing: widened) }
    }
}

extension Exchange {
    /// The request's line in the access log (``ClientOptions/accessLog``): `status`, the body's `bytes` sent, and the
    /// whole `seconds` it lasted.
    func logAccess(status: Int, bytes: Int, seconds: Int = 0) {
        port.options.accessLog?.answered(
            address: clientIP, user: request.loginUser, request: request.accessLine, status: status, bytes: bytes,
            referer: request.headers["Referer"], agent: request.headers["User-Agent"], seconds: seconds)
    }
}

extension Request {
    /// The path without its query: `/live` for `GET /live?type=.mp3`.
    var pathWithoutQuery: String {
        path.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? path
    }
}
