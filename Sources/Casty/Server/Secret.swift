/// A password or key that Casty checks but never shows: a source password, the admin password, a tree key.
///
/// It is compared in constant time — every byte is looked at, whatever the first difference — so the time a
/// refusal takes tells nothing about how much of a guess was right; its ``description`` never shows it, so it
/// cannot end up in a log by accident.
public struct Secret: Sendable, CustomStringConvertible {
    private let bytes: [UInt8]

    /// A secret made of `text`'s UTF-8 bytes; `nil` for an empty text (no secret is clearer than an empty one).
    public init?(_ text: String) {
        guard !text.isEmpty else { return nil }
        bytes = Array(text.utf8)
    }

    /// Whether `offered` is this secret, compared in constant time.
    public func matches(_ offered: String?) -> Bool {
        Self.constantTimeEqual(bytes, Array((offered ?? "").utf8))
    }

    /// Whether two optional secrets are the same (both absent, or the same bytes), compared in constant time: a
    /// configuration read again says that a password changed, never what it is.
    static func same(_ one: Secret?, _ other: Secret?) -> Bool {
        switch (one, other) {
        case (nil, nil): true
        case (let one?, let other?): constantTimeEqual(one.bytes, other.bytes)
        default: false
        }
    }

    /// How a secret went from `old` to `new`, for the line a configuration read again logs — `set` (there was
    /// none), `removed` or `changed` —, or `nil` if it is the same: never what it is.
    static func change(from old: Secret?, to new: Secret?) -> String? {
        switch (old, new) {
        case (nil, nil): nil
        case (nil, _?): "set"
        case (_?, nil): "removed"
        case (let old?, let new?): same(old, new) ? nil : "changed"
        }
    }

    /// How the secrets of `old` and `new`, by mount, changed, one phrase per kind of change, `what` naming them
    /// (`mount password of /news set`, `… of /a, /b changed`, `… removed`): never a secret.
    static func changes(_ what: String, from old: [String: Secret], to new: [String: Secret]) -> [String] {
        changes(what, of: Set(old.keys).union(new.keys)) { change(from: old[$0], to: new[$0]) }
    }

    /// One phrase per kind of change — `set`, `changed`, `removed`, as `how` tells each of `mounts`'s (`nil`: none) —
    /// of a setting by mount, `what` naming it: `mount user of /a, /b set`.
    static func changes(_ what: String, of mounts: Set<String>, how: (String) -> String?) -> [String] {
        var changed: [String: [String]] = [:]
        for mount in mounts.sorted() {
            if let how = how(mount) { changed[how, default: []].append(mount) }
        }
        return ["set", "changed", "removed"].compactMap { how in changed[how].map { "\(what) of \($0.joined(separator: ", ")) \(how)" } }
    }

    /// Never the secret itself.
    public var description: String { "Secret(\(bytes.count) bytes)" }

    /// Whether `secret` and `offered` hold the same bytes, in a time that depends only on `secret`'s length:
    /// every byte of `secret` is XORed with the byte at the same place in `offered` (or 0 past its end), the
    /// differences are ORed together with the difference in length, and the answer is read once at the end.
    static func constantTimeEqual(_ secret: [UInt8], _ offered: [UInt8]) -> Bool {
        var difference = UInt64(truncatingIfNeeded: secret.count ^ offered.count)
        for index in 0..<secret.count {
            let other = index < offered.count ? offered[index] : 0
            difference |= UInt64(secret[index] ^ other)
        }
        return difference == 0
    }
}
