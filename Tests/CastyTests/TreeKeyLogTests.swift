@testable import CastyNet
import CastyWire
import Testing

@testable import Casty

/// A branch started with the wrong tree key asks its parent again every half second for as long as it runs:
/// the parent tells each refusal in the log up to a budget, then sums them up, so the log does not fill.
@Suite(.serialized)
struct TreeKeyLogTests {
    /// Twelve refused branch requests in a row, from twelve addresses: five lines naming the peer, then one line that
    /// counts the rest when the 10 s window ends; every refusal is still answered `403` and counted.
    @Test func refusedBranches_AreLoggedUpToABudget_ThenSummedUp() async throws {
        let source = try Station.builtIn(titles: ["Key log"], titleInterval: .seconds(1), segmentBytes: 1600)
        await source.start()
        let lines = LogLines()
        let root = try Root.start(source: source, address: .loopback(port: 0), treeKey: TreeKey("tree-secret"), logger: lines.logger)
        // Connected first, then asking all at once: a loaded run that took seconds per request would spread them
        // over two of the budget's windows.
        var strangers: [TestPeer] = []
        for _ in 0..<12 { strangers.append(try await TestPeer.connect(to: root.port.address, on: .shared)) }
        let request = { @Sendable (index: Int) in Array("GET / HTTP/1.0\r\nX-Casty-Branch: 10.9.9.9:\(8001 + index)\r\nX-Casty-Key: wrong\r\n\r\n".utf8) }
        await EventLoop.shared.submit { [strangers] in
            for (index, stranger) in strangers.enumerated() { _ = stranger.connection.write(request(index)) }
        }
        for (attempt, stranger) in strangers.enumerated() {
            #expect(await eventually(timeout: .seconds(10)) { stranger.closed.value })
            #expect(stranger.text.hasPrefix("HTTP/1.0 403 Forbidden\r\n"), "attempt \(attempt)")
        }
        #expect(await root.distributor.stat().refused == 12)
        let oneByOne = { lines.value.filter { $0.contains("10.9.9.9:80") && $0.contains("refused") } }
        #expect(oneByOne().count == 5, "\(lines.value)")
        #expect(await eventually(timeout: .seconds(30)) {
            lines.value.contains { $0.contains("7 more branches refused for a wrong or missing tree key") }
        }, "\(lines.value)")
        #expect(!lines.value.contains { $0.contains("tree-secret") }, "the key is never logged")
        source.stop()
        root.port.close()
    }

    @Test("A stranger that asks again and again (a branch without the key, every 10 s) has its first refusal told in full, and the same address's repeats summed up, not a line each")
    func oneStrangerAskingAgain_IsToldOnce_ThenSummedUp() async throws {
        let source = try Station.builtIn(titles: ["Key log"], titleInterval: .seconds(1), segmentBytes: 1600)
        await source.start()
        let lines = LogLines()
        let root = try Root.start(source: source, address: .loopback(port: 0), treeKey: TreeKey("tree-secret"), logger: lines.logger)
        for _ in 0..<3 {
            let stranger = try await TestPeer.connect(to: root.port.address, on: .shared)
            await stranger.send("GET / HTTP/1.0\r\nX-Casty-Branch: 10.9.9.50:55000\r\nX-Casty-Key: wrong\r\n\r\n")
            #expect(await eventually(timeout: .seconds(10)) { stranger.closed.value })
            #expect(stranger.text.hasPrefix("HTTP/1.0 403 Forbidden\r\n"))
        }
        #expect(await root.distributor.stat().refused == 3)
        // Another stranger is told in full: the sum is by address.
        let other = try await TestPeer.connect(to: root.port.address, on: .shared)
        await other.send("GET / HTTP/1.0\r\nX-Casty-Branch: 10.9.9.51:55000\r\n\r\n")
        #expect(await eventually(timeout: .seconds(10)) { lines.value.contains { $0.contains("10.9.9.51:55000") } }, "\(lines.value)")
        let told = lines.value.filter { $0.contains("10.9.9.50:55000") }
        #expect(told.count == 1 && told[0].hasSuffix("refused: wrong or missing tree key (403)"), "\(lines.value)")
        source.stop()
        root.port.close()
    }

    @Test("An address refused again is summed up at most every 10 minutes, with how many times and since when; one not heard from for as long is told in full again, and the addresses remembered are capped")
    func treeKeyRefusals_SumAnAddressesRepeats_InABoundedTable() {
        let refusals = TreeKeyRefusals(loop: .shared, logger: .silent)
        let start = ContinuousClock.now
        let first = refusals.occurred("10.9.9.50:55000", now: start)
        #expect(first?.count == 1 && first?.since == nil, "the first refusal told in full")
        for attempt in 1..<60 {
            #expect(refusals.occurred("10.9.9.50:55000", now: start + .seconds(10 * attempt)) == nil, "attempt \(attempt) is not a line")
        }
        let summed = refusals.occurred("10.9.9.50:55000", now: start + .seconds(600))
        #expect(summed?.count == 60 && summed?.since == start, "\(String(describing: summed))")
        #expect(refusals.occurred("10.9.9.50:55000", now: start + .seconds(610)) == nil)
        // Quiet for over 10 minutes: a new first refusal.
        #expect(refusals.occurred("10.9.9.50:55000", now: start + .seconds(1300))?.since == nil)
        // Many strangers: the one heard from least recently is forgotten past the cap, and told in full again.
        let later = start + .seconds(1400)
        for index in 0..<TreeKeyRefusals.most {
            #expect(refusals.occurred("10.8.\(index / 256).\(index % 256):1", now: later + .milliseconds(index))?.since == nil)
        }
        #expect(refusals.occurred("10.9.9.50:55000", now: later + .seconds(1))?.since == nil, "forgotten past the cap")
        #expect(refusals.occurred("10.8.0.255:1", now: later + .seconds(2)) == nil, "the most recent ones are kept")
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
