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
    /// The first line of a request is not `METHOD path HTTP/1.x`.
    case malformedRequestLine(String)
    /// The first line of a reply is not `ICY 200 OK` or `HTTP/1.x code reason`.
    case malformedStatusLine(String)
    /// A header line is not `Name: value`.
    case malformedHeader(String)
    /// The request uses a method other than `GET`, `HEAD`, `SOURCE` or `PUT`.
    case unsupportedMethod(String)
    /// The request or reply speaks a protocol version other than HTTP/1.0, HTTP/1.1 or ICY.
    case unsupportedVersion(String)
    /// `icy-metaint` is not a whole number in ``IcyLimits/metaintRange``.
    case invalidMetaint(String)
    /// The server answered with a status that is neither success nor redirect (401, 403, 404, 503, …).
    case status(code: Int, reason: String)
    /// The server answered with a redirect but named no `Location` to go to.
    case redirectWithoutLocation(code: Int)
    /// The server sends the body in a transfer encoding a live ICY stream does not use (e.g. `chunked`).
    case unsupportedTransferEncoding(String)
    /// Metadata longer than 255 × 16 = 4080 bytes cannot be framed by one length byte.
    case metadataTooLong(bytes: Int)
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
        case .unsupportedMethod(let method): "unsupported method \(quoted(method))"
        case .unsupportedVersion(let version): "unsupported protocol version \(quoted(version))"
        case .invalidMetaint(let value): "icy-metaint must be a whole number from 1 to 1048576, got \(quoted(value))"
        case .status(let code, let reason): "server answered \(code) \(reason)"
        case .redirectWithoutLocation(let code): "redirect \(code) without a Location header"
        case .unsupportedTransferEncoding(let coding): "unsupported transfer encoding \(quoted(coding))"
        case .metadataTooLong(let bytes): "metadata of \(bytes) bytes is longer than 4080 (255 × 16)"
        }
    }
}

/// Quotes a piece of offending input for an error message, cut short so a huge line makes a short message.
private func quoted(_ text: String) -> String {
    let limit = 80
    let escaped = text.unicodeScalars.map { $0.isASCII && $0.value >= 0x20 && $0.value != 0x7F ? String($0) : $0.escaped(asASCII: true) }
    let short = escaped.count > limit ? escaped.prefix(limit).joined() + "…" : escaped.joined()
    return "\"\(short)\""
}
