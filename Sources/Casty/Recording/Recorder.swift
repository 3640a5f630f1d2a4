internal import CastyNet
internal import Dispatch
internal import Synchronization

/// Records a mount: its stream, cut into segments as the live HLS is (an ``HLSSegmenter`` in
/// ``HLSSegmenter/Mode/recording``, which also cuts at title changes and keeps the last frames), becomes an
/// audio file, a VOD playlist over the segments and a JSON sidecar of the titles —
/// `DIR/<mount>/<date>/<start-time>.mp3` (or `.aac`), `.m3u8` and `.json`, the segments in the folder
/// `<start-time>/` beside them — rotated every ``Settings/rotation`` (one hour by default) and, if asked, at
/// every title change.
///
/// The recorder cuts segments on the event loop and hands them to its ``RecordingFile`` on a serial queue of
/// its own: the disk never stalls a listener. When the source ends, and when the recorder is finished (the
/// process stops), the frames not yet in a segment are written too: a recording ends where its audio did. A
/// disk that fills, or a directory that vanishes, stops the recording until its next file would start — one log
/// line, the file it cut short announced as finished — and never the stream.
public final class Recorder: @unchecked Sendable {
    // @unchecked Sendable: `file` is used only on `queue`, `cutting` behind its lock; the rest is immutable.

    /// What to record, where, and how to cut it.
    public struct Settings: Sendable, Equatable {
        /// The directory recordings go under.
        public var directory = "recordings"
        /// The mounts recorded (`/live`; `/` for a relay's one stream).
        public var mounts: Set<String> = []
        /// A new file this often (by the audio's own duration).
        public var rotation: Duration = .seconds(3_600)
        /// Whether a title change also starts a new file.
        public var splitOnTitles = false
        /// How long a stream that stops coming without ending (a branch's root away) may bring nothing before its
        /// file is finished (``QuietEnd``).
        public var quietEnd: Duration = QuietEnd.defaultWait
        /// How long an unfinished recording's playlist must have been left alone to be finished as a previous run's
        /// (``RecordingFile/leftoverAge``; tests shorten it).
        var leftoverAge = RecordingFile.leftoverAge

        /// Nothing recorded.
        public init() {}

        /// Whether `mount` is recorded (a relay's one stream is `/`).
        func records(_ mount: String) -> Bool {
            mounts.contains(mount.isEmpty ? "/" : mount)
        }
    }

    /// Where a recording stands, for the events it sends.
    enum Event: Sendable {
        /// A file was finished: its VOD playlist, under the recordings' directory, and the session it holds — a file
        /// a failure cut short too, once what it holds is finished.
        case finished(playlist: String, session: String)
        /// Recording stopped on an error (a full disk, a missing directory), in that session; `playlist` is the file
        /// it cut short, when that was left finished (told as ``finished(playlist:session:)`` just before).
        case failed(FileError, playlist: String?, session: String)
    }

    private let queue = DispatchQueue(label: "casty.recorder")
    private let file: RecordingFile
    /// The cutting of the stream into the recording's segments (on the loop, and once when finished).
    private let cutting: Mutex<Cutting>
    /// The recorders writing now, so that a process told to stop finishes their files first.
    private static let writing = Mutex<[ObjectIdentifier: Recorder]>([:])

    private struct Cutting {
        var segmenter: HLSSegmenter
        var finished = false
    }

    /// A recorder of `mount` into `settings.directory`, cutting segments of about `targetDuration` seconds (the
    /// tree root's when the stream says it), naming those it counts on its own with `mark` (its live packager's,
    /// ``HLSPackager/nameMark``); `onEvent` is told (on the recorder's queue) of each finished file and of a failure,
    /// with the `session` each file was started in (read as it starts) — and of each file a previous run left
    /// unfinished, once finished, with the session its sidecar names.
    init(mount: String, settings: Settings, targetDuration: Int, logger: EventLog,
         session: RecordedSession = RecordedSession(""), mark: UInt32? = nil, onEvent: @escaping @Sendable (Event) -> Void = { _ in }) {
        file = RecordingFile(mount: mount, settings: settings, logger: logger, session: session, onEvent: onEvent)
        cutting = Mutex(Cutting(segmenter: HLSSegmenter(targetDuration: targetDuration, mode: .recording, mark: mark)))
        Self.writing.withLock { $0[ObjectIdentifier(self)] = self }
        queue.async { [weak self] in self?.finishLeftovers() }
    }

    /// Finishes the mount's recordings a previous run left unfinished; those too recent to be sure of are looked at
    /// again once they are old enough — a process restarted at once (a supervisor's) finds its killed run's file
    /// seconds old, and a mount recorded for good (`--record`) makes no new recorder to look again. On the queue.
    private func finishLeftovers() {
        guard let wait = file.finishLeftovers() else { return }
        queue.asyncAfter(deadline: .now() + .seconds(wait)) { [weak self] in self?.finishLeftovers() }
    }

    /// Takes the stream as the mount's packager receives it (on the loop); the segments it completes are
    /// written on the recorder's queue. The source's end writes the frames held and finishes the file (the
    /// next source starts a new one).
    func take(_ feed: HLSPackager.Feed) {
        let (made, ended, target) = cutting.withLock { cutting -> ([HLSSegment], Bool, Int) in
            guard !cutting.finished else { return ([], false, 0) }
            let (made, ends): ([HLSSegment], Bool) = switch feed {
            case .context(let context): (cutting.segmenter.start(context), false)
            case .segment(let number, let segment, let stream, let clock):
                (cutting.segmenter.add(number, segment, stream: stream, clock: clock), false)
            case .ended: (cutting.segmenter.finish().map { [$0] } ?? [], true)
            }
            return (made, ends, cutting.segmenter.targetDuration)  // read after a context, which may set it
        }
        guard !made.isEmpty || ended else { return }
        queue.async { [file] in
            for segment in made { file.add(segment, targetDuration: target, last: ended) }
            if ended { file.finish() }
        }
    }

    /// Finishes the file being written, with the frames not yet in a segment: its playlist gets
    /// `EXT-X-ENDLIST`. The recorder takes nothing more.
    func finish() {
        Self.writing.withLock { $0[ObjectIdentifier(self)] = nil }
        let last = stop()
        queue.async { [file] in file.finish(with: last) }
    }

    /// Whether a recording is being written in this process: a shutdown finishes it (``finishAll()``).
    static var isWriting: Bool { writing.withLock { !$0.isEmpty } }

    /// Finishes every recording being written, and waits until they are (a process that stops: Ctrl-C, `kill`),
    /// so that each file holds the audio up to the end and its playlist ends with `EXT-X-ENDLIST`.
    public static func finishAll() {
        let recorders = writing.withLock { all in
            defer { all = [:] }
            return Array(all.values)
        }
        for recorder in recorders {
            let last = recorder.stop()
            recorder.queue.sync { recorder.file.finish(with: last) }
        }
    }

    /// Stops cutting: the frames held, as a last segment (once).
    private func stop() -> HLSSegment? {
        cutting.withLock { cutting in
            guard !cutting.finished else { return nil }
            cutting.finished = true
            return cutting.segmenter.finish()
        }
    }

    /// Waits for everything handed over so far to be written (tests, shutdown).
    func flush() {
        queue.sync {}
    }
}

/// The stream ID of the session a recording holds now: set on the loop as a new stream starts, read on the
/// recorder's queue as a file starts.
final class RecordedSession: Sendable {
    private let id: Mutex<String>
    /// A recording of session `id`.
    init(_ id: String) { self.id = Mutex(id) }
    /// The session now.
    var current: String { id.withLock { $0 } }
    /// A new session begins.
    func begin(_ session: String) { id.withLock { $0 = session } }
}
