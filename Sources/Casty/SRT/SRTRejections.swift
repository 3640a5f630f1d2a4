internal import CastyNet
internal import Synchronization

/// The log of SRT callers rejected in the handshake.
///
/// An encoder retrying a mount in use (as OBS does) asks every second or so, and libsrt may ask about one caller
/// twice when it sent its handshake again: five lines per 10 s, then a sum (``LogBudget``); the same caller (its
/// address and stream ID) again within a second is told once. Called on SRT's thread.
final class SRTRejections: Sendable {
    private let budget: LogBudget
    private let last = Mutex<(caller: String, at: ContinuousClock.Instant)?>(nil)

    /// How soon the same caller's rejection is taken for the one before (a handshake sent again).
    static let repeatWithin: Duration = .seconds(1)

    /// Logs to `logger`, on `loop`.
    init(loop: EventLoop, logger: EventLog) {
        budget = LogBudget(loop: loop, logger: logger, what: "SRT callers refused in the handshake", perWindow: 5)
    }

    /// Tells `line` about `caller` (its address and stream ID), within the budget — unless the same caller was
    /// told less than ``repeatWithin`` ago: `false` then, and the rejection is not counted again.
    func tell(_ caller: String, _ line: @autoclosure () -> String, now: ContinuousClock.Instant = .now) -> Bool {
        guard isNew(caller, now: now) else { return false }
        budget(line())
        return true
    }

    /// Whether `caller` (its address and stream ID) is not the one rejected less than ``repeatWithin`` ago — a
    /// handshake sent again —, remembered as the last either way: for a rejection told in another budget.
    func isNew(_ caller: String, now: ContinuousClock.Instant = .now) -> Bool {
        let again = last.withLock { last in
            defer { last = (caller, now) }
            return last.map { $0.caller == caller && now - $0.at < Self.repeatWithin } ?? false
        }
        return !again
    }

    /// Ends the budget's window now: the sum of the lines not told, if any.
    func closeWindow() { budget.closeWindow() }
}
