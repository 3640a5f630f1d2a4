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
/// appends to a queue. They are sent oldest first, ``inFlight`` at once at most — one for events, which then arrive
/// in the order they happened; more for posts independent of each other (`listener_remove` calls), which would
/// otherwise wait for each other's answers —, and each is re-sent until the application answers `200`, waiting
/// 0.5 s after a failure, doubling to 30 s at most, one at a time while the application fails — so posts survive the
/// application being down for minutes. The queue holds at most ``limit`` events; past that, pairs that opened and
/// closed while they waited are dropped first, then the oldest (``trim(_:to:keeping:)``), with a log line — the first
/// of each 10 s, then their sum — (at the default 10,000, a station would need thousands of sources starting while the
/// application is down). With a spool file (``SpooledPost``s only), the pending events are also written there within
/// ``spoolDelay`` of every change — an event queued while the sender waits to try again too — (a temporary file
/// renamed over it, off the loop and off Swift's thread pool; changes coming faster are written together), and read
/// back at the next start, so none is lost when Casty stops — even by `kill -9`, but for the last ``spoolDelay``.
/// A spool that cannot be written (a full disk, its directory gone) keeps its last good contents, and is said
/// (``SpoolFile``).
public actor EventQueue<Post: QueuedPost> {
    /// A spool file, and how a post becomes a line of it and back.
    private struct Spool: Sendable {
        let file: SpoolFile
        var path: String { file.path }
        let line: @Sendable (Post) -> String
        let read: @Sendable (Substring) -> Post?
    }

    private let url: StreamURL
    private let auth: AppAuth?
    private let spool: Spool?
    private let name: String
    private let limit: Int
    private let timeout: Duration
    /// The wait after the first failure, doubling with each one after it, to 30 s.
    private let firstRetry: Duration
    private let logger: EventLog
    private let loop: EventLoop
    /// The lines of a full queue's drops: the first of each 10 s, then their sum.
    private let drops: LogBudget
    private let inbox = Mutex<[Post]>([])
    /// The posts not yet answered `200`, oldest first: the first `sending.count` of them are being sent.
    private var pending: [Post] = []
    /// How many posts may be sent at once (``pending``'s first ones): 1 keeps them in order.
    private let inFlight: Int
    /// The numbers of the posts being sent, which are ``pending``'s first ones, in the same order: an answer names
    /// its post by its number, since answers come in any order.
    private var sending: [UInt64] = []
    /// The number the next post sent gets.
    private var nextNumber: UInt64 = 0
    /// Whether posts are sent (from ``start()`` until ``stop()``).
    private var running = false
    /// How many attempts in a row failed (the application fails): while any, one post is sent at a time.
    private var failures = 0
    /// The kind of the last failure said while attempts fail (``Failure/kind``): another kind is said at any
    /// attempt, the same one again only at the first three, every tenth, and the last, as the process stops.
    private var failureSaid: String?
    /// The wait after a failure, before the next attempt, if one is waited for.
    private var backoff: Task<Void, Never>?
    /// Whether the process stops (``finish(before:)``): each post gets one more attempt — the wait after a failure
    /// not waited out —, and one that fails then is not tried again.
    private var finishing = false
    /// The posts whose attempt failed while the process stops, oldest first: not tried again, but spooled (or said
    /// lost) with those never tried. Before ``pending``'s: taken from its front.
    private var failedAtStop: [Post] = []
    /// Whether a spool write is due (``spoolDelay`` after the first change not written yet).
    private var spoolWriteDue = false
    /// How long after a change the spool is written: changes within it are written together, so that a storm of
    /// events rewrites the file ten times a second, not once per event.
    static var spoolDelay: Duration { .milliseconds(100) }
    /// How long an answer's body is waited for once its status and headers are in: only the status counts, and a
    /// body that comes late (or never ends) must not fail the delivery and hold up every later event.
    static var bodyGrace: Duration { .milliseconds(500) }

    /// A queue for `url`, without a spool; call ``start()`` to begin sending. `name` begins its log lines; each
    /// attempt may take `timeout`; `inFlight` posts are sent at once at most (1: in order); `firstRetry` is the wait
    /// after a first failure, which doubles with each failure after it, to 30 s.
    public init(url: StreamURL, auth: AppAuth?, name: String = "events", limit: Int = 10_000, inFlight: Int = 1,
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
        drops = LogBudget(loop: loop, logger: logger.prefixed("\(name): "), what: "dropped, the queue full,", perWindow: 1)
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
            pending = spooled + pending
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
        pending += events
        wake()
        guard let now = spoolNow() else { return true }
        return await withCheckedContinuation { (written: CheckedContinuation<Bool, Never>) in
            EventSpool.writer.async { written.resume(returning: now.spool.file.write(now.text, count: now.count) == nil) }
        }
    }

    /// The events not yet answered `200`, oldest first.
    public func undelivered() -> [Post] {
        takeInbox()
        return undeliveredPosts
    }

    /// The posts not yet answered `200`, oldest first: those that failed as the process stops, then ``pending``.
    private var undeliveredPosts: [Post] { failedAtStop + pending }

    /// Before the process exits (``Shutdown``): gives each post not sent yet one more attempt, until `deadline` at
    /// most (``inFlight`` at once) — at once, the wait after a failure not waited out: an application that failed
    /// may answer now —, then writes those left to the spool (on the spool's queue: ``EventSpool/flush()`` waits for
    /// it), with one log line saying what was left and where — kept only once the spool is written; if it cannot be,
    /// that they are lost, and why. A post whose attempt fails now is not tried again, and in order (``inFlight`` 1)
    /// it holds back those after it: an application still failing is not waited for. An event being sent when time
    /// runs out stays in the spool, so the application may get it twice, never not at all.
    public func finish(before deadline: ContinuousClock.Instant) async {
        finishing = true
        backoff?.cancel()
        backoff = nil
        wake()
        // Stops waiting a little before the deadline, at which the process exits: the line that says what is left,
        // and the spool, must come before it (they raced it, and the line was mostly lost).
        let last = deadline - .milliseconds(250)
        while mayStillSend, running, ContinuousClock.now < last {
            try? await Task.sleep(for: .milliseconds(20))
            wake()
        }
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

    /// Stops sending (the pending events stay in the spool).
    public func stop() {
        running = false
        backoff?.cancel()
        backoff = nil
    }

    // MARK: Sending

    /// Sends the posts next in line while fewer than the window are out — ``inFlight``; one while the application
    /// fails (but as the process stops, when each gets one more attempt), and none while the wait after a failure
    /// lasts, nor after one that failed as the process stops, in order.
    private func sendNext() {
        let window = failures > 0 && !finishing ? 1 : inFlight
        while running, backoff == nil, !heldBack, sending.count < window, sending.count < pending.count {
            let post = pending[sending.count]
            let number = nextNumber
            nextNumber += 1
            sending.append(number)
            let attempt = failures + 1
            let atStop = finishing
            Task { answered(number, attempt: attempt, atStop: atStop, failure: await deliver(post)) }
        }
    }

    /// Whether the posts left wait for one that failed as the process stops: in order (``inFlight`` 1), none goes
    /// before it.
    private var heldBack: Bool { finishing && inFlight == 1 && !failedAtStop.isEmpty }

    /// Whether, as the process stops, a post may still be delivered: one is being sent, or one not tried yet may be.
    private var mayStillSend: Bool { !sending.isEmpty || (pending.count > sending.count && !heldBack) }

    /// Why an attempt failed: what is said, and its kind — the status answered, or the error without what the
    /// application wrote (``CastyError/kind``) —, by which a failure like the last one said is told from another.
    private struct Failure: Sendable {
        let said: String
        let kind: String
    }

    /// The post sent as `number` was answered: delivered (`failure` is `nil`) it leaves the queue; otherwise it is
    /// first in line again, and the next attempt waits 0.5 s, doubling with each attempt that fails, to 30 s. An
    /// attempt made as the process stops (`atStop`) is the last one (``failedAtStop``); one made before, whose failure
    /// comes once the process stops, is not: the post gets its attempt at the stop, as one waiting out the wait does.
    /// Posts sent together fail together (the application is down): only the first failure of an attempt is said
    /// and counted.
    private func answered(_ number: UInt64, attempt: Int, atStop: Bool, failure: Failure?) {
        guard let index = sending.firstIndex(of: number) else { return }
        sending.remove(at: index)
        let post = pending.remove(at: index)
        if let failure {
            if atStop { failedAtStop.append(post) } else { pending.insert(post, at: sending.count) }
            if attempt > failures {
                failures = attempt
                // One line for the first failures, then for every tenth — an application that is down for an hour
                // does not fill the log —, and for a failure of another kind than the last one said: a 500 that
                // becomes a timeout is told, whatever the attempt. The last attempt, as the process stops, is always
                // told: the application saw it, and the post is not tried again.
                if attempt <= 3 || attempt % 10 == 0 || failure.kind != failureSaid || atStop {
                    logger("\(name): \(post.summary): application \(failure.said); attempt \(attempt), "
                        + (atStop ? "the last: the process stops" : "trying again"))
                    failureSaid = failure.kind
                }
            }
            waitAfterFailure()
        } else {
            // After failures were logged, the line that says they are over.
            if attempt > 1 { logger("\(name): \(post.summary): delivered at attempt \(attempt)") }
            failures = 0
            failureSaid = nil
            writeSpool()
        }
        sendNext()
    }

    /// Waits, unless it does already, before the next attempt: ``firstRetry`` (0.5 s) after the first failure, doubling to 30 s.
    private func waitAfterFailure() {
        guard backoff == nil, running, !finishing else { return }
        let wait = min(Duration.seconds(30), firstRetry * (1 << min(failures - 1, 10)))
        backoff = Task {
            try? await Task.sleep(for: wait)
            guard !Task.isCancelled else { return }
            backoff = nil
            sendNext()
        }
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
        pending += arrived
        if pending.count > limit {
            let (dropped, paired) = Self.trim(&pending, to: limit, keeping: max(1, sending.count))
            // A queue kept full (the application failing) drops at every event: one line, then a sum every 10 s.
            drops("the queue holds \(limit) at most; \(dropped) dropped"
                + (paired > 0 ? " (\(paired) of streams that opened and closed while they waited, then the oldest)" : " (the oldest)"),
                counting: dropped)
        }
        writeSpool()
    }

    /// Drops what `pending` holds past `limit`: first the posts of pairs opened and closed while they wait (a stream
    /// that became available and closed tells the application nothing it must act on now), then the oldest — never
    /// the first `keeping`, which may be being sent (each is taken off once the application answered). Returns how
    /// many were dropped, and how many of them were pairs'. Dropping by age alone would drop a `stream-closed` whose
    /// `stream-available` was delivered: the application would hold the stream live for ever.
    static func trim(_ pending: inout [Post], to limit: Int, keeping: Int = 1) -> (dropped: Int, paired: Int) {
        var excess = pending.count - limit
        guard excess > 0 else { return (0, 0) }
        var dropping = Set<Int>()
        var opened: [String: [Int]] = [:]
        for index in pending.indices.dropFirst(keeping) where excess > 0 {
            guard let pairing = pending[index].pairing else { continue }
            if pairing.opens {
                opened[pairing.key, default: []].append(index)
            } else if let openings = opened.removeValue(forKey: pairing.key) {
                dropping.formUnion(openings + [index])
                excess -= openings.count + 1
            }
        }
        let paired = dropping.count
        var index = keeping
        while excess > 0, index < pending.count {
            if dropping.insert(index).inserted { excess -= 1 }
            index += 1
        }
        pending = pending.indices.filter { !dropping.contains($0) }.map { pending[$0] }
        return (dropping.count, paired)
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
    public init(url: StreamURL, auth: AppAuth?, spool: String?, name: String = "events", limit: Int = 10_000, inFlight: Int = 1,
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
