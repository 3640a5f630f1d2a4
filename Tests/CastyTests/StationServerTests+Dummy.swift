import CastyWire
import Testing

@testable import Casty
@testable import CastyNet

/// A load test's listener (``NetworkDummy``) on a mount whose stream changes: what it counts.
extension StationServerTests {
    @Test("A network dummy whose mount falls back counts the break as one gap and no segment missing: the server marks a new stream's first segment (CastyNew), whose numbering is its own")
    func aDummyOnAMountThatFallsBack_CountsAGap_NothingMissing() async throws {
        let server = try server(fallbacks: ["/live": "/backup"])
        defer { server.close() }
        let station = try Station.builtIn(segmentBytes: 4170, loop: loop)
        await station.start()
        defer { station.stop() }
        server.attach(station, at: "/backup")
        try await Task.sleep(for: .seconds(3))  // the fallback's numbering runs well ahead of the source's to come
        let (source, feeding) = try await feedingSource(server)
        let dummy = NetworkDummy(url: StreamURL(host: "127.0.0.1", port: server.address.port, path: "/live"), loop: loop)
        await dummy.start()
        #expect(await eventually(timeout: .seconds(10)) { await dummy.report.segments >= 3 }, "the source plays")
        feeding.cancel()
        await feeding.value
        await source.close()
        let before = await dummy.report.segments
        #expect(await eventually(timeout: .seconds(15)) { await dummy.report.segments >= before + 8 }, "the fallback plays")
        let report = await dummy.report
        #expect(report.gaps >= 1 && report.missing == 0, "\(report)")
        #expect(report.connected)
        await dummy.close()
    }
}
