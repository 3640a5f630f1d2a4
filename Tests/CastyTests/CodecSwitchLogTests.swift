import Testing

@testable import Casty

/// A source of another codec than a mount's fallback played disconnects the listeners who were told the other
/// type — and says so only when there are some: with nobody listening, no line tells of listeners disconnected.
extension StationServerTests {
    @Test func sourceOfAnotherCodec_OnAMountNobodyListensTo_LogsNoListenersDisconnected() async throws {
        let log = Log()
        let server = try server(fallbacks: ["/live": "/backup"], log: log)
        defer { server.close() }
        let backup = try await source(server, mount: "/backup", type: "audio/aac")
        await sendPaced(backup, adtsFrames(30))
        let live = try await source(server)
        #expect(await live.waitFor(timeout: .seconds(15)) { String(decoding: $0, as: UTF8.self).contains("100 Continue") })
        await sendAudio(live, Self.silentFrames(30))
        #expect(await eventually(timeout: .seconds(15)) { log.contains("publishing /live (PUT") })
        let player = try await listener(server, titles: false)
        #expect(await player.waitFor(timeout: .seconds(15)) { Self.silentFrameCount($0) >= 5 }, "the mount plays its MP3 source")
        #expect(!log.contains("they are disconnected"), "\(log.lines.value)")
    }
}
