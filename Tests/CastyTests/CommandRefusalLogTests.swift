import Testing

@testable import Casty
@testable import CastyNet

/// The command API's refusals in the log: limited as every other refusal is, so that a script calling with a
/// wrong token does not write a line per call.
struct CommandRefusalLogTests {
    let loop = EventLoop.shared

    @Test("A burst of commands with wrong or missing credentials is logged in a few lines, the rest summed up in one")
    func commandRefusals_AreLimited_AndSummedUp() async throws {
        let log = StationServerTests.Log()
        let server = try StationServerTests().server(log: log, configure: StationServerTests().takesCommands)
        // Connected first, then asked all at once: one by one, a loaded run spread them over more than one window.
        var peers: [TestPeer] = []
        for _ in 0..<30 { peers.append(try await TestPeer.connect(to: server.address, on: loop)) }
        for (index, peer) in peers.enumerated() {
            let auth = index.isMultiple(of: 2) ? "Authorization: Bearer wrong\r\n" : ""
            await peer.send("GET /commands/capacity HTTP/1.0\r\n\(auth)\r\n")
        }
        for peer in peers {
            #expect(await eventually(timeout: .seconds(20)) { peer.closed.value } && peer.text.hasPrefix("HTTP/1.0 401"), "\(peer.text.prefix(80))")
        }
        let refused = log.lines.value.filter { $0.hasPrefix("commands: ") && $0.contains("refused on /commands/capacity") }
        #expect(refused.count == 10, "the refusals' budget: \(refused.count) lines")
        await loop.submit { server.port.refusalLog.closeWindow() }  // the window's end, without waiting 10 s
        #expect(log.lines.value.contains { $0.hasPrefix("20 more refusals in the last ") }, "\(log.lines.value.suffix(3))")
        server.close()
    }
}
