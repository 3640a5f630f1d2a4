/// A piece of a live stream: `icy-metaint` bytes of audio followed by one metadata block.
///
/// On the wire, a stream with `icy-metaint: M` repeats
///
/// ```
/// [ M bytes of audio ][ k ][ 16·k bytes of metadata, NUL-padded ]
/// ```
///
/// where `k = 0` means "the title has not changed". The audio is kept as the chunks it arrived in —
/// slices of the buffers the network filled — so parsing never copies audio. A stream without
/// `icy-metaint` is audio only, cut into segments of a chosen size, with empty metadata. A reader that hands
/// audio on as it arrives (``StreamReader/init(segmentBytes:audioAsItArrives:)``) makes segments of audio only
/// and segments of a metadata block only.
public struct Segment: Sendable {
    /// The audio, as the chunks it arrived in. Their concatenation is the segment's audio.
    public var audio: [ArraySlice<UInt8>]
    /// The metadata text's bytes with the NUL padding removed (for example `StreamTitle='Song';`), or
    /// empty when the block said nothing changed. ``Metadata`` reads it.
    public var metadata: [UInt8]
    /// What was wrong with the metadata block as it came off the wire, or `nil` when it was well-formed (or
    /// there was none). The parser still hands over the text; a relay should not trust a block with
    /// ``MetadataFault/malformedText``.
    public var fault: MetadataFault?
    /// The metadata block's length byte `k` as it came off the wire (the block was `16·k` bytes), or `nil`
    /// when no block followed the audio (a stream without `icy-metaint`, a piece of audio handed on as it
    /// arrived, or a segment made in code).
    ///
    /// It tells apart two blocks whose ``metadata`` is empty alike: `k = 0` means "the title has not
    /// changed", while `k > 0` with only NUL bytes is a block that was sent and said nothing.
    public var lengthByte: UInt8?

    /// Makes a segment from audio chunks and metadata bytes (and, for a segment read off the wire, the
    /// block's length byte).
    public init(audio: [ArraySlice<UInt8>], metadata: [UInt8] = [], fault: MetadataFault? = nil, lengthByte: UInt8? = nil) {
        self.audio = audio
        self.metadata = metadata
        self.fault = fault
        self.lengthByte = lengthByte
    }

    /// Makes a segment from one piece of audio and metadata bytes.
    public init(audio: [UInt8], metadata: [UInt8] = [], fault: MetadataFault? = nil, lengthByte: UInt8? = nil) {
        self.init(audio: [audio[...]], metadata: metadata, fault: fault, lengthByte: lengthByte)
    }

    /// The metadata read into fields (`segment.parsedMetadata?.streamTitle`), or `nil` when the block held no
    /// text: it said "no change" (`k = 0`), held only NULs, or there was no block.
    ///
    /// Reading is lenient, as players are; a block with ``fault`` ``MetadataFault/malformedText`` still gives
    /// whatever fields can be made out.
    public var parsedMetadata: Metadata? {
        metadata.isEmpty ? nil : Metadata(parsing: metadata)
    }

    /// How many audio bytes the segment holds.
    public var audioCount: Int {
        audio.reduce(0) { $0 + $1.count }
    }

    /// The audio as one array (this copies; the parser itself never does).
    public var audioBytes: [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(audioCount)
        for chunk in audio { bytes.append(contentsOf: chunk) }
        return bytes
    }
}

extension Segment: Equatable {
    /// Two segments are equal when their audio bytes and metadata are, however the audio was chunked (their
    /// ``Segment/fault`` and ``Segment/lengthByte``, which say how the block looked on the wire, are not
    /// compared).
    public static func == (lhs: Segment, rhs: Segment) -> Bool {
        lhs.metadata == rhs.metadata && lhs.audioCount == rhs.audioCount
            && lhs.audio.joined().elementsEqual(rhs.audio.joined())
    }
}

extension Segment: CustomStringConvertible {
    /// One line for a log: how much audio, then what the metadata block said, then its fault if any —
    /// `5 audio bytes in 2 chunks, k = 2: "StreamTitle='Hi';"`, `16000 audio bytes, k = 0 (no change)`.
    /// Control characters in the text are escaped.
    public var description: String {
        let chunks = audio.count <= 1 ? "" : " in \(audio.count) chunks"
        var text = "\(audioCount) audio byte\(audioCount == 1 ? "" : "s")\(chunks)"
        let quotedText = quoted(IcyText.decode(metadata), limit: 200, asciiOnly: false)
        switch (lengthByte, metadata.isEmpty) {
        case (nil, true): text += ", no metadata block"
        case (nil, false): text += ", metadata \(quotedText)"
        case (0?, _): text += ", k = 0 (no change)"
        case (let k?, true): text += ", k = \(k): only NUL bytes"
        case (let k?, false): text += ", k = \(k): \(quotedText)"
        }
        if let fault { text += " (\(fault))" }
        return text
    }
}

/// The continuation that parses the audio after a reply's headers into segments.
///
/// With `metaint` (the reply's `icy-metaint`), each segment is `metaint` audio bytes and one metadata block.
/// Without it, the stream is audio only and each segment is `segmentBytes` of audio. After each segment,
/// call the same continuation again with the `rest` (``StreamParser`` does that loop).
///
/// - Precondition: `metaint` is in ``IcyLimits/metaintRange``, as ``Headers/metaint()`` checks a reply's.
public func segments(metaint: Int?, segmentBytes: Int = 8192) -> Continuation<Segment> {
    checkMetaint(metaint)
    let start = SegmentReader(metaint: metaint, audioNeeded: metaint ?? max(1, segmentBytes))
    return Continuation { bytes in start.read(bytes) }
}

/// Stops the program when `metaint` is out of ``IcyLimits/metaintRange``: a caller's mistake (a reply's
/// `icy-metaint` comes checked from ``Headers/metaint()``), which would otherwise be read as a stream that lies.
func checkMetaint(_ metaint: Int?) {
    if let metaint {
        precondition(IcyLimits.metaintRange.contains(metaint), "icy-metaint \(metaint) is out of \(IcyLimits.metaintRange)")
    }
}

/// The continuation that parses one metadata block alone (its length byte, then `16·k` bytes), as a segment
/// with no audio: a reader that hands audio on as it arrives reads the blocks between with it. With
/// `trustingLength`, the block is `16·k` bytes whatever follows its text.
func metadataBlock(metaint: Int, trustingLength: Bool = false) -> Continuation<Segment> {
    var reader = SegmentReader(metaint: metaint, audioNeeded: 0)
    reader.trustsLength = trustingLength
    let start = reader
    return Continuation { bytes in start.read(bytes) }
}

/// Where a segment parse stands between two reads.
struct SegmentReader: Sendable {
    /// `icy-metaint`, or `nil` for an audio-only stream.
    let metaint: Int?
    /// Audio bytes still to come in this segment.
    var audioNeeded: Int
    /// The audio chunks read so far.
    var audio: [ArraySlice<UInt8>] = []
    /// Metadata bytes still to come, or `nil` while the length byte has not been read.
    var metadataNeeded: Int?
    /// The metadata bytes read so far.
    var metadata: [UInt8] = []
    /// The block's length byte, once read.
    var lengthByte: UInt8 = 0
    /// Whether the length byte is taken as true whatever follows the block's text (``BlockCheck``).
    var trustsLength = false

    init(metaint: Int?, audioNeeded: Int) {
        self.metaint = metaint
        self.audioNeeded = audioNeeded
    }

    func read(_ input: ArraySlice<UInt8>) -> Parse<Segment> {
        var reader = self
        var bytes = input
        if reader.audioNeeded > 0 {
            let take = min(reader.audioNeeded, bytes.count)
            if take > 0 {
                reader.audio.append(bytes.prefix(take))
                bytes = bytes.dropFirst(take)
                reader.audioNeeded -= take
            }
            if reader.audioNeeded > 0 { return reader.more }
            if reader.metaint == nil { return .done(Segment(audio: reader.audio), rest: bytes) }
        }
        if reader.metadataNeeded == nil {
            guard let length = bytes.first else { return reader.more }
            bytes = bytes.dropFirst()
            reader.lengthByte = length
            reader.metadataNeeded = Int(length) * 16
            reader.metadata.reserveCapacity(Int(length) * 16)
        }
        let take = min(reader.metadataNeeded!, bytes.count)
        reader.metadata.append(contentsOf: bytes.prefix(take))
        bytes = bytes.dropFirst(take)
        reader.metadataNeeded! -= take
        if reader.metadataNeeded! > 0 { return reader.more }
        guard !reader.metadata.isEmpty else { return .done(Segment(audio: reader.audio, lengthByte: 0), rest: bytes) }
        // The text ends at the first NUL: the rest of the block is padding — unless the length byte lied, and
        // the block ended sooner: then the rest is audio, and is read again as the start of the next segment.
        let check = BlockCheck(reader.metadata, metaint: reader.metaint ?? 0, trustingLength: reader.trustsLength)
        var rest = bytes
        if check.blockEnd < reader.metadata.count {
            rest = (Array(reader.metadata[check.blockEnd...]) + bytes)[...]
        }
        reader.metadata.removeSubrange(check.textEnd...)
        let segment = Segment(audio: reader.audio, metadata: reader.metadata, fault: check.fault, lengthByte: reader.lengthByte)
        return .done(segment, rest: rest)
    }

    private var more: Parse<Segment> {
        .more(Continuation { [self] bytes in read(bytes) })
    }
}
