internal import Synchronization

/// The SIGHUPs of a command that reads its options again on them (``SignalResponse/readAgain``), and the reading
/// they run: one at a time, in one task, so that a burst of signals cannot leave an older reading in force; signals
/// that come while a reading runs are one more reading, which reads what is there by then. A signal that comes
/// before the reading is given (``run(_:)``: the command is still starting) is held, and read once it is — not a
/// stop, which a service manager's early `reload` would otherwise be.
package final class HangupReadings: Sendable {
    private let signals: Mutex<AsyncStream<Void>?>
    private let continuation: AsyncStream<Void>.Continuation

    /// Holds the signals until ``run(_:)`` is given a reading.
    package init() {
        let (signals, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        self.signals = Mutex(signals)
        self.continuation = continuation
    }

    /// A SIGHUP came: one more reading, now or once there is one (many signals before it runs are one).
    package func received() {
        continuation.yield()
    }

    /// From now on each signal runs `reading`, a signal held since the start first; given once (a second is
    /// ignored: the first already runs every signal).
    package func run(_ reading: @escaping @Sendable () async -> Void) {
        guard let signals = signals.withLock({ $0.take() }) else { return }
        Task {
            for await _ in signals { await reading() }
        }
    }
}
