internal import CastyNet
internal import Synchronization

/// The log of branches refused for a wrong or missing tree key (`403`).
///
/// A branch started without the tree's key asks again every 10 s for as long as it runs: one line per attempt would be
/// 8,640 a day, far below the budget of five per 10 s. So each branch address (under its mount) has its first refusal
/// told in full, and its repeats summed up in one line every ``interval`` at most (`… refused again 60 times in the
/// last 10.0 minutes …`), as the stranger's own log sums its failed attempts; many strangers at once are bounded by
/// the budget as before (``LogBudget/treeKeyRefusals(loop:logger:)``). An address not heard from for ``interval`` is
/// forgotten, and at most ``most`` are remembered (past that, the one heard from least recently goes): one that comes
/// back is told in full again. Used from any loop.
final class TreeKeyRefusals: Sendable {
    /// Five lines per 10 s, the rest summed up: its window is closed at shutdown with the port's other budgets.
    let budget: LogBudget
    private let addresses = Mutex<[String: Address]>([:])

    /// How often one address's repeated refusals are summed up in a line.
    static let interval: Duration = .seconds(600)
    /// The most addresses remembered.
    static let most = 256

    /// One address refused: its repeats since its last line, when that was, and when it last asked.
    private struct Address {
        var repeats = RepeatedEvent(interval: TreeKeyRefusals.interval)
        var told: ContinuousClock.Instant
        var last: ContinuousClock.Instant
    }

    /// Logs to `logger`, within the budget, on `loop`.
    init(loop: EventLoop, logger: EventLog) {
        budget = .treeKeyRefusals(loop: loop, logger: logger)
    }

    /// A branch serving at `branch` asked from `peer` without the right key, on `mount` (`mount /live: `, or empty on a
    /// root of one stream): told in full the first time, then summed up.
    func refused(_ branch: String, from peer: String, mount: String, now: ContinuousClock.Instant = .now) {
        let line = "\(mount)tree: branch \(branch) from \(peer) refused"
        guard let (count, since) = occurred(mount + branch, now: now) else { return }
        guard let since else { return budget("\(line): wrong or missing tree key (403)") }
        let times = count == 1 ? "once" : "\(count) times"
        budget("\(line) again, \(times) in the last \(formatted(seconds(now - since) / 60)) minutes: wrong or missing tree key (403;"
            + " each address's repeats summed up every \(Self.interval.components.seconds / 60) minutes)", counting: count)
    }

    /// Counts a refusal of `key`: `nil` to stay quiet, else how many to tell of and since when (`nil`: its first).
    func occurred(_ key: String, now: ContinuousClock.Instant) -> (count: Int, since: ContinuousClock.Instant?)? {
        addresses.withLock { addresses in
            if let known = addresses[key], now - known.last < Self.interval {
                var entry = known
                entry.last = now
                let count = entry.repeats.occurred(at: now)
                if count != nil { entry.told = now }
                addresses[key] = entry
                return count.map { ($0, known.told) }
            }
            var entry = Address(told: now, last: now)
            _ = entry.repeats.occurred(at: now)
            addresses[key] = entry
            while addresses.count > Self.most, let oldest = addresses.min(by: { $0.value.last < $1.value.last }) {
                addresses[oldest.key] = nil
            }
            return (1, nil)
        }
    }
}
