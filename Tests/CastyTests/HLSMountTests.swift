import Glibc
import Testing

@testable import Casty
@testable import CastyNet

/// Live HLS and recordings through a real mount: a station server on loopback, sources publishing with PUT.
extension StationServerTests {
    @Test func reconnectingSource_IsADiscontinuityOfTheMountsHLS_AndEachSessionIsRecordedToItsEnd() async throws {
        let directory = temporaryDirectory("mount-hls")
        // Segments of 1 s: 38 or 39 frames of 26 ms (1,152 samples at 44.1 kHz).
        let server = try server(timeout: .seconds(10)) { configuration in
            configuration.options.hls.targetDuration = 1
            configuration.options.recording.directory = directory
            configuration.options.recording.mounts = ["/live"]
        }
        // The first session: 160 frames (4.18 s), HLS segments 0–3, and 4 (0.18 s) when the source leaves.
        let first = try await source(server)
        #expect(await first.waitFor { String(decoding: $0, as: UTF8.self).hasPrefix("HTTP/1.1 100") })
        await sendPaced(first, Self.silentFrames(160))
        try await Task.sleep(for: .milliseconds(200))
        await first.close()
        // Its recording is finished when it leaves, with every frame it sent.
        #expect(await eventually(timeout: .seconds(5)) { finished(in: directory).count == 1 })
        let recorded = try #require(recordings(in: directory).first)
        #expect(fileSize(recorded + ".mp3") == 160 * 417)

        // The source comes back: a new stream, whose HLS segments 0–2 follow the first one's last frames (segment 4,
        // shorter, named after the relay segment it starts in) under the numbers 5–7.
        let second = try await source(server)
        #expect(await second.waitFor { String(decoding: $0, as: UTF8.self).hasPrefix("HTTP/1.1 100") })
        // One frame more than the three segments hold: a source's frame goes on once the header after it has come.
        await sendPaced(second, Self.silentFrames(121))
        let playlist = Locked<[String]>([])
        #expect(await eventually(timeout: .seconds(5)) {
            let lines = playlistLines((try? await ask(server, "/live/index.m3u8", admin: false)) ?? "")
            playlist.update { $0 = lines }
            return lines.filter { !$0.hasPrefix("#") }.last?.hasSuffix("-2.mp3") == true  // the new stream's segment 2 is in
        }, "\(playlist.value)")
        let lines = playlist.value; print(lines.joined(separator: "\n"))
        let names = lines.filter { !$0.hasPrefix("#") }
        #expect(names.map { $0.split(separator: "-").last.map(String.init) } == ["2.mp3", "3.mp3", "15.mp3", "0.mp3", "1.mp3", "2.mp3"])
        // Numbered from the clock (milliseconds since 2026 began), the first session's segment 2 first.
        let sequence = try #require(lines.first { $0.hasPrefix("#EXT-X-MEDIA-SEQUENCE:") }.flatMap { Int($0.dropFirst(22)) })
        let clock = HLSSegmenter.clockSequence(at: wallClockMilliseconds())
        #expect(sequence - 2 <= clock && sequence - 2 > clock - 60_000, "\(sequence) against the clock's \(clock)")
        #expect(try await ask(server, "/live/\(names[2])", admin: false).hasPrefix("HTTP/1.0 200"), "the last segment is served")
        // The tag stands right before the new stream's first segment (its EXTINF and date lines between).
        let tag = try #require(lines.firstIndex(of: "#EXT-X-DISCONTINUITY"))
        #expect(lines[tag...].first { !$0.hasPrefix("#") } == names[3])
        #expect(names[2].prefix(8) != names[3].prefix(8), "the new stream's segments have its name")
        await second.close()
        #expect(await eventually(timeout: .seconds(5)) { finished(in: directory).count == 2 })
        let again = try #require(recordings(in: directory).last)
        #expect(fileSize(again + ".mp3") == 121 * 417, "every frame, the last one too once the source left")
        server.close()
    }

    @Test("A relay segment that makes several HLS segments at once (a long one: 4 s in 1 s targets) has them all listed, though the window is 3")
    func segmentsMadeAtOnce_AreAllListed() async throws {
        let server = try server(timeout: .seconds(10)) { configuration in
            configuration.segmentBytes = 160 * 417  // 4.18 s of 128 kbit/s MP3 a relay segment
            configuration.options.hls.targetDuration = 1
            configuration.options.hls.window = 3
        }
        let source = try await source(server)
        #expect(await source.waitFor { String(decoding: $0, as: UTF8.self).hasPrefix("HTTP/1.1 100") })
        await sendPaced(source, Self.silentFrames(170), segment: 417 * 40)
        let listed = Locked<[String]>([])
        #expect(await eventually(timeout: .seconds(5)) {
            let names = playlistLines((try? await ask(server, "/live/index.m3u8", admin: false)) ?? "").filter { !$0.hasPrefix("#") }
            listed.update { $0 = names }
            return !names.isEmpty
        }, "the playlist answers once the first relay segment is cut")
        // Segments of 38 or 39 frames (1 s): four from the first 160 frames, all of them in the playlist.
        #expect(listed.value.count == 4, "\(listed.value)")
        await source.close()
    }

    @Test("A fallback that played a while before it takes over a mount follows its last HLS segment by one, after EXT-X-DISCONTINUITY, in the same playlist")
    func fallbackTakingOver_IsADiscontinuityInTheSameWindow() async throws {
        let server = try server(fallbacks: ["/live": "/backup"]) { $0.options.hls.targetDuration = 1 }
        // /backup has played 10 s (some 38 relay segments) before /live's source comes and goes.
        let backup = try await source(server, mount: "/backup")
        #expect(await backup.waitFor { String(decoding: $0, as: UTF8.self).hasPrefix("HTTP/1.1 100") })
        await sendPaced(backup, Self.silentFrames(380))
        let live = try await source(server)
        #expect(await live.waitFor { String(decoding: $0, as: UTF8.self).hasPrefix("HTTP/1.1 100") })
        let feeding = keepFeeding(backup)
        await sendPaced(live, Self.silentFrames(200))
        try await Task.sleep(for: .milliseconds(200))
        await live.close()
        // /live played /backup, then its source, then /backup again: the takeover is a discontinuity after which
        // /backup's segments come (its stream's name), in a window of six.
        let backupNames = playlistLines((try? await ask(server, "/backup/index.m3u8", admin: false)) ?? "").filter { !$0.hasPrefix("#") }
        let backupStream = try #require(backupNames.last?.prefix(8))
        let playlist = Locked<[String]>([])
        #expect(await eventually(timeout: .seconds(10)) {
            let lines = playlistLines((try? await ask(server, "/live/index.m3u8", admin: false)) ?? "")
            playlist.update { $0 = lines }
            guard let tag = lines.lastIndex(of: "#EXT-X-DISCONTINUITY"), let after = lines[tag...].first(where: { !$0.hasPrefix("#") })
            else { return false }
            return after.prefix(8) == backupStream && lines.filter { !$0.hasPrefix("#") }.count == 6
        }, "\(playlist.value)")
        feeding.cancel()
        let lines = playlist.value
        let names = lines.filter { !$0.hasPrefix("#") }
        let tag = try #require(lines.lastIndex(of: "#EXT-X-DISCONTINUITY"))
        let after = try #require(lines[tag...].first { !$0.hasPrefix("#") })
        let split = try #require(names.firstIndex(of: after))
        #expect(split > 0 && names[split - 1].prefix(8) != after.prefix(8), "the source's segments, then the fallback's: \(names)")
        #expect(names.count == 6, "a whole window across the takeover: \(names)")
        server.close()
    }

    /// A source publishing `/live` on `server` until its live playlist answers (more than three targets of audio,
    /// then fed on while the playlist is asked for: a loaded machine that starves the test's task for longer than the
    /// source timeout must not end the source before its playlist was seen), and that playlist's lines.
    func publishedWithAPlaylist(_ server: StationServer) async throws -> (source: TestPeer, playlist: [String]) {
        let source = try await source(server)
        #expect(await source.waitFor { String(decoding: $0, as: UTF8.self).hasPrefix("HTTP/1.1 100") })
        await sendPaced(source, Self.silentFrames(160))  // 4.2 s of audio: more than three targets
        let feeding = keepFeeding(source)
        defer { feeding.cancel() }
        let playlist = Locked<[String]>([])
        #expect(await eventually(timeout: .seconds(30)) {
            let answer = (try? await ask(server, "/live/index.m3u8", admin: false)) ?? ""
            playlist.update { $0 = playlistLines(answer) }
            return answer.hasPrefix("HTTP/1.0 200")
        })
        return (source, playlist.value)
    }

    @Test("Without --hls-dir too, a withdrawn playlist's segments go once their time is up (they stayed, the expiry timer firing in a loop)")
    func withdrawnSegmentsWithoutADirectory_GoInTheirTime() async throws {
        let server = try server(timeout: .seconds(2)) { $0.options.hls.targetDuration = 1 }
        defer { server.close() }
        let (source, lines) = try await publishedWithAPlaylist(server)
        let last = try #require(lines.last { !$0.hasPrefix("#") })
        await source.close()
        #expect(await eventually(timeout: .seconds(30)) {
            ((try? await ask(server, "/live/index.m3u8", admin: false)) ?? "").hasPrefix("HTTP/1.0 404")
        }, "no source came back: the playlist is withdrawn")
        // Its time: its own second and the 6-s playlist that listed it, from the withdrawal.
        #expect(await eventually(timeout: .seconds(30)) {
            ((try? await ask(server, "/live/\(last)", admin: false)) ?? "").hasPrefix("HTTP/1.0 404")
        }, "\(last) goes once its time is up")
    }

    @Test("While its source is waited for, a mount's live HLS stays: its playlist and segments answer; after the source timeout, the playlist is 404, on disk too, its segments stay for their time (RFC 8216 6.2.2) then go, and the next source's playlist starts empty")
    func hlsOfAMountWaitingForItsSource_StaysUntilTheTimeout() async throws {
        let directory = temporaryDirectory("hls-session")
        // A source timeout of 8 s: a loaded run that holds the server's loop for seconds must not end the source
        // before its playlist was asked (two CI runs saw the mount with nothing to play for 30 s with 3 s).
        let server = try server(timeout: .seconds(8)) { configuration in
            configuration.options.hls.targetDuration = 1
            configuration.options.hls.directory = directory
        }
        let (source, lines) = try await publishedWithAPlaylist(server)
        let segment = try #require(lines.first { !$0.hasPrefix("#") })
        await source.close()
        try await Task.sleep(for: .milliseconds(500))
        let given = try await ask(server, "/live/index.m3u8", admin: false)
        #expect(given.hasPrefix("HTTP/1.0 200"), "the window its players were given")
        #expect(try await ask(server, "/live/\(segment)", admin: false).hasPrefix("HTTP/1.0 200"), "\(segment) stays downloadable")
        // The last segment of the last window its players were given.
        let last = try #require(playlistLines(given).last { !$0.hasPrefix("#") })
        // The playlist goes when no source came back; the segments it listed stay, for their own duration plus the
        // playlist's: a player that read it just before still finds them. Asked the moment the playlist is 404.
        let lastAnswer = Locked("")
        #expect(await eventually(timeout: .seconds(30)) {
            guard ((try? await ask(server, "/live/index.m3u8", admin: false)) ?? "").hasPrefix("HTTP/1.0 404") else { return false }
            let answer = (try? await ask(server, "/live/\(last)", admin: false)) ?? ""
            lastAnswer.update { $0 = String(answer.prefix(40)) }
            return true
        }, "no source came back: the mount has nothing to play")
        #expect(lastAnswer.value.hasPrefix("HTTP/1.0 200"), "\(last) stays downloadable after the playlist went: \(lastAnswer.value)")
        // Deleted on the writer's queue: waited for, not flushed (a test blocks no thread of the shared pool).
        #expect(await eventually { access(directory + "/live/index.m3u8", F_OK) != 0 }, "nor does the web server serving --hls-dir")
        // Once their time is up (about 7 s: 1 s and a 6-s playlist), they go, over HTTP and on disk.
        #expect(await eventually(timeout: .seconds(30)) {
            ((try? await ask(server, "/live/\(last)", admin: false)) ?? "").hasPrefix("HTTP/1.0 404")
        }, "the last show's segments go once their time is up")
        #expect(await eventually(timeout: .seconds(10)) {
            access(directory + "/live/\(last)", F_OK) != 0 && access(directory + "/live/\(segment)", F_OK) != 0
        })

        // The next session: its playlist is not the last show's tail, and waits for three targets of its own.
        let next = try await self.source(server)
        #expect(await next.waitFor { String(decoding: $0, as: UTF8.self).hasPrefix("HTTP/1.1 100") })
        await sendPaced(next, Self.silentFrames(40))  // 1 s
        try await Task.sleep(for: .milliseconds(300))
        let early = try await ask(server, "/live/index.m3u8", admin: false)
        #expect(early.hasPrefix("HTTP/1.0 503"), "\(early)")
        await next.close()
        server.close()
    }

    @Test("While the source of the fallback a mount plays is waited for, the mount's live HLS stays as the fallback's does: its playlist and segments answer")
    func hlsOfAMountWhoseFallbackIsWaitedFor_StaysAsTheFallbacks() async throws {
        // A source timeout of 8 s, as above: a loaded run must not end the wait before the playlists were asked.
        let server = try server(fallbacks: ["/live": "/backup"], timeout: .seconds(8)) { $0.options.hls.targetDuration = 1 }
        let backup = try await source(server, mount: "/backup")
        #expect(await backup.waitFor { String(decoding: $0, as: UTF8.self).hasPrefix("HTTP/1.1 100") })
        await sendPaced(backup, Self.silentFrames(160))  // 4.2 s: more than three targets
        let feeding = keepFeeding(backup)
        // /live has no source of its own: it plays /backup, and publishes it.
        let playlist = Locked<[String]>([])
        #expect(await eventually(timeout: .seconds(30)) {
            let answer = (try? await ask(server, "/live/index.m3u8", admin: false)) ?? ""
            playlist.update { $0 = playlistLines(answer) }
            return answer.hasPrefix("HTTP/1.0 200")
        })
        feeding.cancel()
        let segment = try #require(playlist.value.first { !$0.hasPrefix("#") })
        await backup.close()
        try await Task.sleep(for: .milliseconds(500))
        #expect(try await ask(server, "/backup/index.m3u8", admin: false).hasPrefix("HTTP/1.0 200"), "the fallback's own window")
        let live = try await ask(server, "/live/index.m3u8", admin: false)
        #expect(live.hasPrefix("HTTP/1.0 200"), "the window /live's players were given: \(live)")
        #expect(try await ask(server, "/live/\(segment)", admin: false).hasPrefix("HTTP/1.0 200"), "\(segment) stays downloadable")
        #expect(await eventually(timeout: .seconds(30)) {
            ((try? await ask(server, "/live/index.m3u8", admin: false)) ?? "").hasPrefix("HTTP/1.0 404")
        }, "no source came back to the fallback: the mount has nothing to play")
        server.close()
    }

    @Test("A recorded mount records its own sources, not its fallback's audio while it plays that")
    func recordedMount_SkipsItsFallbacksAudio() async throws {
        let directory = temporaryDirectory("mount-fallback")
        let server = try server(fallbacks: ["/live": "/backup"]) { configuration in
            configuration.options.hls.targetDuration = 1
            configuration.options.recording.directory = directory
            configuration.options.recording.mounts = ["/live"]
        }
        // /backup is live, and /live (no source of its own) plays it to its listener.
        let backup = try await source(server, mount: "/backup")
        #expect(await backup.waitFor { String(decoding: $0, as: UTF8.self).hasPrefix("HTTP/1.1 100") })
        let player = try await listener(server, "/live", titles: false)
        await sendPaced(backup, Self.silentFrames(80))
        #expect(await player.waitFor { $0.count > 4 * 4170 })
        #expect(recordings(in: directory).isEmpty, "the fallback's audio is not /live's recording")
        // /live's own source: recorded, and only its frames.
        let live = try await source(server)
        #expect(await live.waitFor { String(decoding: $0, as: UTF8.self).hasPrefix("HTTP/1.1 100") })
        await sendPaced(live, Self.silentFrames(60))
        try await Task.sleep(for: .milliseconds(200))
        await live.close()
        #expect(await eventually(timeout: .seconds(5)) { finished(in: directory).count == 1 })
        // /live plays /backup again: still one recording, of /live's 60 frames.
        await sendPaced(backup, Self.silentFrames(60))
        try await Task.sleep(for: .milliseconds(300))
        #expect(recordings(in: directory).count == 1)
        let recorded = try #require(recordings(in: directory).first)
        #expect(fileSize(recorded + ".mp3") == 60 * 417)
        server.close()
    }

    @Test("Under --no-hls a server of one mount, which plays it at every path, answers its playlist 404 too, not with the audio")
    func playlistUnderNoHLS_OfAServerOfOneMount_IsNotTheStream() async throws {
        let log = Log()
        let server = try server(mounts: ["/live"], log: log) { configuration in configuration.options.hls.enabled = false }
        defer { server.close() }
        let source = try await source(server)
        #expect(await source.waitFor { String(decoding: $0, as: UTF8.self).hasPrefix("HTTP/1.1 100") })
        await sendPaced(source, Self.silentFrames(40))
        for path in ["/live/index.m3u8", "/index.m3u8", "/live/3fa2c1d0-12.mp3"] {
            let answer = try await ask(server, path, admin: false)
            #expect(answer.hasPrefix("HTTP/1.0 404") && answer.contains("\r\n\r\nThis server publishes no HLS (--no-hls): listen at /"),
                    "\(path): \(answer.prefix(200))")
        }
        #expect(log.contains("refused: /index.m3u8: HLS is off on this server (--no-hls) (404)"), "\(log.lines.value)")
        // The mount itself still plays.
        let player = try await listener(server)
        #expect(await player.waitFor(timeout: .seconds(10)) { Self.silentFrameCount($0) >= 10 })
    }

    @Test("Under --no-hls a relay's port answers /index.m3u8 404 saying where to listen, not with the stream")
    func relayPortUnderNoHLS_AnswersItsPlaylist404() async throws {
        let distributor = Distributor(loop: loop)
        distributor.attachSource(RecorderNode(loop: loop))
        distributor.send(.reply(next: 0, context: testContext()))
        var options = ClientOptions()
        options.hls.enabled = false
        let port = try ClientPort(distributor: distributor, address: .loopback(port: 0), options: options)
        defer { port.close() }
        let peer = try await TestPeer.connect(to: port.address, on: loop)
        await peer.send("GET /index.m3u8 HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(await peer.waitFor(timeout: .seconds(10)) { String(decoding: $0, as: UTF8.self).contains("--no-hls") }, "\(peer.text.prefix(200))")
        #expect(peer.text.hasPrefix("HTTP/1.1 404") || peer.text.hasPrefix("HTTP/1.0 404"), "\(peer.text.prefix(200))")
        #expect(peer.text.contains("This server publishes no HLS (--no-hls): listen at /."), "\(peer.text.prefix(300))")
    }

    @Test("Under --no-hls a live mount's playlist is 404 saying HLS is off and where to listen, not 'try again later'")
    func playlistUnderNoHLS_SaysHLSIsOff_NotOffAir() async throws {
        let log = Log()
        let server = try server(log: log) { configuration in configuration.options.hls.enabled = false }
        defer { server.close() }
        let source = try await source(server)
        #expect(await source.waitFor { String(decoding: $0, as: UTF8.self).hasPrefix("HTTP/1.1 100") })
        await sendPaced(source, Self.silentFrames(40))
        let answer = try await ask(server, "/live/index.m3u8", admin: false)
        #expect(answer.hasPrefix("HTTP/1.0 404") && answer.contains("\r\n\r\nThis server publishes no HLS (--no-hls): listen at /live."), "\(answer)")
        #expect(try await ask(server, "/nowhere/index.m3u8", admin: false).contains("\r\n\r\nThis server publishes no HLS (--no-hls)."))
        #expect(log.contains("refused: /live/index.m3u8: HLS is off on this server (--no-hls) (404)"), "\(log.lines.value)")
        #expect(!log.contains("nothing to play at /live/index.m3u8"), "\(log.lines.value)")
    }

    @Test("/tree counts a mount's HLS players beside its players")
    func treeLine_CountsHLSPlayers() async throws {
        let server = try server { configuration in configuration.options.hls.targetDuration = 1 }
        let source = try await source(server)
        #expect(await source.waitFor { String(decoding: $0, as: UTF8.self).hasPrefix("HTTP/1.1 100") })
        await sendPaced(source, Self.silentFrames(240))
        #expect(try await ask(server, "/tree?mount=/live", admin: false).contains(" hls=0"))
        #expect(await eventually(timeout: .seconds(5)) {
            ((try? await ask(server, "/live/index.m3u8", admin: false)) ?? "").hasPrefix("HTTP/1.0 200")
        })
        let line = try await ask(server, "/tree?mount=/live", admin: false)
        #expect(line.contains(" hls=1") && line.contains(" mount=/live"), "\(line)")
        // Named as the command API names channels, without its slash: the same mount.
        #expect(try await ask(server, "/tree?mount=live", admin: false).contains(" mount=/live"))
        server.close()
    }

    @Test("A recorded stream that stops coming without ending (its station gone, as a branch's root) has its file finished after the quiet wait")
    func recordingOfAStreamThatStopsComing_IsFinished_AfterTheQuietWait() async throws {
        let directory = temporaryDirectory("quiet-end")
        let server = try server(mounts: []) { configuration in
            configuration.options.hls.targetDuration = 1
            configuration.options.recording.directory = directory
            configuration.options.recording.mounts = ["/radio"]
            configuration.options.recording.quietEnd = .seconds(3)  // a loaded run's loop may pause a second
        }
        let station = try Station.builtIn(titles: ["Song"], segmentBytes: 4170, loop: loop)
        await station.start()
        server.attach(station, at: "/radio")
        let playlists: @Sendable () -> [String] = { FileWriter.names(in: directory + "/radio").flatMap { day in
            FileWriter.names(in: directory + "/radio/" + day).filter { $0.hasSuffix(".m3u8") }.map { directory + "/radio/" + day + "/" + $0 }
        } }
        #expect(await eventually(timeout: .seconds(10)) { !playlists().isEmpty }, "recording")
        try await Task.sleep(for: .milliseconds(1000))
        #expect(playlists().allSatisfy { fileText($0)?.hasSuffix("#EXT-X-ENDLIST\n") != true }, "not finished while the stream comes")
        station.stop()  // the stream stops coming; nothing tells the mount it ended
        #expect(await eventually(timeout: .seconds(10)) { playlists().contains { fileText($0)?.hasSuffix("#EXT-X-ENDLIST\n") == true } },
                "finished once it brought nothing for the quiet wait: \(playlists())")
        server.close()
    }

    /// The recordings under `directory/live` whose playlist is finished (`EXT-X-ENDLIST`).
    func finished(in directory: String) -> [String] {
        recordings(in: directory).filter { fileText($0 + ".m3u8")?.hasSuffix("#EXT-X-ENDLIST\n") == true }
    }

    /// The lines of a playlist answered over HTTP (after the head's blank line).
    private func playlistLines(_ answer: String) -> [String] {
        guard let head = answer.firstRange(of: "\r\n\r\n") else { return [] }
        return answer[head.upperBound...].split(separator: "\n").map(String.init)
    }

    /// The recordings under `directory/live`, finished or not: their paths without extension, oldest first.
    func recordings(in directory: String) -> [String] {
        let live = directory + "/live"
        return FileWriter.names(in: live).sorted().flatMap { day in
            // 16-34-24, then 16-34-24_02 for a second file started in the same second.
            FileWriter.names(in: live + "/" + day).filter { $0.hasSuffix(".m3u8") }.map { String($0.dropLast(5)) }.sorted()
                .map { live + "/" + day + "/" + $0 }
        }
    }
}

extension StationServerTests {
    @Test("A stream that stops coming without ending has its live playlist withdrawn after the quiet wait, and back when it comes again")
    func aStreamThatStopsComing_HasItsLivePlaylistWithdrawn() async throws {
        let log = Log()
        let server = try server(timeout: .seconds(60), log: log) { configuration in
            configuration.options.hls.targetDuration = 1
            configuration.options.hls.quietEnd = .seconds(2)
        }
        defer { server.close() }
        let source = try await source(server)
        #expect(await source.waitFor { String(decoding: $0, as: UTF8.self).hasPrefix("HTTP/1.1 100") })
        await sendPaced(source, Self.silentFrames(240))
        let playlist: @Sendable () async -> String = { (try? await self.ask(server, "/live/index.m3u8", admin: false)) ?? "" }
        #expect(await eventually(timeout: .seconds(5)) { await playlist().hasPrefix("HTTP/1.0 200") })
        // The source stays connected and sends nothing (its timeout is a minute): the playlist no longer moves.
        #expect(await eventually(timeout: .seconds(10)) { !(await playlist().hasPrefix("HTTP/1.0 200")) }, "withdrawn")
        #expect(log.contains("HLS of /live: no audio for 2.0 s: its live playlist is withdrawn"), "\(log.lines.value)")
        await sendPaced(source, Self.silentFrames(240))
        #expect(await eventually(timeout: .seconds(10)) { await playlist().hasPrefix("HTTP/1.0 200") }, "back with the stream")
    }
}
