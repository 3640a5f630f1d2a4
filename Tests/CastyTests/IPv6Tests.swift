@testable import CastyNet
import Testing

@testable import Casty

/// A port bound to `::` (`--host ::`) serves IPv6 players and, on a default Linux system, IPv4 players too;
/// status lines and logs show IPv6 peers in brackets.
struct IPv6Tests {
    let loop = EventLoop.shared

    @Test func portOnEveryIPv6Interface_ServesIPv6AndIPv4Players() async throws {
        let distributor = Distributor(loop: loop, configuration: try .init(burst: 0))
        distributor.send(.reply(next: 0, context: testContext()))
        let lines = Locked<[String]>([])
        let port = try ClientPort(distributor: distributor, address: .any(.ipv6, port: 0),
                                  logger: EventLog { line in lines.update { $0.append(line) } })
        #expect(port.address.family == .ipv6)
        let overIPv6 = try await TestPeer.connect(to: .loopback(.ipv6, port: port.address.port), on: loop)
        let overIPv4 = try await TestPeer.connect(to: .loopback(.ipv4, port: port.address.port), on: loop)
        await overIPv6.send("GET / HTTP/1.0\r\n\r\n")
        await overIPv4.send("GET / HTTP/1.0\r\n\r\n")
        #expect(await eventually { await distributor.stat().listeners == 2 })
        for segment in testSegments(2) { distributor.send(.data(segment.number, segment)) }
        #expect(await overIPv6.waitFor { $0.count >= 2000 })
        #expect(await overIPv4.waitFor { $0.count >= 2000 })
        #expect(overIPv6.text.hasPrefix("HTTP/1.0 200 OK\r\n"))
        #expect(lines.value.contains { $0.contains("[::1]:") && $0.contains("joined") }, "\(lines.value)")
        port.close()
    }
}
