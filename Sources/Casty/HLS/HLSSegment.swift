/// One segment of a live HLS stream: packed audio (RFC 8216 §3.4) — an ``ID3Tag`` with the timestamp and the
/// title, then whole MP3 or ADTS frames — made once and served to every HLS client, CDN and disk.
public final class HLSSegment: Sendable {
    /// Its media sequence number: one more than the segment before it in the playlist.
    public let sequence: Int
    /// Its file name in the playlist (`3fa2c1d0-1234.mp3`): the stream's name (8 hex digits) and the group of
    /// relay segments it was cut from, so the same audio has the same name on every node of a tree.
    public let name: String
    /// How long it plays, in seconds (its frames' samples over the sample rate).
    public let duration: Double
    /// When its first frame plays, in 90 kHz ticks (modulo 2³³): the `PRIV` timestamp of its tag.
    public let timestamp: UInt64
    /// When its first frame reached the tree's root, in milliseconds since 1970: `EXT-X-PROGRAM-DATE-TIME`.
    public let date: Int64
    /// Whether it does not continue the segment before it (a gap, a new source, a fallback taking over):
    /// `EXT-X-DISCONTINUITY`.
    public let discontinuity: Bool
    /// How many discontinuities came before it, its own included: the playlist's
    /// `EXT-X-DISCONTINUITY-SEQUENCE` when it is the first listed.
    public let discontinuitySequence: Int
    /// What is playing, if known: in the tag's `TIT2` frame and after the playlist's `EXTINF`.
    public let title: String?
    /// The whole file: the tag, then the frames.
    public let bytes: [UInt8]
    /// How many frames it holds.
    public let frames: Int

    /// A segment.
    init(sequence: Int, name: String, duration: Double, timestamp: UInt64, date: Int64, discontinuity: Bool,
         discontinuitySequence: Int = 0, title: String?, bytes: [UInt8], frames: Int) {
        self.sequence = sequence
        self.name = name
        self.duration = duration
        self.timestamp = timestamp
        self.date = date
        self.discontinuity = discontinuity
        self.discontinuitySequence = discontinuitySequence
        self.title = title
        self.bytes = bytes
        self.frames = frames
    }

    /// The segment as a playlist lists it: the same, without its bytes (what a recording keeps of the segments it
    /// wrote, for its playlist).
    var listing: HLSSegment {
        HLSSegment(sequence: sequence, name: name, duration: duration, timestamp: timestamp, date: date, discontinuity: discontinuity,
                   discontinuitySequence: discontinuitySequence, title: title, bytes: [], frames: frames)
    }

    /// The frames alone, without the ID3 tag in front: what a recording's audio file is made of.
    public var audio: ArraySlice<UInt8> {
        guard bytes.count >= 10, bytes[0] == 0x49, bytes[1] == 0x44, bytes[2] == 0x33 else { return bytes[...] }
        let size = bytes[6..<10].reduce(0) { $0 << 7 | Int($1 & 0x7F) }
        return bytes.dropFirst(min(bytes.count, 10 + size))
    }
}
