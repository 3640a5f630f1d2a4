internal import CastyNet
public import CastyAudio
/// Why an MP3 file cannot be played.
public enum MP3Error: Error, Equatable, CustomStringConvertible {
    /// Not one MPEG audio frame (a header followed by another one where its length says) in the bytes:
    /// not an MP3 file, or an empty one.
    case noFrames(byteCount: Int)
    /// No MPEG audio frame either, but the bytes are audio of another kind, which their start says
    /// (`WAV`, `Ogg`, `AAC in ADTS`…): a file to convert, not a broken one.
    case notMP3(byteCount: Int, lookedLike: String)

    /// The error in words, e.g. "no MPEG audio frames found in 1024 bytes".
    public var description: String {
        switch self {
        case .noFrames(let byteCount): "no MPEG audio frames found in \(byteCount) bytes"
        case .notMP3(let byteCount, let kind):
            "no MPEG audio frames found in \(byteCount) bytes: it looks like \(kind), and the station plays MP3 only"
                + " (ffmpeg -i FILE -c:a libmp3lame -b:a 128k FILE.mp3 makes one)"
        }
    }
}

/// The frames of an MP3 file (or MP1/MP2) read from its bytes in memory, and what they add up to: how long
/// it plays and its average bitrate.
///
/// An MP3 file is frames back to back, maybe with tags around them:
///
/// ```
/// [ID3v2 tag]  frame frame frame … frame  [ID3v1 tag: "TAG" + 125 bytes]
/// ```
///
/// The scan skips an ID3v2 tag at the start (its size is "syncsafe": 7 bits a byte, plus 10 bytes when the
/// footer flag is set), stops before an ID3v1 tag at the end, and steps over anything else that is not a
/// frame, byte by byte, until it finds sync again. A header is only trusted when the frame it starts is
/// followed by another header of the same stream exactly where its length says (or when it comes right
/// after a trusted frame): four bytes that look like a header by chance rarely pass that test.
public struct MP3File: Sendable, Equatable {
    /// One frame of the file: where it is and what its header says.
    public struct Frame: Sendable, Equatable {
        /// Where the frame starts in the file's bytes.
        public let offset: Int
        /// Its header.
        public let header: MP3Frame

        /// The bytes of the frame in the file.
        public var range: Range<Int> { offset..<(offset + header.length) }
    }

    /// The frames in file order.
    public let frames: [Frame]
    /// The size of the whole file in bytes, tags and all.
    public let byteCount: Int
    /// The bytes of all the frames together: the audio without tags or garbage.
    public let audioBytes: Int
    /// How long the audio plays: the sum of the frames' durations.
    public let duration: Duration

    /// Reads the frames of `bytes`; fails with ``MP3Error/noFrames(byteCount:)`` when there are none, or
    /// ``MP3Error/notMP3(byteCount:lookedLike:)`` when the bytes are audio of another kind.
    public init(_ bytes: [UInt8]) throws(MP3Error) {
        var start = 0
        while start < bytes.count, let tag = Self.id3v2Length(bytes, at: start) {
            start = min(bytes.count, start + tag)
        }
        var end = bytes.count
        if end - start >= 128, bytes[end - 128] == 0x54, bytes[end - 127] == 0x41, bytes[end - 126] == 0x47 {
            end -= 128  // "TAG": an ID3v1 tag is the last 128 bytes.
        }
        var frames: [Frame] = []
        var offset = start
        var previous: MP3Frame?  // the last frame, while `offset` is right after it
        while let found = MP3Scanner.header(in: bytes, at: offset, end: end) {
            if found.offset != offset { previous = nil }
            let frame = found.frame
            let after = found.offset + frame.length
            let trusted: Bool
            if after > end {
                trusted = false
            } else if let previous, previous.continues(frame) {
                trusted = true
            } else if let next = MP3Scanner.frame(in: bytes, at: after, end: end), next.continues(frame) {
                trusted = true
            } else {
                // A file of one frame and nothing else.
                trusted = found.offset == start && after == end
            }
            if trusted {
                frames.append(Frame(offset: found.offset, header: frame))
                previous = frame
                offset = after
            } else {
                previous = nil
                offset = found.offset + 1
            }
        }
        guard !frames.isEmpty else {
            let start = bytes.prefix(64 * 1024)
            guard let kind = AudioSignature.name(of: start) ?? (FrameChain.Format.adts.holdsChain(in: start) ? "AAC in ADTS" : nil) else {
                throw .noFrames(byteCount: bytes.count)
            }
            throw .notMP3(byteCount: bytes.count, lookedLike: kind)
        }
        // An encoder's Xing/Info (or VBRI) frame says how long the file is: played in a loop, a player joining at it
        // takes the live stream for a file of that length ("more data after announced end of track").
        if frames.count > 1, frames[0].header.isInfo(bytes[frames[0].range]) { frames.removeFirst() }
        self.frames = frames
        self.byteCount = bytes.count
        self.audioBytes = frames.reduce(0) { $0 + $1.header.length }
        self.duration = frames.reduce(.zero) { $0 + $1.header.duration }
    }

    /// The average bitrate in kbit/s, rounded: `audioBytes × 8 / seconds / 1000`. Right for VBR files too,
    /// where each frame has its own bitrate.
    public var averageBitrate: Int {
        Int((bytesPerSecond * 8 / 1000).rounded())
    }

    /// Audio bytes per second of playing time: the rate at which a station sends the file.
    public var bytesPerSecond: Double {
        Double(audioBytes) / (duration / .seconds(1))
    }

    /// The sample rate of the first frame, in Hz.
    public var sampleRate: Int { frames[0].header.sampleRate }

    /// The first frame whose sample rate or channels differ from the frame before it (a file joined from two
    /// encodings), with the two shapes; `nil` when every frame has the first one's. Played in a loop, such a file
    /// changes shape under its players there and again where it wraps around.
    package var shapeChange: (frame: Int, from: AudioShape, to: AudioShape)? {
        func shape(_ header: MP3Frame) -> (Int, Bool) { (header.sampleRate, header.channelMode == .mono) }
        guard let index = frames.indices.dropFirst().first(where: { shape(frames[$0].header) != shape(frames[$0 - 1].header) }) else {
            return nil
        }
        let describe = { (header: MP3Frame) in AudioShape(sampleRate: header.sampleRate, channels: header.channelMode == .mono ? 1 : 2) }
        return (index, describe(frames[index - 1].header), describe(frames[index].header))
    }

    /// From the start of the first frame to the end of the last: the part of the file to play in a loop, so
    /// that the last frame is followed by the first again and a player never sees a broken frame.
    public var audioRange: Range<Int> { frames[0].offset..<frames[frames.count - 1].range.upperBound }

    /// Whether the frames follow one another with nothing in between (true for any well-formed file).
    public var isContiguous: Bool { audioRange.count == audioBytes }

    /// The audio of `bytes` (the same bytes this was read from): the frames back to back, without tags and
    /// without whatever garbage stood between them.
    public func audio(of bytes: [UInt8]) -> [UInt8] {
        precondition(bytes.count == byteCount, "not the bytes this MP3File was read from")
        if isContiguous { return Array(bytes[audioRange]) }
        var audio: [UInt8] = []
        audio.reserveCapacity(audioBytes)
        for frame in frames { audio += bytes[frame.range] }
        return audio
    }

    /// The length of an ID3v2 tag at `offset` (header, body and footer), or `nil` when there is none
    /// (``ID3v2Header``).
    static func id3v2Length(_ bytes: [UInt8], at offset: Int) -> Int? {
        ID3v2Header.tagLength(bytes[...], at: offset)
    }
}
