internal import CastyNet
internal import Glibc
internal import Synchronization

/// The files of one recording being written, and the decisions of when to start the next: used only on its
/// ``Recorder``'s queue (hence `@unchecked Sendable`).
///
/// ```
/// DIR/live/2026-12-02/16-34-24.mp3        the audio: the segments' frames, back to back
/// DIR/live/2026-12-02/16-34-24.m3u8       a playlist of the segments (EXT-X-ENDLIST once finished)
/// DIR/live/2026-12-02/16-34-24.json       the titles, with their offsets in milliseconds and bytes
/// DIR/live/2026-12-02/16-34-24/…mp3       the segments, as served live
/// ```
final class RecordingFile: @unchecked Sendable {
    let mount: String
    let settings: Recorder.Settings
    let logger: EventLog
    /// Told of each finished file (a previous run's left unfinished too, ``finishLeftovers()``) and of a failure.
    let onEvent: @Sendable (Recorder.Event) -> Void
    /// The session a file starting now belongs to (its source's stream ID), for the events.
    private let session: RecordedSession
    /// The file being written: its playlist is in ``writing`` while it is, so no look for a previous run's
    /// leftovers takes it for one.
    private var current: Current? {
        didSet { if oldValue?.base != current?.base { claimPlaylists() } }
    }
    /// Files a failure stopped whose playlist could not be ended then (a read-only file system): each is ended
    /// (``endUnended()``) as soon as the disk lets it — tried with every segment, and as the recording finishes —,
    /// not left an `EVENT` playlist a player would wait on for as long as the process runs. In ``writing`` too.
    private var unended: [Current] = [] {
        didSet { claimPlaylists() }
    }
    /// The playlists this file holds in ``writing``: the current file's and the unended ones'.
    private var claimed: Set<String> = []
    /// Set when writing failed: the file that would be written now. Nothing is written until it would end — the
    /// next file's start (``startsAnew(after:title:at:)``: `--record-every`, a title with `--record-titles`, a break
    /// in the stream) or the next source (``finish(with:)``) —, where recording is tried again: a disk freed since,
    /// a directory made anew.
    private var paused: Pause?
    /// Whether the last file stopped on a failure, so that the next one's first line says the recording resumed —
    /// once it holds audio (``append(_:)``): a disk still full when recording is tried again leaves no file to name.
    private var resumes = false
    /// The segmenter's target duration, as last told (``add(_:targetDuration:last:)``).
    private var targetDuration = 6
    /// How a segment's audio is appended to the file (tests stand in a disk that fills).
    var writeAudio: (Int32, [UInt8], String) throws(FileError) -> Void = { fd, bytes, path throws(FileError) in
        try FileWriter.write(fd, bytes, path: path)
    }

    /// The file being written.
    private struct Current {
        /// `DIR/live/2026-12-02/16-34-24`, without extension.
        let base: String
        let fileExtension: String
        let fd: Int32
        let started: Int64
        /// The session it records.
        let session: String
        /// Its playlist's `EXT-X-TARGETDURATION`: the segmenter's target as the file starts, kept — a playlist's
        /// target may not change (RFC 8216 §6.2.1), even when its first segments are short pieces (a title cut).
        let targetDuration: Int
        /// The segments written, as the playlist lists them: without their bytes, which are on disk (an hour's
        /// would be 58 MB at 128 kbit/s, held until the file rotates).
        var segments: [HLSSegment] = []
        var duration = 0.0
        var bytes = 0
        var titles: [(title: String, milliseconds: Int, byte: Int)] = []
    }

    /// The file a paused recording would be writing, as far as where it ends goes.
    private struct Pause {
        /// Its audio's duration so far, in seconds.
        var duration: Double
        /// Its last segment's title.
        var title: String?
    }

    init(mount: String, settings: Recorder.Settings, logger: EventLog, session: RecordedSession = RecordedSession(""),
         onEvent: @escaping @Sendable (Recorder.Event) -> Void) {
        self.mount = mount.split(separator: "/").joined(separator: "/")
        self.settings = settings
        self.logger = logger
        self.session = session
        self.onEvent = onEvent
    }

    /// A file still unended when its recording is gone is left to the look for leftovers (``finishLeftovers()``).
    deinit {
        let claimed = claimed
        Self.writing.withLock { $0.subtract(claimed) }
    }

    /// Puts in ``writing`` the playlists this file holds now (``current``, ``unended``), and takes out those it no
    /// longer does.
    private func claimPlaylists() {
        let playlists = Set(([current].compactMap { $0 } + unended).map { $0.base + ".m3u8" })
        guard playlists != claimed else { return }
        let old = claimed
        Self.writing.withLock { $0.subtract(old); $0.formUnion(playlists) }
        claimed = playlists
    }

    /// Appends a segment, starting a new file first when the current one is long enough, the title changed (if
    /// asked), or the stream broke off; a new file's playlist has the target duration `targetDuration` (the
    /// segmenter's, as the recorder tells it; the last told, if not). The stream's `last` frames, shorter than a
    /// target duration, go into the file being finished, however long it is: a source that ends just after a cut
    /// leaves no file of a few frames (a file ends with the segment that reaches its duration, and may run past it
    /// by a segment anyway).
    func add(_ segment: HLSSegment, targetDuration: Int? = nil, last: Bool = false) {
        if let targetDuration { self.targetDuration = targetDuration }
        endUnended()
        let tail = last && segment.duration < Double(self.targetDuration)
        if let paused {
            guard startsAnew(after: paused.duration, title: paused.title, at: segment, tail: tail) else {
                self.paused = Pause(duration: paused.duration + segment.duration, title: segment.title)
                return
            }
            self.paused = nil
        }
        let rotating = current.map { startsAnew(after: $0.duration, title: $0.segments.last?.title, at: segment, tail: tail) } ?? false
        // The file this segment goes into, with it: where writing it fails, recording pauses until that file would end.
        let into = Pause(duration: (rotating ? 0 : current?.duration ?? 0) + segment.duration, title: segment.title)
        do throws(FileError) {
            if rotating, let current { try finish(current) }
            if current == nil { current = try open(for: segment, targetDuration: self.targetDuration) }
            try append(segment)
        } catch {
            stop(on: error, at: segment, pausing: into)
        }
    }

    /// Stops recording on `error`, met writing `segment` (or finishing the file, as the recording finishes): the
    /// file being written is abandoned, in one log line — which says when recording resumes, `pausing` until the
    /// file that would be written ends — and the events.
    private func stop(on error: FileError, at segment: HLSSegment?, pausing: Pause?) {
        paused = pausing
        resumes = true
        let file = current
        let session = file?.session ?? session.current
        let kept = file.flatMap { abandon($0, failedAt: segment) }
        current = nil
        let left = if let kept {
            "; \(kept.base).\(kept.fileExtension) is left finished, \(HLSPlaylist.seconds(kept.duration)) s"
        } else if let file, unended.contains(where: { $0.base == file.base }) {
            "; \(file.base).\(file.fileExtension) is finished once its playlist can be written"
        } else if let file, !file.segments.isEmpty {
            // Its audio is gone from where it was written (its folder moved or deleted): there is nothing to end here.
            "; \(file.base).\(file.fileExtension) cannot be finished: it is gone (its folder moved or deleted), its playlist left unended"
        } else {
            ""
        }
        let resuming = pausing.map { "; the stream goes on, and is recorded again where its next file would start: \(resumption(after: $0))" } ?? ""
        logger("recording of \(label) stopped: \(error)\(error.diskFull ? " (disk full)" : "")\(left)\(resuming)")
        // The file left is announced as any finished one, so that the failure names a file the application knows.
        if let kept { onEvent(.finished(playlist: kept.base + ".m3u8", session: kept.session)) }
        onEvent(.failed(error, playlist: kept.map { $0.base + ".m3u8" }, session: session))
    }

    /// Ends the playlists of the files a failure left unended, those the disk now lets be written: each is
    /// finished as any file is — a log line, and the application told. One whose audio is gone (its directory
    /// vanished) has nothing to end: it is let go, in one log line, and no playlist is written where a directory was
    /// made anew.
    private func endUnended() {
        guard !unended.isEmpty else { return }
        unended = unended.filter { file in
            guard access(file.base + "." + file.fileExtension, F_OK) == 0 else {
                logger("recording \(label): \(file.base).\(file.fileExtension) cannot be finished: it is gone (its folder moved or deleted), its playlist left unended")
                return false
            }
            do throws(FileError) {
                try end(file)
                return false
            } catch {
                return true
            }
        }
    }

    /// Closes a file whose writing failed at `segment`, as far as the disk lets it: what it holds is finished (its
    /// playlist ended, as a VOD), or, if it holds nothing, its files are deleted — no orphan without a playlist is
    /// left. First the audio file is cut back to its last whole segment (a write cut short by a full disk leaves
    /// part of a frame, which decoders stop at) and the failed segment's own file is deleted: that frees the room
    /// the playlist and the sidecar need. Returns the file if it is left finished; one whose playlist cannot be
    /// written now is ``unended`` — unless its audio is gone too (its folder moved or deleted): it can never be.
    private func abandon(_ file: Current, failedAt segment: HLSSegment?) -> Current? {
        _ = ftruncate(file.fd, off_t(file.bytes))
        if let segment, !file.segments.contains(where: { $0.name == segment.name }) { FileWriter.remove(file.base + "/" + segment.name) }
        _ = close(file.fd)
        if file.segments.isEmpty {
            FileWriter.remove(file.base + "." + file.fileExtension)
            for name in FileWriter.names(in: file.base) { FileWriter.remove(file.base + "/" + name) }
            _ = rmdir(file.base)
            return nil
        }
        do throws(FileError) {
            try writePlaylist(file, ended: true)
            try writeSidecar(file)
            return file
        } catch {
            if access(file.base + "." + file.fileExtension, F_OK) == 0 { unended.append(file) }
            return nil
        }
    }

    /// Finishes the file being written, if any, after appending `last` (the recording's last frames); a recording
    /// stopped by a failure starts again with the next segment.
    func finish(with last: HLSSegment? = nil) {
        if let last { add(last, last: true) }
        endUnended()
        if let current {
            do throws(FileError) { try finish(current) } catch { stop(on: error, at: nil, pausing: nil) }
        }
        paused = nil
    }

    var label: String { mount.isEmpty ? "the stream" : "/" + mount }

    /// Whether a file of `duration` seconds, whose last segment has `title`, ends before `segment`: it is long
    /// enough (unless `segment` is the stream's short `tail`, ``add(_:targetDuration:last:)``), the stream broke
    /// off, or the title changed (if asked).
    private func startsAnew(after duration: Double, title: String?, at segment: HLSSegment, tail: Bool = false) -> Bool {
        if (duration >= seconds(settings.rotation) && !tail) || segment.discontinuity { return true }
        return settings.splitOnTitles && segment.title != title
    }

    /// When a recording paused at `pause` is tried again, for its stop line: `from the first segment after 8 s more
    /// of audio, at a title change, or at the next source` (a file ends with the segment that reaches its duration).
    private func resumption(after pause: Pause) -> String {
        let left = Int((seconds(settings.rotation) - pause.duration).rounded(.up))
        return (left > 0 ? "from the first segment after \(left) s more of audio" : "from its next segment")
            + (settings.splitOnTitles ? ", at a title change" : "") + ", or at the next source"
    }

    private func open(for segment: HLSSegment, targetDuration: Int) throws(FileError) -> Current {
        let time = CivilTime(milliseconds: segment.date > 0 ? segment.date : wallClockMilliseconds())
        let folder = [settings.directory, mount, time.date].filter { !$0.isEmpty }.joined(separator: "/")
        var base = folder + "/" + time.fileTime
        var suffix = 1
        // Two files in the same second: the next gets _02, _03, … — after the first in a sorted listing ('.' < '_'),
        // and in their order up to 99 in a second.
        while access(base + ".m3u8", F_OK) == 0 {
            suffix += 1
            base = folder + "/" + time.fileTime + (suffix < 10 ? "_0" : "_") + "\(suffix)"
        }
        try FileWriter.makeDirectories(base)
        let fileExtension = segment.name.hasSuffix(".aac") ? "aac" : "mp3"
        let fd = try FileWriter.openForAppending(base + "." + fileExtension)
        return Current(base: base, fileExtension: fileExtension, fd: fd, started: segment.date, session: session.current,
                       targetDuration: targetDuration)
    }

    private func append(_ segment: HLSSegment) throws(FileError) {
        guard var file = current else { return }
        let audio = Array(segment.audio)
        try FileWriter.replace(file.base + "/" + segment.name, with: segment.bytes)
        try writeAudio(file.fd, audio, file.base + "." + file.fileExtension)
        if file.segments.isEmpty {
            // Said once the file holds audio: a write that fails first deletes the file (``abandon(_:failedAt:)``).
            logger("recording \(label) \(resumes ? "again " : "")to \(file.base).\(file.fileExtension)")
            resumes = false
        }
        if let title = segment.title, title != file.titles.last?.title {
            file.titles.append((title, Int((file.duration * 1_000).rounded()), file.bytes))
        }
        file.segments.append(segment.listing)
        file.duration += segment.duration
        file.bytes += audio.count
        current = file
        try writePlaylist(file, ended: false)
        try writeSidecar(file)
    }

    /// Finishes `file`, the one being written: it stays ``current`` until its playlist is ended, so that a failure
    /// to end it abandons it as any other.
    private func finish(_ file: Current) throws(FileError) {
        try end(file)
        current = nil
        _ = close(file.fd)
    }

    /// Ends `file`'s playlist (a VOD) and writes its sidecar, in a log line, and tells the application.
    private func end(_ file: Current) throws(FileError) {
        try writePlaylist(file, ended: true)
        try writeSidecar(file)
        logger("recording \(label): \(file.base).\(file.fileExtension) finished, \(HLSPlaylist.seconds(file.duration)) s")
        onEvent(.finished(playlist: file.base + ".m3u8", session: file.session))
    }

    /// The playlist over the recording's segments (in the folder beside it).
    private func writePlaylist(_ file: Current, ended: Bool) throws(FileError) {
        let folder = String(file.base.split(separator: "/").last ?? "")
        let text = HLSPlaylist.media(file.segments, targetDuration: file.targetDuration, recording: ended ? .finished : .writing, folder: folder)
        try FileWriter.replace(file.base + ".m3u8", with: Array(text.utf8))
    }

    /// The stream ID of the session it holds (when it has one: a finished file left by a killed run is announced
    /// under it at the next start, ``finishLeftovers()``), the titles and where they start, in JSON.
    private func writeSidecar(_ file: Current) throws(FileError) {
        var members: [(String, JSONValue)] = [("mount", .text("/" + mount))]
        if !file.session.isEmpty { members.append((Self.sessionKey, .text(file.session))) }
        let json = JSONValue.object(members + [
            ("file", .text(String(file.base.split(separator: "/").last ?? "") + "." + file.fileExtension)),
            ("started", .text(CivilTime(milliseconds: file.started).iso8601)),
            ("duration_ms", .number(Int((file.duration * 1_000).rounded()))),
            ("bytes", .number(file.bytes)),
            ("titles", .list(file.titles.map {
                .object([("title", .text($0.title)), ("offset_ms", .number($0.milliseconds)), ("offset_bytes", .number($0.byte))])
            })),
        ])
        try FileWriter.replace(file.base + ".json", with: Array((json.encoded + "\n").utf8))
    }
}
