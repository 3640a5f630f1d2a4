@testable import CastyNet
import Testing

@testable import Casty

struct NetSocketAddressTests {
    @Test func socketAddress_DescribesIPv4AndIPv6() throws {
        let v4 = try #require(SocketAddress(host: "127.0.0.1", port: 8000))
        let v6 = try #require(SocketAddress(host: "::1", port: 8000))
        #expect(v4.description == "127.0.0.1:8000")
        #expect(v6.description == "[::1]:8000")
        #expect(v4.family == .ipv4 && v6.family == .ipv6)
        #expect(v6.host == "::1" && v6.port == 8000)
    }

    @Test func socketAddress_AcceptsBracketedIPv6() {
        #expect(SocketAddress(host: "[::1]", port: 80) == SocketAddress.loopback(.ipv6, port: 80))
    }

    @Test func socketAddress_IsNil_WhenHostIsAName() {
        #expect(SocketAddress(host: "localhost", port: 80) == nil)
        #expect(SocketAddress(host: "256.1.1.1", port: 80) == nil)
    }

    @Test func socketAddress_IsHashableByValue() {
        let set: Set = [SocketAddress.loopback(port: 1), .loopback(port: 1), .loopback(port: 2), .any(.ipv6, port: 1)]
        #expect(set.count == 3)
    }

    @Test func resolver_ResolvesNumericHostsWithoutLookup() async throws {
        #expect(try await Resolver.resolve(host: "127.0.0.1", port: 8000) == [.loopback(port: 8000)])
        #expect(try await Resolver.resolve(host: "::1", port: 8000) == [.loopback(.ipv6, port: 8000)])
        #expect(try await Resolver.resolve(host: "[::1]", port: 9) == [.loopback(.ipv6, port: 9)])
    }

    @Test func resolver_ResolvesLocalhost() async throws {
        let addresses = try await Resolver.resolve(host: "localhost", port: 8000)
        #expect(!addresses.isEmpty)
        #expect(addresses.allSatisfy { $0.port == 8000 })
        #expect(addresses.contains(.loopback(port: 8000)) || addresses.contains(.loopback(.ipv6, port: 8000)))
    }

    @Test func socketError_DescribesErrnoFailures() {
        let error = SocketError.fromErrno(111, "connect to 127.0.0.1:1")
        #expect(error.description == "connect to 127.0.0.1:1 failed: connection refused (errno 111)")
        #expect(SocketError.fromErrno(11, "recv") == .blocked)
        #expect(SocketError.fromErrno(24, "accept") == .outOfDescriptors)
    }

    @Test func raiseFileDescriptorLimit_ReturnsAPositiveLimit() {
        #expect(raiseFileDescriptorLimit() > 0)
    }
}
