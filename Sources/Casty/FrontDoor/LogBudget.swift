internal import CastyNet
/// A log for events that may come by the thousand — listeners joining and leaving: the first few of each
/// window are logged one by one, the rest are counted and summed up in one line when the window ends.
///
/// A load test with 10,000 dummies, or a station at the top of the hour, then writes a readable log instead of
/// 20,000 lines. Loop-confined (`@unchecked Sendable` for its timer): used on `loop`; a line from another loop
/// (a listener on another loop of an ``EventLoopGroup``) is handed over to it.
final class LogBudget: @unchecked Sendable {
    private let loop: EventLoop
    private let logger: EventLog
    private let what: String
    private let perWindow: Int
    private let window: Duration
    private var logged = 0
    private var suppressed = 0
    private var windowEnd: Scheduled?

    /// Logs at most `perWindow` lines every `window`; `what` names the events in the summary line.
    init(loop: EventLoop, logger: EventLog, what: String, perWindow: Int = 20, window: Duration = .seconds(10)) {
        self.loop = loop
        self.logger = logger
        self.what = what
        self.perWindow = perWindow
        self.window = window
    }

    /// Logs `line`, or counts it if this window's budget is spent — as `count` events, for a line that tells of
    /// many at once (`3 dropped`): the summary then sums them.
    func callAsFunction(_ line: @autoclosure () -> String, counting count: Int = 1) {
        guard loop.inEventLoop else {
            let text = line()
            return loop.execute { [self] in self(text, counting: count) }
        }
        if windowEnd == nil {
            // One timer per window, armed by its first line.
            windowEnd = loop.schedule(after: window) { [weak self] in self?.closeWindow() }
        }
        if logged < perWindow {
            logged += 1
            logger(line())
        } else {
            suppressed += count
        }
    }

    /// Ends the window now: the summary line, if lines were counted, and a fresh budget. (Its timer calls it.)
    func closeWindow() {
        windowEnd?.cancel()
        windowEnd = nil
        if suppressed > 0 {
            let more = suppressed == 1 ? "one more of the" : "\(suppressed) more"  // not "1 more peers refused"
            logger("\(more) \(what) in the last \(window) (not logged one by one)")
        }
        logged = 0
        suppressed = 0
    }
}

extension LogBudget {
    /// The budget for branches refused for a wrong or missing tree key: five lines per 10 s, so that one branch
    /// started with the wrong key, which asks again every half second, is told in the log but does not fill it.
    static func treeKeyRefusals(loop: EventLoop, logger: EventLog) -> LogBudget {
        LogBudget(loop: loop, logger: logger, what: "branches refused for a wrong or missing tree key", perWindow: 5)
    }

    /// The budget for connections dropped because no request came in time: five lines per 10 s, so that a peer
    /// opening hundreds of idle connections is told in the log but does not fill it.
    static func silentConnections(loop: EventLoop, logger: EventLog) -> LogBudget {
        LogBudget(loop: loop, logger: logger, what: "connections dropped without a request", perWindow: 5)
    }

    /// The budget for connections shed, still waiting for their request, to admit a new peer when descriptors are
    /// short (``WaitingDoors``): five lines per 10 s, so that a flood of idle connections is told in the log, with
    /// its address, but does not fill it.
    static func shedConnections(loop: EventLoop, logger: EventLog) -> LogBudget {
        LogBudget(loop: loop, logger: logger, what: "waiting connections shed for new peers", perWindow: 5)
    }

    /// The budget for requests refused before they could be read — a malformed line, a method no route takes, a
    /// head over the limits, a TLS handshake on a plain port: five lines per 10 s, so that a stranger sending them
    /// by the thousand, which needs no credentials, is told in the log but does not fill it.
    static func malformedRequests(loop: EventLoop, logger: EventLog) -> LogBudget {
        LogBudget(loop: loop, logger: logger, what: "malformed requests refused", perWindow: 5)
    }

    /// The budget for sources, admins and players refused (a wrong password, an unlisted mount, a mount off air…):
    /// ten lines per 10 s.
    static func refusals(loop: EventLoop, logger: EventLog) -> LogBudget {
        LogBudget(loop: loop, logger: logger, what: "refusals", perWindow: 10)
    }

    /// The budget for RTMP connections that failed before publishing (a bad handshake or chunk, a hang-up, a stall):
    /// five lines per 10 s, so that a peer opening a thousand of them a second is told but does not fill the log.
    static func rtmpFailures(loop: EventLoop, logger: EventLog) -> LogBudget {
        LogBudget(loop: loop, logger: logger, what: "RTMP connections failed before publishing", perWindow: 5)
    }

    /// The budget for peers a listening port refused (out of descriptors, most often): five lines per 10 s, so
    /// that a flood of connections at the descriptor limit is told in the log but does not fill it.
    static func refusedPeers(loop: EventLoop, logger: EventLog) -> LogBudget {
        LogBudget(loop: loop, logger: logger, what: "peers refused", perWindow: 5)
    }
}
