/// How segments reach one listener, as a value: the decisions of a ``Client`` without its socket.
///
/// 1. **The burst.** Right after the reply, the distributor hands the listener a few recent segments (a
///    resuming branch: everything it missed). They are written reliably — queued if the socket cannot take
///    them at once — within ``burstBudget`` bytes, so the player starts at once.
/// 2. **Lossy delivery, for players.** From the next turn of the loop on, each segment is *offered*: sent whole,
///    or skipped whole if the listener is still behind (never part of one, so the framing stays intact).
/// 3. **Lossless delivery, for branch links.** A branch never skips a segment: one it skipped would be missing in
///    its whole subtree, for good. Each one is queued in order, whole, behind what the socket has not taken yet —
///    within ``burstBudget`` bytes, the most a resume replays.
/// 4. **Dropping.** A listener that skips for longer than ``maxBehind`` — segments skipped in a row worth more
///    than that much audio, *and* that much time since the first of them — is disconnected: it is not listening
///    live any more. Both, because segments may come faster than they play: a source or an upstream that was
///    stalled (a hung process resumed, a network that held its packets) hands on its backlog in a few
///    milliseconds, which a healthy socket, holding a segment or two, skips in a burst; counted alone, those skips
///    dropped every branch and player of a root that had been stopped for a while. A branch link is dropped
///    alike when segments queued behind its unsent bytes last that long — or at once when the next would pass
///    its budget —: the branch re-attaches with `X-Casty-Resume`, and is replayed what it missed from the ring.
///
/// It also counts what the listener got: segments, skipped ones and gaps in the numbering (segments missed
/// upstream, or a new stream whose numbering restarted).
struct DeliveryPolicy: Sendable, Equatable {
    /// How the next segment's bytes go to the connection.
    enum Way: Sendable, Equatable {
        /// Written reliably (queued if need be): part of the burst.
        case write
        /// Offered: sent whole or skipped whole (a player).
        case offer
        /// Queued whole behind what is still unsent, never skipped (a branch link): ``queued(bytes:pending:at:)``
        /// says whether it may be, or the link is dropped.
        case queue
    }

    /// What an offer came to.
    enum Verdict: Sendable, Equatable {
        /// The segment went out (or its tail, or all of it, is queued).
        case delivered
        /// The segment was skipped; the listener stays.
        case skipped
        /// The listener has been behind for too long: disconnect it.
        case drop(behindSegments: Int)
    }

    /// The most bytes of the burst written reliably.
    let burstBudget: Int
    /// Whether a segment is never skipped: queued, or the link dropped (a branch link).
    let lossless: Bool
    /// How long a listener may skip (a branch link: stay behind) before it is disconnected.
    let maxBehind: Duration
    /// How long one segment plays.
    let segmentDuration: Duration
    /// Whether the burst is still being written.
    private(set) var bursting = true
    /// Segments handed to the listener, skipped, and gaps in their numbering.
    private(set) var segments = 0, skipped = 0, gaps = 0
    /// The number expected next.
    private var expected: Int?
    /// When the listener's current run of skips (a branch link's: of segments queued behind unsent bytes) began.
    private var skippingSince: ContinuousClock.Instant?
    /// A branch link's segments queued behind unsent bytes in a row.
    private var queuedBehind = 0

    /// The policy for a listener whose reply said `next`: a branch gets a whole ring as its burst and less
    /// patience (a branch that cannot keep up has most likely lost its link; its place is better given to
    /// another).
    init(next: Int, context: Context, isBranch: Bool, isBrowser: Bool = false, options: ClientOptions) {
        expected = next
        lossless = isBranch
        segmentDuration = context.segmentDuration
        if isBranch {
            burstBudget = options.branchBurstSegments * (context.segmentBytes + 256)
        } else if isBrowser {
            // A browser's longer burst goes out whole too (one segment more: the burst's newest may be partly cut).
            let segments = options.browserBurstSegments(segmentDuration: context.segmentDuration) + 1
            burstBudget = max(options.burstBytes, segments * (context.segmentBytes + 256))
        } else {
            burstBudget = options.burstBytes
        }
        maxBehind = isBranch ? options.branchMaxBehind : options.maxBehind
    }

    /// Segment `number` arrives: counts it, and a gap if it is not the one expected.
    mutating func arrived(_ number: Int) {
        if let expected, number != expected { gaps += 1 }
        expected = number + 1
        segments += 1
    }

    /// The listener was moved to another mount: its numbering goes on from `next` there, counted as one gap.
    mutating func moved(next: Int) {
        expected = next
        gaps += 1
    }

    /// How to hand over `bytes` more when `pending` bytes are still queued on the connection.
    func way(bytes: Int, pending: Int) -> Way {
        bursting && pending + bytes <= burstBudget ? .write : lossless ? .queue : .offer
    }

    /// The burst is over (the loop turn that delivered it has ended): from now on, segments are offered.
    mutating func burstEnded() {
        bursting = false
    }

    /// An offer went out: a run of skips, if any, is over.
    mutating func delivered() -> Verdict {
        skippingSince = nil
        return .delivered
    }

    /// An offer was skipped at `now` (the clock is read only then, not for every segment delivered):
    /// `consecutiveSkips` is the connection's count of skips in a row.
    mutating func skipped(consecutiveSkips: Int, at now: ContinuousClock.Instant) -> Verdict {
        skipped += 1
        return pastPatience(inRow: consecutiveSkips, at: now) ? .drop(behindSegments: consecutiveSkips) : .skipped
    }

    /// One more segment of a run behind — skipped, or queued behind unsent bytes —, `inRow` of them so far, at `now`:
    /// whether the run is past ``maxBehind``, worth more than that much audio *and* that long since its first.
    private mutating func pastPatience(inRow: Int, at now: ContinuousClock.Instant) -> Bool {
        let since = inRow <= 1 ? now : skippingSince ?? now
        skippingSince = since
        return segmentDuration * inRow > maxBehind && now - since > maxBehind
    }

    /// A branch link's segment of `bytes` is to be queued at `now` while `pending` bytes are still unsent: it is, unless
    /// the link has been behind for longer than ``maxBehind`` (as a player skipping is: segments queued behind
    /// unsent bytes in a row worth more than that much audio, and that much time since the first), or the queue
    /// would pass ``burstBudget``. Then the link is dropped, the segment not queued: the branch resumes with it.
    mutating func queued(bytes: Int, pending: Int, at now: ContinuousClock.Instant) -> Verdict {
        guard pending > 0 else {
            queuedBehind = 0
            skippingSince = nil
            return .delivered
        }
        queuedBehind += 1
        let behind = pastPatience(inRow: queuedBehind, at: now)
        return behind || pending + bytes > burstBudget ? .drop(behindSegments: queuedBehind) : .delivered
    }
}
