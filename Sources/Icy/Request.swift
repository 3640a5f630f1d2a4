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
/// (a source's audio, for instance). Empty lines before the request line are skipped (RFC 9112 §2.2: a client may
/// end a previous request's body with one). Fails on a malformed request line — a target that is not a path
/// (`/live`), an absolute URL or, for `OPTIONS`, `*` (§3.2) included —, an unknown method, a protocol version
/// other than HTTP/1.x (``IcyError/unsupportedVersion(_:)``: `HTTP/2.0`, the HTTP/2 preface's), a malformed header,
/// a bare CR in a line (§2.2), an HTTP/1.1 request without `Host` (§3.2; an HTTP/1.0 one, as old ICY players send,
/// needs none), or input over the ``IcyLimits``.
public func request(_ bytes: ArraySlice<UInt8>) -> Parse<Request> {
    mapHead(HeadReader(parseFirst: parseRequestLine, refusesBareCR: true, skipsLeadingEmptyLines: true).read(bytes)) { head in
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
/// the request line of old Shoutcast-era source clients, is HTTP/1.0. Any other target is malformed (§3.2): one
/// without its leading `/` (`status.json`), and `*` but for `OPTIONS` (§3.2.4).
@Sendable private func parseRequestLine(_ line: ArraySlice<UInt8>) -> Result<RequestLine, IcyError> {
    let parts = words(line, limit: 3)
    let text = IcyText.decode(line)
    guard parts.count == 3, !parts[0].isEmpty, parts[0].allSatisfy(isTokenByte), !parts[1].isEmpty,
          !parts[2].contains(UInt8(ascii: " ")) else {
        return .failure(.malformedRequestLine(text))
    }
    let methodText = String(decoding: parts[0], as: UTF8.self)
    let versionText = String(decoding: parts[2], as: UTF8.self)
    let version: Version
    if versionText == "ICE/1.0", methodText == Request.Method.source.rawValue {
        version = .http10
    } else {
        switch requestVersion(versionText) {
        case .success(let known?): version = known
        case .success(nil): return .failure(.malformedRequestLine(text))
        case .failure(let error): return .failure(error)
        }
    }
    guard let method = Request.Method(rawValue: methodText) else {
        return .failure(.unsupportedMethod(methodText))
    }
    let target = IcyText.decodeTarget(parts[1])
    guard let path = originForm(target), path != "*" || method == .options else {
        return .failure(.malformedRequestLine(text))
    }
    return .success(RequestLine(method: method, path: path, version: version))
}

/// The version a request line names (`HTTP/` digit `.` digit, RFC 9112 §2.3): `HTTP/1.0`, or `HTTP/1.1` for it and
/// any later `HTTP/1.x`, which is answered as the highest minor version the server speaks (RFC 9110 §2.5);
/// ``IcyError/unsupportedVersion(_:)`` for another major version (`HTTP/2.0`, `HTTP/0.9`); `nil` for no version.
private func requestVersion(_ text: String) -> Result<Version?, IcyError> {
    let bytes = Array(text.utf8)
    let isDigit = { (byte: UInt8) in (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) }
    guard bytes.count == 8, bytes.starts(with: "HTTP/".utf8), isDigit(bytes[5]), bytes[6] == UInt8(ascii: "."), isDigit(bytes[7]) else {
        return .success(nil)
    }
    guard bytes[5] == UInt8(ascii: "1") else { return .failure(.unsupportedVersion(text)) }
    return .success(bytes[7] == UInt8(ascii: "0") ? .http10 : .http11)
}

/// The path of a request target: itself when it is one (`/live?x`) or `*`, or, in absolute form
/// (`http://host:8000/live?x`), what follows the authority (`/live?x`; `/` when nothing does); `nil` for any other.
private func originForm(_ target: String) -> String? {
    let lowered = target.prefix(8).lowercased()
    guard lowered.hasPrefix("http://") || lowered.hasPrefix("https://") else {
        return target.hasPrefix("/") || target == "*" ? target : nil
    }
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
