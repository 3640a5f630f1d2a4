internal import Glibc

/// The reverse proxies (nginx terminating TLS, say) whose word Casty takes for who the client really is.
///
/// A request that comes from one of them and carries `X-Forwarded-For` (its last address: the one the proxy
/// itself saw) or `X-Real-IP` is logged, listed, authorized and verified under that address; from anywhere else
/// those headers are ignored — a stranger cannot choose the address Casty believes.
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

    /// Ranges written `10.0.0.0/8`, `127.0.0.1`, `::1` or `fd00::/8`; `nil` if one of them is not an address.
    public init?(_ texts: [String]) {
        var ranges: [Range] = []
        for text in texts {
            let parts = text.split(separator: "/", maxSplits: 1)
            guard let address = Self.bytes(String(parts[0])) else { return nil }
            let bits = parts.count == 2 ? Int(parts[1]) : address.count * 8
            guard let bits, (0...address.count * 8).contains(bits) else { return nil }
            ranges.append(Range(bytes: address, bits: bits))
        }
        self.ranges = ranges
    }

    /// The client's address: `peer`'s, or — when `peer` is a trusted proxy — what its headers say.
    func client(peer: String, forwardedFor: String?, realIP: String?) -> String {
        guard let address = Self.bytes(peer), ranges.contains(where: { $0.contains(address) }) else { return peer }
        let forwarded = forwardedFor?.split(separator: ",").last.map { String($0.filter { $0 != " " }) }
        for candidate in [forwarded, realIP] {
            if let candidate, Self.bytes(candidate) != nil { return candidate }
        }
        return peer
    }

    /// The bytes of a numeric IPv4 or IPv6 address.
    static func bytes(_ text: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 { return withUnsafeBytes(of: &v4) { Array($0) } }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 { return withUnsafeBytes(of: &v6) { Array($0) } }
        return nil
    }
}
