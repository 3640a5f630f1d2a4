internal import CastyNet

/// Notices a source or an upstream whose audio comes slower than it plays: a broadcaster's upload too slow for the
/// bitrate, a congested link between a relay and its station, an encoder that cannot keep up. Its listeners then
/// hear the stream in pieces, with gaps, while every other sign says it streams — bytes arrive, frames are whole,
/// no timeout fires.
///
/// It counts the playing time of the frames that arrive (not their bytes: a variable-bitrate or AAC stream sends
/// few bytes in its quiet passages, but as many seconds of audio as any) against the clock, over windows of
/// ``window``. Two windows in a row that brought less than ``behind`` of their length are news, told once; a window
/// that brings ``caughtUp`` or more afterwards is news too. One slow window alone is not: a stall of a few seconds,
/// whose backlog comes at once when it ends (``SourcePace``), is no slow link.
///
/// A pure value: the caller says when each frame came and how long it plays (``heard(_:at:)``), and logs the news.
struct RealTimeWatch: Sendable {
    /// What the watch has to tell.
    enum News: Sendable, Equatable, CustomStringConvertible {
        /// The audio of the last two windows, `seconds` long, played `audio` seconds.
        case fellBehind(audio: Double, seconds: Double)
        /// The audio keeps pace with the clock again.
        case keepsPace

        /// The news of a source or an upstream: its link or its encoder may be too slow.
        var description: String { told(cause: "its link or its encoder") }

        /// The news, naming what may be `cause` of it (`its link to the parent`).
        func told(cause: String) -> String {
            switch self {
            case .fellBehind(let audio, let seconds):
                "its audio comes slower than it plays: \(formatted(audio)) s of audio in the last \(formatted(seconds)) s (\(cause)"
                    + " is too slow for the stream's bitrate), so its listeners hear gaps"
            case .keepsPace:
                "its audio keeps pace with the clock again"
            }
        }
    }

    /// How long a window is.
    let window: Duration
    /// The share of a window's length its audio must play, or the window is slow.
    static let behind = 0.8
    /// The share a window's audio must play for a stream told behind to be told keeping pace again.
    static let caughtUp = 0.95

    private var started: ContinuousClock.Instant?
    private var audio = 0.0
    /// The last window that was slow, if the one before this was: its audio and its length in seconds.
    private var slow: (audio: Double, seconds: Double)?
    /// Whether the stream was told behind.
    private(set) var isBehind = false

    /// A watch over windows of `window` (10 s by default).
    init(window: Duration = .seconds(10)) {
        self.window = window
    }

    /// The stream stopped and starts again (a relay's new link): the window in progress is not counted — the time
    /// between links is no slowness of the audio — and a stream told behind is told when it keeps pace.
    mutating func restart() {
        started = nil
        slow = nil
    }

    /// A frame that plays `playing` seconds came `now`; returns the news it makes, if any.
    mutating func heard(_ playing: Double, at now: ContinuousClock.Instant) -> News? {
        guard let started else {
            self.started = now
            audio = playing
            return nil
        }
        // The frame that ends a window is counted in the next: it came after the window's time was up.
        let elapsed = seconds(now - started)
        guard elapsed >= seconds(window) else {
            audio += playing
            return nil
        }
        let ended = (audio: audio, seconds: elapsed)
        self.started = now
        audio = playing
        if ended.audio < Self.behind * ended.seconds {
            defer { slow = ended }
            guard let before = slow, !isBehind else { return nil }
            isBehind = true
            return .fellBehind(audio: before.audio + ended.audio, seconds: before.seconds + ended.seconds)
        }
        slow = nil
        guard isBehind, ended.audio >= Self.caughtUp * ended.seconds else { return nil }
        isBehind = false
        return .keepsPace
    }
}
