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
    /// first line, again before the first line of each new day, and when the clock's offset from UTC changes (a
    /// change to or from daylight saving time: `00:00:03 date: 2026-12-06, times UTC+01:00`), so that the log of a
    /// server that runs for weeks tells which day and hour a line is from without a date on every line.
    ///
    /// The lines are written by a thread of their own (a ``LineWriter``), in order, never by the caller: a standard error
    /// nobody reads — a journald under pressure, a paused terminal, a `| logger` that stalls — holds no event loop.
    /// At most 1 MiB waits for it; lines past it are dropped, and how many is said once it takes lines again.
    public static let standardError = EventLog { line in
        let parts = localNow()
        let clock = Self.clock(parts)
        let day = Day(day: Int(parts.tm_year) * 1000 + Int(parts.tm_yday), offset: parts.tm_gmtoff)
        let text = "\(clock) \(line)\n"
        // Whether the date goes first, and the line's place in the queue, under one lock: two loops logging at once
        // must not print the other's line first, above the date line one of them was to print.
        lastDay.withLock { last in
            guard last != Self.closedDay else { return }
            var bytes = Array(text.utf8)
            if last != day {
                let date = "\(parts.tm_year + 1900)-\(twoDigits(parts.tm_mon + 1))-\(twoDigits(parts.tm_mday))"
                let offset = parts.tm_gmtoff / 60
                let zone = "UTC\(offset < 0 ? "-" : "+")\(twoDigits(Int32(abs(offset) / 60))):\(twoDigits(Int32(abs(offset) % 60)))"
                bytes = Array("\(clock) date: \(date), times \(zone)\n".utf8) + bytes
            }
            guard enqueue(bytes) else { return }
            last = day
        }
    }

    /// The day (year × 1000 + day of the year) and UTC offset of the last line printed to standard error: a line of
    /// another says the date first.
    private struct Day: Equatable {
        var day: Int
        var offset: Int
    }

    /// The day of the last line printed to standard error; ``closedDay`` once the last line was written. Held while
    /// a line is queued.
    private static let lastDay = Mutex<Day>(Day(day: -1, offset: 0))
    private static let closedDay = Day(day: Int.min, offset: 0)

    /// What writes the lines to standard error, on a thread of its own.
    private static let writer = LineWriter(fd: 2, limit: 1 << 20) { dropped in
        "\(clock(localNow())) log: \(dropped) lines dropped: standard error took none for a while\n"
    }

    /// Queues `bytes` for standard error (``LineWriter/enqueue(_:)``), making sure the process waits for them as it exits.
    private static func enqueue(_ bytes: [UInt8]) -> Bool {
        _ = flushedAtExit
        return writer.enqueue(bytes)
    }

    /// Prints `line` as ``standardError`` does, as the last: any line after it (a relay's upstream that ended as
    /// the process stopped) is dropped, so that the log ends on it (`stopped in 19 ms`). Waits for the lines queued
    /// to be written, for `wait` at most (a standard error nobody reads must not keep the process from ending): call
    /// it off the cooperative pool and the loops — as the process ends.
    public static func standardErrorLast(_ line: String, wait: Duration = .milliseconds(500)) {
        standardError(line)
        lastDay.withLock { $0 = closedDay }
        writer.flush(wait: wait)
    }

    /// Makes the process wait, as it exits (`exit(1)` after a start-up mistake's line), for the lines still queued
    /// for standard error — 1 s at most. Set up with the first line queued.
    private static let flushedAtExit: Void = {
        atexit {
            // After the last line (``standardErrorLast(_:wait:)``), which waited already: not twice.
            guard EventLog.lastDay.withLock({ $0 != EventLog.closedDay }) else { return }
            EventLog.writer.flush(wait: .seconds(1))
        }
    }()

    /// The local time now, broken down.
    private static func localNow() -> tm {
        var now = time(nil)
        var parts = tm()
        localtime_r(&now, &parts)
        return parts
    }

    private static func clock(_ parts: tm) -> String {
        [parts.tm_hour, parts.tm_min, parts.tm_sec].map(twoDigits).joined(separator: ":")
    }

    private static func twoDigits(_ value: Int32) -> String {
        value < 10 ? "0\(value)" : "\(value)"
    }

    /// Drops every line.
    public static let silent = EventLog { _ in }
}

extension EventLog {
    /// A logger that writes each line after the prefix `prefix` returns when the line is written, or as it is while
    /// that is `nil`: for lines whose owner is named only once it exists (a branch's distributor, made before the port
    /// that tells the branch's address is bound).
    public func prefixed(_ prefix: @escaping @Sendable () -> String?) -> EventLog {
        EventLog { [write] line in write(SafeText.logLine(prefix() ?? "") + line) }
    }
}
