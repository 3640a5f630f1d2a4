internal import CastyNet
internal import CastyWire
internal import Icy

/// What a node fed over the network is doing about its upstream.
public enum UpstreamState: Sendable, Equatable, CustomStringConvertible {
    /// Not started, or connecting for the first time.
    case connecting
    /// The upstream answered with a stream's head, but no audio has come yet (a station that answers and sends
    /// nothing is not taken for one that streams).
    case connected
    /// Receiving the stream.
    case streaming
    /// Lost the upstream, or failed to reach it (refused, unreachable, not a stream); trying again.
    case retrying
    /// Stopped for good.
    case stopped

    /// `connecting`, `connected, no audio yet`, `streaming`, `retrying` or `stopped`.
    public var description: String {
        switch self {
        case .connecting: "connecting"
        case .connected: "connected, no audio yet"
        case .streaming: "streaming"
        case .retrying: "retrying"
        case .stopped: "stopped"
        }
    }
}

/// The bookkeeping of a node's one upstream link: the link itself, why it ended, and who waits for that.
struct UpstreamKeeper {
    var state = UpstreamState.connecting
    var link: UpstreamLink?
    var reconnects = 0
    /// When the current link was opened: a link that ends soon after does not reset the backoff.
    var openedAt = ContinuousClock.now
    var ending: CheckedContinuation<CastyError?, Never>?
    var endReason: CastyError?
    /// Whether the link lost last had brought audio, as it ended: one that only answered does not come "back".
    var lostHadAudio = true
    var task: Task<Void, Never>?
    /// Whether the stream may go quiet (AAC, variable-bitrate MP3): its link then waits for a peer that answers.
    var quiet = QuietStream(contentType: nil)
    /// Whether the node stops asking after the attempt that failed last, until it is asked for the stream again
    /// (``UpstreamNode/keepInBackground()``): its upstream said it has no such stream, and asking it every few
    /// seconds would change nothing (a branch's root of several mounts has no stream at `/`).
    var resting = false
    /// The line that tells the current link's answer (`upstream back: …`), held back while its attempt followed one
    /// whose answer proved to be no stream (``CastyError/textNotAudio(_:contentType:)``): told once the link brings
    /// audio (``UpstreamNode/streamsNow()``), or before its loss is — not at each attempt of an upstream that sends
    /// a web page every time.
    var heldLine: String?
    /// Links in a row that lasted under ``UpstreamNode/steadyLink``: an upstream that flaps (accepts, streams a
    /// moment, drops) is told for its first ``UpstreamNode/toldAttempts`` losses, then summed up every ten seconds —
    /// a branch's line that its parent dropped it too (``Branch/judgeClose(by:)``).
    var flaps = 0
    /// Whether the upstream said, on the link, that it closes it for a new stream (a branch's parent:
    /// ``StreamSegment/newStreamKey``): its close is no loss — asked again at once, without a line (the new stream's
    /// own line follows), nor a flap counted.
    var relinking = false

    /// The link brought audio: one that had only answered (``UpstreamState/connected``) streams from now on.
    /// Returns whether it just began to.
    mutating func heardAudio() -> Bool {
        guard state == .connected else { return false }
        state = .streaming
        return true
    }
}

/// A node that keeps an upstream stream open by itself — the proxy (to a station) and the branch (to its
/// parent in the tree): when the link ends, it waits a backoff that doubles on each failure and opens it again.
protocol UpstreamNode: LoopNode {
    /// The link and its state.
    var keeper: UpstreamKeeper { get set }
    /// Where log lines go.
    var logger: EventLog { get }
    /// `proxy` or `branch`.
    var role: String { get }
    /// Who the node's log lines name: its ``role``, and a branch's address (``Branch/speaker``), as its other lines do.
    var speaker: String { get }
    /// The first wait before reopening, and the longest.
    var backoff: (first: Duration, most: Duration) { get }
    /// Opens the upstream (following redirects).
    func openUpstream() async throws(CastyError) -> OpenedStream
    /// Starts using a freshly opened upstream: makes its ``UpstreamLink`` and stores it in the keeper.
    func attach(_ opened: OpenedStream)
    /// Notes that the link was lost, before reopening starts.
    func lost(_ reason: CastyError)
}

extension UpstreamNode {
    /// Its ``role``, by default.
    var speaker: String { role }

    /// The link brought audio (``UpstreamKeeper/heardAudio()``), and the line held back about its answer, if one is,
    /// is told. Returns whether it just began to.
    func streamsNow() -> Bool {
        guard keeper.heardAudio() else { return false }
        if let line = keeper.heldLine { logger(line) }
        keeper.heldLine = nil
        return true
    }

    /// Opens the upstream for the first time and keeps it open from then on.
    /// - Throws: ``CastyError`` when the first attempt fails, so a command line can say why and exit.
    func startKeeping() async throws(CastyError) {
        let opened = try await openUpstream()
        guard keeper.state != .stopped else { return opened.connection.loop.execute { opened.connection.close() } }
        keeper.openedAt = .now
        attach(opened)
        keeper.task = Task { await keepAlive(opening: false) }
    }

    /// Opens the upstream in the background, retrying until it works, and keeps it open from then on.
    func keepInBackground() {
        guard keeper.task == nil, keeper.link == nil, keeper.state != .stopped else { return }
        keeper.task = Task { await keepAlive(opening: true) }
    }

    /// Waits for each link to end, then reopens it with backoff (first opens it, when `opening`).
    /// A failed attempt is told in a line of its own for the first ``toldAttempts`` of each problem (of one
    /// ``CastyError/kind``: garbage is one problem, whatever its bytes; an upstream that fails two ways by turns has
    /// two); after that, it is summed up at most every ten seconds (a branch retries every 0.5 s, and an upstream may stay away for hours), or
    /// every six attempts when they are further apart (``summingInterval(waiting:)``). An attempt after which the node
    /// rests (``UpstreamKeeper/resting``) is not told: it ends the loop, until the node is asked again. Losses of
    /// links that lasted under ten seconds are told so too: the first few, then a sum every ten seconds (an
    /// upstream that accepts and drops at once would fill the log). A link whose answer proves to be no stream once
    /// its body comes (``CastyError/textNotAudio(_:contentType:)``: a web page sent as audio) is a failed attempt,
    /// told as one, not a link lost; the line about the next link's answer waits for its audio
    /// (``UpstreamKeeper/heldLine``).
    private func keepAlive(opening: Bool) async {
        var failures = 0
        var opening = opening
        // The attempts told in a line of their own, by problem, since the last link that lasted.
        var told: [String: Int] = [:]
        // The problems of the attempts summed up in the next line, not told one by one.
        var summed: Set<String> = []
        var refused = false
        var repeats = RepeatedEvent(interval: Self.summingInterval(waiting: .zero))
        // Whether the last link's answer proved to be no stream.
        var answeredNoStream = false
        /// Tells a failed attempt: in a line of its own for the first few of its problem, else summed up.
        func failed(_ error: CastyError) {
            refused = Self.isRefusal(error)
            let problem = "\(error)\(refusalHint(error))"
            let times = told[error.kind, default: 0]
            if times < Self.toldAttempts {
                told[error.kind] = times + 1
                repeats = RepeatedEvent(interval: Self.summingInterval(waiting: wait(after: failures, refused: refused)))
                summed = []
                _ = repeats.occurred()
                logger("\(speaker): \(problem); retrying in \(wait(after: failures, refused: refused))")
                return
            }
            summed.insert(error.kind)
            guard let count = repeats.occurred() else { return }
            let how = summed.count == 1 ? "the same way" : "in the \(summed.count) ways told above"
            summed = []
            logger("\(speaker): \(problem); \(count) more attempt\(count == 1 ? "" : "s") failed \(how), retrying every "
                + "\(wait(after: failures, refused: refused))")
        }
        let steady = Self.steadyLink
        // An upstream that flaps is told for its first few losses, then summed up every ten seconds, as a failing
        // one is (``UpstreamKeeper/flaps``).
        keeper.flaps = 0
        var losses = RepeatedEvent(interval: .seconds(10))
        while keeper.state != .stopped {
            if !opening {
                guard let reason = await ended(), keeper.state != .stopped else { return }
                keeper.heldLine = nil  // a link that brought no audio: the line after this one names its upstream
                keeper.state = .retrying
                if case .textNotAudio = reason {
                    // An answer that is no stream after all: a failed attempt, whose link is undone as a lost one's is.
                    answeredNoStream = true
                    failures += 1
                    lost(reason)
                    failed(reason)
                } else if keeper.relinking, case .ended = reason {
                    answeredNoStream = false
                    keeper.reconnects += 1
                    failures = 0
                    lost(reason)
                } else {
                    answeredNoStream = false
                    keeper.reconnects += 1
                    // A link that kept streaming for a while resets the backoff; one that died at once does not,
                    // so a server that accepts and hangs up is not hammered.
                    let lasted = ContinuousClock.now - keeper.openedAt
                    failures = lasted >= steady ? 0 : failures + 1
                    if lasted >= steady { told = [:] }
                    keeper.flaps = lasted >= steady ? 0 : keeper.flaps + 1
                    lost(reason)
                    if keeper.flaps <= Self.toldAttempts {
                        logger("\(speaker): upstream lost: \(reason); reconnecting")
                    } else if let count = losses.occurred() {
                        logger("\(speaker): upstream lost: \(reason); \(count) time\(count == 1 ? "" : "s") since the last line, each link"
                            + " lasting under \(steady.components.seconds) s (summed up every 10 s); reconnecting")
                    }
                }
            }
            opening = false
            let relinking = keeper.relinking
            keeper.relinking = false
            while keeper.state != .stopped {
                // Asked again at once when the upstream said it closed the link for a new stream.
                if failures > 0 || (keeper.reconnects > 0 && !relinking) { try? await Task.sleep(for: wait(after: failures, refused: refused)) }
                guard keeper.state != .stopped else { return }
                do {
                    let opened = try await openUpstream()
                    guard keeper.state != .stopped else { return opened.connection.close() }
                    keeper.openedAt = .now
                    var line: String?
                    if keeper.reconnects > 0, keeper.flaps <= Self.toldAttempts, !relinking || failures > 0 {
                        // After answers that were no stream, the line waits for audio: it is back then.
                        line = keeper.lostHadAudio || answeredNoStream ? "\(speaker): upstream back: \(opened.url.shown)"
                            : "\(speaker): upstream answered again: \(opened.url.shown) (it has sent no audio yet)"
                    } else if keeper.reconnects == 0, failures > 0 {
                        line = "\(speaker): upstream reached after \(failures) failed attempt\(failures == 1 ? "" : "s"): \(opened.url.shown)"
                    }
                    // Held before the link is made: the bytes that came with its head are read at once.
                    if answeredNoStream { keeper.heldLine = line }
                    // A refusal is over once a stream is answered: the next loss is repaired at the backoff's pace,
                    // not at the refused's 10 s.
                    refused = false
                    attach(opened)
                    if !answeredNoStream, let line { logger(line) }
                    break
                } catch {
                    if keeper.resting {
                        // Not told: its owner says what the answer means (``Branch/onMissing``).
                        keeper.resting = false
                        keeper.task = nil
                        keeper.state = .connecting
                        return
                    }
                    failures += 1
                    keeper.state = .retrying  // not `connecting` for ever: an attempt failed (a 403 for a wrong key…)
                    failed(error)
                }
            }
        }
    }

    /// How many failed attempts with one problem are each told in a line of their own.
    static var toldAttempts: Int { 3 }

    /// How long a link lasts to be no flap (``UpstreamKeeper/flaps``): one that lasted so resets the backoff, and
    /// its loss is told in a line of its own.
    static var steadyLink: Duration { .seconds(10) }

    /// How often the failed attempts past the first few are summed up in a line, for attempts `waiting` apart: every
    /// ten seconds, or every six attempts when they are further apart than that (a branch refused, or asking for a
    /// mount the root has not, asks every 10 s: one line a minute, not one per attempt).
    static func summingInterval(waiting: Duration) -> Duration {
        max(.seconds(10), waiting * 6)
    }

    /// The wait before the next attempt: the backoff, doubling with each failure up to its most — and at least
    /// ``refusedWait`` after a refusal (`401`, `403`: a wrong tree key, a station that bans this address; `409`: a
    /// root that takes this branch for itself or one above it), which asking again every half second will not
    /// change, while the one refusing pays for every ask.
    private func wait(after failures: Int, refused: Bool = false) -> Duration {
        let wait = min(backoff.most, backoff.first * (1 << min(failures, 16)))
        return refused ? max(wait, Self.refusedWait) : wait
    }

    /// The shortest wait after the upstream refused this node (``isRefusal(_:)``).
    static var refusedWait: Duration { .seconds(10) }

    /// What the operator may do when the upstream refuses this node: for a `401`, whether a login was sent (give
    /// one, or fix it); for a branch's `403`, the tree key — the root says why in its own log, often on another
    /// machine; for a proxy's `508`, that its URL reaches its own server.
    func refusalHint(_ error: CastyError) -> String {
        guard case .notAStream(let url, .status(let code, let reason)) = error else { return "" }
        // What a Casty server answers a relay of a loop across servers (``StreamRoutes/relayLoop(_:feeding:)``).
        if code == 508, role == "proxy", reason == StreamRoutes.relayLoopReason {
            return " (\(url.authority) relays this relay's own mount back to it, maybe through other servers: no source feeds the"
                + " loop; relay a mount a source publishes, or let one of them have a source)"
        }
        // What a Casty server answers its own relay (``StreamRoutes/ownRelay(_:)``).
        if code == 508, role == "proxy" {
            return " (\(url.authority) is this server itself: a relay of its own mount would feed itself; give it another server's URL)"
        }
        if code == 403, role == "branch" { return " (the root refuses this branch: a wrong or missing --tree-key? its log says why)" }
        if code == 409, role == "branch" {
            return " (it takes this branch's address for its own or one above it: give this branch its own --advertise, and a --root that is not itself)"
        }
        guard code == 401 else { return "" }
        return url.login == nil ? " (no login sent: give it in the URL, http://user:password@host/…)" : " (the URL's login was refused)"
    }

    static func isRefusal(_ error: CastyError) -> Bool {
        guard case .notAStream(_, .status(let code, _)) = error else { return false }
        return code == 401 || code == 403 || code == 409
    }

    /// Waits until the current link ends, and says why; `nil` when the node was stopped.
    private func ended() async -> CastyError? {
        if let reason = keeper.endReason {
            keeper.endReason = nil
            return reason
        }
        return await withCheckedContinuation { keeper.ending = $0 }
    }

    /// Called by the link when it ends: wakes the keeper.
    func linkEnded(_ reason: CastyError) {
        keeper.link = nil
        guard keeper.state != .stopped else { return }
        keeper.lostHadAudio = keeper.state == .streaming
        keeper.state = .retrying
        if let ending = keeper.ending {
            keeper.ending = nil
            ending.resume(returning: reason)
        } else {
            keeper.endReason = reason
        }
    }

    /// Stops keeping the link: closes it and ends the reconnect loop.
    func stopKeeping() {
        keeper.state = .stopped
        keeper.task?.cancel()
        keeper.link?.close()
        keeper.link = nil
        if let ending = keeper.ending {
            keeper.ending = nil
            ending.resume(returning: nil)
        }
    }
}
