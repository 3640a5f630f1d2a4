/// What a listener (a media player, or a branch of the tree) asks for: `GET /path HTTP/1.0` and headers.
///
/// A player that wants titles sends `Icy-MetaData: 1`; the server then interleaves metadata blocks with the
/// audio (see ``Segment``). Sources that push a stream into a server use `SOURCE` (Shoutcast, old Icecast)
/// or `PUT` (Icecast 2.4+).
public struct Request: Sendable, Equatable {
    /// What the peer wants done.
    public enum Method: String, Sendable, Equatable, CaseIterable {
        /// Play the stream: the listener's method.
        case get = "GET"
        /// The reply's headers only, no audio.
        case head = "HEAD"
        /// A source pushes a stream in (Shoutcast and Icecast before 2.4).
        case source = "SOURCE"
        /// A source pushes a stream in (Icecast 2.4 and later).
        case put = "PUT"
        /// An application calls the server (a command), or a form is sent.
        case post = "POST"
        /// A browser asks, before a cross-origin request, what the server allows (CORS); libshout probes TLS.
        case options = "OPTIONS"
    }

    /// The method: `GET` for listeners.
    public var method: Method
    /// The requested path (Icecast calls it the mount, the textbook the feed), exactly as sent: `/`, `/live.mp3` —
    /// but for bytes that are not UTF-8, each written as its `%XX` escape (``IcyText/decodeTarget(_:)``).
    public var path: String
    /// `HTTP/1.0` or `HTTP/1.1`.
    public var version: Version
    /// The request's header lines.
    public var headers: Headers

    /// Makes a request.
    public init(method: Method = .get, path: String, version: Version = .http10, headers: Headers = [:]) {
        self.method = method
        self.path = path
        self.version = version
        self.headers = headers
    }

    /// Whether the peer asked for metadata blocks with `Icy-MetaData: 1`.
    public var wantsMetadata: Bool {
        headers["icy-metadata"].flatMap { Int($0) }.map { $0 >= 1 } ?? false
    }
}

/// The protocol named in a request or status line.
public enum Version: String, Sendable, Equatable {
    /// `ICY`: Shoutcast's status line, `ICY 200 OK`. Never used in requests.
    case icy = "ICY"
    /// `HTTP/1.0`, what players and Icecast use for streams.
    case http10 = "HTTP/1.0"
    /// `HTTP/1.1`.
    case http11 = "HTTP/1.1"
}

/// Starts parsing a request from its first bytes.
///
/// Done once the empty line after the headers has arrived; the `rest` is whatever the peer sent after it
/// (a source's audio, for instance). Fails on a malformed request line, an unknown method, a version other
/// than HTTP/1.0 or 1.1, a malformed header, a bare CR in a line (RFC 9112 §2.2), an HTTP/1.1 request without
/// `Host` (§3.2; an HTTP/1.0 one, as old ICY players send, needs none), or input over the ``IcyLimits``.
public func request(_ bytes: ArraySlice<UInt8>) -> Parse<Request> {
    mapHead(HeadReader(parseFirst: parseRequestLine, refusesBareCR: true).read(bytes)) { head in
        guard head.first.version != .http11 || head.headers["Host"] != nil else { return .failure(.missingHost) }
        return .success(Request(method: head.first.method, path: head.first.path, version: head.first.version, headers: head.headers))
    }
}

/// Starts parsing a request from its first bytes.
public func request(_ bytes: [UInt8]) -> Parse<Request> {
    request(bytes[...])
}

private struct RequestLine: Sendable {
    var method: Request.Method
    var path: String
    var version: Version
}

/// `METHOD SP target SP HTTP/1.x`.
///
/// Two old forms are read too: a target in absolute form (`GET http://host:8000/live HTTP/1.1`, which a server
/// must accept, RFC 9112 §3.2.2: some proxies and old players send it) is its path, and `SOURCE /live ICE/1.0`,
/// the request line of old Shoutcast-era source clients, is HTTP/1.0.
@Sendable private func parseRequestLine(_ line: ArraySlice<UInt8>) -> Result<RequestLine, IcyError> {
    let parts = words(line, limit: 3)
    let text = IcyText.decode(line)
    guard parts.count == 3, !parts[0].isEmpty, parts[0].allSatisfy(isTokenByte), !parts[1].isEmpty,
          !parts[2].contains(UInt8(ascii: " ")) else {
        return .failure(.malformedRequestLine(text))
    }
    let methodText = String(decoding: parts[0], as: UTF8.self)
    var versionText = String(decoding: parts[2], as: UTF8.self)
    if versionText == "ICE/1.0", methodText == Request.Method.source.rawValue { versionText = Version.http10.rawValue }
    guard let version = Version(rawValue: versionText), version != .icy else {
        return .failure(versionText.hasPrefix("HTTP/") ? .unsupportedVersion(versionText) : .malformedRequestLine(text))
    }
    guard let method = Request.Method(rawValue: methodText) else {
        return .failure(.unsupportedMethod(methodText))
    }
    return .success(RequestLine(method: method, path: originForm(IcyText.decodeTarget(parts[1])), version: version))
}

/// The path of a request target: itself, or, in absolute form (`http://host:8000/live?x`), what follows the
/// authority (`/live?x`; `/` when nothing does).
private func originForm(_ target: String) -> String {
    let lowered = target.prefix(8).lowercased()
    guard lowered.hasPrefix("http://") || lowered.hasPrefix("https://") else { return target }
    let afterScheme = target[target.index(target.firstIndex(of: ":")!, offsetBy: 3)...]
    guard let start = afterScheme.firstIndex(where: { $0 == "/" || $0 == "?" }) else { return "/" }
    let rest = afterScheme[start...]
    return rest.hasPrefix("?") ? "/" + rest : String(rest)
}

/// Turns a finished head into a value, passing `more` and `failed` through.
func mapHead<First, Value>(
    _ step: Parse<Head<First>>,
    _ transform: @escaping @Sendable (Head<First>) -> Result<Value, IcyError>
) -> Parse<Value> {
    switch step {
    case .done(let head, let rest):
        switch transform(head) {
        case .success(let value): .done(value, rest: rest)
        case .failure(let error): .failed(error)
        }
    case .more(let next):
        .more(Continuation { bytes in mapHead(next(bytes), transform) })
    case .failed(let error):
        .failed(error)
    }
}
