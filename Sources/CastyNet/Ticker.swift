internal import Synchronization

/// Runs a piece of work on a loop every `interval`, until cancelled or let go of.
///
/// The work should capture its owner weakly (`Ticker(loop: loop, every: …) { [weak self] in … }`): the owner
/// keeps the ticker, and a ticker let go of stops ticking, so neither keeps the other alive.
package final class Ticker: Sendable {
    private let loop: EventLoop
    private let interval: Duration
    private let work: @Sendable () -> Void
    private let next = Mutex<Scheduled?>(nil)
    private let cancelled = Atomic<Bool>(false)

    /// Starts ticking: the first run is `interval` from now.
    package init(loop: EventLoop, every interval: Duration, _ work: @escaping @Sendable () -> Void) {
        self.loop = loop
        self.interval = interval
        self.work = work
        arm()
    }

    deinit {
        next.withLock { $0?.cancel() }
    }

    /// Stops ticking; a run already under way finishes.
    package func cancel() {
        cancelled.store(true, ordering: .releasing)
        next.withLock { $0?.cancel() }
    }

    private func arm() {
        let scheduled = loop.schedule(after: interval) { [weak self] in
            guard let self, !cancelled.load(ordering: .acquiring) else { return }
            work()
            arm()
        }
        next.withLock { $0 = scheduled }
    }
}
