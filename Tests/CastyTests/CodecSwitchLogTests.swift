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

    @Test func sourceOfAnotherCodec_DownAFallbackChain_NamesTheMountsWhoseListenersAreLetGo() async throws {
        let log = Log()
        let server = try server(mounts: ["/x", "/y", "/z"], fallbacks: ["/x": "/y", "/y": "/z"], log: log)
        defer { server.close() }
        let z = try await source(server, mount: "/z", type: "audio/aac")
        await sendPaced(z, adtsFrames(60))
        let player = try await listener(server, "/x", titles: false)  // /x hears /y, which hears /z: told audio/aac
        #expect(await player.waitFor { $0.count > 4170 })
        #expect(player.text.contains("Content-Type: audio/aac"))
        let y = try await source(server, mount: "/y")
        await sendAudio(y, Self.silentFrames(30))
        #expect(await eventually { player.closed.value }, "the AAC player of /x is not fed /y's MP3")
        #expect(await eventually {
            log.contains("mount /y: its source plays audio/mpeg, its listeners were playing audio/aac from its fallback /z: they are "
                + "disconnected (and those of /x, hearing it as their fallback), to come back to audio/mpeg")
        }, "\(log.lines.value)")
        // The player's own leave line tells why it was let go (it said only "closed").
        #expect(await eventually { log.lines.value.contains { $0.contains(" left after ") && $0.contains("(let go: /y's source plays audio/mpeg, it was told audio/aac)") } },
                "\(log.lines.value)")
    }

    @Test("A mount whose fallback plays another codec keeps it from the players of a mount hearing it as its own fallback too: they wait, as its own would, instead of being fed it and dropped")
    func fallbackOfAnotherCodec_IsNotUsed_ForPlayersTwoFallbacksAway() async throws {
        let log = Log()
        let server = try server(mounts: ["/x", "/y", "/z"], fallbacks: ["/x": "/y", "/y": "/z"], timeout: .seconds(5), log: log)
        defer { server.close() }
        let z = try await source(server, mount: "/z", type: "audio/aac")
        let feedingZ = keepFeeding(z, with: adtsFrames(10))
        defer { feedingZ.cancel() }
        #expect(await eventually(timeout: .seconds(10)) {
            ((try? await ask(server, "/api/mounts/z", admin: false)) ?? "").contains("\"contentType\":\"audio/aac\"")
        })
        let y = try await source(server, mount: "/y")
        let feedingY = keepFeeding(y)
        // /x has no source: its player hears /y's MP3 (asked until /y plays: a loaded run may ask before).
        let player = try #require(await TestPeer.player(of: server.address, on: loop, request: "GET /x HTTP/1.0\r\n\r\n"))
        #expect(await player.waitFor(timeout: .seconds(10)) { Self.silentFrameCount($0) >= 10 })
        #expect(player.text.contains("Content-Type: audio/mpeg"))

        feedingY.cancel()
        await feedingY.value
        await y.close()
        let line = "mount /y: no source; its fallback /z plays audio/aac, not audio/mpeg like /y: its listeners (and those of /x,"
            + " hearing it as their fallback) are not moved there"
        #expect(await eventually(timeout: .seconds(10)) { log.contains(line) }, "\(log.lines.value)")
        #expect(!log.contains("the stream goes on in audio/aac"), "\(log.lines.value)")
        #expect(await eventually(timeout: .seconds(20)) { player.closed.value }, "let go after the source timeout")
        let adtsHeader: [UInt8] = [0xFF, 0xF1, 0x50]
        let heard = player.received.value
        #expect(!heard.indices.dropLast(2).contains { Array(heard[$0..<$0 + 3]) == adtsHeader }, "no AAC frame reached the MP3 player")
        #expect(log.contains("no source came back within 5.0 seconds"), "\(log.lines.value)")
    }
}

extension StationServerTests {
    @Test("While an AAC mount's listeners wait for its source, /api/mounts says it plays audio/aac, not an MP3 default")
    func aacMountWaitingForItsSource_KeepsItsContentTypeInTheAPI() async throws {
        let server = try server(mounts: ["/aac"], timeout: .seconds(30))
        defer { server.close() }
        let source = try await source(server, mount: "/aac", type: "audio/aac")
        await sendPaced(source, adtsFrames(30))
        let player = try await listener(server, "/aac", titles: false)
        #expect(await player.waitFor(timeout: .seconds(15)) { $0.count > 4170 })
        #expect(try await ask(server, "/api/mounts/aac", admin: false).contains(#""contentType":"audio/aac""#))
        await source.close()
        #expect(await eventually(timeout: .seconds(10)) {
            ((try? await ask(server, "/api/mounts/aac", admin: false)) ?? "").contains(#""live":false"#)
        })
        let waiting = try await ask(server, "/api/mounts/aac", admin: false)
        #expect(waiting.contains(#""contentType":"audio/aac""#), "\(waiting)")
        await player.close()
    }
}
