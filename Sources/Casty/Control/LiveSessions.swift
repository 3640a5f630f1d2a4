internal import CastyNet
internal import Dispatch
internal import Synchronization

/// The sessions the application was told are live (`stream-available`) and not yet closed, kept beside the event
/// spool (`<spool>.live`), so that a process that dies without ending them — `kill -9`, a crash, the machine
/// going down — tells the application at its next start: `stream-closed` for each, after whatever the spool still
/// held. Without it the platform would show those streams live for ever.
///
/// Written on the spool's queue (``EventSpool``), a temporary file renamed over the last, at every change: sessions
/// start and end at a human pace, and each change is one small file. A write that fails is said (``SpoolFile``).
final class LiveSessions: Sendable {
    /// The file: the spool's real path with `.live` after it (``path(ofSpool:)``).
    var path: String { file.path }
    private let file: SpoolFile
    /// The available events not closed yet, by channel, stream id and type.
    private let live = Mutex<[String: StreamEvent]>([:])

    /// The live sessions kept beside `spool`; a failed write is logged to `logger`.
    init(spool: String, logger: EventLog = .silent) {
        file = SpoolFile(path: Self.path(ofSpool: spool), name: "events", title: "the live sessions file", noun: ("live session", "live sessions"),
                         logger: logger)
    }

    /// Notes what `event` changes: a session available (as `ICY-LIVE`, `HLS-LIVE`), or closed — a session's
    /// `stream-closed` names no type and closes its live outputs. A recording's events (`HLS-VOD`) are not kept: its
    /// `stream-available` announces a finished file, which nothing closes later (a `stream-closed` of `HLS-VOD` says
    /// a recording failed), and a recording cut short by a kill was never announced.
    func note(_ event: StreamEvent) {
        guard Self.isLive(event) else { return }
        let key = Self.key(event)
        live.withLock { live in
            switch event.kind {
            case .available:
                live[key] = event
            case .closed:
                let closing = live.filter { entry in
                    event.streamType == nil ? Self.session(entry.value) == Self.session(event) : entry.key == key
                }
                guard !closing.isEmpty else { return }
                for entry in closing { live.removeValue(forKey: entry.key) }
            }
            // Queued while the lock is held, so the files are written in the order of the changes.
            let text = SpoolFile.text(live.values.map(\.spoolLine).sorted())
            let count = live.count
            let file = file
            EventSpool.writer.async { file.write(text, count: count) }
        }
    }

    /// The `stream-closed` events of the sessions a previous run left live — one per session for its live outputs,
    /// as the run would have sent it. The file keeps them until ``forgetTheLastRun()``, once they are kept in the
    /// event spool: a start that fails, or a process killed, in between loses none. A recording's line (written by
    /// versions that kept them) closes nothing.
    func leftByTheLastRun() -> [StreamEvent] {
        guard let bytes = FileWriter.contents(of: path), !bytes.isEmpty else { return [] }
        var closing: [StreamEvent] = []
        for event in SpoolFile.lines(of: String(decoding: bytes, as: UTF8.self)).compactMap({ StreamEvent(spoolLine: $0.text) })
        where event.kind == .available && Self.isLive(event) {
            let closed = StreamEvent(channel: event.channel, streamID: event.streamID, kind: .closed)
            if !closing.contains(closed) { closing.append(closed) }
        }
        return closing
    }

    /// Empties the file of the last run's sessions (their `stream-closed` is in the event spool), keeping this run's.
    func forgetTheLastRun() {
        let (text, count) = live.withLock { (SpoolFile.text($0.values.map(\.spoolLine).sorted()), $0.count) }
        let file = file
        EventSpool.writer.async { file.write(text, count: count) }
    }

    /// The file of the live sessions kept beside `spool`: beside the file itself when `spool` is a symlink to it
    /// (``SpoolPath``), where a run given the file's own path keeps them too.
    static func path(ofSpool spool: String) -> String { SpoolPath.resolved(spool) + ".live" }

    private static func key(_ event: StreamEvent) -> String { session(event) + "\t" + (event.streamType ?? "") }
    private static func session(_ event: StreamEvent) -> String { event.channel + "\t" + event.streamID }
    /// Whether it is one of a session's live outputs (not a recording, announced once finished).
    private static func isLive(_ event: StreamEvent) -> Bool { event.streamType != "HLS-VOD" }
}
