@testable import CastyNet
import Icy
import Testing

@testable import Casty

/// A mount a branch relays is dropped once nobody asked for it or listened to it for its idle timeout: measured from
/// when its last listener left, not from when that listener asked.
extension TreeMountsTests {
    @Test("A mount whose listener stayed longer than the idle timeout is kept a whole timeout after it leaves, not dropped at the next sweep")
    func aMountListenedToPastTheIdleTimeout_IsKeptATimeoutAfterItsListenerLeaves() async throws {
        let (server, stations) = try await root()
        var settings = BranchMounts.Settings()
        settings.idleTimeout = .seconds(4)  // swept every 2 s
        let serving = try branch(server, settings: settings)
        let player = try await play("/b", at: serving.port.address)
        #expect(await player.waitFor(timeout: .seconds(5)) { $0.count > 3 * Self.segmentBytes })
        // It listens past the timeout: its request is older than that when it leaves.
        try await Task.sleep(for: .seconds(5))
        #expect(await serving.mounts?.relays().map(\.mount) == ["/", "/b"], "a mount someone listens to stays")
        await player.close()
        // Watched for longer than a sweep's interval: without its leave counted, the next sweep drops it.
        var kept = true
        for _ in 0..<25 where kept {
            try await Task.sleep(for: .milliseconds(100))
            kept = await serving.mounts?.relays().map(\.mount) == ["/", "/b"]
        }
        #expect(kept, "dropped right after its listener left")
        #expect(await eventually(timeout: .seconds(15)) { await serving.mounts?.relays().map(\.mount) == ["/"] }, "dropped once idle")
        stations.forEach { $0.stop() }
        serving.stop()
        server.close()
    }
}
