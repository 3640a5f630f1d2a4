import CastyNet
import Glibc
import Icy
import Testing

@testable import Casty

/// Recordings a killed run left unfinished, found by a process restarted at once (a supervisor's).
@Suite("Recording: leftovers too recent at start are finished later; a recording being written never is")
struct RecordingLeftoversTests {
    /// An unfinished (`EVENT`) recording's playlist `DIR/live/2026-12-05/<name>.m3u8`, changed just now.
    static func leftover(in directory: String, _ name: String) throws -> String {
        let segments = Array(RecordingTests.segments.prefix(2))
        let path = "\(directory)/live/2026-12-05/\(name).m3u8"
        try FileWriter.makeDirectories("\(directory)/live/2026-12-05")
        try FileWriter.replace(path, with: Array(HLSPlaylist.media(segments, targetDuration: 6, recording: .writing, folder: name).utf8))
        return path
    }

    @Test("A killed run's recording seconds old at start is finished by the recorder once it is old enough, without a new recording")
    func recentLeftover_IsFinishedOnceOldEnough() async throws {
        let directory = temporaryDirectory("leftovers-later")
        let killed = try Self.leftover(in: directory, "00-11-41")
        var settings = Recorder.Settings()
        settings.directory = directory
        settings.leftoverAge = 2
        let recorder = Recorder(mount: "/live", settings: settings, targetDuration: 6, logger: .silent)
        recorder.flush()
        #expect(fileText(killed)?.contains("#EXT-X-ENDLIST") == false, "too recent at start")
        // Waited for without holding a thread of the pool (a test that slept there stalled the others' awaits).
        #expect(await eventually(timeout: .seconds(6)) { fileText(killed)?.hasSuffix("#EXT-X-ENDLIST\n") == true }, "finished once 2 s old")
        recorder.finish()
    }

    @Test("A recording this process is writing is never finished as a leftover, however old its last change")
    func recordingBeingWritten_IsLeftAlone() throws {
        let directory = temporaryDirectory("leftovers-ours")
        var settings = Recorder.Settings()
        settings.directory = directory
        let playlists = Locked<[String]>([])
        let recorder = Recorder(mount: "/live", settings: settings, targetDuration: 6, logger: .silent) { event in
            if case .finished(let playlist, _) = event { playlists.update { $0.append(playlist) } }
        }
        recorder.take(.context(Context(station: ["Content-Type": "audio/mpeg"], segmentBytes: 8192, bitrate: 128, stream: 0xC0FFEE)))
        for segment in relayedTone(segments: 30) { recorder.take(.segment(segment.number, segment, stream: 0xC0FFEE)) }
        recorder.flush()
        // Any age will do: its file was just written.
        let found = RecordingFile.finishLeftovers(directory: directory, mount: "live", age: 0)
        #expect(found.finished.isEmpty, "\(found.finished)")
        recorder.finish()
        recorder.flush()
        let playlist = try #require(playlists.value.first)
        #expect(fileText(playlist)?.hasSuffix("#EXT-X-ENDLIST\n") == true)
        #expect(RecordingFile.finishLeftovers(directory: directory, mount: "live", age: 0).finished.isEmpty, "finished by its own recorder")
    }

    @Test("A file a killed run left unfinished is announced once finished at the next start, as any finished file: HLS-VOD, under the session it holds")
    func leftoverFinishedAtStart_IsAnnouncedUnderItsSession() throws {
        let directory = temporaryDirectory("leftovers-announced")
        var settings = Recorder.Settings()
        settings.directory = directory
        settings.leftoverAge = 0
        let session = "0123456789abcdef0123456789abcdef"
        // The killed run: a file of that session written, never finished (its writer gone without a word).
        let opened = Locked<String?>(nil)  // `recording /live to <base>.mp3`
        do {
            let killed = RecordingFile(mount: "/live", settings: settings, logger: EventLog { line in
                if let to = line.firstRange(of: " to ") { opened.update { $0 = String(line[to.upperBound...].dropLast(4)) } }
            }, session: RecordedSession(session)) { _ in }
            for segment in RecordingTests.segments.prefix(2) { killed.add(segment, targetDuration: 6) }
        }
        let playlist = try #require(opened.value) + ".m3u8"
        #expect(fileText(playlist)?.contains("#EXT-X-ENDLIST") == false)

        // The next run records the mount: the file is finished, and the application told of it.
        let told = Locked<[StreamEvent]>([])
        let recorder = Recorder(mount: "/live", settings: settings, targetDuration: 6, logger: .silent) { event in
            if let event = StreamEvent(recording: event, channel: "live", directory: directory) { told.update { $0.append(event) } }
        }
        recorder.flush()
        #expect(fileText(playlist)?.hasSuffix("#EXT-X-ENDLIST\n") == true)
        #expect(told.value == [StreamEvent(channel: "live", streamID: session, kind: .available, streamType: "HLS-VOD",
                                           indexFile: String(playlist.dropFirst(directory.count + 1)))], "\(told.value)")
        recorder.finish()
    }

    @Test("A leftover whose sidecar names no session (an older run's) is announced under an ID of its own")
    func leftoverWithoutASession_IsAnnouncedUnderAnIDOfItsOwn() throws {
        let directory = temporaryDirectory("leftovers-no-session")
        let killed = try Self.leftover(in: directory, "00-11-41")
        var settings = Recorder.Settings()
        settings.directory = directory
        settings.leftoverAge = 0
        let told = Locked<[(playlist: String, session: String)]>([])
        let recorder = Recorder(mount: "/live", settings: settings, targetDuration: 6, logger: .silent) { event in
            if case .finished(let playlist, let session) = event { told.update { $0.append((playlist, session)) } }
        }
        recorder.flush()
        #expect(told.value.map(\.playlist) == [killed])
        #expect(told.value.first.map { $0.session.count == 32 && $0.session.allSatisfy(\.isHexDigit) } == true, "\(told.value)")
        recorder.finish()
    }
}
