import Testing

@testable import Casty
@testable import CastyNet

/// The status line `casty-cli server` logs every `--status-every` seconds.
extension StationServerTests {
    @Test func statusLine_CountsLiveMountsAndListeners() async throws {
        let server = try server()
        let idle = await server.statusLine()
        #expect(idle.hasPrefix("status: 0 of 2 mounts live, 0 listeners, "), "\(idle)")
        let source = try await source(server)
        await sendAudio(source, Self.silentFrames(20))
        let player = try await listener(server)
        #expect(await player.waitFor(timeout: .seconds(10)) { !$0.isEmpty })
        #expect(await eventually(timeout: .seconds(10)) {
            await server.statusLine().hasPrefix("status: 1 of 2 mounts live, 1 listener (/live 1), ")
        })
        server.close()
    }

    /// The counts of the status lines (a server's, a proxy's, a station's, a root's, a branch's): `1 listener`.
    @Test func counted_IsSingularForOne() {
        #expect(counted(1, "listener") == "1 listener")
        #expect(counted(0, "listener") == "0 listeners")
        #expect(counted(2, "segment") == "2 segments")
        #expect(counted(1, "branch", plural: "branches") == "1 branch")
        #expect(counted(3, "branch", plural: "branches") == "3 branches")
    }
}
