internal import CastyWire
/// HTTP Basic credentials (`Authorization: Basic base64(user:password)`), as sources and admins send them.
///
/// Icecast's sources send `source:<password>` (the user name is mostly ignored); admins `admin:<password>`.
struct BasicAuth: Sendable, Equatable {
    /// The user name.
    let user: String
    /// The password. Never logged.
    let password: String

    /// The credentials of an `Authorization` header value, or `nil` if it is not well-formed Basic. They are read
    /// as UTF-8, or — bytes that are not UTF-8 (an encoder that writes Latin-1, `pass\u{E9}`) — as Latin-1, each
    /// byte a character, as clients wrote Basic before RFC 7617 (whose default charset is unspecified): `passé`,
    /// not a login taken for none.
    init?(header: String?) {
        guard let header else { return nil }
        let parts = header.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "basic", let decoded = Base64.decode(parts[1].trimmingSpaces) else { return nil }
        let text = String(validating: decoded, as: UTF8.self) ?? String(String.UnicodeScalarView(decoded.map(Unicode.Scalar.init)))
        guard let colon = text.firstIndex(of: ":") else { return nil }
        user = String(text[..<colon])
        password = String(text[text.index(after: colon)...])
    }
}

extension Substring {
    /// Without blanks — spaces and tabs, a header value's optional whitespace (RFC 9110 §5.6.3) — at either end.
    var trimmingSpaces: Substring {
        var text = self
        while text.first == " " || text.first == "\t" { text.removeFirst() }
        while text.last == " " || text.last == "\t" { text.removeLast() }
        return text
    }
}
