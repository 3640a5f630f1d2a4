internal import CastyNet
internal import Dispatch
internal import Synchronization

/// Records a mount: its HLS segments, as they are made, become an audio file, a VOD playlist over the same
/// segments and a JSON sidecar of the titles — `DIR/<mount>/<date>/<start-time>.mp3` (or `.aac`), `.m3u8` and
/// `.json`, the segments in the folder `<start-time>/` beside them — rotated every ``Settings/rotation`` (one
/// hour by default) and, if asked, at every title change.
///
/// The recorder takes segments on the event loop and hands them to its ``RecordingFile`` on a serial queue of
/// its own: the disk never stalls a listener. A disk that fills, or a directory that vanishes, stops the
/// recording — one log line, one event to the application — and never the stream.
public final class Recorder: @unchecked Sendable {
    // @unchecked Sendable: `file` is used only on `queue`; the rest is immutable.

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

        /// Nothing recorded.
        public init() {}

        /// Whether `mount` is recorded (a relay's one stream is `/`).
        func records(_ mount: String) -> Bool {
            mounts.contains(mount.isEmpty ? "/" : mount)
        }
    }

    /// Where a recording stands, for the events it sends.
    enum Event: Sendable {
        /// A file was finished: its VOD playlist, under the recordings' directory.
        case finished(playlist: String)
        /// Recording stopped on an error (a full disk, a missing directory).
        case failed(FileError)
    }

    private let queue = DispatchQueue(label: "casty.recorder")
    private let file: RecordingFile
    /// The recorders writing now, so that a process told to stop finishes their files first.
    private static let writing = Mutex<[ObjectIdentifier: Recorder]>([:])

    /// A recorder of `mount` into `settings.directory`; `onEvent` is told (on the recorder's queue) of each
    /// finished file and of a failure.
    init(mount: String, settings: Settings, logger: EventLog, onEvent: @escaping @Sendable (Event) -> Void = { _ in }) {
        file = RecordingFile(mount: mount, settings: settings, logger: logger, onEvent: onEvent)
        Self.writing.withLock { $0[ObjectIdentifier(self)] = self }
    }

    /// Records `segment` (called on the loop; written on the recorder's queue).
    func add(_ segment: HLSSegment) {
        queue.async { [file] in file.add(segment) }
    }

    /// Finishes the file being written: its playlist gets `EXT-X-ENDLIST`.
    func finish() {
        Self.writing.withLock { $0[ObjectIdentifier(self)] = nil }
        queue.async { [file] in file.finish() }
    }

    /// Finishes every recording being written, and waits until they are (a process that stops: Ctrl-C, `kill`),
    /// so that each file's playlist ends with `EXT-X-ENDLIST`.
    public static func finishAll() {
        let recorders = writing.withLock { all in
            defer { all = [:] }
            return Array(all.values)
        }
        for recorder in recorders { recorder.queue.sync { recorder.file.finish() } }
    }

    /// Waits for everything handed over so far to be written (tests, shutdown).
    func flush() {
        queue.sync {}
    }
}
