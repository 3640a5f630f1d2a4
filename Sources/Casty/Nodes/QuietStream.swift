internal import CastyAudio
internal import CastyWire
internal import Icy

/// Whether a stream's segments may come far apart while its source is fine, so that a link is not given up for a
/// silence that is only the stream's (``UpstreamLink/quietAllowance``).
///
/// A relay segment goes down a link when it is full, and it fills as fast as the source encodes. At a constant
/// bitrate that is steady, and a link that brought nothing for a few segment durations is broken. Not so for two
/// kinds of stream, whose segments come as far apart as their audio is quiet:
/// - **AAC** (ADTS): encoders spend a few hundred bytes a second on silence — ffmpeg's at 96 kbit/s spends 4.5
///   kbit/s, an 8 KiB segment every 15 s;
/// - **variable-bitrate MP3**: its quiet passages take 32 kbit/s, a quarter of what a loud one takes.
///
/// A link of such a stream waits, past its silence deadline, while its peer's host answers keepalive probes, for up
/// to ``allowance``; a path that is gone answers none and is given up at the deadline as before.
struct QuietStream {
    /// How long a link of a stream that may go quiet waits for its next bytes while its peer answers.
    static let allowance: Duration = .seconds(30)

    /// How many of a stream's first segments are looked at for frames of different bitrates: a VBR encoder changes
    /// bitrate from frame to frame, so its first segments show it, and a constant-bitrate stream costs nothing after.
    static let segmentsLookedAt = 16

    /// Whether the stream may go quiet: AAC from the start, MP3 once its frames showed different bitrates.
    private(set) var mayGoQuiet: Bool
    /// The stream's `Content-Type`, as its reply said.
    let contentType: String?
    /// How many segments were looked at.
    private var looked = 0

    /// A stream of `contentType` (its reply's), of which nothing was seen yet.
    init(contentType: String?) {
        self.contentType = contentType
        mayGoQuiet = FrameChain.Format(contentType: contentType) == .adts
    }

    /// The allowance a link of this stream gets (``UpstreamLink/quietAllowance``): zero until it may go quiet.
    var linkAllowance: Duration { mayGoQuiet ? Self.allowance : .zero }

    /// Looks at one of the stream's first segments until the stream shows it may go quiet; `true` when this
    /// segment showed it (MP3 frames of different bitrates).
    mutating func learns(from segment: Segment) -> Bool {
        guard !mayGoQuiet, looked < Self.segmentsLookedAt else { return false }
        looked += 1
        mayGoQuiet = MP3Frame.bitratesVary(in: segment.audioBytes)
        return mayGoQuiet
    }
}

extension UpstreamKeeper {
    /// Tells the new link how long it may wait for a stream of `contentType` that may go quiet, and whom to tell
    /// when it first does; what was learned of the stream is kept while its type stays the same.
    mutating func followQuiet(contentType: String?, onQuietPeer: @escaping (Duration) -> Void) {
        if quiet.contentType != contentType { quiet = QuietStream(contentType: contentType) }
        link?.quietAllowance = quiet.linkAllowance
        link?.onQuietPeer = onQuietPeer
    }

    /// Looks at a segment of the stream: once it shows the stream may go quiet, the link waits for a quiet peer.
    mutating func learnQuiet(from segment: Segment) {
        if quiet.learns(from: segment) { link?.quietAllowance = quiet.linkAllowance }
    }
}
