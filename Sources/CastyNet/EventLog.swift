internal import Glibc
internal import Synchronization

/// Where nodes tell what happens: listeners joining and leaving, an upstream dropping, a retry.
///
/// One line per event, so a log reads like a story of the relay; control characters are escaped. The command line prints them to standard
/// error with the time; tests collect them.
public struct EventLog: Sendable {
    private let write: @Sendable (String) -> Void

    /// A logger that hands each line to `write`.
    public init(_ write: @escaping @Sendable (String) -> Void) {
        self.write = write
    }

    /// Logs one line. Control characters in it (a CR or LF in a title, an ESC in a user agent) are written as
    /// escapes, so that nothing a stranger sends can forge a log line or drive a terminal.
    public func callAsFunction(_ line: @autoclosure () -> String) {
        write(SafeText.logLine(line()))
    }

    /// A logger that writes each line after `prefix` (`mount /live: `), so that the lines of one of many alike
    /// (a mount's distributor) say whose they are.
    public func prefixed(_ prefix: String) -> EventLog {
        let prefix = SafeText.logLine(prefix)
        return EventLog { [write] line in write(prefix + line) }
    }

    /// Prints each line to standard error, after the local time. The date is said on a line of its own before the
    /// first line and again before the first line of each new day (`00:00:03 date: 2026-12-06, times UTC+01:00`),
    /// so that the log of a server that runs for weeks tells which day a line is from without a date on every line.
    public static let standardError = EventLog { line in
        var now = time(nil)
        var parts = tm()
        localtime_r(&now, &parts)
        let clock = [parts.tm_hour, parts.tm_min, parts.tm_sec].map(twoDigits).joined(separator: ":")
        let day = Int(parts.tm_year) * 1000 + Int(parts.tm_yday)
        let text = "\(clock) \(line)\n"
        // Whether the date goes first, and the write, under one lock: two loops logging at once must not print the
        // other's line first, above the date line one of them was to print.
        lastDay.withLock { last in
            guard last != Self.closedDay else { return }
            var bytes = Array(text.utf8)
            if last != day {
                let date = "\(parts.tm_year + 1900)-\(twoDigits(parts.tm_mon + 1))-\(twoDigits(parts.tm_mday))"
                let offset = parts.tm_gmtoff / 60
                let zone = "UTC\(offset < 0 ? "-" : "+")\(twoDigits(Int32(abs(offset) / 60))):\(twoDigits(Int32(abs(offset) % 60)))"
                bytes = Array("\(clock) date: \(date), times \(zone)\n".utf8) + bytes
            }
            last = day
            _ = bytes.withUnsafeBytes { Glibc.write(2, $0.baseAddress, $0.count) }
        }
    }

    /// The day of the last line printed to standard error (year × 1000 + day of the year): a line on another day
    /// says the date first; ``closedDay`` once the last line was written. Held while a line is written.
    private static let lastDay = Mutex<Int>(-1)
    private static let closedDay = Int.min

    /// Prints `line` as ``standardError`` does, as the last: any line after it (a relay's upstream that ended as
    /// the process stopped) is dropped, so that the log ends on it (`stopped in 19 ms`).
    public static func standardErrorLast(_ line: String) {
        standardError(line)
        lastDay.withLock { $0 = closedDay }
    }

    private static func twoDigits(_ value: Int32) -> String {
        value < 10 ? "0\(value)" : "\(value)"
    }

    /// Drops every line.
    public static let silent = EventLog { _ in }
}
