internal import Synchronization

/// A piece of work scheduled on an ``EventLoop`` to run after a delay; keep it to cancel the work.
///
/// Returned by ``EventLoop/schedule(after:_:)``. Safe to use from any thread.
///
/// **No cycles.** The work is let go of as soon as it has run or is cancelled, so an object may keep its
/// own timer (`self.deadline = loop.schedule { [self] in … }`) without the timer keeping the object alive
/// after the fact.
public final class Scheduled: Sendable {
    /// When the work is due.
    public let deadline: ContinuousClock.Instant
    /// The work, until it runs or is cancelled.
    private let work: Mutex<(@Sendable () -> Void)?>
    private let cancelled = Atomic<Bool>(false)

    init(deadline: ContinuousClock.Instant, work: @escaping @Sendable () -> Void) {
        self.deadline = deadline
        self.work = Mutex(work)
    }

    /// Prevents the work from running, if it has not started yet, and releases it. Calling it again does
    /// nothing.
    public func cancel() {
        cancelled.store(true, ordering: .releasing)
        _ = work.withLock { $0.take() }
    }

    /// Whether ``cancel()`` was called.
    public var isCancelled: Bool {
        cancelled.load(ordering: .acquiring)
    }

    /// Takes the work out to run it (once): `nil` if it was cancelled or has already run.
    func take() -> (@Sendable () -> Void)? {
        work.withLock { $0.take() }
    }
}

/// A binary min-heap of scheduled work ordered by deadline, then by scheduling order.
/// Loop-confined: only the event loop thread touches it.
///
/// Cancelled timers are not searched for when cancelled (that may happen on any thread); they are swept out
/// whenever the heap has doubled since the last sweep, so a server that arms a 15 s header deadline for every
/// connection and cancels it a millisecond later holds about as many entries as it has live timers.
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
    /// The heap is swept of cancelled timers when it grows to this many entries.
    private var sweepAt = 64

    var isEmpty: Bool { entries.isEmpty }

    /// The earliest deadline, if any.
    var nextDeadline: ContinuousClock.Instant? { entries.first?.deadline }

    mutating func insert(_ timer: Scheduled) {
        if entries.count >= sweepAt { sweep() }
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

    /// Drops cancelled timers and restores the heap order (Floyd's bottom-up build: linear time). The storage
    /// shrinks with it, so a burst of connections leaves no large array behind.
    private mutating func sweep() {
        let live = entries.filter { !$0.timer.isCancelled }
        entries = []
        entries.reserveCapacity(max(64, live.count * 2))
        entries.append(contentsOf: live)
        var index = entries.count / 2
        while index > 0 {
            index -= 1
            siftDown(from: index)
        }
        sweepAt = max(64, entries.count * 2)
    }

    private mutating func siftDown(from start: Int) {
        var parent = start
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var smallest = parent
            if left < entries.count, entries[left].precedes(entries[smallest]) { smallest = left }
            if right < entries.count, entries[right].precedes(entries[smallest]) { smallest = right }
            if smallest == parent { return }
            entries.swapAt(parent, smallest)
            parent = smallest
        }
    }

    /// Removes and returns the earliest timer if it is due at `now`.
    mutating func popDue(now: ContinuousClock.Instant) -> Scheduled? {
        guard let first = entries.first, first.deadline <= now else { return nil }
        let last = entries.removeLast()
        if !entries.isEmpty {
            entries[0] = last
            siftDown(from: 0)
        }
        return first.timer
    }

    mutating func removeAll() {
        entries.removeAll()
    }
}
