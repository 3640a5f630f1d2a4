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
/// A watch made ``tellsAhead`` also notices audio that comes much faster than it plays (``ahead``, two windows in a
/// row): an upstream that is a file served at download speed rather than a live stream, whose listeners skip what
/// they cannot take.
///
/// A pure value: the caller says when each frame came and how long it plays (``heard(_:at:)``), and logs the news.
struct RealTimeWatch: Sendable {
    /// What the watch has to tell.
    enum News: Sendable, Equatable, CustomStringConvertible {
        /// The audio of the last two windows, `seconds` long, played `audio` seconds.
        case fellBehind(audio: Double, seconds: Double)
        /// The audio of the last two windows, `seconds` long, played `audio` seconds: far more than their length.
        case ranAhead(audio: Double, seconds: Double)
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
            case .ranAhead(let audio, let seconds):
                "its audio comes faster than it plays: \(formatted(audio)) s of audio in the last \(formatted(seconds)) s (a file"
                    + " served at download speed rather than a live stream?), so its listeners skip what they cannot play"
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
    /// The share of a window's length its audio plays past which the window ran ahead (``tellsAhead``): one
    /// window's backlog after a stall, or an Icecast burst, stays under it over two.
    static let ahead = 1.5
    /// Whether audio that runs ahead is news too.
    let tellsAhead: Bool

    private var started: ContinuousClock.Instant?
    private var audio = 0.0
    /// The last window that was slow, if the one before this was: its audio and its length in seconds.
    private var slow: (audio: Double, seconds: Double)?
    /// The last window that ran ahead, if the one before this did.
    private var fast: (audio: Double, seconds: Double)?
    /// Whether the stream was told behind.
    private(set) var isBehind = false
    /// Whether the stream was told ahead.
    private(set) var isAhead = false

    /// A watch over windows of `window` (10 s by default); `tellsAhead` to tell audio that runs ahead too.
    init(window: Duration = .seconds(10), tellsAhead: Bool = false) {
        self.window = window
        self.tellsAhead = tellsAhead
    }

    /// The stream stopped and starts again (a relay's new link): the window in progress is not counted — the time
    /// between links is no slowness of the audio — and a stream told behind is told when it keeps pace.
    mutating func restart() {
        started = nil
        slow = nil
        fast = nil
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
            (fast, isAhead) = (nil, false)
            defer { slow = ended }
            guard let before = slow, !isBehind else { return nil }
            isBehind = true
            return .fellBehind(audio: before.audio + ended.audio, seconds: before.seconds + ended.seconds)
        }
        slow = nil
        if tellsAhead, ended.audio > Self.ahead * ended.seconds {
            defer { fast = ended }
            guard let before = fast, !isAhead else { return nil }
            isAhead = true
            return .ranAhead(audio: before.audio + ended.audio, seconds: before.seconds + ended.seconds)
        }
        fast = nil
        if isAhead, ended.audio <= Self.ahead * ended.seconds {
            isAhead = false
            if ended.audio >= Self.caughtUp * ended.seconds { return .keepsPace }
        }
        guard isBehind, ended.audio >= Self.caughtUp * ended.seconds else { return nil }
        isBehind = false
        return .keepsPace
    }
}
