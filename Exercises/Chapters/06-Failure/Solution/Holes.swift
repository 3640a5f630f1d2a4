// Chapter 6 — Failure. A reference solution.

public import Kit

/// Notices a silent upstream: one that has sent nothing for longer than a few segments last.
public struct Watchdog: Sendable {
    /// How many segment durations of silence mean "the upstream is gone".
    public let silentSegments: Int
    /// When the upstream was last heard from.
    public private(set) var lastHeard: Duration

    /// A watchdog that last heard from its upstream at `now`.
    public init(silentSegments: Int = 6, now: Duration) {
        self.silentSegments = silentSegments
        self.lastHeard = now
    }

    /// The upstream was heard from at `now`.
    public mutating func heard(at now: Duration) {
        lastHeard = now
    }

    /// How long a silence may last: ``silentSegments`` × the context's segment duration (6 × 512 ms ≈ 3 s at
    /// 8192 bytes and 128 kbit/s). It comes from the stream, so a slow stream gets a longer deadline.
    public func deadline(for context: Context) -> Duration {
        context.segmentDuration * silentSegments
    }

    /// Whether more than the deadline has passed since the upstream was last heard from.
    public func isSilent(at now: Duration, context: Context) -> Bool {
        now - lastHeard > deadline(for: context)
    }
}

extension History {
    /// What to answer a request that names `resume` (or `nil`), when the next segment to be cut is `upcoming`.
    ///
    /// - `nil`, or a number after `upcoming`: start with `upcoming`, replay nothing.
    /// - a number still kept, or `upcoming` itself: start there and replay every kept segment from it on —
    ///   no gap and no duplicate.
    /// - a number older than the oldest kept: start with the oldest kept and replay them all (the requester
    ///   counts the gap it cannot avoid).
    public func resume(from resume: Int?, upcoming: Int) -> Replay {
        guard let resume, resume <= upcoming else { return Replay(next: upcoming, numbers: []) }
        let start = max(resume, kept.first?.number ?? upcoming)
        return Replay(next: start, numbers: kept.map(\.number).filter { $0 >= start })
    }
}

/// A receiver's view of the numbering: what it expects next, what it has missed.
public struct Receiver: Sendable, Equatable {
    /// The number expected next, once replied to.
    public private(set) var expected: Int?
    /// Times a number came later than expected.
    public private(set) var gaps = 0
    /// Segments missing in those gaps.
    public private(set) var missing = 0
    /// Segments dropped because they had been received already (or were older).
    public private(set) var duplicates = 0

    /// Nothing received yet.
    public init() {}

    /// A reply: the first time, it sets the number expected. A later reply (after re-attaching) changes
    /// nothing: what is expected is still the first number not received.
    public mutating func replied(next: Int) {
        if expected == nil { expected = next }
    }

    /// Whether to keep segment `number`. One older than expected is a duplicate: dropped. One later than
    /// expected is kept and counts a gap of `number − expected` missing segments. Every kept one moves the
    /// expected number to `number + 1`.
    public mutating func accept(_ number: Int) -> Bool {
        if let expected {
            if number < expected {
                duplicates += 1
                return false
            }
            if number > expected {
                gaps += 1
                missing += number - expected
            }
        }
        expected = number + 1
        return true
    }
}
