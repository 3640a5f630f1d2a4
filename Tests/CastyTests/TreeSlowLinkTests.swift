@testable import CastyNet
@testable import CastyWire
import Testing

@testable import Casty

/// A branch whose link to its parent cannot carry the stream.
@Suite(.serialized)
struct TreeSlowLinkTests {
    /// Segments of 0.1 s: 1600 bytes of the built-in tone at 128 kbit/s (16 kB/s).
    static let segmentBytes = 1600

    @Test("A branch whose link carries half the stream's bitrate, in pieces with stalls between — it gives its parent up as silent and re-attaches again and again, no one link lasting two windows — says its link is too slow; a branch beside it on a good link says nothing")
    func aLinkMuchTooSlow_IsTold_AcrossItsReattachments() async throws {
        let source = try Station.builtIn(titles: ["Slow link"], titleInterval: .seconds(1), segmentBytes: Self.segmentBytes)
        await source.start()
        let root = try Root.start(source: source, address: .loopback(port: 0))
        let tunnel = try SlowTunnel(to: root.port.address, bytesPerSecond: 8_000, every: .milliseconds(400))
        var configuration = Branch.Configuration()
        configuration.backoff = .milliseconds(20)
        configuration.paceWindow = .seconds(2)
        let slowLog = LogLines(), goodLog = LogLines()
        let slow = try Branch.serve(
            root: StreamURL(host: "127.0.0.1", port: tunnel.address.port), address: .loopback(port: 0), eager: true,
            configuration: configuration, logger: slowLog.logger)
        let good = try Branch.serve(
            root: StreamURL(host: "127.0.0.1", port: root.port.address.port), address: .loopback(port: 0), eager: true,
            configuration: configuration, logger: goodLog.logger)
        let told = "(the link to the parent is too slow for the stream's bitrate), so its listeners hear gaps"
        #expect(await eventually(timeout: .seconds(40)) { slowLog.value.contains { $0.contains(told) } },
                "\(slowLog.value.suffix(20))")
        // It gave its parent up and came back through the tunnel: the windows counted across its links.
        #expect(tunnel.joined.value >= 2, "links through the tunnel: \(tunnel.joined.value)")
        #expect(await good.branch.state == .streaming)
        // Unless the root's own stream stalled (a loaded machine late with the built-in station's segments): then every
        // branch heard its audio come slower than it plays, whatever its link.
        if !goodLog.value.contains(where: { $0.contains("the stream stopped upstream") }) {
            #expect(!goodLog.value.contains { $0.contains("slower than it plays") }, "\(goodLog.value)")
        }
        for serving in [slow, good] {
            serving.port.close()
            serving.branch.stop()
            serving.distributor.stop()
        }
        await tunnel.close()
        source.stop()
        root.port.close()
    }
}
