/// Everything that can be wrong with ICY bytes, each case saying what and where.
///
/// Parsers never crash and never buffer without bound: when input breaks the protocol or one of the
/// ``IcyLimits``, the parse step fails with one of these.
public enum IcyError: Error, Equatable, Sendable {
    /// A request or status line, or one header line, is longer than ``IcyLimits/maxLineBytes``.
    case lineTooLong(limit: Int)
    /// The header lines together are longer than ``IcyLimits/maxHeaderBytes``.
    case headersTooLarge(limit: Int)
    /// There are more header lines than ``IcyLimits/maxHeaderCount``.
    case tooManyHeaders(limit: Int)
    /// The first line of a request is not `METHOD target HTTP/x.y`, or its target is none a server takes: a path
    /// (`/live`), an absolute URL, or `*` for `OPTIONS`.
    case malformedRequestLine(String)
    /// The first line of a reply is not `ICY 200 OK` or `HTTP/1.x code reason`.
    case malformedStatusLine(String)
    /// A header line is not `Name: value`.
    case malformedHeader(String)
    /// An HTTP/1.1 request names no `Host`: RFC 9112 §3.2 has a server answer it `400`.
    case missingHost
    /// The request uses a method other than `GET`, `HEAD`, `SOURCE`, `PUT`, `POST` or `OPTIONS` (``Request/Method``).
    case unsupportedMethod(String)
    /// The request speaks a major version other than HTTP/1 (`HTTP/2.0`: a server answers it `505`; any `HTTP/1.x`
    /// is read as HTTP/1.1), or the reply a protocol version other than HTTP/1.0, HTTP/1.1 or ICY.
    case unsupportedVersion(String)
    /// `icy-metaint` is not a whole number in ``IcyLimits/metaintRange``.
    case invalidMetaint(String)
    /// The same header came twice with values that disagree (`icy-metaint: 8192` and `icy-metaint: 16000`):
    /// the reader cannot know which one the bytes follow, so it refuses rather than guess.
    case conflictingHeader(name: String, first: String, second: String)
    /// The server answered with a status that is neither success nor redirect (401, 403, 404, 503, …).
    case status(code: Int, reason: String)
    /// The server answered with a redirect but named no `Location` to go to.
    case redirectWithoutLocation(code: Int)
    /// The server sends the body in a transfer encoding a live ICY stream does not use (`chunked`,
    /// `gzip, chunked`, …): any `Transfer-Encoding` header other than `identity`, wherever it stands in the head.
    case unsupportedTransferEncoding(String)
    /// Metadata longer than 255 × 16 = 4080 bytes cannot be framed by one length byte.
    case metadataTooLong(bytes: Int)
}

extension IcyError {
    /// The problem without the bytes that show it: two garbage answers are one kind of problem, whatever their
    /// bytes (how a node that retries sums repeated failures up).
    public var kind: String {
        switch self {
        case .malformedRequestLine: "malformed request line"
        case .malformedStatusLine: "not an ICY or HTTP status line"
        case .malformedHeader: "malformed header line"
        case .unsupportedMethod: "unsupported method"
        case .unsupportedVersion: "unsupported protocol version"
        case .invalidMetaint: "invalid icy-metaint"
        case .conflictingHeader(let name, _, _): "conflicting \(name) headers"
        case .status(let code, _): "server answered \(code)"
        case .unsupportedTransferEncoding: "unsupported transfer encoding"
        case .lineTooLong, .headersTooLarge, .tooManyHeaders, .missingHost, .redirectWithoutLocation, .metadataTooLong: description
        }
    }
}

extension IcyError: CustomStringConvertible {
    /// One line that names the problem, for logs and for the body of a `400 Bad Request`.
    public var description: String {
        switch self {
        case .lineTooLong(let limit): "line longer than \(limit) bytes"
        case .headersTooLarge(let limit): "headers longer than \(limit) bytes in total"
        case .tooManyHeaders(let limit): "more than \(limit) header lines"
        case .malformedRequestLine(let line): "malformed request line: \(quoted(line))"
        case .malformedStatusLine(let line): "not an ICY or HTTP status line: \(quoted(line))"
        case .malformedHeader(let line): "malformed header line: \(quoted(line))"
        case .missingHost: "HTTP/1.1 request without a Host header"
        case .unsupportedMethod(let method): "unsupported method \(quoted(method))"
        case .unsupportedVersion(let version): "unsupported protocol version \(quoted(version))"
        case .invalidMetaint(let value): "icy-metaint must be a whole number from 1 to 1048576, got \(quoted(value))"
        case .conflictingHeader(let name, let first, let second):
            "conflicting \(name) headers: \(quoted(first)) and \(quoted(second))"
        case .status(let code, let reason): "server answered \(code) \(escaped(reason, limit: 80, asciiOnly: false))"
        case .redirectWithoutLocation(let code): "redirect \(code) without a Location header"
        case .unsupportedTransferEncoding(let coding): "unsupported transfer encoding \(quoted(coding))"
        case .metadataTooLong(let bytes): "metadata of \(bytes) bytes is longer than 4080 (255 × 16)"
        }
    }
}

/// Quotes a piece of offending input for an error message, cut short so a huge line makes a short message.
func quoted(_ text: String, limit: Int = 80, asciiOnly: Bool = true) -> String {
    "\"\(escaped(text, limit: limit, asciiOnly: asciiOnly))\""
}

/// The text with control characters, line separators and bidirectional controls (and, when `asciiOnly`,
/// everything outside ASCII) written as escapes — `\r`,
/// `\n`, `\t`, `\e` for ESC, `\x07` below 0x80, `\u{c8}` above, as Casty's log writes them —, cut to `limit`
/// characters: safe to put in one log line, whoever wrote the text. (CastyNet's `SafeText.logLine` writes the same
/// escapes; the two cannot share code, since Icy depends on nothing and CastyNet knows no ICY.)
func escaped(_ text: String, limit: Int, asciiOnly: Bool = true) -> String {
    var written = 0
    var cut = false
    var pieces: [String] = []
    for scalar in text.unicodeScalars {
        let piece = escape(scalar, asciiOnly: asciiOnly)
        // The limit counts what is written: escapes too (a line of control bytes is four times as long escaped).
        guard written + piece.count <= limit else {
            cut = true
            break
        }
        written += piece.count
        pieces.append(piece)
    }
    return pieces.joined() + (cut ? "…" : "")
}

/// One scalar as ``escaped(_:limit:asciiOnly:)`` writes it.
private func escape(_ scalar: Unicode.Scalar, asciiOnly: Bool) -> String {
    // Control characters, line and paragraph separators, and the bidirectional controls that would reorder the
    // rest of a log line (U+202A–U+202E, U+2066–U+2069), as CastyNet's `SafeText.logLine` escapes them.
    let value = scalar.value
    let control = value < 0x20 || (0x7F...0x9F).contains(value) || value == 0x2028 || value == 0x2029
        || (0x202A...0x202E).contains(value) || (0x2066...0x2069).contains(value)
    guard control || (asciiOnly && !scalar.isASCII) else { return String(scalar) }
    switch scalar {
    case "\n": return "\\n"
    case "\r": return "\\r"
    case "\t": return "\\t"
    case "\u{1B}": return "\\e"
    default:
        let hex = String(scalar.value, radix: 16)
        return scalar.value < 0x80 ? "\\x" + (hex.count < 2 ? "0" : "") + hex : "\\u{\(hex)}"
    }
}
