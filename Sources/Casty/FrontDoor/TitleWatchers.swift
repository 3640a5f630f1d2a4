internal import CastyNet
internal import Dispatch
internal import Synchronization

/// The pages following one mount's titles (a distributor's): each title event goes to all of them, and one timer
/// on the loop gives all of them their heartbeat — not a task or a timer per watcher.
///
/// The timer runs only while there are watchers: armed by the first, it fires every heartbeat (the shortest
/// of the watchers', should their ports differ), and is not armed again once the last one has gone. At each
/// beat every watcher is sampled and sent its heartbeat, or dropped (``TitleWatcher/beat()``). Loop-confined
/// (`@unchecked Sendable` for its timer): used on `loop` only.
final class TitleWatchers: @unchecked Sendable {
    /// The loop of the distributor and of its watchers' connections.
    private let loop: EventLoop
    /// The pages following the titles.
    private var watchers: [TitleWatcher] = []

    /// Whether no page follows the titles.
    var isEmpty: Bool { watchers.allSatisfy(\.isClosed) }
    /// The next heartbeat, while there are watchers.
    private var timer: Scheduled?

    /// No watcher yet, on `loop`.
    init(loop: EventLoop) {
        self.loop = loop
    }

    /// Adds `watcher`, greeted with `current` (the title of the moment) if there is one; a watcher that cannot
    /// take it is not added.
    func add(_ watcher: TitleWatcher, greeting current: TitleWatcher.Event?) {
        watchers.removeAll { $0.isClosed }
        if let current, !watcher.send(current) { return }
        watchers.append(watcher)
        arm()
    }

    /// Sends `event` to every watcher, forgetting those that are gone or too far behind.
    func send(_ event: TitleWatcher.Event) {
        watchers.removeAll { !$0.send(event) }
    }

    /// Sends every watcher its heartbeat (or drops it), then arms the next one if watchers are left.
    private func beat() {
        timer = nil
        watchers.removeAll { !$0.beat() }
        arm()
    }

    /// Schedules the next heartbeat, unless one is scheduled or there is nobody to send it to.
    private func arm() {
        guard timer == nil, let interval = watchers.lazy.map(\.heartbeat).min() else {
            if watchers.isEmpty { Self.following.withLock { _ = $0.removeValue(forKey: ObjectIdentifier(self)) } }
            return
        }
        Self.following.withLock { $0[ObjectIdentifier(self)] = Weak(self) }
        timer = loop.schedule(after: interval) { [weak self] in self?.beat() }
    }

    // MARK: Goodbye

    private struct Weak: Sendable {
        weak var watchers: TitleWatchers?
        init(_ watchers: TitleWatchers) { self.watchers = watchers }
    }

    /// The sets that have watchers now, to say goodbye to when the process stops.
    private static let following = Mutex<[ObjectIdentifier: Weak]>([:])

    /// Says goodbye to every page following titles in the process (``TitleWatcher/goodbye()``) — or only on `loop` —,
    /// on each one's loop, waiting for that at most `limit`: a stopping server's WebSocket pages get a close frame.
    /// Off the loops only.
    static func sayGoodbye(within limit: Duration = .milliseconds(500), only loop: EventLoop? = nil) {
        let sets = following.withLock { $0.values.compactMap(\.watchers) }.filter { loop == nil || $0.loop === loop }
        let done = DispatchSemaphore(value: 0)
        for set in sets {
            set.loop.execute {
                for watcher in set.watchers { watcher.goodbye() }
                set.watchers = []
                done.signal()
            }
        }
        let deadline = DispatchTime.now() + .milliseconds(Int(limit / .milliseconds(1)))
        for _ in sets where done.wait(timeout: deadline) == .timedOut { break }
    }
}
