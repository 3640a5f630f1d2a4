@testable import CastyNet
import CastyWire
import Testing

@testable import Casty

/// A branch started with the wrong tree key asks its parent again every half second for as long as it runs:
/// the parent tells each refusal in the log up to a budget, then sums them up, so the log does not fill.
@Suite(.serialized)
struct TreeKeyLogTests {
    /// Twelve refused branch requests in a row: five lines naming the peer, then one line that counts the rest
    /// when the 10 s window ends; every refusal is still answered `403` and counted.
    @Test func refusedBranches_AreLoggedUpToABudget_ThenSummedUp() async throws {
        let source = try Station.builtIn(titles: ["Key log"], titleInterval: .seconds(1), segmentBytes: 1600)
        await source.start()
        let lines = LogLines()
        let root = try Root.start(source: source, address: .loopback(port: 0), treeKey: TreeKey("tree-secret"), logger: lines.logger)
        // Connected first, then asking all at once: a loaded run that took seconds per request would spread them
        // over two of the budget's windows.
        var strangers: [TestPeer] = []
        for _ in 0..<12 { strangers.append(try await TestPeer.connect(to: root.port.address, on: .shared)) }
        let request = Array("GET / HTTP/1.0\r\nX-Casty-Branch: 10.9.9.9:8001\r\nX-Casty-Key: wrong\r\n\r\n".utf8)
        await EventLoop.shared.submit { [strangers] in for stranger in strangers { _ = stranger.connection.write(request) } }
        for (attempt, stranger) in strangers.enumerated() {
            #expect(await eventually(timeout: .seconds(10)) { stranger.closed.value })
            #expect(stranger.text.hasPrefix("HTTP/1.0 403 Forbidden\r\n"), "attempt \(attempt)")
        }
        #expect(await root.distributor.stat().refused == 12)
        let oneByOne = { lines.value.filter { $0.contains("10.9.9.9:8001") && $0.contains("refused") } }
        #expect(oneByOne().count == 5, "\(lines.value)")
        #expect(await eventually(timeout: .seconds(30)) {
            lines.value.contains { $0.contains("7 more branches refused for a wrong or missing tree key") }
        }, "\(lines.value)")
        #expect(!lines.value.contains { $0.contains("tree-secret") }, "the key is never logged")
        source.stop()
        root.port.close()
    }

    /// The root says why it refused in its own log, often on another machine: the branch's line points there.
    @Test func aBranchWithAWrongKey_IsToldWhatTheRefusalMayMean() async throws {
        let source = try Station.builtIn(titles: ["Key hint"], titleInterval: .seconds(1), segmentBytes: 1600)
        await source.start()
        let root = try Root.start(source: source, address: .loopback(port: 0), treeKey: TreeKey("tree-secret"))
        let lines = LogLines()
        var configuration = Branch.Configuration()
        configuration.treeKey = TreeKey("wrong-key")
        let branch = try Branch.serve(
            root: StreamURL(host: "127.0.0.1", port: root.port.address.port), address: .loopback(port: 0), eager: true,
            configuration: configuration, logger: lines.logger)
        #expect(await eventually(timeout: .seconds(10)) {
            lines.value.contains { $0.contains("403 Forbidden (the root refuses this branch: a wrong or missing --tree-key? its log says why)") }
        }, "\(lines.value)")
        branch.stop()
        source.stop()
        root.port.close()
    }
}

/// What a branch says it serves at goes into the redirects that send other branches there: it must be an address.
extension TreeKeyLogTests {
    @Test("A branch whose X-Casty-Branch is no host:port (text, a path, 5,000 characters) is refused 400, one short log line, never placed",
          arguments: ["justtext", "10.0.0.2:8001/x", String(repeating: "a", count: 5_000) + ":80", "10.0.0.2:0", "evil.example:80\u{1B}[2J"])
    func aBranchThatNamesNoAddress_IsRefused(claimed: String) async throws {
        let source = try Station.builtIn(titles: ["Address"], titleInterval: .seconds(1), segmentBytes: 1600)
        await source.start()
        let lines = LogLines()
        let root = try Root.start(source: source, address: .loopback(port: 0), logger: lines.logger)
        defer { source.stop(); root.port.close() }
        let stranger = try await TestPeer.connect(to: root.port.address, on: .shared)
        await stranger.send("GET / HTTP/1.0\r\nX-Casty-Branch: \(claimed)\r\n\r\n")
        #expect(await eventually(timeout: .seconds(10)) { stranger.closed.value })
        #expect(stranger.text.hasPrefix("HTTP/1.0 400 Bad Request\r\n"), "\(stranger.text.prefix(80))")
        #expect(await root.distributor.stat().branches == 0)
        let said = lines.value.filter { $0.contains("is not host:port (400)") }
        #expect(said.count == 1 && said.allSatisfy { $0.count < 200 }, "\(lines.value.map { $0.prefix(200) })")
        let real = try await TestPeer.connect(to: root.port.address, on: .shared)
        await real.send("GET / HTTP/1.0\r\nX-Casty-Branch: 10.0.0.2:8001\r\n\r\n")
        #expect(await real.waitFor { String(decoding: $0, as: UTF8.self).contains("\r\n\r\n") })
        #expect(real.text.hasPrefix("HTTP/1.0 200") || real.text.hasPrefix("ICY 200"), "a real address is still taken: \(real.text.prefix(80))")
        await real.close()
    }
}
