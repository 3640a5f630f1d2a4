// Chapter 8 — The station. Given: what an MP3 frame header says, once read, and the tables to read it with.

/// The 4-byte header at the start of every MP3 frame (MPEG audio Layer III).
///
/// An MP3 stream is nothing but frames back to back, each a header and its compressed audio. There is no index
/// and no length for the whole stream: a reader finds frame after frame by reading each header, whose bitrate,
/// sample rate and padding give the length of its frame — and so the place of the next header.
///
/// ```
/// byte 0    byte 1    byte 2    byte 3
/// AAAAAAAA  AAABBCCD  EEEEFFGH  IIJJKLMM
/// A sync: 11 bits set      B version: 11 MPEG-1, 10 MPEG-2, 00 MPEG-2.5, 01 reserved
/// C layer: 01 Layer III    D 0 when a 16-bit CRC follows the header (it is inside the frame's length)
/// E bitrate index: 0 "free" and 15 forbidden    F sample rate index: 3 reserved    G padding (one more byte)
/// H private  I channel mode  J mode extension  K copyright  L original  M emphasis: 10 reserved
/// ```
public struct MP3Header: Sendable, Equatable {
    /// MPEG-1 (32–48 kHz), MPEG-2 (16–24 kHz) or the unofficial MPEG-2.5 (8–12 kHz).
    public enum Version: Sendable, Equatable {
        /// MPEG-1.
        case mpeg1
        /// MPEG-2, "low sampling frequencies".
        case mpeg2
        /// MPEG-2.5, Fraunhofer's extension for the lowest rates.
        case mpeg25
    }

    /// The MPEG version.
    public var version: Version
    /// The bitrate of this frame in kbit/s (it may change from frame to frame: VBR).
    public var bitrate: Int
    /// Samples per second, in Hz.
    public var sampleRate: Int
    /// Whether the frame has one extra byte, added now and then so that the average length matches the bitrate.
    public var padding: Bool

    /// Makes a header from what it says.
    public init(version: Version, bitrate: Int, sampleRate: Int, padding: Bool) {
        self.version = version
        self.bitrate = bitrate
        self.sampleRate = sampleRate
        self.padding = padding
    }

    /// The frame's length in bytes, header included: `144 × bitrate / sampleRate + padding` in MPEG-1 (1152
    /// samples a frame, 1152 / 8 = 144), `72 × …` in MPEG-2 and 2.5 (576 samples). At 128 kbit/s and 44.1 kHz
    /// that is 417 bytes, or 418 with padding.
    public var length: Int {
        (version == .mpeg1 ? 144 : 72) * bitrate * 1000 / sampleRate + (padding ? 1 : 0)
    }

    /// Whether `next` can be the frame after this one in the same stream: same version and sample rate (the
    /// bitrate and padding may change).
    public func continues(_ next: MP3Header) -> Bool {
        version == next.version && sampleRate == next.sampleRate
    }

    /// Layer III bitrates in kbit/s by index 0…15: MPEG-1's row, then MPEG-2 and 2.5's. Index 0 ("free") and 15
    /// (forbidden) are 0: a header with either is not one this station can frame.
    public static let bitrates: [Version: [Int]] = [
        .mpeg1: [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 0],
        .mpeg2: [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160, 0],
        .mpeg25: [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160, 0],
    ]

    /// Sample rates in Hz by index 0…2 (index 3 is reserved).
    public static let sampleRates: [Version: [Int]] = [
        .mpeg1: [44100, 48000, 32000],
        .mpeg2: [22050, 24000, 16000],
        .mpeg25: [11025, 12000, 8000],
    ]
}
