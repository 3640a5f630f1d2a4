internal import CastyNet
internal import Synchronization

/// A file of the event spool — the spool itself, or the live sessions beside it (``LiveSessions``) — rewritten at
/// every change on the spool's queue (``EventSpool``): a temporary file synced and renamed over it, so that a
/// write that fails (a full disk, the directory removed, a read-only file system) leaves the last good file.
///
/// A failed write is said in one line — the file, the error, and how much is now only in memory —, not again at
/// every write while it keeps failing: then at most once per ``WriteFailures/repeatInterval``, with how many writes
/// failed since; and the write that works again is said too. Blocking: call ``write(_:count:)`` on the spool's queue.
final class SpoolFile: Sendable {
    /// The file.
    let path: String
    /// What begins its log lines (`events`).
    private let name: String
    /// What the file is, in a log line: `the spool`, `the live sessions file`.
    private let title: String
    /// What its lines are, singular and plural: `event`, `events`.
    private let noun: (one: String, many: String)
    private let logger: EventLog
    /// The failed writes, as told.
    private let failures = Mutex(WriteFailures())

    /// The file at `path`, called `title` in log lines that begin with `name`, holding `noun`s.
    init(path: String, name: String, title: String, noun: (one: String, many: String), logger: EventLog) {
        self.path = path
        self.name = name
        self.title = title
        self.noun = noun
        self.logger = logger
    }

    /// Writes `text`, which holds `count` of its lines, over the file, and says a failure, or the end of failures.
    /// Returns the error, if the file keeps what it held before.
    @discardableResult
    func write(_ text: String, count: Int) -> FileError? {
        let error = writeQuietly(text)
        switch failures.withLock({ $0.wrote(error) }) {
        case .writtenAgain: logger("\(name): \(title) \(path) is written again")
        case .failed(let error): logger("\(name): cannot write \(title) \(path): \(error.reason); \(left(count))")
        case .stillFailing(let error, let told):
            logger("\(name): still cannot write \(title) \(path): \(error.reason) (\(counted(told, "failed write")) since the last line); \(left(count))")
        case nil: break
        }
        return error
    }

    /// Writes `text` over the file, saying nothing: for the last write, whose outcome its caller says.
    func writeQuietly(_ text: String) -> FileError? {
        do throws(FileError) {
            try FileWriter.replace(path, with: Array(text.utf8), mode: 0o600, sync: true)
            return nil
        } catch {
            return error
        }
    }

    /// What a failed write leaves: `count` lines only in memory, or a file that still holds lines since gone.
    private func left(_ count: Int) -> String {
        count == 0 ? "it keeps what it held before" : "\(count) \(count == 1 ? noun.one + " is" : noun.many + " are") only in memory"
    }
}
