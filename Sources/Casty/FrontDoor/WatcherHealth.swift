/// Whether a title watcher is still there, decided at each heartbeat from what its connection shows — a value,
/// so that the rule is tested without sockets.
///
/// A page following a mount's titles gets a few hundred bytes a minute, so "it fell 64 KiB behind" would take
/// hours to notice. Two signs come sooner:
///
/// - **Stalled.** At each heartbeat the watcher's bytes still waiting are sampled: those not yet handed to the
///   kernel plus those the peer's kernel has not acknowledged. A page that reads has taken everything a round
///   trip after it was sent, so the sample is zero. A peer that vanished without a FIN (a laptop closed, a
///   mobile network gone) acknowledges nothing, and one that never reads stops acknowledging once its receive
///   window is full: from then on the sample is non-zero and never goes down. When it has not gone down for
///   ``patience`` heartbeats in a row, the watcher is dropped.
/// - **Silent** (WebSocket only). Each heartbeat is a ping, which a browser answers with a pong by itself. After
///   ``patience`` pings without a pong, the watcher is dropped.
struct WatcherHealth: Sendable, Equatable {
    /// What to do with the watcher after a heartbeat's sample.
    enum Verdict: Sendable, Equatable {
        /// Keep it, and send the heartbeat.
        case keep
        /// Drop it, for this reason.
        case drop(Reason)
    }

    /// Why a watcher is dropped.
    enum Reason: Sendable, Equatable {
        /// `waiting` bytes are waiting for it, and the number has not gone down for `beats` heartbeats.
        case stalled(waiting: Int, beats: Int)
        /// It has not answered the last `pings` pings.
        case silent(pings: Int)
    }

    /// How many heartbeats a watcher may stay stalled, or leave pings unanswered, before it is dropped.
    let patience: Int
    /// Whether its heartbeats are pings that it must answer (a WebSocket).
    let expectsPongs: Bool
    /// The bytes waiting at the last heartbeat.
    private var lastWaiting = 0
    /// Heartbeats in a row at which bytes were waiting and had not gone down since the one before.
    private(set) var stalledBeats = 0
    /// Pings sent since the last pong.
    private(set) var unansweredPings = 0

    /// A watcher just connected, dropped after `patience` heartbeats (at least one) stalled or, if `expectsPongs`,
    /// without a pong.
    init(patience: Int, expectsPongs: Bool) {
        self.patience = max(1, patience)
        self.expectsPongs = expectsPongs
    }

    /// A heartbeat is due and `waiting` bytes wait for the watcher: keep it (its heartbeat, a ping if
    /// ``expectsPongs``, is then counted as sent) or drop it.
    mutating func beat(waiting: Int) -> Verdict {
        stalledBeats = waiting > 0 && lastWaiting > 0 && waiting >= lastWaiting ? stalledBeats + 1 : 0
        lastWaiting = waiting
        if stalledBeats >= patience { return .drop(.stalled(waiting: waiting, beats: stalledBeats)) }
        if expectsPongs {
            if unansweredPings >= patience { return .drop(.silent(pings: unansweredPings)) }
            unansweredPings += 1
        }
        return .keep
    }

    /// The watcher answered a ping.
    mutating func answered() {
        unansweredPings = 0
    }
}
