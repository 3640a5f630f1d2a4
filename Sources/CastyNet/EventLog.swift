internal import Glibc

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

    /// Prints each line to standard error, after the local time.
    public static let standardError = EventLog { line in
        var now = time(nil)
        var parts = tm()
        localtime_r(&now, &parts)
        let clock = [parts.tm_hour, parts.tm_min, parts.tm_sec].map { $0 < 10 ? "0\($0)" : "\($0)" }.joined(separator: ":")
        let text = Array("\(clock) \(line)\n".utf8)
        _ = text.withUnsafeBytes { Glibc.write(2, $0.baseAddress, $0.count) }
    }

    /// Drops every line.
    public static let silent = EventLog { _ in }
}
