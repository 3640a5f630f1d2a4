import CastyNet
import CastyWire
import Testing

@testable import Casty

/// The root's stream is away — its relay lost its upstream — while its branches' links stay open: a newcomer at a
/// branch waits for the stream as it would at the root, and the branch's players hear it again when it is back.
extension TreeMountsTests {
    @Test("While the root's relay has no upstream, a branch's newcomer is told 503, and plays once the stream is back")
    func rootRelayAway_BranchNewcomersWait_ThenPlayWhenItIsBack() async throws {
        let loop = EventLoop.shared
        let upstream = try AwayableStation(on: loop)
        let branchLog = StationServerTests.Log()
        let server = try stationRoot(["/ice"], segmentBytes: 4170)
        defer { server.close() }
        var relaying = Proxy.Configuration()
        relaying.segmentBytes = 4170
        relaying.backoff = .milliseconds(100)
        relaying.maxBackoff = .milliseconds(200)
        let proxy = try Proxy(url: upstream.url, configuration: relaying, loop: loop)
        defer { proxy.stop() }
        server.attach(proxy, at: "/ice")
        await proxy.startInBackground()
        let serving = try mountBranch(of: server, path: "/ice", logger: branchLog.logger)
        defer { serving.stop() }
        let player = try await play("/ice", at: serving.port.address)
        #expect(await player.waitFor(timeout: .seconds(10)) { StationServerTests.silentFrameCount($0) >= 20 }, "the branch plays")

        // The relayed station goes away: the root's relay loses it, and the branch's link goes silent, kept.
        await upstream.goAway()
        #expect(await eventually(timeout: .seconds(10)) { branchLog.contains("the stream stopped upstream") }, "\(branchLog.lines.value)")
        let newcomer = try await play("/ice", at: serving.port.address)
        #expect(await newcomer.waitFor(timeout: .seconds(15)) { String(decoding: $0, as: UTF8.self).contains("\r\n\r\n") })
        #expect(newcomer.text.hasPrefix("HTTP/1.0 503") && newcomer.text.contains("Retry-After:"), "\(newcomer.text.prefix(200))")

        // Back: the branch's player hears it again on its connection, and a newcomer plays.
        upstream.comeBack()
        let heard = StationServerTests.silentFrameCount(player.received.value)
        #expect(await player.waitFor(timeout: .seconds(10)) { StationServerTests.silentFrameCount($0) >= heard + 20 }, "the stream comes again")
        #expect(!player.closed.value)
        let later = try await play("/ice", at: serving.port.address)
        #expect(await later.waitFor(timeout: .seconds(10)) { StationServerTests.silentFrameCount($0) >= 10 }, "\(later.text.prefix(200))")
        await upstream.close()
    }
}
