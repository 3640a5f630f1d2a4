internal import CastyWire
internal import Synchronization

/// The shared secret that closes a distribution tree to strangers, as a node holds it.
///
/// Without a key, anyone who can reach a tree node may ask for a place in the tree (`X-Casty-Branch`) and
/// take one of its few branch places — a stranger could fill the top of a tree with dead ends. With a key,
/// every branch sends it on every request to a parent (`X-Casty-Key: <key>`, also when it follows a
/// redirect), and every node that places branches — the root and the branches — refuses a branch request
/// without the right key with `403 Forbidden`. Media players need no key: they are served, never placed.
///
/// A node's ports and links share one `TreeKey` (it is a reference), so that a key rotated while the node runs
/// (``rotate(to:)``: `casty-cli` does it on SIGHUP, reading its `--tree-key-file` again) is sent from the next
/// request on and taken for new branches at once; the key it replaced is still admitted until the next rotation,
/// so that the branches still holding it keep re-attaching while each is given the new one.
///
/// The key is compared in constant time (every byte is looked at, whatever the first difference), so the
/// time of a refusal tells nothing about how much of a guess was right; it is never written to a log.
public final class TreeKey: Sendable, CustomStringConvertible {
    /// The request header a branch sends the key in.
    public static let header = "X-Casty-Key"

    /// The key sent and admitted, and the one it replaced (admitted too), if it was rotated.
    private let keys: Mutex<(current: [UInt8], previous: [UInt8]?)>

    /// A key made of `text`'s UTF-8 bytes, without the blanks around it; `nil` for a text that is empty or blank
    /// (no key at all is clearer than an empty one), or holds a control character. Blanks around a key could not be
    /// sent: a header's value loses them on the way (RFC 9110 §5.5), and a key file's trailing space — an editor's
    /// or `echo`'s — would lock every branch out of a tree whose nodes were all given the same file.
    public init?(_ text: String) {
        let key = Substring(text).withoutBlanks
        guard !key.isEmpty, !key.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else { return nil }
        keys = Mutex((Array(key.utf8), nil))
    }

    /// The key as sent in ``header``: the current one.
    public var headerValue: String { String(decoding: keys.withLock { $0.current }, as: UTF8.self) }

    /// Whether `offered` (the request's ``header``, if any) is this key — or the key it replaced at its last
    /// ``rotate(to:)`` —, compared in constant time: both are compared, whatever the first answer.
    public func admits(_ offered: String?) -> Bool {
        let (current, previous) = keys.withLock { ($0.current, $0.previous) }
        let offered = Array((offered ?? "").utf8)
        let isCurrent = Self.constantTimeEqual(current, offered)
        let isPrevious = previous.map { Self.constantTimeEqual($0, offered) } ?? false
        return isCurrent || isPrevious
    }

    /// Takes `new`'s key as this one from now on — sent from the next request on, and admitted — and keeps
    /// admitting the key it replaces until the next rotation that changes the key (the one before is then no longer
    /// admitted). Returns whether the key changed: `new` holding the same key changes nothing.
    @discardableResult
    public func rotate(to new: TreeKey) -> Bool {
        let key = new.keys.withLock { $0.current }
        return keys.withLock { keys in
            guard !Self.constantTimeEqual(keys.current, key) else { return false }
            keys = (key, keys.current)
            return true
        }
    }

    /// Never the key itself, so that it cannot end up in a log by accident.
    public var description: String { "TreeKey(\(keys.withLock { $0.current.count }) bytes)" }

    /// Whether `key` and `offered` hold the same bytes, in constant time (see ``Secret``).
    static func constantTimeEqual(_ key: [UInt8], _ offered: [UInt8]) -> Bool {
        Secret.constantTimeEqual(key, offered)
    }
}
