@testable import CastyNet
import Icy
import Testing

@testable import Casty

/// A branch's players hear a stream change on the root — a source that leaves, its fallback taking over, a source again — as the
/// root's own players do: the frame the last segment cut is completed, and the new stream starts on a frame.
extension TreeMountsTests {
    @Test func aBranchsPlayer_HearsTheRootsStreamChange_WithoutABrokenFrame() async throws {
        let station = StationServerTests()
        let server = try stationRoot(["/live", "/backup"], fallbacks: ["/live": "/backup"])
        defer { server.close() }
        let backup = try Station.builtIn(name: "Backup", segmentBytes: Self.segmentBytes)
        await backup.start()
        defer { backup.stop() }
        server.attach(backup, at: "/backup")
        let source = try await station.source(server)
        // Frames of 418 bytes: a segment of 1600 bytes ends inside one, which the change must complete.
        let feeding = station.keepFeeding(source, with: StationServerTests.paddedFrames(10))
        let serving = try mountBranch(of: server, path: "/live", logger: .silent)
        defer { serving.stop() }
        let player = try #require(await TestPeer.player(of: serving.port.address, on: .shared, request: "GET /live HTTP/1.0\r\n\r\n"))
        #expect(await player.waitFor(timeout: .seconds(10)) { $0.count > 8 * Self.segmentBytes })
        feeding.cancel()
        await source.close()
        let before = player.received.value.count
        #expect(await player.waitFor(timeout: .seconds(10)) { $0.count > before + 8 * Self.segmentBytes }, "the fallback plays on the branch")
        // A source again: its first segment starts on a frame, after the station's segment that cut one.
        let again = try await station.source(server)
        let feedingAgain = station.keepFeeding(again, with: StationServerTests.paddedFrames(10))
        defer { feedingAgain.cancel() }
        let heard = player.received.value.count
        #expect(await player.waitFor(timeout: .seconds(10)) { $0.count > heard + 8 * Self.segmentBytes }, "the source plays on the branch again")
        let bytes = player.received.value
        let end = try #require(bytes.indices.dropLast(3).first { bytes[$0..<$0 + 4].elementsEqual([13, 10, 13, 10]) })
        let junk = StationServerTests.undecodable(Array(bytes[(end + 4)...]))
        #expect(junk.isEmpty, "bytes a decoder could not read at \(junk.prefix(5)) of \(bytes.count - end - 4)")
    }
}
