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
            await server.statusLine().hasPrefix("status: 1 of 2 mounts live, 1 listeners (/live 1), ")
        })
        server.close()
    }
}
