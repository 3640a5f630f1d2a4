internal import Glibc

/// The reverse proxies (nginx terminating TLS, say) whose word Casty takes for who the client really is.
///
/// A request that comes from one of them and carries `X-Forwarded-For` or `X-Real-IP` is logged, listed,
/// authorized and verified under the address they name; from anywhere else those headers are ignored — a stranger
/// cannot choose the address Casty believes.
///
/// Each proxy appends the address it saw to `X-Forwarded-For`, so the header reads
/// `client, proxy1, proxy2` — but only the entries added by proxies Casty trusts are true: anything left of them
/// may be whatever the client wrote. So the header is read from the right, skipping the trusted proxies (a CDN,
/// then nginx, both trusted), and the first address that is not one of them is the client (nginx's
/// `real_ip_recursive on`). If every entry read is a trusted proxy, the leftmost of them is taken; an entry that
/// is not an address ends the walk there. At most ``maxForwardedHops`` entries are read.
public struct TrustedProxies: Sendable, Equatable {
    /// One address range: its bytes (4 for IPv4, 16 for IPv6) and how many leading bits must match.
    struct Range: Sendable, Equatable {
        let bytes: [UInt8]
        let bits: Int

        func contains(_ address: [UInt8]) -> Bool {
            guard address.count == bytes.count else { return false }
            for index in 0..<bytes.count {
                let remaining = bits - index * 8
                if remaining <= 0 { break }
                let mask: UInt8 = remaining >= 8 ? 0xFF : ~(0xFF >> UInt8(remaining))
                if address[index] & mask != bytes[index] & mask { return false }
            }
            return true
        }
    }

    private let ranges: [Range]

    /// The most `X-Forwarded-For` entries read, from the right: a chain of proxies is short, a header is not.
    static let maxForwardedHops = 16

    /// Ranges written `10.0.0.0/8`, `127.0.0.1`, `::1` or `fd00::/8`; `nil` if one of them is not an address.
    /// An IPv4 range also holds the same addresses IPv4-mapped (`::ffff:10.1.2.3`), as an IPv4 peer of a socket
    /// listening on IPv6 (`--host ::`) is named; and `::ffff:10.0.0.0/104` is `10.0.0.0/8`.
    public init?(_ texts: [String]) {
        var ranges: [Range] = []
        for text in texts {
            let parts = text.split(separator: "/", maxSplits: 1)
            guard let written = Self.writtenBytes(String(parts[0])) else { return nil }
            let bits = parts.count == 2 ? Int(parts[1]) : written.count * 8
            guard let bits, (0...written.count * 8).contains(bits) else { return nil }
            let address = Self.unmapped(written)
            let dropped = (written.count - address.count) * 8
            // A mapped range shorter than its 96 bits of prefix would hold IPv6 addresses that are no IPv4 one.
            guard bits >= dropped else { return nil }
            ranges.append(Range(bytes: address, bits: bits - dropped))
        }
        self.ranges = ranges
    }

    /// The client's address: `peer`'s, or — when `peer` is a trusted proxy — what its headers say.
    func client(peer: String, forwardedFor: String?, realIP: String?) -> String {
        guard let address = Self.bytes(peer), trusts(address) else { return peer }
        if let forwardedFor, let client = nearestUntrusted(forwardedFor) { return client }
        if let realIP, Self.bytes(realIP) != nil { return realIP }
        return peer
    }

    /// The scheme the client used: `https` when `peer` is a trusted proxy that says so (`X-Forwarded-Proto: https`,
    /// its first entry — a TLS terminator like nginx in front), else `http`, the scheme Casty itself speaks. Links
    /// Casty writes (a playlist's, `listenurl`) then keep a page on `https://` off mixed content.
    func scheme(peer: String, forwardedProto: String?) -> String {
        guard let address = Self.bytes(peer), trusts(address), let forwardedProto else { return "http" }
        let first = forwardedProto.split(separator: ",").first.map { $0.trimmingSpaces.lowercased() }
        return first == "https" ? "https" : "http"
    }

    /// Walks `X-Forwarded-For` from the right past the trusted proxies: the first address that is not one, or —
    /// when all that were read are — the leftmost of them; `nil` when the last entry is not an address.
    private func nearestUntrusted(_ header: String) -> String? {
        var rest = Substring(header)
        var farthestProxy: String?
        for _ in 0..<Self.maxForwardedHops {
            let comma = rest.lastIndex(of: ",")
            let entry = Self.withoutPort(rest[(comma.map { rest.index(after: $0) } ?? rest.startIndex)...].filter { $0 != " " && $0 != "\t" })
            guard let address = Self.bytes(entry) else { break }
            guard trusts(address) else { return entry }
            farthestProxy = entry
            guard let comma else { break }
            rest = rest[..<comma]
        }
        return farthestProxy
    }

    /// An `X-Forwarded-For` entry without the port some proxies add (Azure's, IIS's): `203.0.113.9:5555` is
    /// `203.0.113.9`, `[2001:db8::1]:443` is `2001:db8::1`; an IPv6 address without brackets is left whole.
    static func withoutPort(_ entry: String) -> String {
        if entry.hasPrefix("["), let close = entry.firstIndex(of: "]") {
            return String(entry[entry.index(after: entry.startIndex)..<close])
        }
        let colons = entry.filter { $0 == ":" }.count
        guard colons == 1, let colon = entry.firstIndex(of: ":") else { return entry }
        return String(entry[..<colon])
    }

    /// Whether `address` (its bytes) is one of the trusted proxies.
    private func trusts(_ address: [UInt8]) -> Bool {
        ranges.contains { $0.contains(address) }
    }

    /// The bytes of a numeric IPv4 or IPv6 address, an IPv4-mapped IPv6 one (`::ffff:127.0.0.1`) as its IPv4
    /// address's 4: one client, whether it reached a socket on IPv4 or on IPv6.
    static func bytes(_ text: String) -> [UInt8]? {
        writtenBytes(text).map(unmapped)
    }

    /// `address` without its IPv4-mapped prefix (`::ffff:0:0/96`, RFC 4291 §2.5.5.2), if it has one.
    private static func unmapped(_ address: [UInt8]) -> [UInt8] {
        guard address.count == 16, address.prefix(10).allSatisfy({ $0 == 0 }), address[10] == 0xFF, address[11] == 0xFF else { return address }
        return Array(address.suffix(4))
    }

    /// The bytes of a numeric IPv4 or IPv6 address, as written.
    private static func writtenBytes(_ text: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 { return withUnsafeBytes(of: &v4) { Array($0) } }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 { return withUnsafeBytes(of: &v6) { Array($0) } }
        return nil
    }
}
