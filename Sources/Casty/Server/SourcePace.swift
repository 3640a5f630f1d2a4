/// Keeps a source live: the audio it sends may run ahead of the clock by a few seconds at most.
///
/// A source sends its audio as it plays — an encoder makes a second of audio a second. When the source, or its
/// network, stalls, the audio it could not send piles up in its buffers, and once the stall ends it all comes at
/// once: 30 s of a stall arrive in a fraction of a second. Passed on, that backlog would reach every listener as a
/// flood: a player that waited through the stall now holds 30 s more than before and plays 30 s behind the
/// source for as long as it listens, and a listener that cannot take it so fast skips what it cannot take —
/// each branch of a tree another part, so that the same stream is spliced differently on every node.
///
/// The pace is a bucket of credit, counted in seconds of audio: it holds `allowance` seconds at the most, and
/// fills faster than the clock (``headroom``: an encoder whose clock runs fast, or audio that comes in uneven
/// pieces, must not run it dry). Each frame takes its duration from it; a frame that finds too little is dropped —
/// before it is cut into a segment, so the stream's segments stay whole and numbered one after another, and every
/// listener and branch hears the same splice. Once frames are dropped, they go on again only when the bucket
/// holds ``resume`` (half a second): what passes of a flood comes in pieces a listener hears as jumps, not as
/// single frames scattered through it, clicking. A stall of up to `allowance` seconds is caught up whole (the
/// "second or two of network failure" a relay should survive); past that, the backlog's first `allowance` seconds
/// are kept, and of the rest a little more than the time the flood takes to arrive.
///
/// A pure value: the caller says when each frame came (``admit(_:at:)``) and logs what it answers.
struct SourcePace: Sendable {
    /// What became of a frame.
    enum Verdict: Sendable, Equatable {
        /// It goes on.
        case pass
        /// It came too far ahead of the clock: dropped.
        case drop
        /// It goes on, and ends a run of dropped frames: this many, lasting this long.
        case passAfterDropping(frames: Int, seconds: Double)
    }

    /// How much audio a source may send ahead of the clock.
    let allowance: Duration
    /// ``allowance``, in seconds.
    private let seconds: Double
    /// How much faster than the clock credit comes back: a quarter faster — no live source runs so fast for
    /// long, and after a flood the bucket holds a second again within four.
    static let headroom = 1.25
    /// How much credit dropped frames wait for before frames go on again: half a second, or the allowance if less.
    var resume: Double { min(seconds, 0.5) }
    private var credit: Double
    private var last: ContinuousClock.Instant?
    /// The run of frames being dropped, if one is.
    private var dropping: (frames: Int, seconds: Double)?

    /// A pace that lets a source run `allowance` ahead of the clock, full at first (a source that starts with a
    /// burst of what it buffered keeps it).
    init(allowance: Duration) {
        self.allowance = allowance
        seconds = max(0, Double(allowance / .milliseconds(1)) / 1_000)
        credit = seconds
    }

    /// Whether a frame lasting `seconds` that came at `now` goes on.
    mutating func admit(_ seconds: Double, at now: ContinuousClock.Instant) -> Verdict {
        if let last {
            let elapsed = max(0, Double((now - last) / .microseconds(1)) / 1_000_000)
            credit = min(self.seconds, credit + elapsed * Self.headroom)
        }
        last = now
        guard credit >= seconds, dropping == nil || credit >= resume else {
            let run = dropping ?? (0, 0)
            dropping = (run.frames + 1, run.seconds + seconds)
            return .drop
        }
        credit -= seconds
        guard let run = dropping else { return .pass }
        dropping = nil
        return run.frames > 0 ? .passAfterDropping(frames: run.frames, seconds: run.seconds) : .pass
    }

    /// The run of dropped frames so far, if frames are being dropped.
    var droppedRun: (frames: Int, seconds: Double)? { dropping.flatMap { $0.frames > 0 ? $0 : nil } }

    /// Ends the run of dropped frames, if one is going on, and returns it: its source went quiet, so it is told
    /// now rather than when the next frame passes. The next frame still needs ``resume`` to pass.
    mutating func endRun() -> (frames: Int, seconds: Double)? {
        guard let run = droppedRun else { return nil }
        dropping = (0, 0)
        return run
    }
}
