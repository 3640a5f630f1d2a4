import CastyNet
import CastyWire
import Testing

@testable import Casty

/// The root's stream stops coming (its source stalls, its upstream is away): every link of the tree goes silent
/// at once, and no branch is to blame.
extension TreeMountsTests {
    @Test("While the root's source is silent, its branch keeps its link (its parent is silent too) and its players hear the stream when it comes again")
    func aSilentRootSource_KeepsTheTree_NoBranchIsPlacedAnew() async throws {
        let rootLog = StationServerTests.Log(), branchLog = StationServerTests.Log()
        let server = try stationRoot(["/live"], segmentBytes: 4170, logger: rootLog.logger)
        defer { server.close() }
        let station = StationServerTests()
        let source = try await station.source(server)
        #expect(await source.waitFor(timeout: .seconds(10)) { String(decoding: $0, as: UTF8.self).hasPrefix("HTTP/1.1 100") })
        let feeding = station.keepFeeding(source)
        let serving = try mountBranch(of: server, path: "/live", logger: branchLog.logger)
        defer { serving.stop() }
        let player = try await play("/live", at: serving.port.address)
        #expect(await player.waitFor(timeout: .seconds(10)) { StationServerTests.silentFrameCount($0) >= 10 })
        let attached = branchLog.lines.value.filter { $0.contains("attached to") }.count

        // Four seconds without a byte from the source (its timeout is 10 s): the link's deadline is about a second.
        feeding.cancel()
        await feeding.value
        try await Task.sleep(for: .seconds(4))
        #expect(branchLog.contains("the stream stopped upstream"), "\(branchLog.lines.value) ROOT \(rootLog.lines.value)")
        #expect(branchLog.lines.value.filter { $0.contains("attached to") }.count == attached, "never attached anew: \(branchLog.lines.value)")
        #expect(!rootLog.contains("lost its parent") && !rootLog.lines.value.contains { $0.contains("branch") && $0.contains("left") },
                "\(rootLog.lines.value)")

        let heard = StationServerTests.silentFrameCount(player.received.value)
        let again = station.keepFeeding(source)
        defer { again.cancel() }
        #expect(await player.waitFor(timeout: .seconds(10)) { StationServerTests.silentFrameCount($0) >= heard + 20 }, "the stream comes again")
        #expect(branchLog.contains("the stream comes again"), "\(branchLog.lines.value)")
        #expect(!player.closed.value)
    }
}
