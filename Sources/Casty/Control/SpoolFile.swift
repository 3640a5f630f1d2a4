internal import CastyNet
internal import Synchronization

/// A file of the event spool — the spool itself, or the live sessions beside it (``LiveSessions``) — rewritten at
/// every change on the spool's queue (``EventSpool``): a temporary file synced and renamed over it, so that a
/// write that fails (a full disk, the directory removed, a read-only file system) leaves the last good file.
///
/// A failed write is said in one line — the file, the error, and how much is now only in memory —, not again at
/// every write while it keeps failing: then at most once per ``WriteFailures/repeatInterval``, with how many writes
/// failed since; and the write that works again is said too. Blocking: call ``write(_:count:)`` on the spool's queue.
///
/// Each line ends with a line break, the last one too (``text(_:)``), so that a line appended by hand is a line of its
/// own; a file without the last one (written by an earlier Casty) reads the same (``lines(of:)``). Written through
/// a symlink to the file it names (``SpoolPath``), never over the symlink.
final class SpoolFile: Sendable {
    /// The file, as it was given (in log lines).
    let path: String
    /// The file written: ``path`` with its symlinks followed, as they were when it was made ready.
    private let target: String
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
        target = SpoolPath.resolved(path)
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
            try FileWriter.replace(target, with: Array(text.utf8), mode: 0o600, sync: true)
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

extension SpoolFile {
    /// The file's text of `lines` (each without a line break): every one ends with a line break, the last too.
    static func text(_ lines: some Sequence<String>) -> String {
        lines.map { $0 + "\n" }.joined()
    }

    /// The lines of `text` that hold more than spaces, each with its number in the file (from 1), for a line that is
    /// dropped to be named. The last line may lack its line break (written by a Casty from before they ended so).
    static func lines(of text: String) -> [(number: Int, text: Substring)] {
        text.split(separator: "\n", omittingEmptySubsequences: false).enumerated()
            .filter { !$0.element.allSatisfy(\.isWhitespace) }
            .map { (number: $0.offset + 1, text: $0.element) }
    }

    /// How a log line names the lines numbered `numbers`: `line 3`, `lines 2, 3`, `lines 2, 3, 5, 8, 13 and 4 more`.
    static func named(_ numbers: [Int]) -> String {
        let shown = numbers.prefix(5).map(String.init).joined(separator: ", ")
        let more = numbers.count > 5 ? " and \(numbers.count - 5) more" : ""
        return (numbers.count == 1 ? "line " : "lines ") + shown + more
    }
}
