/// The 4-byte header at the start of every MPEG audio frame (MP1, MP2 and MP3), and what it says about the
/// frame: how long it is in bytes and in time.
///
/// An MP3 stream is nothing but frames back to back, each one a header and its compressed audio. There is no
/// index and no length field for the whole stream: a reader finds frame after frame by reading each header,
/// which gives the length of its frame, and so the place of the next header.
///
/// ```
/// AAAAAAAA AAABBCCD EEEEFFGH IIJJKLMM
/// A sync (11 ones)   B version   C layer   D no CRC    E bitrate index   F sample rate index
/// G padding          H private   I channel mode        J mode extension  K copyright  L original  M emphasis
/// ```
///
/// Casty reads headers to pace the built-in station (the byte rate of the file) and to learn the bitrate of a
/// stream whose server sends no `icy-br` (see ``sniffBitrate(_:)``).
public struct MP3Frame: Sendable, Equatable {
    /// The MPEG version: MPEG-1 for 32–48 kHz, MPEG-2 (and the unofficial 2.5) for lower sample rates.
    public enum Version: Sendable, Equatable {
        /// MPEG-1: 32, 44.1 and 48 kHz.
        case mpeg1
        /// MPEG-2 (low sampling frequencies): 16, 22.05 and 24 kHz.
        case mpeg2
        /// MPEG-2.5, an extension by Fraunhofer: 8, 11.025 and 12 kHz.
        case mpeg25
    }

    /// The layer: the coding scheme. Layer III is what everyone calls MP3.
    public enum Layer: Int, Sendable, Equatable {
        /// Layer I (MP1): 384 samples a frame, lengths in 4-byte slots.
        case layer1 = 1
        /// Layer II (MP2): 1152 samples a frame.
        case layer2 = 2
        /// Layer III (MP3): 1152 samples a frame in MPEG-1, 576 in MPEG-2 and 2.5.
        case layer3 = 3
    }

    /// How the channels are coded.
    public enum ChannelMode: Sendable, Equatable {
        /// Two independent channels.
        case stereo
        /// Two channels coded together (mid/side or intensity stereo): the usual choice for music.
        case jointStereo
        /// Two unrelated mono channels (two languages, say).
        case dualChannel
        /// One channel.
        case mono
    }

    /// The MPEG version.
    public let version: Version
    /// The layer.
    public let layer: Layer
    /// The bitrate of this frame in kbit/s. In a VBR file it changes from frame to frame.
    public let bitrate: Int
    /// Samples per second per channel, in Hz.
    public let sampleRate: Int
    /// Whether the frame has one extra slot (1 byte, 4 in Layer I), added now and then so that the average
    /// frame length matches the bitrate exactly (417 or 418 bytes at 128 kbit/s and 44.1 kHz).
    public let padding: Bool
    /// How the channels are coded.
    public let channelMode: ChannelMode

    /// The size of a frame header in bytes.
    public static let headerBytes = 4

    /// Reads the header at the start of `bytes`, or returns `nil` when those 4 bytes are not a usable header:
    /// no sync, a reserved version, layer, sample rate or emphasis, the "free" bitrate (which would need the
    /// next frame to tell the length) or the forbidden bitrate index 15.
    public init?(_ bytes: some Collection<UInt8>) {
        var iterator = bytes.makeIterator()
        guard let b0 = iterator.next(), let b1 = iterator.next(), let b2 = iterator.next(),
              let b3 = iterator.next() else { return nil }
        self.init(b0, b1, b2, b3)
    }

    /// Reads a header from its four bytes, or returns `nil` when they are not a usable header.
    public init?(_ b0: UInt8, _ b1: UInt8, _ b2: UInt8, _ b3: UInt8) {
        guard b0 == 0xFF, b1 & 0xE0 == 0xE0 else { return nil }
        switch (b1 >> 3) & 0b11 {
        case 0b00: version = .mpeg25
        case 0b10: version = .mpeg2
        case 0b11: version = .mpeg1
        default: return nil
        }
        switch (b1 >> 1) & 0b11 {
        case 0b01: layer = .layer3
        case 0b10: layer = .layer2
        case 0b11: layer = .layer1
        default: return nil
        }
        let bitrateIndex = Int(b2 >> 4)
        guard bitrateIndex != 0, bitrateIndex != 15 else { return nil }
        let rateIndex = Int((b2 >> 2) & 0b11)
        guard rateIndex != 3 else { return nil }
        // Emphasis 2 is reserved; refusing it makes false syncs in random data rarer.
        guard b3 & 0b11 != 0b10 else { return nil }
        bitrate = Self.bitrates(version, layer)[bitrateIndex]
        sampleRate = Self.sampleRates(version)[rateIndex]
        padding = b2 & 0b10 != 0
        channelMode = switch b3 >> 6 {
        case 0: .stereo
        case 1: .jointStereo
        case 2: .dualChannel
        default: .mono
        }
    }

    /// The whole frame's length in bytes, header included:
    /// Layer I `(12 × bitrate / sampleRate + padding) × 4`; Layers II and III `samples / 8 × bitrate /
    /// sampleRate + padding` (144 × … in MPEG-1, 72 × … for Layer III in MPEG-2 and 2.5).
    public var length: Int {
        let bitsPerSecond = bitrate * 1000
        switch layer {
        case .layer1:
            return (12 * bitsPerSecond / sampleRate + (padding ? 1 : 0)) * 4
        case .layer2, .layer3:
            return samplesPerFrame / 8 * bitsPerSecond / sampleRate + (padding ? 1 : 0)
        }
    }

    /// How many samples (per channel) the frame decodes to: 384, 1152, or 576 for Layer III in MPEG-2 and 2.5.
    public var samplesPerFrame: Int {
        switch (layer, version) {
        case (.layer1, _): 384
        case (.layer2, _): 1152
        case (.layer3, .mpeg1): 1152
        case (.layer3, _): 576
        }
    }

    /// How long the frame plays: `samplesPerFrame / sampleRate` (about 26 ms for MP3 at 44.1 kHz).
    public var duration: Duration {
        .seconds(samplesPerFrame) / sampleRate
    }

    /// Whether `frame` — a whole frame with this header, from its first byte — is a Xing, Info or VBRI frame: no
    /// audio, but the frame count and length of the file it begins (LAME and most encoders write one first), found
    /// after the frame's side information (Xing, Info) or at byte 36 (VBRI). A file played in a loop, or streamed
    /// as it is by a source, would tell a player joining at it that the live stream is a file of that length.
    public func isInfo(_ frame: ArraySlice<UInt8>) -> Bool {
        guard layer == .layer3 else { return false }
        let sideInfo = sideInformationBytes
        func tag(at offset: Int, _ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) -> Bool {
            let start = frame.startIndex + offset
            guard offset + 4 <= length, start + 4 <= frame.endIndex else { return false }
            return frame[start] == a && frame[start + 1] == b && frame[start + 2] == c && frame[start + 3] == d
        }
        return tag(at: 4 + sideInfo, 0x58, 0x69, 0x6E, 0x67) || tag(at: 4 + sideInfo, 0x49, 0x6E, 0x66, 0x6F)  // Xing, Info
            || tag(at: 36, 0x56, 0x42, 0x52, 0x49)  // VBRI
    }

    /// Whether `other` could be the next frame of the same stream: same version, layer and sample rate.
    /// (Bitrate, padding and channel mode may change from frame to frame.)
    public func continues(_ other: MP3Frame) -> Bool {
        version == other.version && layer == other.layer && sampleRate == other.sampleRate
    }

    /// Finds the bitrate of a live MPEG audio stream from a chunk of it, in kbit/s, or `nil` when the chunk holds
    /// no two consecutive frames.
    ///
    /// The chunk may start anywhere, even in the middle of a frame: the first header followed by another one
    /// exactly where its length says (same version, layer and sample rate) is taken as the stream's, and the
    /// frames that follow it in the chunk are read too. For a constant bitrate the answer is that bitrate; for
    /// VBR it is the average over the frames in the chunk, rounded. A proxy uses it when the server sends no
    /// `icy-br` (Icecast does not).
    public static func sniffBitrate(_ bytes: some Collection<UInt8>) -> Int? {
        let bytes = Array(bytes)
        var start = 0
        while let found = MP3Scanner.chain(in: bytes, from: start) {
            guard found.frames.count >= 2 else {
                start = found.offset + 1
                continue
            }
            let rates = Set(found.frames.map(\.bitrate))
            if rates.count == 1 { return rates.first }
            let bits = found.frames.reduce(0) { $0 + $1.length } * 8
            let duration = found.frames.reduce(Duration.zero) { $0 + $1.duration }
            return Int((Double(bits) / (duration / .seconds(1)) / 1000).rounded())
        }
        return nil
    }

    /// Whether the frames in a chunk of a live MPEG audio stream have different bitrates: a variable-bitrate (VBR)
    /// stream, whose quiet passages take far fewer bytes a second than its loud ones. The first chain of at least
    /// three frames in the chunk decides; `false` when there is none.
    public static func bitratesVary(in bytes: [UInt8]) -> Bool {
        bitrates(in: bytes).map { $0.count > 1 } ?? false
    }

    /// The bitrates of the first chain of at least three frames in `bytes`, if there is one.
    public static func bitrates(in bytes: [UInt8]) -> Set<Int>? {
        var start = 0
        while let found = MP3Scanner.chain(in: bytes, from: start) {
            guard found.frames.count >= 3 else {
                start = found.offset + 1
                continue
            }
            return Set(found.frames.map(\.bitrate))
        }
        return nil
    }

    /// The bitrate table for a version and layer, in kbit/s, by index 0…15 (0 is "free", 15 is forbidden).
    /// The tables are made once: reading a header allocates nothing.
    private static func bitrates(_ version: Version, _ layer: Layer) -> [Int] {
        switch (version, layer) {
        case (.mpeg1, .layer1): bitrateTables[0]
        case (.mpeg1, .layer2): bitrateTables[1]
        case (.mpeg1, .layer3): bitrateTables[2]
        case (_, .layer1): bitrateTables[3]
        case (_, _): bitrateTables[4]
        }
    }

    private static let bitrateTables: [[Int]] = [
        [0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448, 0],
        [0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384, 0],
        [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 0],
        [0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256, 0],
        [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160, 0],
    ]

    /// The sample rates of a version, in Hz, by index 0…2 (3 is reserved).
    private static func sampleRates(_ version: Version) -> [Int] {
        switch version {
        case .mpeg1: sampleRateTables[0]
        case .mpeg2: sampleRateTables[1]
        case .mpeg25: sampleRateTables[2]
        }
    }

    private static let sampleRateTables: [[Int]] = [[44100, 48000, 32000], [22050, 24000, 16000], [11025, 12000, 8000]]

    /// The longest frame any header can announce: Layer II at 384 kbit/s and 32 kHz, padded (1729 bytes).
    public static let maxLength = 1729
}

/// Reads frames from bytes in memory.
package enum MP3Scanner {
    /// The first header at or after `start`, and the headers that follow it back to back (each where the
    /// previous frame's length says, from the same stream), as long as their 4 bytes lie in `bytes`.
    package static func chain(in bytes: [UInt8], from start: Int) -> (offset: Int, frames: [MP3Frame])? {
        guard let first = header(in: bytes, at: start, end: bytes.count) else { return nil }
        var frames = [first.frame]
        var next = first.offset + first.frame.length
        while let frame = frame(in: bytes, at: next, end: bytes.count), frame.continues(first.frame) {
            frames.append(frame)
            next += frame.length
        }
        return (first.offset, frames)
    }

    /// The first valid header at or after `offset` whose 4 bytes lie before `end`.
    package static func header(in bytes: [UInt8], at offset: Int, end: Int) -> (offset: Int, frame: MP3Frame)? {
        var index = max(0, offset)
        while index + MP3Frame.headerBytes <= end {
            if bytes[index] == 0xFF, let frame = frame(in: bytes, at: index, end: end) {
                return (index, frame)
            }
            index += 1
        }
        return nil
    }

    /// The header exactly at `offset`, if its 4 bytes lie before `end` and make a valid header.
    package static func frame(in bytes: [UInt8], at offset: Int, end: Int) -> MP3Frame? {
        guard offset >= 0, offset + MP3Frame.headerBytes <= end else { return nil }
        return MP3Frame(bytes[offset], bytes[offset + 1], bytes[offset + 2], bytes[offset + 3])
    }
}
