@testable import CastyNet
@testable import CastyWire
import Icy
import Testing

@testable import Casty

/// A branch recording its one stream (`--record /`): once, however many ports serve it, and only the root's mount's
/// own audio — not its fallback's, which the root does not record either.
extension TreeMountsTests {
    /// A root of `/live` and `/backup` (`/live` falls back to it), whose HLS segments last 1 s, with the built-in
    /// station "Backup" on `/backup`.
    func rootWithFallback() async throws -> (server: StationServer, backup: Station) {
        let server = try stationRoot(["/live", "/backup"], fallbacks: ["/live": "/backup"]) { $0.options.hls.targetDuration = 1 }
        let backup = try Station.builtIn(titles: ["Backup"], titleInterval: .seconds(1), segmentBytes: Self.segmentBytes)
        await backup.start()
        server.attach(backup, at: "/backup")
        return (server, backup)
    }

    /// A branch of `server`'s `/live` recording it (`--record /`) into `directory`, `eager` (`--eager`), with a players' port if asked.
    func recordingBranch(
        of server: StationServer, into directory: String, clientPort: Bool = false, eager: Bool = true, log: StationServerTests.Log
    ) throws -> Branch.Running {
        var options = ClientOptions()
        options.recording.directory = directory
        options.recording.mounts = ["/"]
        var configuration = Branch.Configuration()
        configuration.backoff = .milliseconds(20)
        return try Branch.serve(
            root: StreamURL(host: "127.0.0.1", port: server.address.port, path: "/live"), address: .loopback(port: 0),
            clientAddress: clientPort ? .loopback(port: 0) : nil, eager: eager, configuration: configuration, options: options,
            logger: log.logger)
    }

    /// The recordings of a relay's one stream under `directory` (`DIR/<date>/<time>`), their paths without extension.
    func streamRecordings(in directory: String) -> [String] {
        FileWriter.names(in: directory).sorted().flatMap { day in
            FileWriter.names(in: directory + "/" + day).filter { $0.hasSuffix(".m3u8") }.sorted().map { "\(directory)/\(day)/\($0.dropLast(5))" }
        }
    }

    /// A root whose `/live` plays the built-in station (titled `Live`), in HLS segments of 1 s.
    func rootPlayingLive() async throws -> (StationServer, Station) {
        let server = try stationRoot(["/live"]) { $0.options.hls.targetDuration = 1 }
        let live = try Station.builtIn(titles: ["Live"], titleInterval: .seconds(1), segmentBytes: Self.segmentBytes)
        await live.start()
        server.attach(live, at: "/live")
        return (server, live)
    }

    /// Whether `serving`'s live playlist lists `count` segments: whatever the recorder takes, it has taken them too.
    func livePlaylist(of serving: Branch.Running, lists count: Int) async -> Bool {
        await eventually(timeout: .seconds(20)) {
            await HLSTreeFetch.playlist(serving.port.address).split(separator: "\n").filter { $0.hasPrefix("#EXTINF") }.count >= count
        }
    }

    @Test("A branch with a players' port (--client-port) records its stream once: one file, not two of the same audio that cut each other")
    func aBranchWithAClientPort_RecordsItsStreamOnce() async throws {
        let (server, live) = try await rootPlayingLive()
        let directory = temporaryDirectory("branch-client-port-record")
        let log = StationServerTests.Log()
        let serving = try recordingBranch(of: server, into: directory, clientPort: true, log: log)
        #expect(serving.clientPort != nil)
        #expect(await livePlaylist(of: serving, lists: 3), "\(log.lines.value)")
        // A file with two segments: a second recorder, handed the same first segment a second before, would have its file.
        #expect(await eventually(timeout: .seconds(10)) {
            streamRecordings(in: directory).contains { (fileText($0 + ".m3u8") ?? "").split(separator: "\n").filter { $0.hasPrefix("#EXTINF") }.count >= 2 }
        }, "\(log.lines.value)")
        let recordings = streamRecordings(in: directory)
        #expect(recordings.count == 1, "one file: \(recordings)")
        let started = log.lines.value.filter { $0.hasPrefix("recording the stream to ") }
        #expect(started.count == 1, "\(started)")
        live.stop()
        serving.stop()
        server.close()
    }

    @Test("A branch recording its stream (--record /) takes its place and records from the start without --eager: nobody need listen")
    func aBranchRecordingItsStream_RecordsWithNoListener() async throws {
        let (server, live) = try await rootPlayingLive()
        let directory = temporaryDirectory("branch-record-lazy")
        let log = StationServerTests.Log()
        let serving = try recordingBranch(of: server, into: directory, eager: false, log: log)
        #expect(await eventually(timeout: .seconds(15)) { !streamRecordings(in: directory).isEmpty }, "\(log.lines.value)")
        live.stop()
        serving.stop()
        server.close()
    }

    @Test("A branch recording a mount finishes its source's file as soon as the root's mount falls back, as the root does, not a minute later")
    func aBranchRecording_FinishesTheFileWhenTheRootFallsBack() async throws {
        let (server, backup) = try await rootWithFallback()
        let directory = temporaryDirectory("branch-record-falls-back")
        let log = StationServerTests.Log()
        let serving = try recordingBranch(of: server, into: directory, log: log)
        let (source, feeding) = try await StationServerTests().feedingSource(server)
        @Sendable func playlists() -> [String] { streamRecordings(in: directory).map { fileText($0 + ".m3u8") ?? "" } }
        #expect(await eventually(timeout: .seconds(20)) {
            playlists().contains { $0.split(separator: "\n").filter { $0.hasPrefix("#EXTINF") }.count >= 2 }
        }, "\(log.lines.value)")
        feeding.cancel()
        await source.close()
        // The source leaves: /live plays /backup, which the link says; the file is finished within seconds (the
        // quiet end of a stream that stops coming would take a minute).
        #expect(await eventually(timeout: .seconds(15)) { !playlists().isEmpty && playlists().allSatisfy { $0.contains("#EXT-X-ENDLIST") } },
                "\(log.lines.value)")
        backup.stop()
        serving.stop()
        server.close()
    }

    @Test("A branch recording a mount the root plays its fallback on records nothing meanwhile, as the root does, and records the mount's own source when it comes")
    func aBranchRecording_SkipsTheRootsFallback_AndRecordsTheOwnSource() async throws {
        let (server, backup) = try await rootWithFallback()
        let directory = temporaryDirectory("branch-record-fallback")
        let log = StationServerTests.Log()
        let serving = try recordingBranch(of: server, into: directory, log: log)
        // The branch publishes the fallback's audio as live HLS: the recorder was handed the same segments.
        #expect(await livePlaylist(of: serving, lists: 3), "\(log.lines.value)")
        #expect(await serving.distributor.context?.fallback == true, "the tree link says the root plays the fallback")
        #expect(streamRecordings(in: directory).isEmpty, "nothing of the fallback written: \(FileWriter.names(in: directory)), \(log.lines.value)")
        // /live's own source: recorded, and only it.
        let live = try Station.builtIn(titles: ["Live"], titleInterval: .seconds(1), segmentBytes: Self.segmentBytes)
        await live.start()
        server.attach(live, at: "/live")
        #expect(await eventually(timeout: .seconds(20)) {
            streamRecordings(in: directory).contains { (fileText($0 + ".json") ?? "").contains("\"Live\"") }
        }, "\(log.lines.value)")
        for base in streamRecordings(in: directory) {
            #expect(!(fileText(base + ".json") ?? "").contains("Backup"), "\(base): \(fileText(base + ".json") ?? "")")
        }
        live.stop()
        backup.stop()
        serving.stop()
        server.close()
    }
}
