import Testing

@testable import Casty
@testable import CastyNet

/// An encoder that reconnects over its own dead connection (its network blinked): with the live source's
/// credentials, once it has sent nothing for 2 s, the newcomer takes the mount, and the mount's listeners wait for it.
extension StationServerTests {
    /// A server whose /live falls back to /backup (the built-in station), a player of /live hearing its source, and
    /// that source gone quiet and taken over by a newcomer with its credentials (answered `100 Continue`, no audio
    /// sent yet): where a takeover's outcomes start from. The caller closes the server and stops the station.
    func takenOver(log: Log) async throws -> (server: StationServer, station: Station, player: TestPeer, newcomer: TestPeer) {
        let server = try server(fallbacks: ["/live": "/backup"], log: log)
        let station = try Station.builtIn(segmentBytes: 4170, loop: loop)
        await station.start()
        server.attach(station, at: "/backup")
        let (old, feeding) = try await feedingSource(server)
        let player = try await listener(server)
        #expect(await player.waitFor(timeout: .seconds(10)) { Self.silentFrameCount($0) >= 10 }, "the source plays")
        feeding.cancel()
        await feeding.value
        try await Task.sleep(for: .milliseconds(2_200))  // its connection open and quiet, as one whose end never came
        let again = try await source(server)
        #expect(await again.waitFor(timeout: .seconds(10)) { String(decoding: $0, as: UTF8.self).hasPrefix("HTTP/1.1 100") }, "\(again.text.prefix(60))")
        #expect(await eventually(timeout: .seconds(5)) { old.closed.value })
        return (server, station, player, again)
    }
    @Test("A source publishing again with the live source's credentials takes the mount once the live one sent nothing for 2 s (its encoder reconnecting over a dead connection); while it sends, the newcomer is refused, as is a stranger's password")
    func aReconnectingEncoder_TakesItsMountFromItsDeadConnection() async throws {
        let log = Log()
        let server = try server(log: log)
        defer { server.close() }
        let (old, feeding) = try await feedingSource(server)
        #expect(await eventually(timeout: .seconds(10)) { await loop.submit { server.table.mount(at: "/live")?.source != nil } })
        let early = try await source(server)
        #expect(await early.waitFor(timeout: .seconds(10)) { String(decoding: $0, as: UTF8.self).contains("\r\n\r\n") })
        #expect(early.text.hasPrefix("HTTP/1.0 403 Mountpoint in use"), "the live one still sends: \(early.text.prefix(60))")
        feeding.cancel()
        await feeding.value
        // Its connection stays open and quiet, as one whose end never came through.
        try await Task.sleep(for: .milliseconds(2_200))
        let stranger = try await source(server, password: "wrong")
        #expect(await stranger.waitFor(timeout: .seconds(10)) { String(decoding: $0, as: UTF8.self).contains("\r\n\r\n") })
        #expect(stranger.text.hasPrefix("HTTP/1.0 401"), "\(stranger.text.prefix(60))")
        let again = try await source(server)
        #expect(await again.waitFor(timeout: .seconds(10)) { String(decoding: $0, as: UTF8.self).hasPrefix("HTTP/1.1 100") }, "\(again.text.prefix(60))")
        #expect(await eventually(timeout: .seconds(5)) { old.closed.value }, "the dead connection is let go")
        #expect(log.contains("ended: replaced by 127.0.0.1:"), "\(log.lines.value.suffix(5))")
        let feedingAgain = keepFeeding(again)
        defer { feedingAgain.cancel() }
        let player = try await listener(server)
        #expect(await player.waitFor(timeout: .seconds(10)) { Self.silentFrameCount($0) >= 10 }, "the newcomer plays")
    }

    @Test("An encoder that takes its mount back from its dead connection keeps the mount's listeners waiting for it: they are not sent to the fallback for the moment between")
    func aReconnectingEncoder_DoesNotSendListenersThroughTheFallback() async throws {
        let log = Log()
        let (server, station, player, again) = try await takenOver(log: log)
        defer { server.close(); station.stop() }
        let before = Self.silentFrameCount(player.received.value)
        let feedingAgain = keepFeeding(again)
        defer { feedingAgain.cancel() }
        #expect(await player.waitFor(timeout: .seconds(10)) { Self.silentFrameCount($0) >= before + 10 }, "the newcomer plays to the same player")
        #expect(!player.closed.value)
        #expect(!log.contains("its listeners hear /backup"), "\(log.lines.value)")
        #expect(try await ask(server, "/admin/listmounts").contains(#""mount":"/live","listeners":1,"feeding":"source""#))
        await player.close()
    }

    @Test("An encoder that takes its mount back and hangs up before its first frames leaves the listeners it held to the fallback, as the old source's end would have: they are not kept on nothing")
    func aNewcomerThatHangsUpBeforeItsAudio_LeavesTheListenersToTheFallback() async throws {
        let log = Log()
        let (server, station, player, again) = try await takenOver(log: log)
        defer { server.close(); station.stop() }
        await again.close()  // the newcomer hangs up before any audio
        #expect(await eventually(timeout: .seconds(5)) { log.contains("its listeners hear /backup") }, "\(log.lines.value.suffix(6))")
        let before = player.received.value.count
        #expect(await player.waitFor(timeout: .seconds(10)) { $0.count > before + 3 * 4170 }, "the fallback's tone comes")
        #expect(!player.closed.value)
        #expect(try await ask(server, "/admin/listmounts").contains(#""mount":"/live","listeners":1,"feeding":"fallback""#))
        let late = try await listener(server)
        #expect(await late.waitFor(timeout: .seconds(10)) { String(decoding: $0.prefix(64), as: UTF8.self).hasPrefix("HTTP/1.0 200") || String(decoding: $0.prefix(64), as: UTF8.self).hasPrefix("ICY 200") },
                "a new listener hears the fallback, not 503: \(String(decoding: late.received.value.prefix(80), as: UTF8.self))")
        await late.close()
        await player.close()
    }
}
