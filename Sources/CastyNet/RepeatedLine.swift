/// A line a command logs on a timer (the status line every `--status-every` seconds), kept out of the log while it
/// says the same as the last one logged: an idle server's log is not one line repeated 8,640 times a day.
///
/// A line that differs from the last one logged is logged at once; the same line again only once `heartbeat` has
/// passed since it was last logged, so the log still shows, now and then, that the process is alive.
package struct RepeatedLine {
    /// The longest a line that does not change stays out of the log.
    package let heartbeat: Duration
    private var last: String?
    private var logged: ContinuousClock.Instant?

    /// Nothing logged yet; the same line is logged again after `heartbeat`.
    package init(heartbeat: Duration) {
        self.heartbeat = heartbeat
    }

    /// Whether to log `line` now, noting it as logged if so.
    package mutating func shouldLog(_ line: String, at now: ContinuousClock.Instant = .now) -> Bool {
        if line == last, let logged, now - logged < heartbeat { return false }
        last = line
        logged = now
        return true
    }

    /// How long a status line logged every `interval` may stay out of the log while it does not change: ten
    /// minutes, or the interval when that is longer.
    package static func statusHeartbeat(every interval: Duration) -> Duration {
        max(interval, .seconds(600))
    }
}
