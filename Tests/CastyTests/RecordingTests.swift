import Glibc
import Icy
import Testing

@testable import Casty
@testable import CastyNet

/// A fresh directory under /tmp for one test.
func temporaryDirectory(_ name: String) -> String {
    let path = "/tmp/casty-test-\(name)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    try? FileWriter.makeDirectories(path)
    return path
}

func fileText(_ path: String) -> String? {
    FileWriter.contents(of: path).map { String(decoding: $0, as: UTF8.self) }
}

func fileSize(_ path: String) -> Int? {
    var info = stat()
    return stat(path, &info) == 0 ? Int(info.st_size) : nil
}

@Suite("Recordings")
struct RecordingTests {
    /// HLS segments of the tone, about 5.6 s each, titles changing every 25 relay segments.
    static let segments: [HLSSegment] = {
        var segmenter = toneSegmenter()
        return cut(relayedTone(segments: 240), into: &segmenter)
    }()

    @Test("A recording's playlist is an EVENT playlist while it is written (a player may start at its beginning), a VOD one once finished")
    func playlistWhileWritten_IsAnEvent_ThenAVOD() {
        let later = Array(Self.segments[8..<11])  // numbered from 8 on
        let writing = HLSPlaylist.media(later, targetDuration: 1, recording: .writing)
        #expect(writing.contains("#EXT-X-PLAYLIST-TYPE:EVENT\n#EXT-X-MEDIA-SEQUENCE:0\n"), "\(writing.prefix(160))")
        #expect(!writing.contains("#EXT-X-ENDLIST"))
        let finished = HLSPlaylist.media(later, targetDuration: 1, recording: .finished)
        #expect(finished.contains("#EXT-X-PLAYLIST-TYPE:VOD\n#EXT-X-MEDIA-SEQUENCE:0\n") && finished.hasSuffix("#EXT-X-ENDLIST\n"))
        let live = HLSPlaylist.media(later, targetDuration: 6)
        #expect(live.contains("#EXT-X-MEDIA-SEQUENCE:\(later[0].sequence)\n") && !live.contains("PLAYLIST-TYPE"))
    }

    @Test("A recording's playlist keeps its target duration from its first version on, even when it starts with a short piece (a title cut)")
    func playlistTarget_IsTheSegmentersFromTheStart() throws {
        var settings = Recorder.Settings()
        settings.directory = temporaryDirectory("target")
        let playlists = Locked<[String]>([])
        let opened = Locked<String?>(nil)  // `recording /live to <base>.mp3`
        let file = RecordingFile(mount: "/live", settings: settings, logger: EventLog { line in
            if let to = line.firstRange(of: " to ") { opened.update { $0 = String(line[to.upperBound...].dropLast(4)) } }
        }) { event in
            if case .finished(let playlist, _) = event { playlists.update { $0.append(playlist) } }
        }
        let first = Self.segments[0]
        let piece = HLSSegment(sequence: first.sequence, name: first.name, duration: 0.5, timestamp: first.timestamp, date: first.date,
                               discontinuity: false, discontinuitySequence: 0, title: first.title, bytes: first.bytes, frames: first.frames)
        file.add(piece, targetDuration: 6)
        let base = try #require(opened.value)
        let written = try #require(fileText(base + ".m3u8"))
        #expect(written.contains("#EXT-X-TARGETDURATION:6\n"), "\(written.prefix(200))")
        file.add(Self.segments[1])
        file.finish()
        let playlist = try #require(playlists.value.first)
        let finished = try #require(fileText(playlist))
        #expect(finished.contains("#EXT-X-TARGETDURATION:6\n"))
    }

    @Test("A recording is rotated by the audio's duration: each file's audio, playlist and titles agree")
    func rotation() throws {
        let directory = temporaryDirectory("rotation")
        var settings = Recorder.Settings()
        settings.directory = directory
        settings.rotation = .seconds(20)
        let events = Locked<[String]>([])
        let file = RecordingFile(mount: "/live", settings: settings, logger: .silent) { event in
            if case .finished(let playlist, _) = event { events.update { $0.append(playlist) } }
        }
        for segment in Self.segments { file.add(segment) }
        file.finish()
        let playlists = events.value
        // 20 s a file: 4 segments of ~5.6 s each (rotation once 20 s are in).
        #expect(playlists.count == (Self.segments.count + 3) / 4)
        for playlist in playlists {
            #expect(playlist.hasPrefix(directory + "/live/2027-01-15/"))
            let text = try #require(fileText(playlist))
            #expect(text.hasSuffix("#EXT-X-ENDLIST\n"))
            #expect(text.contains("#EXT-X-PLAYLIST-TYPE:VOD"))
            // A file of its own: numbered from 0, whatever the live numbers of its segments, no discontinuity before it.
            #expect(text.contains("#EXT-X-MEDIA-SEQUENCE:0\n") && !text.contains("DISCONTINUITY-SEQUENCE"), "\(text.prefix(200))")
            let base = String(playlist.dropLast(5))
            let listed = text.split(separator: "\n").filter { !$0.hasPrefix("#") }
            var audio = 0
            for name in listed {
                let segment = try #require(Self.segments.first { name.hasSuffix($0.name) })
                #expect(fileSize(base.split(separator: "/").dropLast().joined(separator: "/").prefixedSlash + "/" + name) == segment.bytes.count)
                audio += segment.audio.count
            }
            #expect(fileSize(base + ".mp3") == audio)
            let sidecar = try #require(fileText(base + ".json"))
            #expect(sidecar.contains("\"titles\":[{\"title\":\"Song"))
            #expect(sidecar.contains("\"bytes\":\(audio)"))
        }
    }

    @Test("A source that ends mid-segment leaves every whole frame it sent in the recording, its titles where they changed",
          arguments: [false, true])
    func endsMidSegment(shutdown: Bool) throws {
        let directory = temporaryDirectory("ending")
        var settings = Recorder.Settings()
        settings.directory = directory
        let finished = Locked<[String]>([])
        let recorder = Recorder(mount: "/live", settings: settings, targetDuration: 6, logger: .silent) { event in
            if case .finished(let playlist, _) = event { finished.update { $0.append(playlist) } }
        }
        // 57 relay segments: 5 HLS segments of 11, and 2 relay segments (~1 s) of a sixth.
        let stream = relayedTone(segments: 57)
        recorder.take(.context(Context(station: ["Content-Type": "audio/mpeg"], segmentBytes: 8192, bitrate: 128, stream: 0xC0FFEE)))
        for segment in stream { recorder.take(.segment(segment.number, segment, stream: 0xC0FFEE)) }
        if shutdown { recorder.finish() } else { recorder.take(.ended) }
        recorder.flush()
        let playlist = try #require(finished.value.first)
        #expect(finished.value.count == 1)
        let base = String(playlist.dropLast(5))
        let audio = try #require(FileWriter.contents(of: base + ".mp3"))
        let fed = stream.flatMap(\.audio)
        #expect(audio == Array(fed.prefix(audio.count)))
        #expect(fed.count - audio.count < 1_441, "only the frame cut off by the end may be missing")
        #expect(cleanMP3Chain(audio) != nil)
        // The titles start where their relay segment does (within a frame), not at the next HLS segment.
        let sidecar = try #require(fileText(base + ".json"))
        let offsets = sidecar.split(separator: "\"offset_bytes\":").dropFirst().compactMap { Int($0.prefix { $0.isNumber }) }
        #expect(offsets.count == 3)
        for (offset, change) in zip(offsets, [0, 25, 50]) {
            #expect(offset >= change * 8192 && offset < change * 8192 + 1_441, "title at \(offset), changed at \(change * 8192)")
        }
        let text = try #require(fileText(playlist))
        #expect(text.hasSuffix("#EXT-X-ENDLIST\n"))
        recorder.finish()
    }

    @Test("A source that ends just after a file reached --record-every leaves its last frames in that file, not in a file of their own",
          arguments: [false, true])
    func shortTailAfterACut_StaysInTheFileBeingFinished(shutdown: Bool) throws {
        let directory = temporaryDirectory("tail")
        var settings = Recorder.Settings()
        settings.directory = directory
        settings.rotation = .seconds(10)
        let finished = Locked<[String]>([])
        let recorder = Recorder(mount: "/live", settings: settings, targetDuration: 6, logger: .silent) { event in
            if case .finished(let playlist, _) = event { finished.update { $0.append(playlist) } }
        }
        // 24 relay segments of 0.51 s: 2 HLS segments of 6 s (12 s, past the 10 s a file), and 0.29 s more.
        let stream = relayedTone(segments: 24)
        recorder.take(.context(Context(station: ["Content-Type": "audio/mpeg"], segmentBytes: 8192, bitrate: 128, stream: 0xC0FFEE)))
        for segment in stream { recorder.take(.segment(segment.number, segment, stream: 0xC0FFEE)) }
        if shutdown { recorder.finish() } else { recorder.take(.ended) }
        recorder.flush()
        #expect(finished.value.count == 1, "\(finished.value)")
        let playlist = try #require(finished.value.first)
        let audio = try #require(FileWriter.contents(of: String(playlist.dropLast(5)) + ".mp3"))
        #expect(stream.flatMap(\.audio).count - audio.count < 1_441, "every whole frame, the tail's too")
        recorder.finish()
    }

    @Test("Title changes start a new file when asked")
    func splitOnTitles() {
        let directory = temporaryDirectory("titles")
        var settings = Recorder.Settings()
        settings.directory = directory
        settings.splitOnTitles = true
        let finished = Locked(0)
        let file = RecordingFile(mount: "/live", settings: settings, logger: .silent) { event in
            if case .finished = event { finished.update { $0 += 1 } }
        }
        for segment in Self.segments { file.add(segment) }
        file.finish()
        let titles = Set(Self.segments.compactMap(\.title))
        #expect(finished.value >= titles.count)
    }

    @Test("Files started in the same second are named so that a sorted listing has them in their order")
    func filesOfOneSecond_SortInTheirOrder() throws {
        let directory = temporaryDirectory("same-second")
        var settings = Recorder.Settings()
        settings.directory = directory
        let playlists = Locked<[String]>([])
        let file = RecordingFile(mount: "/live", settings: settings, logger: .silent) { event in
            if case .finished(let playlist, _) = event { playlists.update { $0.append(playlist) } }
        }
        // Twelve files in one second: each segment breaks off (a discontinuity), at the same date.
        let first = try #require(Self.segments.first)
        for (index, segment) in Self.segments.prefix(12).enumerated() {
            file.add(HLSSegment(sequence: index, name: segment.name, duration: segment.duration, timestamp: segment.timestamp,
                                date: first.date, discontinuity: index > 0, title: segment.title, bytes: segment.bytes, frames: segment.frames))
        }
        file.finish()
        #expect(playlists.value.count == 12)
        #expect(Set(playlists.value).count == 12, "names never repeat")
        #expect(playlists.value.sorted() == playlists.value, "\(playlists.value.map { $0.split(separator: "/").last ?? "" })")
    }

    @Test("A recording a killed run left unfinished (EVENT, no ENDLIST) is finished at the next start as it would have been; a recent one, or an older day's, is left")
    func recordingsLeftUnfinished_AreFinishedAtTheNextStart() throws {
        let directory = temporaryDirectory("leftovers")
        let segments = Array(Self.segments.prefix(3))
        func write(_ day: String, _ name: String, _ recording: HLSPlaylist.Recording, age: Int) throws -> String {
            let path = "\(directory)/live/\(day)/\(name).m3u8"
            try FileWriter.makeDirectories("\(directory)/live/\(day)")
            try FileWriter.replace(path, with: Array(HLSPlaylist.media(segments, targetDuration: 6, recording: recording, folder: name).utf8))
            var times = [timespec(tv_sec: time(nil) - age, tv_nsec: 0), timespec(tv_sec: time(nil) - age, tv_nsec: 0)]
            _ = utimensat(AT_FDCWD, path, &times, 0)
            return path
        }
        let killed = try write("2026-12-04", "23-59-00", .writing, age: 3_600)
        let writing = try write("2026-12-04", "23-59-30", .writing, age: 5)
        let done = try write("2026-12-03", "10-00-00", .finished, age: 90_000)
        let tooOld = try write("2026-11-01", "10-00-00", .writing, age: 3_000_000)  // not among the two newest days
        let found = RecordingFile.finishLeftovers(directory: directory, mount: "live")
        #expect(found.finished == [killed])
        #expect((174...175).contains(found.recheck ?? 0), "the recent one is looked at again once 3 minutes old")
        let expected = HLSPlaylist.media(segments, targetDuration: 6, recording: .finished, folder: "23-59-00")
        #expect(fileText(killed) == expected, "as the run would have finished it")
        #expect(fileText(writing)?.contains("#EXT-X-ENDLIST") == false, "changed seconds ago: someone may be writing it")
        #expect(fileText(done) == HLSPlaylist.media(segments, targetDuration: 6, recording: .finished, folder: "10-00-00"))
        #expect(fileText(tooOld)?.contains("#EXT-X-ENDLIST") == false)
        #expect(RecordingFile.finishLeftovers(directory: directory, mount: "live").finished.isEmpty, "once")
    }

    @Test("A directory that cannot be written stops the recording once, with one line and an event")
    func failure() {
        var settings = Recorder.Settings()
        settings.directory = "/proc/casty-cannot-write-here"
        let lines = Locked<[String]>([])
        let failures = Locked(0)
        let file = RecordingFile(mount: "/live", settings: settings, logger: EventLog { line in lines.update { $0.append(line) } }) { event in
            if case .failed = event { failures.update { $0 += 1 } }
        }
        for segment in Self.segments.prefix(10) { file.add(segment) }
        file.finish()
        #expect(failures.value == 1)
        let stopped = lines.value.filter { $0.contains("stopped") }
        #expect(stopped.count == 1)
        #expect(stopped.first?.contains("/proc/casty-cannot-write-here") == true)
    }
}

extension RecordingTests {
    @Test("A recording stopped by a directory that vanished records again at the next source")
    func recordsAgainAfterAFailure() throws {
        let root = temporaryDirectory("vanishing")
        var settings = Recorder.Settings()
        settings.directory = root + "/recordings"
        let lines = Locked<[String]>([])
        let (failures, finished) = (Locked(0), Locked<[String]>([]))
        let file = RecordingFile(mount: "/live", settings: settings, logger: EventLog { line in lines.update { $0.append(line) } }) { event in
            switch event {
            case .failed: failures.update { $0 += 1 }
            case .finished(let playlist, _): finished.update { $0.append(playlist) }
            }
        }
        file.add(Self.segments[0])
        #expect(rename(root + "/recordings", root + "/gone") == 0)  // the directory vanishes mid-recording
        for segment in Self.segments[1..<6] { file.add(segment) }
        file.finish()  // the source ends
        #expect(failures.value == 1)
        #expect(lines.value.filter { $0.contains("stopped") }.count == 1)
        // The next source: recorded again, into the directory made anew.
        for segment in Self.segments[6..<10] { file.add(segment) }
        file.finish()
        #expect(finished.value.count == 1)
        let playlist = try #require(finished.value.first)
        #expect(playlist.hasPrefix(root + "/recordings/live/"))
        #expect(fileText(playlist)?.hasSuffix("#EXT-X-ENDLIST\n") == true)
        #expect(fileSize(String(playlist.dropLast(5)) + ".mp3") == Self.segments[6..<10].reduce(0) { $0 + $1.audio.count })
    }
}

extension RecordingTests {
    @Test("A recording stopped by a failed write is left finished: its playlist ends, listing what was written")
    func failedRecording_IsLeftFinished() throws {
        var settings = Recorder.Settings()
        settings.directory = temporaryDirectory("failing-write")
        let started = Locked<[String]>([])
        let failures = Locked<[String]>([])
        let file = RecordingFile(mount: "/live", settings: settings, logger: EventLog { line in
            if line.hasPrefix("recording /live to ") { started.update { $0.append(String(line.dropFirst("recording /live to ".count))) } }
        }, session: RecordedSession("session-1")) { event in
            if case .failed(_, _, let session) = event { failures.update { $0.append(session) } }
        }
        file.add(Self.segments[0])
        file.add(Self.segments[1])
        let audio = try #require(started.value.first)
        let base = String(audio.dropLast(4))
        // The segments' folder becomes a file: the next segment cannot be written there.
        for name in FileWriter.names(in: base) { FileWriter.remove(base + "/" + name) }
        #expect(rmdir(base) == 0)
        try FileWriter.replace(base, with: [0])
        file.add(Self.segments[2])
        #expect(failures.value == ["session-1"], "told once, under the session it recorded")
        let playlist = try #require(fileText(base + ".m3u8"))
        #expect(playlist.hasSuffix("#EXT-X-ENDLIST\n"), "\(playlist)")
        #expect(playlist.contains("#EXT-X-PLAYLIST-TYPE:VOD"))
        #expect(playlist.split(separator: "\n").filter { $0.hasPrefix("#EXTINF") }.count == 2, "the two segments written")
    }
}

extension RecordingTests {
    @Test("A disk that fills in the middle of a segment's audio: the file is cut back to its last whole segment, the failed segment's file goes, and the playlist and sidecar say what the file holds")
    func diskFullMidSegment_LeavesAWholeFinishedRecording() throws {
        var settings = Recorder.Settings()
        settings.directory = temporaryDirectory("disk-full")
        let started = Locked<String?>(nil)
        let file = RecordingFile(mount: "/live", settings: settings, logger: EventLog { line in
            if line.hasPrefix("recording /live to ") { started.update { $0 = String(line.dropFirst("recording /live to ".count)) } }
        }) { _ in }
        let writes = Locked(0)
        file.writeAudio = { fd, bytes, path throws(FileError) in
            writes.update { $0 += 1 }
            guard writes.value == 3 else { return try FileWriter.write(fd, bytes, path: path) }
            try FileWriter.write(fd, Array(bytes.prefix(bytes.count / 2)), path: path)  // half of it, then the disk is full
            throw FileError(call: "write", path: path, code: ENOSPC)
        }
        for segment in Self.segments[0..<4] { file.add(segment) }
        let audio = try #require(started.value)
        let base = String(audio.dropLast(4))
        let whole = Self.segments[0..<2].reduce(0) { $0 + $1.audio.count }
        #expect(fileSize(audio) == whole, "cut back to the two whole segments")
        #expect(fileSize(base + "/" + Self.segments[2].name) == nil, "the failed segment's file is deleted")
        let playlist = try #require(fileText(base + ".m3u8"))
        #expect(playlist.hasSuffix("#EXT-X-ENDLIST\n") && playlist.split(separator: "\n").filter { $0.hasPrefix("#EXTINF") }.count == 2)
        #expect(fileText(base + ".json")?.contains("\"bytes\":\(whole)") == true, "\(fileText(base + ".json") ?? "")")
    }

    @Test("A recording cut short by a full disk announces the file it left finished, like any finished file, before the failure")
    func diskFull_AnnouncesTheFileLeftFinished() throws {
        var settings = Recorder.Settings()
        settings.directory = temporaryDirectory("disk-full-told")
        let finished = Locked<[String]>([])
        let failures = Locked(0)
        let file = RecordingFile(mount: "/live", settings: settings, logger: .silent, session: RecordedSession("session-1")) { event in
            switch event {
            case .finished(let playlist, let session): finished.update { $0.append(playlist + " " + session) }
            case .failed: failures.update { $0 += 1 }
            }
        }
        let writes = Locked(0)
        file.writeAudio = { fd, bytes, path throws(FileError) in
            writes.update { $0 += 1 }
            guard writes.value == 3 else { return try FileWriter.write(fd, bytes, path: path) }
            throw FileError(call: "write", path: path, code: ENOSPC)
        }
        for segment in Self.segments[0..<4] { file.add(segment) }
        let told = try #require(finished.value.first, "the file left finished is announced")
        #expect(finished.value.count == 1 && failures.value == 1)
        #expect(told.hasSuffix(".m3u8 session-1"))
        #expect(fileText(String(told.dropLast(" session-1".count)))?.hasSuffix("#EXT-X-ENDLIST\n") == true)
    }

    @Test("The application hears of a failed recording only with the file it left: a stream-closed names a file it was told of, or none is sent")
    func failedRecording_EventNamesTheFileLeft() {
        let error = FileError(call: "write", path: "/r/live/2026-12-06/12-10-26.mp3", code: ENOSPC)
        let available = StreamEvent(recording: .finished(playlist: "/r/live/2026-12-06/12-10-26.m3u8", session: "s1"), channel: "live", directory: "/r")
        let closed = StreamEvent(recording: .failed(error, playlist: "/r/live/2026-12-06/12-10-26.m3u8", session: "s1"), channel: "live", directory: "/r")
        #expect(available == StreamEvent(channel: "live", streamID: "s1", kind: .available, streamType: "HLS-VOD", indexFile: "live/2026-12-06/12-10-26.m3u8"))
        #expect(closed == StreamEvent(channel: "live", streamID: "s1", kind: .closed, streamType: "HLS-VOD", indexFile: "live/2026-12-06/12-10-26.m3u8"))
        #expect(StreamEvent(recording: .failed(error, playlist: nil, session: "s1"), channel: "live", directory: "/r") == nil, "no file left: nothing to close")
    }

    @Test("A recording keeps no segment's bytes once written: an hour-long file does not hold its hour in memory")
    func segmentsAreNotHeld() throws {
        var settings = Recorder.Settings()
        settings.directory = temporaryDirectory("held")
        let file = RecordingFile(mount: "/live", settings: settings, logger: .silent) { _ in }
        weak var written: HLSSegment?
        do {
            let original = Self.segments[1]
            let segment = HLSSegment(
                sequence: original.sequence, name: original.name, duration: original.duration, timestamp: original.timestamp,
                date: original.date, discontinuity: false, title: original.title, bytes: original.bytes, frames: original.frames)
            written = segment
            file.add(Self.segments[0])
            file.add(segment)
        }
        #expect(written == nil, "the file holds the segment (and its \(Self.segments[1].bytes.count) bytes)")
        file.finish()
        let playlist = try #require(FileWriter.names(in: settings.directory + "/live").first)
        let listed = FileWriter.names(in: settings.directory + "/live/" + playlist).filter { $0.hasSuffix(".m3u8") }
        let text = try #require(fileText(settings.directory + "/live/" + playlist + "/" + (listed.first ?? "")))
        #expect(text.contains(Self.segments[1].name) && text.hasSuffix("#EXT-X-ENDLIST\n"))
    }
}

extension String {
    fileprivate var prefixedSlash: String { hasPrefix("/") ? self : "/" + self }
}

extension RecordingTests {
    /// A recording of `/live` under a fresh directory, writing `rotation` seconds per file, whose log lines and
    /// finished playlists are kept.
    static func recording(_ name: String, rotation: Duration = .seconds(3_600))
        -> (file: RecordingFile, lines: Locked<[String]>, finished: Locked<[String]>) {
        var settings = Recorder.Settings()
        settings.directory = temporaryDirectory(name)
        settings.rotation = rotation
        let lines = Locked<[String]>([])
        let finished = Locked<[String]>([])
        let file = RecordingFile(mount: "/live", settings: settings, logger: EventLog { line in lines.update { $0.append(line) } }) { event in
            if case .finished(let playlist, _) = event { finished.update { $0.append(playlist) } }
        }
        return (file, lines, finished)
    }

    /// A recording (``recording(_:)``) of two segments whose playlist cannot be replaced from now on (its temporary
    /// name is taken by a folder) and whose audio cannot be written: its file, lines, finished playlists, and `<base>`.
    static func failingToEnd(_ name: String) throws -> (RecordingFile, Locked<[String]>, Locked<[String]>, String) {
        let (file, lines, finished) = recording(name)
        file.add(segments[0])
        file.add(segments[1])
        let base = try #require(started(lines.value))
        try FileWriter.makeDirectories(base + ".m3u8.tmp")
        file.writeAudio = { _, _, path throws(FileError) in throw FileError(call: "write", path: path, code: EROFS) }
        return (file, lines, finished, base)
    }

    /// The file a recording started, from its `recording /live to <base>.mp3` line: `<base>`.
    static func started(_ lines: [String], _ index: Int = 0) -> String? {
        let started = lines.filter { $0.hasPrefix("recording /live to ") }
        return started.indices.contains(index) ? String(started[index].dropFirst("recording /live to ".count).dropLast(4)) : nil
    }

    @Test("A recording whose playlist cannot be ended as it fails (a read-only disk) has it ended, and announced, once it can be written again")
    func unendedPlaylist_IsEndedOnceItCanBeWritten() throws {
        let (file, lines, finished, base) = try Self.failingToEnd("unended")
        file.add(Self.segments[2])
        file.add(Self.segments[3])
        #expect(fileText(base + ".m3u8")?.contains("#EXT-X-ENDLIST") == false)
        #expect(finished.value.isEmpty, "not finished yet: not announced")
        #expect(lines.value.contains { $0.contains("stopped") && $0.contains("is finished once its playlist can be written") }, "\(lines.value)")
        #expect(rmdir(base + ".m3u8.tmp") == 0)  // the disk can be written again
        file.add(Self.segments[4])
        let playlist = try #require(fileText(base + ".m3u8"))
        #expect(playlist.hasSuffix("#EXT-X-ENDLIST\n") && playlist.contains("#EXT-X-PLAYLIST-TYPE:VOD"))
        #expect(playlist.split(separator: "\n").filter { $0.hasPrefix("#EXTINF") }.count == 2)
        #expect(finished.value == [base + ".m3u8"], "announced once it is finished")
        file.add(Self.segments[5])
        #expect(finished.value.count == 1, "once")
    }

    @Test("A rotation whose ending of the file before fails leaves that file as any failure does: ended once it can be written")
    func failedRotation_LeavesTheFileBeforeToBeEnded() throws {
        let (file, lines, finished) = Self.recording("failed-rotation", rotation: .seconds(10))
        file.add(Self.segments[0])
        file.add(Self.segments[1])  // 11 s: the next segment starts a new file
        let base = try #require(Self.started(lines.value))
        try FileWriter.makeDirectories(base + ".m3u8.tmp")
        file.add(Self.segments[2])
        #expect(lines.value.filter { $0.contains("stopped") }.count == 1, "\(lines.value)")
        #expect(rmdir(base + ".m3u8.tmp") == 0)
        file.add(Self.segments[3])
        #expect(fileText(base + ".m3u8")?.hasSuffix("#EXT-X-ENDLIST\n") == true, "\(fileText(base + ".m3u8") ?? "")")
        #expect(finished.value.first == base + ".m3u8")
    }
}

extension RecordingTests {
    @Test("A recording stopped by a full disk is recorded again where its next file would have started, its source still on, and its stop line says when")
    func diskFull_RecordsAgainAtTheNextFilesStart() throws {
        let (file, lines, finished) = Self.recording("resumes", rotation: .seconds(20))
        let writes = Locked(0)
        file.writeAudio = { fd, bytes, path throws(FileError) in
            writes.update { $0 += 1 }
            guard writes.value == 2 else { return try FileWriter.write(fd, bytes, path: path) }
            throw FileError(call: "write", path: path, code: ENOSPC)  // the disk is full for the second segment only
        }
        for segment in Self.segments[0..<4] { file.add(segment) }  // 24 s: the next file would start with the fifth
        let stopped = lines.value.filter { $0.contains("stopped") }
        #expect(stopped.count == 1 && stopped.first?.hasSuffix("recorded again where its next file would start: from the first segment after 8 s more of audio, or at the next source") == true,
                "\(stopped)")
        #expect(Self.started(lines.value, 1) == nil, "paused until then")
        file.add(Self.segments[4])
        let again = lines.value.filter { $0.hasPrefix("recording /live again to ") }
        #expect(again.count == 1, "one line says it records again: \(lines.value)")
        file.add(Self.segments[5])
        file.finish()
        #expect(finished.value.count == 2, "the file the failure cut short, and the one after")
        let playlist = try #require(finished.value.last.flatMap(fileText))
        #expect(playlist.split(separator: "\n").filter { $0.hasPrefix("#EXTINF") }.count == 2)
        #expect(playlist.contains(Self.segments[4].name) && playlist.contains(Self.segments[5].name))
    }

    @Test("A disk still full where recording is tried again names no file: the 'again to' line comes once a new file holds audio")
    func diskStillFull_SaysAgainOnlyOnceAFileHoldsAudio() throws {
        let (file, lines, _) = Self.recording("still-full", rotation: .seconds(20))
        let full = Locked(false)
        file.writeAudio = { fd, bytes, path throws(FileError) in
            guard full.value else { return try FileWriter.write(fd, bytes, path: path) }
            throw FileError(call: "write", path: path, code: ENOSPC)
        }
        file.add(Self.segments[0])
        full.update { $0 = true }
        // Stopped at the second segment; tried again with the fifth (20 s on), the disk still full: stopped again.
        for segment in Self.segments[1...4] { file.add(segment) }
        #expect(lines.value.filter { $0.contains("stopped") }.count == 2, "\(lines.value)")
        #expect(!lines.value.contains { $0.contains(" again to ") }, "no file was made: \(lines.value)")
        // The disk freed: the next try, 20 s on again, makes a file, and says so.
        full.update { $0 = false }
        for segment in Self.segments[5...8] { file.add(segment) }
        let again = lines.value.filter { $0.hasPrefix("recording /live again to ") }
        #expect(again.count == 1, "\(lines.value)")
        let base = try #require(again.first.map { String($0.dropFirst("recording /live again to ".count).dropLast(4)) })
        #expect((fileSize(base + ".mp3") ?? 0) > 0, "the file it names holds audio")
        file.finish()
    }
}

extension RecordingTests {
    @Test("A recording whose date folder is moved away while it is written says its file cannot be finished, not that it will be")
    func movedDateFolder_IsSaidNotToBeFinished() throws {
        let (file, lines, finished) = Self.recording("moved-day")
        file.add(Self.segments[0])
        file.add(Self.segments[1])
        let base = try #require(Self.started(lines.value))
        let slash = try #require(base.lastIndex(of: "/"))
        let day = String(base[..<slash])
        #expect(rename(day, day + "-moved") == 0)  // the date folder is moved away mid-recording
        file.add(Self.segments[2])
        let stopped = lines.value.filter { $0.contains("stopped") }
        #expect(stopped.count == 1 && stopped[0].contains("\(base).mp3 cannot be finished: it is gone"), "\(lines.value)")
        #expect(!lines.value.contains { $0.contains("once its playlist can be written") }, "no promise it cannot keep: \(lines.value)")
        file.finish()  // the source ends
        // The next source is recorded into a date folder made anew; the moved file is left as it was.
        for segment in Self.segments[3..<6] { file.add(segment) }
        file.finish()
        #expect(finished.value.count == 1 && finished.value.first != base + ".m3u8", "\(finished.value)")
        #expect(fileText(day + "-moved/" + String(base.dropFirst(day.count + 1)) + ".m3u8")?.contains("#EXT-X-ENDLIST") == false)
    }
}

extension RecordingTests {
    @Test("A file left to be finished once its playlist can be written, whose audio is then moved away, is said not to be finished")
    func unendedFileMovedAway_IsSaidNotToBeFinished() throws {
        let (file, lines, finished, base) = try Self.failingToEnd("unended-moved")
        file.add(Self.segments[2])
        #expect(lines.value.contains { $0.contains("is finished once its playlist can be written") }, "\(lines.value)")
        #expect(rename(base + ".mp3", base + "-moved.mp3") == 0)  // its audio is moved away meanwhile
        file.add(Self.segments[3])
        #expect(lines.value.contains { $0 == "recording /live: \(base).mp3 cannot be finished: it is gone (its folder moved or deleted), its playlist left unended" },
                "the promise is taken back: \(lines.value)")
        #expect(finished.value.isEmpty)
    }
}
