public import CastyNet
public import CastyWire
internal import Glibc
internal import Icy
internal import Synchronization

/// How a platform that runs many broadcasters keeps the decisions in its own application (the "streaming
/// coordinator" design): Casty asks it who may publish, tells it what is live, and takes its commands.
///
/// - **Key verification.** When a source connects, `POST keyVerificationURL` with an empty body and the headers
///   `x-streaming-channel` (the mount without its slash), `x-streaming-key` (the source's password, or `?key=`
///   of its URL), `x-user-ip` and the configured `Authorization`; a key that holds control characters, which no
///   header can carry as they are, is refused without asking (``unsendable(channel:key:)``). `200` admits it; any other status, a timeout
///   or an unreachable application refuses it with `403` — a `3xx` or `5xx`, like a timeout, as an outage
///   (``Verdict/unanswered(_:)``), not as the application's refusal of the key. A status other than `200` decides
///   as soon as the answer's head is in, whatever becomes of its body; a `200` admits only once its whole answer
///   is in. The answer's `x-record: true|false` is kept with the
///   session (reported in `/commands/report`). Without the URL, the station's password rules apply.
/// - **Events.** `stream-available` and `stream-closed` to `eventCallbackURL` (``EventQueue``).
/// - **Commands.** `/commands/capacity`, `/commands/close`, `/commands/report` on the node's port, with
///   ``Configuration/commandsAuth`` (``CommandRoutes``).
public final class ControlPlane: Sendable {
    /// The application's addresses and credentials.
    public struct Configuration: Sendable {
        /// Where sources' keys are verified; `nil` to use the station's passwords.
        public var keyVerificationURL: StreamURL?
        /// How Casty authenticates to the key verification URL.
        public var keyVerificationAuth: AppAuth?
        /// How long the application may take to answer; past that the source is refused.
        public var keyVerificationTimeout: Duration = .seconds(5)
        /// Where events are posted; `nil` for none.
        public var eventCallbackURL: StreamURL?
        /// How Casty authenticates to the event callback URL.
        public var eventCallbackAuth: AppAuth?
        /// How long the application may take to answer an event; past that the attempt failed, and the event is sent
        /// again (``EventQueue``).
        public var eventCallbackTimeout: Duration = .seconds(5)
        /// Where pending events are kept across restarts, if anywhere.
        public var eventSpool: String?
        /// Where listeners are authorized (Icecast's URL authorization), if anywhere.
        public var listenerAuthURL: StreamURL?
        /// How long the application may take to authorize a listener.
        public var listenerAuthTimeout: Duration = .seconds(5)
        /// How many `listener_remove` calls are sent at once at most: each listener's is independent of the others',
        /// so they need not wait for each other's answers — a station whose listeners come and go by the thousand, or
        /// that stops with thousands, would otherwise tell them gone slower than they go. 32 by default.
        public var listenerRemovalsInFlight = 32
        /// What the application must send to use the command API; `nil` turns the command API off (`404`).
        public var commandsAuth: AppAuth?
        /// This node's address as the application should use it (`http://host:port`), for listen URLs in events
        /// and for the report.
        public var publicURL = "http://127.0.0.1:8000"

        /// ``publicURL`` without the slashes it may end with (`http://radio.example:8000/` is often written so),
        /// for a path to follow: `http://radio.example:8000` + `/live`, never `…8000//live`.
        var advertisedURL: String {
            var url = Substring(publicURL)
            while url.hasSuffix("/") { url = url.dropLast() }
            return String(url)
        }

        /// Nothing configured: every part off.
        public init() {}
    }

    /// What the application decided about a source.
    public enum Verdict: Sendable, Equatable {
        /// Admitted; `record` if the application said whether to record this session (`x-record`).
        case accepted(record: Bool?)
        /// Refused by the application: the status it answered, for the log line.
        case refused(String)
        /// Refused because the application could not be asked — a timeout, an unreachable application, an answer
        /// that is no HTTP, a `5xx` (a failing application, or the proxy before it), a `3xx` (a redirect, not
        /// followed) — and why, for the log line. Not the application's word on the key: nothing about the
        /// key should be remembered from it.
        case unanswered(String)
    }

    /// The longest body of a key check's or a listener check's answer (a JSON object that echoes the session fits);
    /// a longer one is not the application's word, and refuses.
    static let answerLimit = 64 * 1024

    /// The configuration.
    public let configuration: Configuration
    /// The events' queue, if events are posted.
    public let events: EventQueue<StreamEvent>?
    /// The queue of `listener_remove` calls, if listeners are authorized: sent like events, but more at once
    /// (``Configuration/listenerRemovalsInFlight``), in no order (of no lane), and never spooled.
    let listenerRemovals: EventQueue<ListenerCall>?
    /// The listeners the application admitted that have not left yet, by their `client` number.
    private let admitted = Mutex<[UInt64: ListenerCall]>([:])
    /// Whether the process stopping told every admitted listener gone (``allListenersLeft()``).
    private let listenersGone = Atomic<Bool>(false)
    /// The sessions live now, kept beside the spool (``LiveSessions``), if events are spooled.
    private let live: LiveSessions?
    private let loop: EventLoop
    private let logger: EventLog

    /// A control plane; call ``start()`` to send the events a previous run left.
    public init(_ configuration: Configuration, loop: EventLoop = .shared, logger: EventLog = .silent) {
        self.configuration = configuration
        self.loop = loop
        self.logger = logger
        self.events = configuration.eventCallbackURL.map {
            EventQueue(url: $0, auth: configuration.eventCallbackAuth, spool: configuration.eventSpool, timeout: configuration.eventCallbackTimeout,
                       loop: loop, logger: logger)
        }
        self.live = configuration.eventCallbackURL == nil ? nil : configuration.eventSpool.map {
            LiveSessions(spool: $0, logger: logger)
        }
        self.listenerRemovals = configuration.listenerAuthURL.map {
            EventQueue(url: $0, auth: nil, name: "listener authorization", inFlight: configuration.listenerRemovalsInFlight,
                       timeout: configuration.listenerAuthTimeout, loop: loop, logger: logger)
        }
    }

    /// Starts sending events (and `listener_remove` calls); when the process stops (``Shutdown``), those not
    /// sent yet are sent, or spooled.
    public func start() async {
        if let events {
            await events.start()
            Shutdown.register(.events, spooled: configuration.eventSpool != nil) { [weak events] deadline in
                await events?.finish(before: deadline)
            }
        }
        // Sessions the last run never ended (it was killed): closed now, after what its spool still held.
        // The file keeps them until the spool does: a start that fails after this, or a kill, loses none.
        if let live, case let closed = live.leftByTheLastRun(), !closed.isEmpty {
            let sessions = Set(closed.map { $0.channel + "\t" + $0.streamID }).count
            logger("events: the last run ended without closing \(sessions) live session\(sessions == 1 ? "" : "s") (\(live.path)):"
                + " stream-closed queued for \(sessions == 1 ? "it" : "each")")
            if await events?.keep(closed) ?? true { live.forgetTheLastRun() }
        }
        if let listenerRemovals {
            await listenerRemovals.start()
            // The listeners still admitted when the process stops leave with it: each one's listener_remove is
            // queued with the sources (step 1), then sent with the events (step 3).
            Shutdown.register(.sources) { [weak self] _ in self?.allListenersLeft() }
            Shutdown.register(.events) { [weak listenerRemovals] deadline in await listenerRemovals?.finish(before: deadline) }
        }
    }

    /// Why an answer with `status` is no word of the application's on a key or a listener — it could not be asked —,
    /// or `nil` when it is. A `5xx` is the application, or the proxy before it, failing (nginx's `502` during a
    /// deploy); a `3xx` is a redirect, which Casty does not follow (an application moved behind nginx's
    /// `http→https` redirect): neither refuses anything, and neither is remembered as a refusal.
    static func outage(_ status: Int) -> String? {
        switch status {
        case 300...399, 500...599: "the application could not be asked: it \(answered(status))"
        default: nil
        }
    }

    /// How a log line says the application answered `status`: `answered 500`, and for a `3xx`, which Casty does not
    /// follow, what to do about it: `answered 302 (a redirect, which Casty does not follow: give the final URL)`.
    /// Key verification, listener authorization and the event queues (``EventQueue``) say it alike.
    static func answered(_ status: Int) -> String {
        "answered \(status)" + ((300...399).contains(status) ? " (a redirect, which Casty does not follow: give the final URL)" : "")
    }

    /// The file beside the event spool `spool` where the sessions live now are kept (``LiveSessions``): `spool.live`.
    public static func liveSessionsPath(_ spool: String) -> String { LiveSessions.path(ofSpool: spool) }

    /// Whether sources' keys are verified by the application.
    public var verifiesKeys: Bool { configuration.keyVerificationURL != nil }

    /// Asks the application whether the source with `key` may publish `channel` from `ip`: a status other than `200`
    /// decides at its head (a refusal, or an outage), not kept waiting by a body that is slow or never ends; a `200`
    /// admits once the whole answer is in — one whose body does not end in time is no admission (``Verdict/unanswered(_:)``).
    public func verify(channel: String, key: String, ip: String) async -> Verdict {
        guard let url = configuration.keyVerificationURL else { return .accepted(record: nil) }
        if let why = Self.unsendable(channel: channel, key: key) { return .refused(why) }
        var headers: Headers = ["x-streaming-channel": URLQuery.encodeChannel(channel), "x-streaming-key": key, "x-user-ip": ip]
        if let auth = configuration.keyVerificationAuth { headers["Authorization"] = auth.headerValue }
        do {
            // A status other than 200 is decided by its status line: a 403 whose body is slow, never ends or is cut is
            // the 403. An admission needs the whole answer: a 200 whose body does not end in time admits nothing.
            let answer = try await HTTPCall.post(url, headers: headers, loop: loop, timeout: configuration.keyVerificationTimeout, limit: Self.answerLimit,
                                                 decidedByHead: { status, _ in status != 200 })
            // A 5xx or a 3xx is not the application's word on the key: an outage (``outage(_:)``).
            if let outage = Self.outage(answer.status) { return .unanswered(outage) }
            guard answer.status == 200 else { return .refused("the application answered \(answer.status)") }
            return .accepted(record: record(answer.headers.values("x-record"), channel: channel))
        } catch {
            return .unanswered("the application could not be asked: \(error)")
        }
    }

    /// Why a source's `key` (or `channel`) cannot be told to the application as it is, or `nil` when it can: a header
    /// carries no control character (nor a line separator or noncharacter), and the call drops them (``SafeText/printable(_:)``),
    /// so `good\u{1}ctl` would reach it as `goodctl` — another key. Such a key is refused, the application not asked;
    /// the reason names what holds them, never the key.
    static func unsendable(channel: String, key: String) -> String? {
        for (name, value) in [("key", key), ("channel", URLQuery.encodeChannel(channel))] where SafeText.printable(value) != value {
            return "the \(name) holds control characters, which no header can carry: the application was not asked"
        }
        return nil
    }

    /// The application's `x-record`: `true` or `false` in any case, `nil` when it said nothing. Anything else is
    /// not recorded, and said in one line: a typo (`yes`, `1`) would otherwise turn recording off without a word —
    /// and so is an answer that says it twice, differently (`false`, then `true`), whose word would be its order's.
    private func record(_ values: [String], channel: String) -> Bool? {
        guard let value = values.first else { return nil }
        if let other = values.first(where: { $0.lowercased() != value.lowercased() }) {
            logger("key verification of \(channel): x-record given twice, '\(SafeText.shortened(value, to: 40))'"
                + " and '\(SafeText.shortened(other, to: 40))': not recorded")
            return false
        }
        switch value.lowercased() {
        case "true": return true
        case "false": return false
        default:
            logger("key verification of \(channel): x-record '\(SafeText.shortened(value, to: 40))'"
                + " is neither true nor false: not recorded")
            return false
        }
    }

    /// A listener as the listener authorization is told of it, in Icecast's fields; queued, it is its
    /// `listener_remove` call.
    struct ListenerCall: QueuedPost {
        /// The server's name as the player asked for it (its `Host` without the port) and the port it reached.
        let server: String
        let port: Int
        /// A number of this player's own, the same in its `listener_add` and its `listener_remove`.
        let client: UInt64
        /// What the player asked for, with its query, as Icecast sends it: `/live?token=…` — a platform's
        /// token in the URL is how most players log in.
        let mount: String
        let ip: String
        let agent: String
        let auth: BasicAuth?
        /// When it was admitted (when it asked, until the application admits it), and once it has left, for how
        /// many whole seconds it listened.
        var started: ContinuousClock.Instant
        var duration: Int?
        /// When it was last heard from, if that was before it was found gone: an HLS player is found gone a few
        /// target durations after its last playlist fetch, and has listened until that fetch only.
        var lastHeard: ContinuousClock.Instant?

        /// The form fields of a call with `action`, in Icecast's order.
        func form(_ action: String) -> [UInt8] {
            var fields = [("action", action), ("server", server), ("port", String(port)), ("client", String(client)),
                          ("mount", mount), ("user", auth?.user ?? ""), ("pass", auth?.password ?? "")]
            if let duration { fields.append(("duration", String(duration))) }
            fields += [("ip", ip), ("agent", agent)]
            return Array(fields.map { "\(URLQuery.encode($0.0))=\(URLQuery.encode($0.1))" }.joined(separator: "&").utf8)
        }

        /// The call once the player has left: with how long it listened, until it was last heard from.
        func leaving() -> ListenerCall {
            var call = self
            call.duration = AccessLog.wholeSeconds(max(.zero, (lastHeard ?? ContinuousClock.now) - started))
            return call
        }

        var headers: [(String, String)] { [("Content-Type", "application/x-www-form-urlencoded")] }
        var body: [UInt8] { form("listener_remove") }
        var summary: String { "listener_remove for \(ip) on \(mount.prefix { $0 != "?" })" }
    }

    /// Whether listeners are authorized by the application.
    var authorizesListeners: Bool { configuration.listenerAuthURL != nil }

    /// Why the application did not admit a listener.
    struct ListenerRefusal: Sendable, Equatable {
        /// What it answered (a status other than `200`, `icecast-auth-user` not `1`), or what kept it from
        /// answering, for the log.
        let reason: String
        /// Whether it could not be asked (no answer in time, unreachable, an answer that is no answer, a `5xx` or
        /// a redirect): an outage, not a verdict — the player is told `503` and to try again, not asked for a login.
        let unanswered: Bool
        /// How the question ended: with an answer, or without one.
        var ending: Ending = .answered

        /// How a question to the application ended, for a line said when it did.
        enum Ending: Sendable, Equatable {
            /// The application answered (whatever it answered: a status, garbage).
            case answered
            /// Its time to answer ran out (`limit`): no answer, or one whose body did not end.
            case ranOut(Duration)
            /// It could not be reached: the connection refused, reset, or its name not found.
            case failed

            /// How a call that failed with `error` ended, its time being `limit`.
            static func of(_ error: CastyError, limit: Duration) -> Ending {
                switch error {
                case .noReply(_, let after), .bodyUnended(_, _, let after): .ranOut(after)
                case .network(_, .timedOut): .ranOut(limit)
                case .network(_, let cause) where cause.errno == ETIMEDOUT: .ranOut(limit)
                case .network: .failed
                default: .answered
                }
            }
        }
    }

    /// Whether an answer's `headers` admit a listener: a line `icecast-auth-user: 1` — any of them, when it sent
    /// several, as Icecast reads every line of the answer and admits on any that says `1`.
    static func admits(_ headers: Headers) -> Bool {
        headers.values("icecast-auth-user").contains("1")
    }

    /// Asks the application whether a listener may listen (`action=listener_add`): admitted on `200` with
    /// `icecast-auth-user: 1`, refused on any other answer, not admitted either when it cannot be asked — nor
    /// when it answers a `5xx` (it, or the proxy before it, failed: an nginx `502` during a deploy) or a `3xx`
    /// (a redirect, not followed), neither of which is its word on the listener. As for a key: an answer that does
    /// not admit is decided by its head, one that admits needs its whole answer.
    /// Returns `nil` when the listener is admitted, else why not.
    func authorize(_ call: ListenerCall) async -> ListenerRefusal? {
        guard let url = configuration.listenerAuthURL else { return nil }
        do {
            let answer = try await HTTPCall.post(
                url, headers: ["Content-Type": "application/x-www-form-urlencoded"], body: call.form("listener_add"), loop: loop,
                timeout: configuration.listenerAuthTimeout, limit: Self.answerLimit,
                // As a key's: a head that does not admit decides at once, an admission needs the whole answer.
                decidedByHead: { status, headers in status != 200 || !Self.admits(headers) })
            if let outage = Self.outage(answer.status) { return ListenerRefusal(reason: outage, unanswered: true) }
            guard answer.status == 200 else { return ListenerRefusal(reason: "the application answered \(answer.status)", unanswered: false) }
            guard Self.admits(answer.headers) else { return ListenerRefusal(reason: "the application refused it", unanswered: false) }
            // Its listening starts now, not when it asked: the application may have taken seconds to answer.
            var listening = call
            listening.started = .now
            admitted.withLock { $0[call.client] = listening }
            return nil
        } catch {
            return ListenerRefusal(reason: "the application could not be asked: \(error)", unanswered: true,
                                   ending: .of(error, limit: configuration.listenerAuthTimeout))
        }
    }

    /// Every listener still admitted leaves: the process stops.
    func allListenersLeft() {
        listenersGone.store(true, ordering: .relaxed)
        let calls = admitted.withLock { all in defer { all = [:] }; return Array(all.values) }
        for call in calls { listenerRemovals?.post(call.leaving()) }
    }

    /// Tells the application that an authorized listener left (`action=listener_remove`), without waiting: the
    /// call is queued and re-sent until the application answers `200`, as events are (``EventQueue``) — sent with
    /// others at once, in no particular order: its `listener_add` was answered before it is queued —, but never
    /// spooled — its form holds the listener's password. Its `duration` counts from its admission (the call
    /// ``authorize(_:)`` kept): `0` for a player that hung up while the application was asked.
    func listenerLeft(_ call: ListenerCall) {
        // Told once: a listener already told gone with the process is not told again as its connection closes.
        let kept = admitted.withLock { $0.removeValue(forKey: call.client) }
        guard kept != nil || !listenersGone.load(ordering: .relaxed) else { return }
        var leaving = kept ?? call
        leaving.lastHeard = call.lastHeard
        listenerRemovals?.post(leaving.leaving())
    }

    /// Tells the application that `event` happened.
    public func post(_ event: StreamEvent) {
        live?.note(event)
        events?.post(event)
    }

    /// A new, unique id for a source session: 32 hex digits.
    public static func newStreamID() -> String {
        (0..<2).map { _ in
            let text = String(UInt64.random(in: 0...UInt64.max), radix: 16)
            return String(repeating: "0", count: 16 - text.count) + text
        }.joined()
    }
}
