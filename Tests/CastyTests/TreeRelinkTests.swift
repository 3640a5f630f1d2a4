import Icy
import Testing

@testable import Casty
@testable import CastyNet
@testable import CastyWire

/// A root whose mount begins a new stream closes its branch links for them to read it in a new reply: it tells them
/// so first (``StreamSegment/newStreamBlock``), and they ask again at once, blaming nobody.
extension StationServerTests {
    @Test("A new stream at the root (its source gone and back): the branch asks again at once and plays it, with no line of a drop or a loss")
    func aNewStreamAtTheRoot_TheBranchAsksAgain_BlamingNobody() async throws {
        let server = try hlsRoot()
        defer { server.close() }
        let (first, feeding) = try await feedingSource(server)
        let log = LogLines()
        var configuration = Branch.Configuration()
        configuration.backoff = .milliseconds(20)
        let branch = try Branch.serve(
            root: StreamURL(host: "127.0.0.1", port: server.address.port, path: "/live"), address: .loopback(port: 0), eager: true,
            configuration: configuration, logger: log.logger)
        defer {
            branch.port.close()
            branch.branch.stop()
            branch.distributor.stop()
        }
        #expect(await eventually(timeout: .seconds(10)) { await branch.branch.state == .streaming })
        let stream: @Sendable () async -> UInt64? = { await branch.branch.loop.submit { branch.branch.assumeIsolated { $0.context?.stream } } }
        let old = await stream()
        // The source leaves, and comes back: a new stream.
        feeding.cancel()
        await first.close()
        let (_, again) = try await feedingSource(server)
        defer { again.cancel() }
        #expect(await eventually(timeout: .seconds(15)) {
            let now = await stream()
            let state = await branch.branch.state
            return now != old && state == .streaming
        }, "\(log.value)")
        #expect(log.value.contains { $0.contains("distributor: new stream") }, "\(log.value)")
        #expect(!log.value.contains { $0.contains("dropped by its parent") || $0.contains("upstream lost") || $0.contains("upstream back") },
                "\(log.value)")
    }
}
