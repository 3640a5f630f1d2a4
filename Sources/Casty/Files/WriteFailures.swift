/// The writes of one file that may fail for a while — a full disk, its directory removed, a read-only file system —
/// as its writer's log tells them without flooding: the first failure at once, those that follow at most once per
/// ``interval`` with how many failed since the last line, and the first write that works again. The event spool's
/// files (``SpoolFile``) and the access log (``AccessLog``) each phrase the lines; this decides when.
struct WriteFailures {
    /// What a log tells of a write, if anything.
    enum News: Equatable {
        /// A write failed after one that worked (or the first of all), with `error`.
        case failed(FileError)
        /// Writes keep failing, the last with `error`: `count` of them since the last line.
        case stillFailing(FileError, count: Int)
        /// A write worked after `count` that failed, since the first that did.
        case writtenAgain(after: Int)
    }

    /// The shortest time between two lines about writes that keep failing.
    static var repeatInterval: Duration { .seconds(60) }

    /// The failures told, and those since the last line.
    private var repeated = RepeatedEvent(interval: Self.repeatInterval)
    /// The writes that failed since the last one that worked.
    private var failures = 0

    /// No write failed yet.
    init() {}

    /// Whether the last write failed.
    var failing: Bool { failures > 0 }

    /// Counts a write that worked (`error` `nil`) or failed, and returns what to tell of it, or `nil` to stay quiet.
    mutating func wrote(_ error: FileError?, at now: ContinuousClock.Instant = .now) -> News? {
        guard let error else {
            defer { self = WriteFailures() }
            return failing ? .writtenAgain(after: failures) : nil
        }
        failures += 1
        guard let count = repeated.occurred(at: now) else { return nil }
        return failures == 1 ? .failed(error) : .stillFailing(error, count: count)
    }
}
