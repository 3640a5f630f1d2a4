internal import Dispatch
internal import Synchronization

/// What a process does before it exits on Ctrl-C or `kill`, in this order and within a bounded time:
///
/// 1. **Sources.** Each station server stops taking connections and ends its live sources, each with its end line,
///    so the application, if there is one, hears `stream-closed` for every session that was live — posted to the
///    event queue, like any event (at most a second).
/// 2. **Pages, recordings and `--hls-dir`.** Every page following titles on a WebSocket gets a close frame
///    (``TitleWatchers/sayGoodbye(within:)``). Every file being written is finished (``Recorder/finishAll()``): its
///    playlist gets `EXT-X-ENDLIST`; every live HLS written to a directory is deleted
///    (``HLSDirectory/removeAll()``), so that nginx does not serve a live playlist that no longer moves.
/// 3. **Events.** Each event queue sends what it holds while the time lasts (not at all if the application was
///    failing already), and writes what is left to its spool file (`--event-spool`), to be sent first at the next
///    start; the spool is on disk when ``run(within:)`` returns. Beside them, the access log's last lines, and the
///    sums of the log lines counted but not told yet (each port's ``LogBudget``s).
///
/// `casty-cli` calls ``run(within:)`` from its signal handler, then exits. A step that overruns its time is not
/// waited for.
public enum Shutdown {
    /// When a piece of work runs: with the sources, or with the events.
    package enum Stage: Sendable, Equatable {
        /// Step 1: ending the sources.
        case sources
        /// Step 3: sending or spooling the events.
        case events
        /// Step 3 too, beside the events: the access log's lines for the listeners still connected.
        case accessLog
        /// Step 3 too: the sums of the lines counted but not yet told (``LogBudget``: listeners who joined and left
        /// within the last window, past its budget).
        case logs
    }

    /// A piece of work, told the instant it must be done by.
    package typealias Work = @Sendable (_ deadline: ContinuousClock.Instant) async -> Void

    private static let registered = Mutex<[(stage: Stage, spooled: Bool, work: Work)]>([])

    /// The sources connected to the process's station servers now (each ``SourceSession`` from its start to its
    /// end): the line that says a shutdown is under way claims to end sources only when there are some.
    private static let openSources = Atomic<Int>(0)

    /// A source session began (``openSources``).
    static func sourceOpened() { openSources.add(1, ordering: .relaxed) }

    /// A source session ended (``openSources``).
    static func sourceEnded() { openSources.subtract(1, ordering: .relaxed) }

    /// Adds `work` to `stage` of every shutdown from now on. Capture what it works on weakly: a server or queue
    /// that is gone by then has nothing to do.
    /// `spooled`: the work keeps what it cannot do in a file (an event queue with `--event-spool`), which the line
    /// that says a shutdown is under way tells.
    package static func register(_ stage: Stage, spooled: Bool = false, _ work: @escaping Work) {
        registered.withLock { $0.append((stage, spooled, work)) }
    }

    /// What a shutdown does, for the line that says it is under way: ` (sources ended, recordings finished, events
    /// sent or spooled)` in a station server with live sources, recordings and a control plane with a spool (`events
    /// sent if the application answers` without one: what is not is lost), less in one without them, ` (access log
    /// written)` in a relay with an access log, nothing in a process that has none of them (a relay, a dummy, a
    /// station server with no source connected).
    public static var summary: String {
        let works = registered.withLock { $0.map { (stage: $0.stage, spooled: $0.spooled) } }
        let stages = works.map(\.stage)
        var done: [String] = []
        if stages.contains(.sources), openSources.load(ordering: .relaxed) > 0 { done.append("sources ended") }
        if Recorder.isWriting { done.append("recordings finished") }
        if stages.contains(.events) {
            done.append(works.contains { $0.stage == .events && $0.spooled } ? "events sent or spooled" : "events sent if the application answers")
        }
        if stages.contains(.accessLog) { done.append("access log written") }
        return done.isEmpty ? "" : " (\(done.joined(separator: ", ")))"
    }

    /// Runs the three steps, in at most `limit` in all (the sources get a third of it); blocks the calling thread
    /// (a signal handler's), never an event loop's.
    public static func run(within limit: Duration = .seconds(3)) {
        let start = ContinuousClock.now
        run([.sources], until: start + limit / 3)
        TitleWatchers.sayGoodbye()
        Recorder.finishAll()
        HLSDirectory.removeAll()
        run([.events, .accessLog, .logs], until: start + limit)
        EventSpool.flush()
    }

    /// Runs the work of `stages` at once, and waits for all of it until `deadline` at most.
    private static func run(_ stages: [Stage], until deadline: ContinuousClock.Instant) {
        let works = registered.withLock { all in all.filter { stages.contains($0.stage) }.map(\.work) }
        guard !works.isEmpty else { return }
        let done = DispatchSemaphore(value: 0)
        Task.detached {
            await withTaskGroup(of: Void.self) { group in
                for work in works { group.addTask { await work(deadline) } }
            }
            done.signal()
        }
        let left = max(.zero, ContinuousClock.now.duration(to: deadline))
        let (seconds, attoseconds) = left.components
        _ = done.wait(timeout: .now() + .nanoseconds(Int(seconds) * 1_000_000_000 + Int(attoseconds / 1_000_000_000)))
    }
}
