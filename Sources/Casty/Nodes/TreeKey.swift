internal import CastyWire

/// The shared secret that closes a distribution tree to strangers.
///
/// Without a key, anyone who can reach a tree node may ask for a place in the tree (`X-Casty-Branch`) and
/// take one of its few branch places — a stranger could fill the top of a tree with dead ends. With a key,
/// every branch sends it on every request to a parent (`X-Casty-Key: <key>`, also when it follows a
/// redirect), and every node that places branches — the root and the branches — refuses a branch request
/// without the right key with `403 Forbidden`. Media players need no key: they are served, never placed.
///
/// The key is compared in constant time (every byte is looked at, whatever the first difference), so the
/// time of a refusal tells nothing about how much of a guess was right; it is never written to a log.
public struct TreeKey: Sendable, CustomStringConvertible {
    /// The request header a branch sends the key in.
    public static let header = "X-Casty-Key"

    private let bytes: [UInt8]

    /// A key made of `text`'s UTF-8 bytes, without the blanks around it; `nil` for a text that is empty or blank
    /// (no key at all is clearer than an empty one), or holds a control character. Blanks around a key could not be
    /// sent: a header's value loses them on the way (RFC 9110 §5.5), and a key file's trailing space — an editor's
    /// or `echo`'s — would lock every branch out of a tree whose nodes were all given the same file.
    public init?(_ text: String) {
        let key = Substring(text).withoutBlanks
        guard !key.isEmpty, !key.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else { return nil }
        bytes = Array(key.utf8)
    }

    /// The key as sent in ``header``.
    public var headerValue: String { String(decoding: bytes, as: UTF8.self) }

    /// Whether `offered` (the request's ``header``, if any) is this key, compared in constant time.
    public func admits(_ offered: String?) -> Bool {
        Self.constantTimeEqual(bytes, Array((offered ?? "").utf8))
    }

    /// Never the key itself, so that it cannot end up in a log by accident.
    public var description: String { "TreeKey(\(bytes.count) bytes)" }

    /// Whether `key` and `offered` hold the same bytes, in constant time (see ``Secret``).
    static func constantTimeEqual(_ key: [UInt8], _ offered: [UInt8]) -> Bool {
        Secret.constantTimeEqual(key, offered)
    }
}
