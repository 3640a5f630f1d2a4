import Synchronization

/// A clock that moves only when told to, so a check about deadlines runs the same way every time, in no time.
///
/// Nodes that need the time take a `now` closure; give them `clock.now` in checks and a real clock in a
/// program:
///
/// ```swift
/// let clock = ManualClock()
/// let watchdog = Watchdog(now: clock.now)
/// clock.advance(by: .seconds(3))
/// ```
public final class ManualClock: Sendable {
    private let current = Mutex(Duration.zero)

    /// A clock at time zero.
    public init() {}

    /// The time since the clock started.
    public var now: @Sendable () -> Duration {
        { [self] in current.withLock { $0 } }
    }

    /// Moves the clock forward.
    public func advance(by duration: Duration) {
        current.withLock { $0 += duration }
    }
}

/// A real clock in the same shape as ``ManualClock/now``: the time since this closure was made.
public func continuousNow() -> @Sendable () -> Duration {
    let start = ContinuousClock.now
    return { ContinuousClock.now - start }
}
