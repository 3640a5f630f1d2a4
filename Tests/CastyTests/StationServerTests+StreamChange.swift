import CastyAudio
import Icy
import Testing

@testable import Casty
@testable import CastyNet

/// What a player hears when its mount's stream changes under it — its source leaves and the fallback plays, the
/// source returns: the new stream starts on a frame, and its title (or that it has none) is told.
extension StationServerTests {
    /// MP3 frames with the padding bit set (418 bytes each) filled with `0x55`: a segment of 4170 bytes of this
    /// stream mostly begins inside a frame, unlike one of ``silentFrames(_:)``.
    static func paddedFrames(_ count: Int) -> [UInt8] {
        (0..<count).flatMap { _ in [0xFF, 0xFB, 0x92, 0x64] + [UInt8](repeating: 0x55, count: 414) }
    }

    /// A server whose /live falls back to /backup, a source admitted on /backup sending ``paddedFrames(_:)`` until
    /// the returned task is cancelled, and a player of /live (hearing /backup): where a stream change starts from.
    func playerOnTheFallback(_ log: Log) async throws -> (server: StationServer, feeding: Task<Void, Never>, player: TestPeer) {
        let server = try server(fallbacks: ["/live": "/backup"], log: log)
        let backup = try await source(server, mount: "/backup")
        #expect(await backup.waitFor { String(decoding: $0, as: UTF8.self).hasPrefix("HTTP/1.1 100") })
        let feeding = keepFeeding(backup, with: Self.paddedFrames(10))
        // Until the backup's first audio is heard, /live has nothing to play (a loaded run may ask before).
        let player = try #require(await TestPeer.player(of: server.address, on: loop, request: "GET /live HTTP/1.0\r\nIcy-MetaData: 1\r\n\r\n"))
        return (server, feeding, player)
    }

    /// Walks `audio` as a decoder would — frames of ``silentFrames(_:)`` and ``paddedFrames(_:)``, and ID3v2 tags,
    /// which decoders skip — and returns where it found neither: bytes a player could not decode.
    static func undecodable(_ audio: [UInt8]) -> [Int] {
        var junk: [Int] = []
        var index = 0
        var inJunk = false
        while index + 10 <= audio.count {
            if audio[index] == 0x49, audio[index + 1] == 0x44, audio[index + 2] == 0x33 {  // "ID3"
                let size = audio[(index + 6)..<(index + 10)].reduce(0) { $0 << 7 | Int($1 & 0x7F) }
                index += 10 + size
                inJunk = false
            } else if audio[index] == 0xFF, audio[index + 1] == 0xFB, audio[index + 2] == 0x90 || audio[index + 2] == 0x92 {
                index += audio[index + 2] == 0x92 ? 418 : 417
                inJunk = false
            } else {
                if !inJunk { junk.append(index) }
                inJunk = true
                index += 1
            }
        }
        return junk
    }

    @Test("A fallback of another channel count than the source is used, and said: some players (VLC, a browser's <audio>) cannot follow it; the mount's first source is said too, not as heard 'again'")
    func fallbackOfAnotherShape_IsSaid_BothWays() async throws {
        let log = Log()
        let (server, feeding, player) = try await playerOnTheFallback(log)
        defer { feeding.cancel() }
        // Mono frames: the channel mode bits (the top two of the header's fourth byte) are 11.
        let mono = Self.silentFrames(10).enumerated().map { $0.offset % 417 == 3 ? 0xC4 : $0.element }
        let live = try await source(server)
        let feedingLive = keepFeeding(live, with: mono)
        #expect(await eventually(timeout: .seconds(10)) {
            log.contains("mount /live: its listeners hear its source in 44100 Hz mono, after 44100 Hz stereo: some players (VLC, a browser's <audio>)")
        }, "\(log.lines.value.suffix(6))")
        #expect(!log.contains("its source again"), "/live's first source: nothing comes back")
        feedingLive.cancel()
        await live.close()
        #expect(await eventually(timeout: .seconds(10)) {
            log.contains("mount /live: its listeners hear /backup in 44100 Hz stereo, after 44100 Hz mono")
        }, "\(log.lines.value.suffix(6))")
        #expect(!player.closed.value, "the player is not let go")
        server.close()
    }

    /// ``silentFrames(_:)`` in mono: the channel mode bits (the top two of the header's fourth byte) are 11.
    static func monoFrames(_ count: Int) -> [UInt8] {
        silentFrames(count).enumerated().map { $0.offset % 417 == 3 ? 0xC4 : $0.element }
    }

    @Test("A source that returns, within the source timeout, in another channel count than the one that left is said, as a fallback's is")
    func returningSourceOfAnotherShape_IsSaid() async throws {
        let log = Log()
        let server = try server(log: log)
        defer { server.close() }
        let first = try await source(server)
        let feeding = keepFeeding(first)
        let player = try #require(await TestPeer.player(of: server.address, on: loop, request: "GET /live HTTP/1.0\r\n\r\n"))
        #expect(await player.waitFor(timeout: .seconds(10)) { Self.silentFrameCount($0) >= 10 })
        feeding.cancel()
        await first.close()
        #expect(await eventually(timeout: .seconds(10)) { log.contains("on /live ended: ") })
        let again = try await source(server)
        let feedingAgain = keepFeeding(again, with: Self.monoFrames(10))
        defer { feedingAgain.cancel() }
        #expect(await eventually(timeout: .seconds(10)) {
            log.contains("mount /live: its listeners hear its source again in 44100 Hz mono, after 44100 Hz stereo: some players (VLC, a browser's <audio>)")
        }, "\(log.lines.value.suffix(6))")
        // No fallback to match: the advice is the mount's own sample rate and channels.
        #expect(log.lines.value.contains { $0.contains("hear its source again in 44100 Hz mono") && $0.hasSuffix("publish in the sample rate and channels the mount had") },
                "\(log.lines.value.suffix(6))")
        #expect(!player.closed.value, "the player is not let go")
    }

    @Test("A source whose frames go on in another channel count on the same connection starts another stream: said, the player kept, every byte it hears a frame")
    func sourceChangingShapeWithinItsConnection_StartsAnotherStream() async throws {
        let log = Log()
        let server = try server(log: log)
        defer { server.close() }
        let live = try await source(server)
        let stereo = keepFeeding(live)
        let player = try await listener(server)
        #expect(await player.waitFor(timeout: .seconds(10)) { Self.silentFrameCount($0) >= 10 })
        stereo.cancel()
        await stereo.value
        let mono = keepFeeding(live, with: Self.monoFrames(10))
        defer { mono.cancel() }
        #expect(await eventually(timeout: .seconds(10)) {
            log.contains("source 127.0.0.1:") && log.contains("on /live: the audio went on in 44100 Hz mono after 44100 Hz stereo: another stream")
        }, "\(log.lines.value.suffix(6))")
        let before = player.received.value.count
        #expect(await player.waitFor(timeout: .seconds(10)) { $0.count > before + 4 * 4171 }, "the mono frames play")
        // The source's line says it: the mount's distributor, which no branch links to, says nothing beside it.
        #expect(!log.contains("distributor: new stream"), "\(log.lines.value.suffix(6))")
        #expect(!player.closed.value, "the player is not let go")
        let heard = try #require(try player.parsed(segmentBytes: 4170))
        let audio = heard.segments.flatMap(\.audioBytes)
        #expect(audio.contains(0xC4), "the mono frames arrived")
        let broken = Self.undecodable(audio)
        #expect(broken.allSatisfy { $0 > audio.count - 418 }, "every byte is a frame or a tag: \(broken.prefix(4)) of \(audio.count)")
    }

    @Test("Listeners the admin API moves to a mount of another channel count are moved, and the line says so")
    func adminMove_ToAMountOfAnotherShape_IsSaid() async throws {
        let log = Log()
        let server = try server(log: log)
        defer { server.close() }
        let live = try await source(server)
        let feedingLive = keepFeeding(live)
        defer { feedingLive.cancel() }
        let backup = try await source(server, mount: "/backup")
        let feedingBackup = keepFeeding(backup, with: Self.monoFrames(10))
        defer { feedingBackup.cancel() }
        let player = try #require(await TestPeer.player(of: server.address, on: loop, request: "GET /live HTTP/1.0\r\n\r\n"))
        #expect(await player.waitFor(timeout: .seconds(10)) { Self.silentFrameCount($0) >= 5 })
        #expect(await eventually(timeout: .seconds(10)) {
            await loop.submit { server.table.mount(at: "/backup")?.distributor.assumeIsolated { $0.stat().context != nil } ?? false }
        })
        let answer = try await ask(server, "/admin/moveclients?mount=/live&destination=/backup")
        #expect(answer.contains(#""moved":1"#), "\(answer)")
        #expect(log.contains("admin: 1 listener moved from /live to /backup; they hear 44100 Hz mono, after 44100 Hz stereo: some players (VLC, a browser's <audio>)"),
                "\(log.lines.value.suffix(4))")
    }

    @Test("A built-in station as the fallback, of another channel count than the source: the move is said too (it was said only for a fallback fed by a source)")
    func stationFallbackOfAnotherShape_IsSaid() async throws {
        let log = Log()
        let server = try server(fallbacks: ["/live": "/backup"], log: log)
        defer { server.close() }
        let station = try Station.builtIn(name: "Backup", segmentBytes: 4170, loop: loop)
        await station.start()
        defer { station.stop() }
        server.attach(station, at: "/backup")
        let mono = Self.silentFrames(10).enumerated().map { $0.offset % 417 == 3 ? 0xC4 : $0.element }
        let live = try await source(server)
        #expect(await live.waitFor { String(decoding: $0, as: UTF8.self).hasPrefix("HTTP/1.1 100") })
        let feedingLive = keepFeeding(live, with: mono)
        let player = try #require(await TestPeer.player(of: server.address, on: loop, request: "GET /live HTTP/1.0\r\n\r\n"))
        #expect(await player.waitFor(timeout: .seconds(10)) { $0.count > 3 * 4170 })
        feedingLive.cancel()
        await live.close()
        #expect(await eventually(timeout: .seconds(10)) {
            log.contains("mount /live: its listeners hear /backup in \(station.shape?.description ?? "?"), after 44100 Hz mono")
        }, "\(log.lines.value.suffix(6))")
        #expect(station.shape?.channels == 2)
    }

    @Test("A source leaving a mount nobody listens to says who will hear its fallback: new listeners, not 'its listeners'")
    func sourceLeavingAMountNobodyHears_SaysNewListenersWillHearTheFallback() async throws {
        let log = Log()
        let server = try server(fallbacks: ["/live": "/backup"], log: log)
        defer { server.close() }
        let backup = try await source(server, mount: "/backup")
        #expect(await backup.waitFor { String(decoding: $0, as: UTF8.self).hasPrefix("HTTP/1.1 100") })
        let feedingBackup = keepFeeding(backup, with: Self.paddedFrames(10))
        defer { feedingBackup.cancel() }
        let live = try await source(server)
        #expect(await live.waitFor { String(decoding: $0, as: UTF8.self).hasPrefix("HTTP/1.1 100") })
        await sendAudio(live, Self.silentFrames(20))
        // Streaming: Icecast's status lists the mounts that stream (one that only was admitted has nothing to fall from).
        #expect(await eventually(timeout: .seconds(10)) {
            ((try? await ask(server, "/status-json.xsl", admin: false)) ?? "").contains("/live\"")
        }, "\(log.lines.value.suffix(4))")
        await live.close()
        #expect(await eventually(timeout: .seconds(10)) { log.contains("mount /live: no source; new listeners will hear /backup") },
                "\(log.lines.value.suffix(4))")
        #expect(!log.contains("its listeners hear"), "\(log.lines.value.suffix(4))")
    }

    @Test("When the source leaves and the fallback plays, the player's next bytes start on a frame, and the fallback's title is told; when the source returns without a title, the player is told there is none")
    func streamChange_StartsOnAFrame_AndTellsTheTitle() async throws {
        let log = Log()
        let server = try server(fallbacks: ["/live": "/backup"], log: log)
        let backup = try await source(server, mount: "/backup")
        #expect(await backup.waitFor { String(decoding: $0, as: UTF8.self).hasPrefix("HTTP/1.1 100") })
        let feedingBackup = keepFeeding(backup, with: Self.paddedFrames(10))
        defer { feedingBackup.cancel() }
        #expect(try await ask(server, "/admin/metadata?mount=/backup&mode=updinfo&song=Backup+Song").hasPrefix("HTTP/1.0 200"))
        let live = try await source(server)
        let feedingLive = keepFeeding(live)
        let player = try await listener(server)
        #expect(await player.waitFor(timeout: .seconds(10)) { Self.silentFrameCount($0) >= 20 })

        feedingLive.cancel()
        await feedingLive.value
        await live.close()
        #expect(await eventually(timeout: .seconds(10)) { log.contains("its listeners hear /backup") })
        let before = player.received.value.count
        #expect(await player.waitFor(timeout: .seconds(10)) { $0.count > before + 6 * 4171 }, "the fallback plays")
        // One line for the change: the mount's distributor does not say a new stream beside it, with its numbers.
        #expect(!log.contains("distributor: new stream"), "\(log.lines.value.suffix(6))")
        let heard = try #require(try TestPeer.parse(player.received.value, segmentBytes: 4170))
        let audio = heard.segments.flatMap(\.audioBytes)
        #expect(audio.contains(0x55), "the fallback's frames arrived")
        // The last frame may be cut short by the end of what arrived so far.
        let junk = Self.undecodable(audio)
        let around = junk.first.map { audio[max(0, $0 - 20)..<min(audio.count, $0 + 20)].map { String($0, radix: 16) } } ?? []
        #expect(junk.allSatisfy { $0 > audio.count - 418 }, "every byte is a frame or a tag: \(junk.prefix(4)) of \(audio.count), around: \(around)")
        let titles = heard.segments.compactMap { Metadata(parsing: $0.metadata).streamTitle }
        #expect(titles.last == "Backup Song", "\(titles)")

        // The source returns, with no title: the player is told that there is none, not left with the fallback's.
        let back = try await source(server)
        let feedingBack = keepFeeding(back)
        defer { feedingBack.cancel() }
        let silentBefore = Self.silentFrameCount(player.received.value)
        #expect(await player.waitFor(timeout: .seconds(10)) { Self.silentFrameCount($0) >= silentBefore + 20 })
        let after = try #require(try player.parsed(segmentBytes: 4170))
        let told = after.segments.compactMap { Metadata(parsing: $0.metadata).streamTitle }
        #expect(told.last == "", "\(told)")
        // The way back is on a frame too: the fallback's frame cut by its last segment is completed, then the
        // source's frames follow — every byte heard, from the first, is a frame or a tag.
        let whole = after.segments.flatMap(\.audioBytes)
        let broken = Self.undecodable(whole)
        #expect(broken.allSatisfy { $0 > whole.count - 418 }, "\(broken.prefix(4)) of \(whole.count)")
        server.close()
    }

    @Test("Sources that publish and hang up without audio (an encoder retrying) leave the fallback's listeners alone: no gap, no broken frame")
    func emptySources_LeaveTheFallbacksListenersAlone() async throws {
        let log = Log()
        let (server, feeding, player) = try await playerOnTheFallback(log)
        defer { feeding.cancel() }
        #expect(await player.waitFor(timeout: .seconds(10)) { $0.count > 2 * 4171 })
        let moves = log.lines.value.filter { $0.contains("its listeners hear /backup") }.count
        for _ in 0..<3 {
            let empty = try await source(server)
            #expect(await empty.waitFor { String(decoding: $0, as: UTF8.self).hasPrefix("HTTP/1.1 100") })
            try await Task.sleep(for: .milliseconds(300))
            await empty.close()
            #expect(await eventually { log.lines.value.filter { $0.contains("on /live ended") }.count >= 1 })
        }
        let before = player.received.value.count
        #expect(await player.waitFor(timeout: .seconds(10)) { $0.count > before + 4 * 4171 })
        let heard = try #require(try player.parsed(segmentBytes: 4170))
        let audio = heard.segments.flatMap(\.audioBytes)
        let junk = Self.undecodable(audio)
        #expect(junk.allSatisfy { $0 > audio.count - 418 }, "every byte is a frame or a tag: \(junk.prefix(4)) of \(audio.count)")
        #expect(!log.contains("distributor: gap"), "\(log.lines.value.filter { $0.contains("gap") })")
        let moved = log.lines.value.filter { $0.contains("its listeners hear /backup") }
        #expect(moved.count == moves, "the listeners never left /backup, and no line says they moved: \(moved)")
        server.close()
    }

    @Test("When the fallback's own source comes back (an encoder reconnecting), the players hearing it through another mount hear its new stream at once")
    func fallbacksNewStream_ReachesTheMountsPlayers() async throws {
        let log = Log()
        let server = try server(fallbacks: ["/live": "/backup"], log: log)
        let backup = try await source(server, mount: "/backup")
        #expect(await backup.waitFor { String(decoding: $0, as: UTF8.self).hasPrefix("HTTP/1.1 100") })
        let player = try await listener(server)
        await sendPaced(backup, Self.paddedFrames(600))  // 60 segments: numbers the new stream takes seconds to reach
        #expect(await player.waitFor(timeout: .seconds(10)) { $0.count > 20 * 4171 })
        await backup.close()
        try await Task.sleep(for: .milliseconds(300))
        let again = try await source(server, mount: "/backup")
        #expect(await again.waitFor { String(decoding: $0, as: UTF8.self).hasPrefix("HTTP/1.1 100") })
        let feeding = keepFeeding(again)
        defer { feeding.cancel() }
        let before = player.received.value.count
        #expect(await player.waitFor(timeout: .seconds(3)) { Self.silentFrameCount(Array($0[before...])) >= 20 },
                "\(log.lines.value.filter { $0.contains("/live") }.suffix(4))")
        #expect(!log.contains("duplicate or old segment"))
        server.close()
    }

    @Test("Listeners waiting for their source are let go after the source timeout, even when a source came and hung up without audio meanwhile")
    func waitingListeners_AreLetGo_AfterAnEmptySourceCameAndWent() async throws {
        let log = Log()
        let server = try server(timeout: .seconds(5), log: log)
        let live = try await source(server)
        let feeding = keepFeeding(live)
        // The player comes once the mount plays (a loaded run once sent it before the source was even admitted).
        #expect(await eventually(timeout: .seconds(10)) {
            ((try? await ask(server, "/api/mounts/live", admin: false)) ?? "").contains("\"live\":true")
        })
        let player = try await listener(server)
        #expect(await player.waitFor(timeout: .seconds(10)) { Self.silentFrameCount($0) >= 10 })
        feeding.cancel()
        await feeding.value
        await live.close()
        #expect(await eventually(timeout: .seconds(10)) { log.contains("on /live ended") })

        // It sends nothing until the source timeout drops it: it is still there when the wait's first timer fires.
        let empty = try await source(server)
        #expect(await empty.waitFor { String(decoding: $0, as: UTF8.self).hasPrefix("HTTP/1.1 100") })
        #expect(await eventually(timeout: .seconds(20)) { log.lines.value.filter { $0.contains("on /live ended") }.count == 2 })
        await empty.close()
        #expect(await eventually(timeout: .seconds(20)) { player.closed.value }, "let go after the source timeout")
        #expect(log.contains("mount /live: no source came back within 5.0 seconds"))
        server.close()
    }

    @Test("A source that drops, comes back and drops again: its listeners wait the source timeout from the last drop, not the first")
    func sourceThatDropsTwice_ListenersWaitFromTheLastDrop() async throws {
        let log = Log()
        // A source timeout of 6 s: its sources' feeding, a task, may be starved for seconds on a loaded run.
        let server = try server(timeout: .seconds(6), log: log)
        defer { server.close() }
        let (first, feedingFirst) = try await feedingSource(server)
        // Asked until it answers 200: before the source's first audio, a loaded machine may answer 503.
        let player = try #require(try await TestPeer.player(of: server.address, on: loop, request: "GET /live HTTP/1.0\r\nIcy-MetaData: 1\r\n\r\n"))
        #expect(await player.waitFor(timeout: .seconds(10)) { Self.silentFrameCount($0) >= 10 })
        feedingFirst.cancel()
        await feedingFirst.value
        await first.close()
        #expect(await eventually(timeout: .seconds(10)) { log.contains("on /live ended") })
        let dropped = ContinuousClock.now
        let (second, feedingSecond) = try await feedingSource(server)
        #expect(await eventually(timeout: .seconds(10)) { log.contains("mount /live: its listeners hear") || Self.silentFrameCount(player.received.value) >= 20 })
        try await Task.sleep(until: dropped + .seconds(4))
        feedingSecond.cancel()
        await feedingSecond.value
        await second.close()
        #expect(await eventually(timeout: .seconds(10)) { log.lines.value.filter { $0.contains("on /live ended") }.count == 2 })
        let secondDrop = ContinuousClock.now
        // The first drop's wait would have ended 6 s after it: the player is still there 1.5 s past that (the second
        // drop's ends 6 s after it, 10 s or more after the first).
        try await Task.sleep(until: dropped + .seconds(7.5))
        #expect(!player.closed.value, "let go \(ContinuousClock.now - secondDrop) after the second drop: \(log.lines.value.suffix(4))")
        #expect(await eventually(timeout: .seconds(10)) { player.closed.value }, "let go once the second drop's wait is over")
    }

    @Test("A source that hangs up mid-segment: its last frames reach the listener whole, then the fallback's, with nothing cut short")
    func sourceThatHangsUp_ItsLastFramesGoOutWhole() async throws {
        let log = Log()
        let server = try server(fallbacks: ["/live": "/backup"], log: log)
        let (_, feedingBackup) = try await feedingSource(server, mount: "/backup")
        defer { feedingBackup.cancel() }
        let live = try await source(server)
        #expect(await live.waitFor(timeout: .seconds(10)) { String(decoding: $0, as: UTF8.self).hasPrefix("HTTP/1.1 100") })
        let feedingLive = keepFeeding(live, with: Self.paddedFrames(10))
        // The player comes once /live plays its source: a loaded run once sent it before the source was even admitted.
        #expect(await eventually(timeout: .seconds(10)) {
            ((try? await ask(server, "/api/mounts/live", admin: false)) ?? "").contains(#""live":true,"fallback":false"#)
        })
        let player = try #require(await TestPeer.player(of: server.address, on: loop, request: "GET /live HTTP/1.0\r\nIcy-MetaData: 1\r\n\r\n"))
        #expect(await player.waitFor(timeout: .seconds(10)) { $0.count > 3 * 4171 })
        feedingLive.cancel()
        await feedingLive.value
        await sendAudio(live, Self.paddedFrames(3))  // the segment being filled ends inside it, on no boundary of a segment
        try await Task.sleep(for: .milliseconds(100))
        await live.close()
        #expect(await eventually(timeout: .seconds(10)) { log.contains("its listeners hear /backup") })
        #expect(await player.waitFor(timeout: .seconds(10)) { Self.silentFrameCount($0) >= 20 })
        let heard = try #require(try player.parsed(segmentBytes: 4170))
        let audio = heard.segments.flatMap(\.audioBytes)
        let junk = Self.undecodable(audio)
        #expect(junk.allSatisfy { $0 > audio.count - 418 }, "every byte is a frame or a tag: \(junk.prefix(4)) of \(audio.count): \(log.lines.value)")
        server.close()
    }
}
