internal import CastyWire
/// How Casty proves itself to the platform's application, or how the application proves itself to Casty: the
/// coordinator's three styles, written `basic:USER:PASSWORD`, `bearer:TOKEN` or `custom:HEADER-VALUE` (a whole
/// `Authorization` value). Never shown in a log: its ``description`` names the style only.
public struct AppAuth: Sendable, Equatable, CustomStringConvertible {
    /// The `Authorization` header value it stands for.
    public let headerValue: String
    private let style: String

    /// Reads `basic:USER:PASSWORD`, `bearer:TOKEN` or `custom:VALUE`; `nil` for anything else. Blanks and line
    /// ends around it are no part of it (a value read from a file or set as `"$(cat token)"` with its newline);
    /// a control character within it is refused: it would end the header it goes into (and start another).
    public init?(_ text: String) {
        let trimmed = text.unicodeScalars.drop { $0.properties.isWhitespace }.reversed().drop { $0.properties.isWhitespace }
        let clean = String(String.UnicodeScalarView(trimmed.reversed()))
        guard !clean.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else { return nil }
        let parts = clean.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[1].isEmpty else { return nil }
        switch parts[0].lowercased() {
        case "basic":
            guard parts[1].contains(":") else { return nil }
            headerValue = "Basic " + Base64.encode(Array(parts[1].utf8))
        case "bearer":
            headerValue = "Bearer " + parts[1]
        case "custom":
            headerValue = String(parts[1])
        default:
            return nil
        }
        style = parts[0].lowercased()
    }

    /// The `WWW-Authenticate` challenge of a `401` for these credentials: `Basic realm="…"` or `Bearer`; `nil` for a
    /// `custom:` value, whose scheme HTTP does not know.
    func challenge(realm: String) -> String? {
        switch style {
        case "basic": "Basic realm=\"\(realm)\""
        case "bearer": "Bearer"
        default: nil
        }
    }

    /// Whether a request's `Authorization` value is this one, the credentials compared in constant time. The
    /// scheme of `basic:` and `bearer:` is matched in any case (`bearer TOKEN`), as HTTP wants (RFC 9110, 11.1),
    /// and any number of spaces may follow it; a `custom:` value is matched exactly.
    public func admits(_ offered: String?) -> Bool {
        let expected = Array(headerValue.utf8)
        var given = Array((offered ?? "").utf8)
        let scheme = style == "custom" ? 0 : (expected.firstIndex(of: UInt8(ascii: " ")) ?? 0)
        if scheme > 0, given.count > scheme, given[scheme] == UInt8(ascii: " "),
           String(decoding: given[..<scheme], as: UTF8.self).lowercased() == String(decoding: expected[..<scheme], as: UTF8.self).lowercased() {
            // The scheme is no secret, nor are the spaces after it (one or more: RFC 9110, 11.4).
            let credentials = given[scheme...].drop { $0 == UInt8(ascii: " ") }
            given = Array(expected[...scheme]) + credentials
        }
        return Secret.constantTimeEqual(expected, given)
    }

    /// The style only, never the credentials.
    public var description: String { "AppAuth(\(style))" }
}
