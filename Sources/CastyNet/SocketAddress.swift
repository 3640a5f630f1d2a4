internal import CCastySystem
internal import Glibc

/// An IPv4 or IPv6 address together with a TCP port, such as `127.0.0.1:8000` or `[::1]:8000`.
///
/// This is the Swift face of the C `sockaddr_in` / `sockaddr_in6` structures. Make one from a
/// numeric host with ``init(host:port:)``, or get several from a name with ``Resolver``.
public struct SocketAddress: Sendable, Hashable, CustomStringConvertible {
    /// The two address families the Net layer speaks.
    public enum Family: Sendable, Hashable {
        /// IPv4, 32-bit addresses such as `192.0.2.1` (`AF_INET`).
        case ipv4
        /// IPv6, 128-bit addresses such as `2001:db8::1` (`AF_INET6`).
        case ipv6

        /// The C constant for this family (`AF_INET` or `AF_INET6`).
        var rawValue: Int32 { self == .ipv4 ? AF_INET : AF_INET6 }
    }

    private enum Storage {
        case v4(sockaddr_in)
        case v6(sockaddr_in6)
    }

    private let storage: Storage

    /// Parses a *numeric* host (`"127.0.0.1"`, `"::1"` or `"[::1]"`) and pairs it with `port`.
    ///
    /// Returns `nil` when `host` is not a numeric address; use ``Resolver/resolve(host:port:)``
    /// for names such as `"localhost"`.
    public init?(host: String, port: UInt16) {
        var text = Substring(host)
        if text.hasPrefix("["), text.hasSuffix("]") { text = text.dropFirst().dropLast() }
        var v4 = in_addr()
        var v6 = in6_addr()
        if inet_pton(AF_INET, String(text), &v4) == 1 {
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = port.bigEndian
            address.sin_addr = v4
            storage = .v4(address)
        } else if inet_pton(AF_INET6, String(text), &v6) == 1 {
            var address = sockaddr_in6()
            address.sin6_family = sa_family_t(AF_INET6)
            address.sin6_port = port.bigEndian
            address.sin6_addr = v6
            storage = .v6(address)
        } else {
            return nil
        }
    }

    /// The loopback address of `family` (`127.0.0.1` or `::1`) with `port`.
    public static func loopback(_ family: Family = .ipv4, port: UInt16) -> SocketAddress {
        SocketAddress(host: family == .ipv4 ? "127.0.0.1" : "::1", port: port)!
    }

    /// The wildcard address of `family` (`0.0.0.0` or `::`) with `port`: listen on every interface.
    ///
    /// On Linux a socket bound to `::` also accepts IPv4 clients unless `net.ipv6.bindv6only` is set.
    public static func any(_ family: Family = .ipv4, port: UInt16) -> SocketAddress {
        SocketAddress(host: family == .ipv4 ? "0.0.0.0" : "::", port: port)!
    }

    /// Reads an address that the kernel wrote into a `sockaddr_storage` (accept, getsockname, getaddrinfo).
    ///
    /// Returns `nil` for families other than IPv4 and IPv6.
    init?(storage raw: sockaddr_storage) {
        var raw = raw
        switch Int32(raw.ss_family) {
        case AF_INET:
            storage = .v4(withUnsafeBytes(of: &raw) { $0.load(as: sockaddr_in.self) })
        case AF_INET6:
            storage = .v6(withUnsafeBytes(of: &raw) { $0.load(as: sockaddr_in6.self) })
        default:
            return nil
        }
    }

    /// Reads an address from a `sockaddr` pointer of `length` bytes (as getaddrinfo returns them).
    init?(pointer: UnsafePointer<sockaddr>, length: socklen_t) {
        var raw = sockaddr_storage()
        let count = min(Int(length), MemoryLayout<sockaddr_storage>.size)
        withUnsafeMutableBytes(of: &raw) { target in
            target.copyMemory(from: UnsafeRawBufferPointer(start: pointer, count: count))
        }
        self.init(storage: raw)
    }

    /// Calls `body` with a `sockaddr` pointer and its length, for bind and connect.
    func withSockAddr<R, E: Error>(_ body: (UnsafePointer<sockaddr>, socklen_t) throws(E) -> R) throws(E) -> R {
        switch storage {
        case .v4(var address):
            return try withUnsafePointer(to: &address) { (pointer) throws(E) -> R in
                try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { (raw) throws(E) -> R in
                    try body(raw, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
        case .v6(var address):
            return try withUnsafePointer(to: &address) { (pointer) throws(E) -> R in
                try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { (raw) throws(E) -> R in
                    try body(raw, socklen_t(MemoryLayout<sockaddr_in6>.size))
                }
            }
        }
    }

    /// Whether this is an IPv4 or an IPv6 address.
    public var family: Family {
        switch storage {
        case .v4: return .ipv4
        case .v6: return .ipv6
        }
    }

    /// The TCP port, in host byte order.
    public var port: UInt16 {
        switch storage {
        case .v4(let address): return UInt16(bigEndian: address.sin_port)
        case .v6(let address): return UInt16(bigEndian: address.sin6_port)
        }
    }

    /// The numeric host, without brackets: `"127.0.0.1"` or `"::1"`.
    public var host: String {
        withUnsafeTemporaryAllocation(of: CChar.self, capacity: Int(INET6_ADDRSTRLEN) + 1) { buffer in
            switch storage {
            case .v4(var address):
                _ = inet_ntop(AF_INET, &address.sin_addr, buffer.baseAddress!, socklen_t(buffer.count))
            case .v6(var address):
                _ = inet_ntop(AF_INET6, &address.sin6_addr, buffer.baseAddress!, socklen_t(buffer.count))
            }
            return String(cString: buffer.baseAddress!)
        }
    }

    /// `host:port`, with IPv6 hosts in brackets: `127.0.0.1:8000`, `[::1]:8000`.
    public var description: String {
        family == .ipv6 ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    /// The address bytes (4 or 16), used for equality and hashing.
    private var addressBytes: [UInt8] {
        switch storage {
        case .v4(var address): return withUnsafeBytes(of: &address.sin_addr) { Array($0) }
        case .v6(var address): return withUnsafeBytes(of: &address.sin6_addr) { Array($0) }
        }
    }

    private var scopeID: UInt32 {
        if case .v6(let address) = storage { return address.sin6_scope_id }
        return 0
    }

    /// Two addresses are equal when family, host bytes, port (and IPv6 scope) match.
    public static func == (lhs: SocketAddress, rhs: SocketAddress) -> Bool {
        lhs.family == rhs.family && lhs.port == rhs.port && lhs.scopeID == rhs.scopeID
            && lhs.addressBytes == rhs.addressBytes
    }

    /// Hashes the same parts that ``==(_:_:)`` compares.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(family)
        hasher.combine(port)
        hasher.combine(scopeID)
        hasher.combine(addressBytes)
    }
}
