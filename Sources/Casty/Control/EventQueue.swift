public import CastyNet
public import CastyWire
internal import Dispatch
internal import Glibc
internal import Icy
internal import Synchronization

/// Tells the platform's application what is live (`POST` to its event callback URL), reliably and in order,
/// without ever holding up the relay — and, the same way, that an authorized listener left (`listener_remove`).
///
/// Events (any ``QueuedPost``) are handed over with ``post(_:)`` from anywhere (the event loop included): it only
/// appends to a queue. They are sent oldest first, ``inFlight`` at once at most, in order within their lane
/// (``QueuedPost/lane``: an event's channel) — only a lane's oldest post is sent, and the next once it is answered
/// `200` —, while posts of other lanes, and posts of none (`listener_remove` calls), go meanwhile: one post the
/// application keeps refusing holds back the later posts of its lane only. Each is re-sent until the application
/// answers `200`, its lane waiting 0.5 s after a failure, doubling to 30 s at most with each failure of that lane in
/// a row (posts of no lane wait together, as one lane), other lanes sent meanwhile — one at a time while the last
/// answer was a failure, so that an application that is down is not flooded —, so posts survive the application
/// being down for minutes. The queue holds at most ``limit`` events; past that, pairs that opened and closed while
/// they waited are dropped first, then the oldest (``trim(_:to:keeping:)``), never one being sent, with a log line —
/// the first of each 10 s, then their sum — (at the default 10,000, a station would need thousands of sources
/// starting while the application is down). Failed attempts are said per lane (the first three, every tenth, a
/// failure of another kind, the last as the process stops), five lines per 10 s at most for the queue, then their
/// sum (``LogBudget``). With a spool file (``SpooledPost``s only), the pending events are also written there
/// within ``spoolDelay`` of every change — an event queued while the sender waits to try again too — (a temporary
/// file renamed over it, off the loop and off Swift's thread pool; changes coming faster are written together), in
/// the order they were queued, and read back at the next start, so none is lost when Casty stops — even by
/// `kill -9`, but for the last ``spoolDelay``. A spool that cannot be written (a full disk, its directory gone)
/// keeps its last good contents, and is said (``SpoolFile``).
public actor EventQueue<Post: QueuedPost> {
    /// A spool file, and how a post becomes a line of it and back.
    private struct Spool: Sendable {
        let file: SpoolFile
        var path: String { file.path }
        let line: @Sendable (Post) -> String
        let read: @Sendable (Substring) -> Post?
    }

    /// A post waiting, and its number, by which its answer names it (answers come in any order).
    private struct Queued: Sendable {
        let number: UInt64
        let post: Post
    }

    /// A lane whose last attempt failed (posts of no lane are one, for this): how many failed in a row, what was
    /// said of them, and the wait before its next attempt.
    private struct Lane {
        /// How many attempts in a row failed.
        var failures = 0
        /// The kind of the last failure said (``Failure/kind``): another kind is said at any attempt, the same one
        /// again only at the first three, every tenth, and the last, as the process stops.
        var failureSaid: String?
        /// The queue's deliveries (``delivered``) when its last failure was said: those since are said with the next.
        var deliveredWhenSaid: Int
        /// The wait after a failure, before its next attempt, if one is waited for.
        var backoff: Task<Void, Never>?
    }

    private let url: StreamURL
    private let auth: AppAuth?
    private let spool: Spool?
    private let name: String
    private let limit: Int
    private let timeout: Duration
    /// The wait after a lane's first failure, doubling with each one after it, to 30 s.
    private let firstRetry: Duration
    private let logger: EventLog
    private let loop: EventLoop
    /// The lines of a full queue's drops: the first of each 10 s, then their sum.
    private let drops: LogBudget
    /// The lines of failed attempts (each lane's first three, every tenth…): five per 10 s, then their sum, so
    /// that many channels failing at once do not fill the log.
    private let failureLines: LogBudget
    /// The lines of deliveries after failed attempts, budgeted alike.
    private let recoveryLines: LogBudget
    private let inbox = Mutex<[Post]>([])
    /// The posts not yet answered `200`, in the order they were queued (the spool's): those being sent are
    /// anywhere in it (``sending``).
    private var pending: [Queued] = []
    /// How many posts may be sent at once (each lane's oldest): 1 while the last answer was a failure.
    private let inFlight: Int
    /// The numbers of the posts being sent.
    private var sending = Set<UInt64>()
    /// The number the next post queued gets.
    private var nextNumber: UInt64 = 0
    /// Whether posts are sent (from ``start()`` until ``stop()``).
    private var running = false
    /// The lanes whose last attempt failed, or which wait after it (``Lane``); `nil` for the posts of none.
    private var lanes: [String?: Lane] = [:]
    /// Whether the last answer was a failure (no `200` came since): one post is sent at a time then.
    private var failing = false
    /// How many posts were delivered since the start (for ``Lane/deliveredWhenSaid``).
    private var delivered = 0
    /// Whether the process stops (``finish(before:)``): each post gets one more attempt — the wait after a failure
    /// not waited out —, and one that fails then is not tried again.
    private var finishing = false
    /// The numbers of the posts whose attempt failed while the process stops: not tried again, but spooled (or said
    /// lost) with those never tried; the later posts of their lane wait behind them.
    private var failedAtStop = Set<UInt64>()
    /// Whether a spool write is due (``spoolDelay`` after the first change not written yet).
    private var spoolWriteDue = false
    /// How long after a change the spool is written: changes within it are written together, so that a storm of
    /// events rewrites the file ten times a second, not once per event.
    static var spoolDelay: Duration { .milliseconds(100) }
    /// How long an answer's body is waited for once its status and headers are in: only the status counts, and a
    /// body that comes late (or never ends) must not fail the delivery and hold up every later event of its lane.
    static var bodyGrace: Duration { .milliseconds(500) }

    /// A queue for `url`, without a spool; call ``start()`` to begin sending. `name` begins its log lines; each
    /// attempt may take `timeout`; `inFlight` posts are sent at once at most (of distinct lanes); `firstRetry` is
    /// the wait after a lane's first failure, which doubles with each failure after it, to 30 s.
    public init(url: StreamURL, auth: AppAuth?, name: String = "events", limit: Int = 10_000, inFlight: Int = 4,
                timeout: Duration = .seconds(5), firstRetry: Duration = .milliseconds(500), loop: EventLoop = .shared,
                logger: EventLog = .silent) {
        self.init(url: url, auth: auth, spool: nil as Spool?, name: name, limit: limit, inFlight: inFlight, timeout: timeout,
                  firstRetry: firstRetry, loop: loop, logger: logger)
    }

    private init(url: StreamURL, auth: AppAuth?, spool: Spool?, name: String, limit: Int, inFlight: Int, timeout: Duration,
                 firstRetry: Duration, loop: EventLoop, logger: EventLog) {
        self.url = url
        self.auth = auth
        self.spool = spool
        self.name = name
        self.limit = max(1, limit)
        self.inFlight = max(1, inFlight)
        self.timeout = timeout
        self.firstRetry = firstRetry
        self.loop = loop
        self.logger = logger
        let prefixed = logger.prefixed("\(name): ")
        drops = LogBudget(loop: loop, logger: prefixed, what: "dropped, the queue full,", perWindow: 1)
        failureLines = LogBudget(loop: loop, logger: prefixed, what: "failed attempts", perWindow: 5)
        recoveryLines = LogBudget(loop: loop, logger: prefixed, what: "deliveries after failed attempts", perWindow: 5)
    }

    /// Reads the events a previous run left in the spool, and starts sending.
    public func start() {
        guard !running else { return }
        if let spool, let text = Self.read(spool.path) {
            var spooled: [Post] = []
            var unread: [Int] = []
            for line in SpoolFile.lines(of: text) {
                if let post = spool.read(line.text) { spooled.append(post) } else { unread.append(line.number) }
            }
            if !spooled.isEmpty { logger("\(name): \(spooled.count) left by the last run, from \(spool.path), sent first") }
            // A line that is no event (edited by hand, cut short) is not sent; said, since it is lost with the spool,
            // with the numbers of the first ones, for an operator to look at.
            if !unread.isEmpty {
                let one = unread.count == 1
                logger("\(name): \(counted(unread.count, "line")) of \(spool.path) \(one ? "is" : "are") no event it wrote"
                    + " (edited, or cut short), and \(one ? "is" : "are") dropped (\(SpoolFile.named(unread)))")
            }
            pending = queued(spooled) + pending
        }
        running = true
        wake()
    }

    /// Queues `event` to be sent (from any thread; returns at once).
    public nonisolated func post(_ event: Post) {
        inbox.withLock { $0.append(event) }
        Task { await wake() }
    }

    /// Queues `events` and writes the spool with them at once, not ``spoolDelay`` later; returns whether the spool
    /// holds them (always `true` without a spool: nothing else would). For events that were kept elsewhere until
    /// now (``LiveSessions/leftByTheLastRun()``), which may be forgotten there only once they are kept here.
    public func keep(_ events: [Post]) async -> Bool {
        takeInbox()
        pending += queued(events)
        wake()
        guard let now = spoolNow() else { return true }
        return await withCheckedContinuation { (written: CheckedContinuation<Bool, Never>) in
            EventSpool.writer.async { written.resume(returning: now.spool.file.write(now.text, count: now.count) == nil) }
        }
    }

    /// The events not yet answered `200`, in the order they were queued.
    public func undelivered() -> [Post] {
        takeInbox()
        return undeliveredPosts
    }

    /// The posts not yet answered `200`, in the order they were queued: those that failed as the process stops too.
    private var undeliveredPosts: [Post] { pending.map(\.post) }

    /// `posts`, numbered.
    private func queued(_ posts: [Post]) -> [Queued] {
        posts.map { post in
            defer { nextNumber += 1 }
            return Queued(number: nextNumber, post: post)
        }
    }

    /// Before the process exits (``Shutdown``): gives each post not sent yet one more attempt, until `deadline` at
    /// most (``inFlight`` at once) — at once, the wait after a failure not waited out: an application that failed
    /// may answer now —, then writes those left to the spool (on the spool's queue: ``EventSpool/flush()`` waits for
    /// it), with one log line saying what was left and where — kept only once the spool is written; if it cannot be,
    /// that they are lost, and why. A post whose attempt fails now is not tried again, and it holds back the later
    /// posts of its lane (in order), not those of other lanes: an application still failing is not waited for. An
    /// event being sent when time runs out stays in the spool, so the application may get it twice, never not at all.
    public func finish(before deadline: ContinuousClock.Instant) async {
        finishing = true
        for key in lanes.keys {
            lanes[key]?.backoff?.cancel()
            lanes[key]?.backoff = nil
        }
        wake()
        // Stops waiting a little before the deadline, at which the process exits: the line that says what is left,
        // and the spool, must come before it (they raced it, and the line was mostly lost).
        let last = deadline - .milliseconds(250)
        while mayStillSend, running, ContinuousClock.now < last {
            try? await Task.sleep(for: .milliseconds(20))
            wake()
        }
        // The budgeted lines (written on the loop) are out, and those counted past the budget summed up, before the
        // line that says what is left.
        await closeLogWindows()
        let unsent = undeliveredPosts
        guard !unsent.isEmpty else {
            // All sent: the spool still lists what was sent since its last write (due ``spoolDelay`` on, after the
            // process is gone): written now, or the next start would send those events again.
            if spoolWriteDue { writeSpoolNow() }
            return
        }
        let left = "\(name): \(unsent.count) not sent before the process stopped; "
        guard let now = spoolNow() else { return logger(left + "lost (not spooled)") }
        let (spool, text) = (now.spool, now.text)
        let logger = logger
        // Said on the spool's queue once the write is done, so the line is out when the process exits (after flush).
        await withCheckedContinuation { (written: CheckedContinuation<Void, Never>) in
            EventSpool.writer.async {
                if let error = spool.file.writeQuietly(text) {
                    logger(left + "lost: cannot write \(spool.path): \(error.reason)")
                } else {
                    logger(left + "kept in \(spool.path), sent first at the next start")
                }
                written.resume()
            }
        }
    }

    /// Ends the log budgets' windows on the loop, after the lines handed to it: each says what it counted.
    private func closeLogWindows() async {
        let budgets = [failureLines, recoveryLines, drops]
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            let taken = loop.executeIfRunning {
                for budget in budgets { budget.closeWindow() }
                done.resume()
            }
            if !taken { done.resume() }
        }
    }

    /// Stops sending (the pending events stay in the spool).
    public func stop() {
        running = false
        for key in lanes.keys {
            lanes[key]?.backoff?.cancel()
            lanes[key]?.backoff = nil
        }
    }

    // MARK: Sending

    /// Sends the posts next in line while fewer than the window are out — ``inFlight``; one while the last answer
    /// was a failure (but as the process stops, when each gets one more attempt).
    private func sendNext() {
        guard running else { return }
        let window = failing && !finishing ? 1 : inFlight
        guard sending.count < window else { return }
        for next in sendable(window - sending.count) {
            sending.insert(next.number)
            let attempt = (lanes[next.post.lane]?.failures ?? 0) + 1
            let atStop = finishing
            Task { answered(next.number, attempt: attempt, atStop: atStop, failure: await deliver(next.post)) }
        }
    }

    /// The posts that may be sent now, oldest first, `count` at most: the oldest post of each lane, unless it is
    /// being sent, or its lane waits after a failure, or it failed as the process stops (its lane then waits behind
    /// it); and the posts of no lane not being sent, unless they wait after a failure.
    private func sendable(_ count: Int) -> [Queued] {
        var found: [Queued] = []
        var passed = Set<String>()  // the lanes whose oldest post was seen
        for queued in pending {
            guard found.count < count else { break }
            let lane = queued.post.lane
            if let lane, !passed.insert(lane).inserted { continue }
            guard !sending.contains(queued.number), !failedAtStop.contains(queued.number), lanes[lane]?.backoff == nil else { continue }
            found.append(queued)
        }
        return found
    }

    /// Whether, as the process stops, a post may still be delivered: one is being sent, or one not tried yet may be.
    private var mayStillSend: Bool { !sending.isEmpty || !sendable(1).isEmpty }

    /// Why an attempt failed: what is said, and its kind — the status answered, or the error without what the
    /// application wrote (``CastyError/kind``) —, by which a failure like the last one said is told from another.
    private struct Failure: Sendable {
        let said: String
        let kind: String
    }

    /// The post sent as `number` was answered: delivered (`failure` is `nil`) it leaves the queue; otherwise it
    /// stays, and its lane's next attempt waits 0.5 s, doubling with each attempt of the lane that fails, to 30 s,
    /// other lanes sent meanwhile. An attempt made as the process stops (`atStop`) is the last one
    /// (``failedAtStop``); one made before, whose failure comes once the process stops, is not: the post gets its
    /// attempt at the stop, as one waiting out the wait does. Posts of no lane sent together fail together (the
    /// application is down): only the first failure of an attempt is said and counted.
    private func answered(_ number: UInt64, attempt: Int, atStop: Bool, failure: Failure?) {
        guard sending.remove(number) != nil, let index = pending.firstIndex(where: { $0.number == number }) else { return }
        let post = pending[index].post
        let key = post.lane
        if let failure {
            failing = true
            if atStop { failedAtStop.insert(number) }
            var lane = lanes[key] ?? Lane(deliveredWhenSaid: delivered)
            if attempt > lane.failures {
                lane.failures = attempt
                // One line for the first failures, then for every tenth — an application that is down for an hour
                // does not fill the log —, and for a failure of another kind than the last one said: a 500 that
                // becomes a timeout is told, whatever the attempt. The last attempt, as the process stops, is always
                // told: the application saw it, and the post is not tried again. A lane refused while others are
                // delivered says so: the application may refuse one channel's events for good.
                if attempt <= 3 || attempt % 10 == 0 || failure.kind != lane.failureSaid || atStop {
                    let others = key == nil ? 0 : delivered - lane.deliveredWhenSaid
                    failureLines("\(post.summary): application \(failure.said); attempt \(attempt), "
                        + (atStop ? "the last: the process stops" : "trying again")
                        + (others > 0 ? "; \(others) other\(others == 1 ? "" : "s") delivered meanwhile, not held back by it" : ""))
                    lane.failureSaid = failure.kind
                    lane.deliveredWhenSaid = delivered
                }
            }
            lanes[key] = lane
            waitAfterFailure(key)
        } else {
            pending.remove(at: index)
            delivered += 1
            failing = false
            // After failures were logged, the line that says they are over.
            if attempt > 1 { recoveryLines("\(post.summary): delivered at attempt \(attempt)") }
            if lanes[key]?.backoff == nil {
                lanes[key] = nil
            } else {
                lanes[key]?.failures = 0
                lanes[key]?.failureSaid = nil
            }
            writeSpool()
        }
        sendNext()
    }

    /// Waits, unless it does already, before the next attempt of lane `key`: ``firstRetry`` (0.5 s) after its first
    /// failure, doubling to 30 s.
    private func waitAfterFailure(_ key: String?) {
        guard let lane = lanes[key], lane.backoff == nil, running, !finishing else { return }
        let wait = min(Duration.seconds(30), firstRetry * (1 << min(max(lane.failures, 1) - 1, 10)))
        lanes[key]?.backoff = Task {
            try? await Task.sleep(for: wait)
            guard !Task.isCancelled else { return }
            waited(key)
        }
    }

    /// The wait after a failure of lane `key` is over: its next attempt may be made.
    private func waited(_ key: String?) {
        lanes[key]?.backoff = nil
        if lanes[key]?.failures == 0 { lanes[key] = nil }
        sendNext()
    }

    /// Posts `event` once; returns `nil` when the application answered a success, else what went wrong.
    private func deliver(_ event: Post) async -> Failure? {
        var headers = Headers()
        for (name, value) in event.headers { headers[name] = value }
        if let auth { headers["Authorization"] = auth.headerValue }
        do {
            // Only the status counts: a `200` that carries a page (an HTML answer, an echoed JSON object) is a delivery,
            // and so is one whose body comes late or never ends (a framework that flushes its head first).
            let answer = try await HTTPCall.post(url, headers: headers, body: event.body, loop: loop, timeout: timeout, limit: 4096,
                                                 bodyGrace: Self.bodyGrace)
            if (200..<300).contains(answer.status) { return nil }  // 200, or 204 No Content as webhooks often answer
            // A redirect is said as key verification says it (give the final URL), and the post kept as at any
            // failure: dropped, it would be lost, while a spooled event reaches the URL fixed at the next start.
            return Failure(said: ControlPlane.answered(answer.status), kind: "answered \(answer.status)")
        } catch {
            return Failure(said: "\(error)", kind: error.kind)
        }
    }

    private func takeInbox() {
        let arrived = inbox.withLock { inbox in
            defer { inbox = [] }
            return inbox
        }
        guard !arrived.isEmpty else { return }
        pending += queued(arrived)
        if pending.count > limit {
            // Never those being sent, nor those that failed as the process stops (spooled, not tried again).
            let kept = Set(pending.indices.filter { sending.contains(pending[$0].number) || failedAtStop.contains(pending[$0].number) })
            let (dropping, paired) = Self.dropped(from: pending.map(\.post), to: limit, keeping: kept)
            pending = pending.indices.filter { !dropping.contains($0) }.map { pending[$0] }
            let dropped = dropping.count
            // A queue kept full (the application failing) drops at every event: one line, then a sum every 10 s.
            drops("the queue holds \(limit) at most; \(dropped) dropped"
                + (paired > 0 ? " (\(paired) of streams that opened and closed while they waited, then the oldest)" : " (the oldest)"),
                counting: dropped)
        }
        writeSpool()
    }

    /// Takes the posted events (so the spool has them even while the sender waits to try again) and sends them, if
    /// there is room.
    private func wake() {
        takeInbox()
        sendNext()
    }

    // MARK: The spool

    /// Writes the spool ``spoolDelay`` from now, with the changes made until then.
    private func writeSpool() {
        guard spool != nil, !spoolWriteDue else { return }
        spoolWriteDue = true
        Task {
            try? await Task.sleep(for: Self.spoolDelay)
            writeSpoolNow()
        }
    }

    private func writeSpoolNow() {
        guard let now = spoolNow() else { return }
        EventSpool.writer.async { now.spool.file.write(now.text, count: now.count) }
    }

    /// The spool and its text now — the posts not yet delivered, and how many they are —, for a write that makes
    /// any write due (``writeSpool()``) needless; `nil` without a spool.
    private func spoolNow() -> (spool: Spool, text: String, count: Int)? {
        spoolWriteDue = false
        guard let spool else { return nil }
        let posts = undeliveredPosts
        return (spool, SpoolFile.text(posts.map(spool.line)), posts.count)
    }

    private static func read(_ path: String) -> String? {
        FileWriter.contents(of: path).map { String(decoding: $0, as: UTF8.self) }
    }
}

extension EventQueue where Post: SpooledPost {
    /// Throws if the file at `path` is there, holds lines, and none of them is a post a queue wrote: not a spool,
    /// but another file given by mistake (`--event-spool station.conf`), which the first write would replace —
    /// read at start, its lines would be dropped as edited or cut short. A spool with some lines of its own is one,
    /// whatever else it holds; an empty or missing file is one yet to be written. Reads the file, changes nothing.
    public static func check(spool path: String) throws(NotASpoolError) {
        guard let bytes = FileWriter.contents(of: path) else { return }
        let lines = SpoolFile.lines(of: String(decoding: bytes, as: UTF8.self))
        guard !lines.isEmpty, !lines.contains(where: { Post(spoolLine: $0.text) != nil }) else { return }
        throw NotASpoolError(path: path, lines: lines.count)
    }

    /// A queue for `url` whose pending events are also kept in `spool`, if given (`--event-spool`), and sent first
    /// at the next start; call ``start()`` to load the spool and begin sending.
    public init(url: StreamURL, auth: AppAuth?, spool: String?, name: String = "events", limit: Int = 10_000, inFlight: Int = 4,
                timeout: Duration = .seconds(5), firstRetry: Duration = .milliseconds(500), loop: EventLoop = .shared,
                logger: EventLog = .silent) {
        let file = spool.map { SpoolFile(path: $0, name: name, title: "the spool", noun: ("event", "events"), logger: logger) }
        self.init(url: url, auth: auth, spool: file.map { Spool(file: $0, line: \.spoolLine, read: Post.init(spoolLine:)) },
                  name: name, limit: limit, inFlight: inFlight, timeout: timeout, firstRetry: firstRetry, loop: loop, logger: logger)
    }
}

/// The queue every spool file is written on, off the loops and off Swift's thread pool.
public enum EventSpool {
    static let writer = DispatchQueue(label: "casty.event-spool")

    /// Waits until every spool write handed over so far is on disk (at shutdown).
    public static func flush() {
        writer.sync {}
    }
}

/// A file given as a spool that is none: it holds lines, and not one is an event Casty wrote
/// (``EventQueue/check(spool:)``). Left as it is.
public struct NotASpoolError: Error, CustomStringConvertible {
    /// The file.
    public let path: String
    /// How many lines it holds (blank ones aside).
    public let lines: Int

    /// "station.conf holds 14 lines, none of them an event Casty wrote: …".
    public var description: String {
        "\(path) holds \(counted(lines, "line")), none of them an event Casty wrote: it is no event spool (another file given by"
            + " mistake?), and is left as it is — give the spool its own file, or remove this one"
    }
}
