internal import Synchronization

/// A piece of work scheduled on an ``EventLoop`` to run after a delay; keep it to cancel the work.
///
/// Returned by ``EventLoop/schedule(after:_:)``. Safe to use from any thread.
public final class Scheduled: Sendable {
    /// When the work is due.
    public let deadline: ContinuousClock.Instant
    let work: @Sendable () -> Void
    private let cancelled = Atomic<Bool>(false)

    init(deadline: ContinuousClock.Instant, work: @escaping @Sendable () -> Void) {
        self.deadline = deadline
        self.work = work
    }

    /// Prevents the work from running, if it has not started yet. Calling it again does nothing.
    public func cancel() {
        cancelled.store(true, ordering: .releasing)
    }

    /// Whether ``cancel()`` was called.
    public var isCancelled: Bool {
        cancelled.load(ordering: .acquiring)
    }
}

/// A binary min-heap of scheduled work ordered by deadline, then by scheduling order.
/// Loop-confined: only the event loop thread touches it.
struct TimerHeap {
    private struct Entry {
        let deadline: ContinuousClock.Instant
        let sequence: UInt64
        let timer: Scheduled

        func precedes(_ other: Entry) -> Bool {
            deadline < other.deadline || (deadline == other.deadline && sequence < other.sequence)
        }
    }

    private var entries: [Entry] = []
    private var nextSequence: UInt64 = 0

    var isEmpty: Bool { entries.isEmpty }
    var count: Int { entries.count }

    /// The earliest deadline, if any.
    var nextDeadline: ContinuousClock.Instant? { entries.first?.deadline }

    mutating func insert(_ timer: Scheduled) {
        entries.append(Entry(deadline: timer.deadline, sequence: nextSequence, timer: timer))
        nextSequence &+= 1
        var child = entries.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard entries[child].precedes(entries[parent]) else { break }
            entries.swapAt(child, parent)
            child = parent
        }
    }

    /// Removes and returns the earliest timer if it is due at `now`.
    mutating func popDue(now: ContinuousClock.Instant) -> Scheduled? {
        guard let first = entries.first, first.deadline <= now else { return nil }
        let last = entries.removeLast()
        if !entries.isEmpty {
            entries[0] = last
            var parent = 0
            while true {
                let left = 2 * parent + 1
                let right = left + 1
                var smallest = parent
                if left < entries.count, entries[left].precedes(entries[smallest]) { smallest = left }
                if right < entries.count, entries[right].precedes(entries[smallest]) { smallest = right }
                if smallest == parent { break }
                entries.swapAt(parent, smallest)
                parent = smallest
            }
        }
        return first.timer
    }

    mutating func removeAll() {
        entries.removeAll()
    }
}
