@testable import CastyNet
import Testing

@testable import Casty

/// What a stranger can make a port refuse without any credentials — requests it cannot read, methods or sources it
/// does not take, players past the limit — is logged a few lines per window, the rest summed up in one: a loop
/// sending them by the thousand does not fill the log.
extension FrontDoorTests {
    @Test("Requests refused before they could be read (a malformed header, an unknown method, a TLS handshake) are logged five at a time, the rest summed up")
    func unreadableRequests_AreLoggedWithinABudget() async throws {
        let log = StationServerTests.Log()
        let (_, port) = try serving(logger: log.logger)
        defer { port.close() }
        for _ in 0..<4 {
            _ = try await ask(port, "GET / HTTP/1.1\r\nNoColon\r\n\r\n")
            _ = try await ask(port, "BREW /live HTTP/1.1\r\n\r\n")
            let tls = try await TestPeer.connect(to: port.address, on: loop)
            await tls.send(bytes: [0x16, 0x03, 0x01, 0x00, 0xC8, 0x01] + [UInt8](repeating: 0xC8, count: 200))
            #expect(await eventually { tls.closed.value })
        }
        let lines = log.lines.value.filter { $0.contains("refused:") }
        #expect(lines.count == 5, "\(log.lines.value)")
        #expect(lines.first?.contains("refused: malformed header line: \"NoColon\"") == true, "the first ones are told in full: \(lines)")
        #expect(await eventually(timeout: .seconds(15)) { log.contains("7 more malformed requests refused in the last 10") }, "\(log.lines.value)")
    }

    @Test("Requests a route refuses (a method the path does not take, a source on a relay) are logged within the refusal budget")
    func refusedMethods_AreLoggedWithinTheRefusalBudget() async throws {
        let log = StationServerTests.Log()
        let (_, port) = try serving(logger: log.logger)
        defer { port.close() }
        for _ in 0..<6 {
            #expect(try await ask(port, "POST /live HTTP/1.0\r\nContent-Length: 0\r\n\r\n").hasPrefix("HTTP/1.0 405"))
            #expect(try await ask(port, "SOURCE /live HTTP/1.0\r\n\r\n").hasPrefix("HTTP/1.0 405"))
        }
        #expect(log.lines.value.filter { $0.contains("refused") }.count == 10, "\(log.lines.value)")
        #expect(await eventually(timeout: .seconds(15)) { log.contains("2 more refusals in the last 10") }, "\(log.lines.value)")
    }
}

extension StationServerTests {
    @Test("Players refused past --max-listeners are logged within the refusal budget")
    func playersPastTheLimit_AreLoggedWithinTheRefusalBudget() async throws {
        let log = Log()
        let server = try server(log: log, limits: (0, [:]))
        defer { server.close() }
        let (_, feeding) = try await feedingSource(server)
        defer { feeding.cancel() }
        for _ in 0..<12 {
            let player = try await listener(server)
            #expect(await eventually { player.closed.value })
            #expect(player.text.hasPrefix("HTTP/1.0 503"), "\(player.text.prefix(80))")
        }
        #expect(log.lines.value.filter { $0.contains("refused on /live") }.count == 10, "\(log.lines.value)")
    }
}
