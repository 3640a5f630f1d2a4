internal import CastyNet

/// How fast one link of a relay to its upstream brought its audio, to tell, when the link ends, whether it was a
/// file served at download speed rather than a live stream.
///
/// A file comes faster than it plays until the link ends. A live stream does so only at the link's start: an Icecast
/// server answers every new listener with a burst of the last audio its source sent (64 KB by default: 8 s of audio
/// at 64 kbit/s, 16 s at 32), then sends the rest as it comes, at the pace it plays. A live link that ends a few
/// seconds after its burst (its source dropped) has brought far more audio than it lasted too; what tells it from a
/// file is its last stretch, which came at its pace.
///
/// A pure value: the caller says when each frame came and how long it plays (``heard(_:at:)``).
struct LinkPace: Sendable {
    /// The least audio, in seconds, a link that ends must have brought to be taken for a file.
    static let fileAudio = 10.0
    /// The length of the link's last stretch that is looked at: at least this, at most twice as long.
    static let stretch = Duration.seconds(1)

    /// How much audio had come by a moment of the link.
    private struct Mark: Sendable {
        /// The moment.
        var at: ContinuousClock.Instant
        /// The seconds of audio that came before it.
        var audio: Double
    }

    /// When the link began.
    let started: ContinuousClock.Instant
    /// The seconds of audio its frames play.
    private(set) var audio = 0.0
    /// The mark at least ``stretch`` before the newer one, and the newer one, set a ``stretch`` apart or more as
    /// frames come: the last stretch is looked at from one of them.
    private var marks: (older: Mark, newer: Mark)

    /// A link that began `started`, with no audio yet.
    init(started: ContinuousClock.Instant) {
        self.started = started
        marks = (Mark(at: started, audio: 0), Mark(at: started, audio: 0))
    }

    /// A frame that plays `playing` seconds came `now`.
    mutating func heard(_ playing: Double, at now: ContinuousClock.Instant) {
        if now - marks.newer.at >= Self.stretch { marks = (marks.newer, Mark(at: now, audio: audio)) }
        audio += playing
    }

    /// The link lasted until `now`: its seconds.
    func lasted(at now: ContinuousClock.Instant) -> Double { seconds(now - started) }

    /// Whether the link, ending `now`, was a file rather than a live stream: it brought ``fileAudio`` or more, over
    /// twice as much as it lasted, and its last stretch (a ``stretch`` to two before `now`, or the whole link if it
    /// was shorter) still brought more than ``RealTimeWatch/ahead`` of its length — a live stream's burst comes
    /// only at the start.
    func wasAFile(endingAt now: ContinuousClock.Instant) -> Bool {
        guard audio >= Self.fileAudio, audio > 2 * lasted(at: now) else { return false }
        let from = now - marks.newer.at >= Self.stretch ? marks.newer : marks.older
        return audio - from.audio > RealTimeWatch.ahead * seconds(now - from.at)
    }
}
