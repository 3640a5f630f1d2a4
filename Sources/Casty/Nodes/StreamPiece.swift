/// Audio of a segment handed on before the segment is whole: what keeps a quiet source's players live.
///
/// A segment is cut when it holds `icy-metaint` bytes of audio. An AAC encoder given silence (ffmpeg's makes
/// ~4.5 kbit/s of it) fills an 8 KiB segment in about 15 s: a player that waits for whole segments runs dry,
/// stalls, and plays on 15 s late for good. So when a segment has been filling for much longer than it lasts,
/// its source hands on the audio gathered so far as pieces, a few times a second, and a player that is keeping
/// up gets them at once. Its segment follows as usual; the player then gets only the rest of it, and the ICY
/// framing is unchanged, since a segment's audio comes before its metadata block:
///
/// ```
/// piece(N, offset 0)     [ audio 0..<1200 ]
/// piece(N, offset 1200)  [ audio 1200..<2900 ]
/// data(N, segment)       [ audio 0..<8192 ][ block ]  →  the player gets  [ audio 2900..<8192 ][ block ]
/// ```
///
/// If the segment that comes next does not begin with the pieces (its source ended, or a fallback took over),
/// the distributor says so first with an ``abandoned`` piece: a player that took pieces gets the rest of the frame
/// they cut short (zeros), then padding up to the segment's size — an ID3 tag, which decoders skip
/// (``StreamSegment/padding(_:)``) — and an empty metadata block, so its frames and framing stay exact, and the
/// next segment starts on a frame.
public struct StreamPiece: Sendable, Equatable {
    /// Where in its segment's audio the piece starts.
    public let offset: Int
    /// The audio bytes.
    public let audio: [UInt8]
    /// Whether this is word that the pieces handed on will not be followed by their segment.
    public let abandoned: Bool
    /// Whether this is word that the stream ended here (its source left): pieces handed on are abandoned, and the
    /// tree's nodes publish the HLS segment they were filling, as the root does (``StreamSegment/endKey``).
    public let ended: Bool

    /// A piece of audio at `offset` in its segment.
    public init(offset: Int, audio: [UInt8]) {
        self.offset = offset
        self.audio = audio
        self.abandoned = false
        self.ended = false
    }

    private init(abandoned: Bool, ended: Bool) {
        self.offset = 0
        self.audio = []
        self.abandoned = abandoned
        self.ended = ended
    }

    /// Word that the pieces handed on of a segment will not be followed by it.
    public static let abandon = StreamPiece(abandoned: true, ended: false)
    /// Word that the stream ended: no segment follows the pieces handed on, if any, nor any other of this stream.
    public static let end = StreamPiece(abandoned: true, ended: true)

    /// How often a source looks whether its unfinished segment should be handed on in pieces.
    public static let interval: Duration = .milliseconds(250)

    /// How long a segment fills before its audio is handed on in pieces: twice as long as it lasts, and at least
    /// a second — a stream at its usual rate never gets there, so it costs nothing more.
    public static func wait(segmentDuration: Duration) -> Duration {
        max(.seconds(1), segmentDuration * 2)
    }

    /// How long a segment a branch is reading off its link may be in part before the branch hands it on in pieces:
    /// its parent waited already, and a parent sends a whole segment at once, so that its bytes come within
    /// moments of one another — unless they are pieces (or a lost packet holds them up, when a piece costs
    /// nothing but an early send).
    public static let waitOnLink: Duration = .milliseconds(250)
}
