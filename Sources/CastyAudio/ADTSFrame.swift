/// The header at the start of every frame of an AAC stream in ADTS form (Audio Data Transport Stream) — what
/// Shoutcast and Icecast serve as `audio/aac` and `audio/aacp`.
///
/// Like MP3, an ADTS stream is frames back to back with no index: each header gives its frame's length, and
/// so the place of the next header. The header is 7 bytes (9 when a CRC follows):
///
/// ```
/// AAAAAAAA AAAABCCD EEFFFFGH HHIJKLMM MMMMMMMM MMMOOOOO OOOOOOPP   (QQQQQQQQ QQQQQQQQ)
/// A sync (12 ones)  B MPEG version (0 = MPEG-4, 1 = MPEG-2)  C layer (always 0)  D no CRC
/// E profile (AAC object type − 1)  F sample rate index  G private  H channel configuration
/// I original  J home  K, L copyright bits  M frame length, header included  O buffer fullness
/// P raw data blocks in the frame − 1  Q CRC
/// ```
public struct ADTSFrame: Sendable, Equatable {
    /// The frame's length in bytes, header included.
    public let length: Int
    /// Whether a 2-byte CRC follows the 7 header bytes.
    public let hasCRC: Bool
    /// The AAC profile: 0 Main, 1 LC (low complexity, the usual one), 2 SSR, 3 LTP.
    public let profile: Int
    /// Samples per second per channel, in Hz.
    public let sampleRate: Int
    /// The channel configuration: 1 mono, 2 stereo, … (0: told inside the audio).
    public let channels: Int
    /// The bits that stay the same from frame to frame in one stream (version, profile, sample rate,
    /// channels): two frames with the same ``streamKey`` belong to the same stream.
    public let streamKey: UInt32

    /// The size of this frame's header: 7 bytes, 9 with a CRC.
    public var headerLength: Int { hasCRC ? 9 : 7 }

    /// The samples (per channel) of a frame whose header's seventh byte is `seventh`: 1,024 per raw data block, the
    /// blocks told in its last two bits (P in the layout above).
    public static func samples(seventh: UInt8) -> Int {
        1_024 * (Int(seventh & 0x03) + 1)
    }

    /// The size of a header without CRC, the least there is to read.
    public static let headerBytes = 7
    /// The longest frame a header can announce (13 bits of length).
    public static let maxLength = 8191

    /// Reads a header from the first 7 of `bytes`, or returns `nil` when they are not a usable header: no sync,
    /// a layer other than 0, a reserved sample rate index, or a length shorter than the header itself.
    public init?(_ bytes: some Collection<UInt8>) {
        let header = Array(bytes.prefix(Self.headerBytes))
        guard header.count == Self.headerBytes else { return nil }
        self.init(header[0], header[1], header[2], header[3], header[4], header[5])
    }

    /// Reads a header from its first six bytes (the seventh holds nothing needed here).
    package init?(_ b0: UInt8, _ b1: UInt8, _ b2: UInt8, _ b3: UInt8, _ b4: UInt8, _ b5: UInt8) {
        guard b0 == 0xFF, b1 & 0xF6 == 0xF0 else { return nil }
        let rateIndex = Int((b2 >> 2) & 0x0F)
        guard rateIndex < Self.sampleRates.count else { return nil }
        hasCRC = b1 & 0x01 == 0
        profile = Int(b2 >> 6)
        sampleRate = Self.sampleRates[rateIndex]
        channels = Int((b2 & 0x01) << 2 | b3 >> 6)
        length = Int(b3 & 0x03) << 11 | Int(b4) << 3 | Int(b5 >> 5)
        guard length >= (hasCRC ? 9 : 7) else { return nil }
        streamKey = UInt32(b1 & 0x08) << 16 | UInt32(b2 & 0xFD) << 8 | UInt32(b3 & 0xC0)
    }

    /// The frames a chain needs for ``sniffBitrate(_:)`` to trust its average: AAC encoders vary frame sizes a
    /// lot from one frame to the next, and a stream's first frames (the encoder's priming) are the smallest.
    public static let framesToSniff = 16

    /// Finds the average bitrate of a live ADTS stream from a chunk of it, in kbit/s, or `nil` when the chunk holds
    /// no chain of ``framesToSniff`` frames (or the average is not a plausible 8 to 1,000 kbit/s).
    ///
    /// ADTS headers carry no bitrate, so it is the frames' bytes over their samples (1,024 per raw data block) at
    /// the sample rate (``Chain``). A source that declares no bitrate (ffmpeg's `icecast://` does not) is measured
    /// so, from its first audio.
    public static func sniffBitrate(_ bytes: some Collection<UInt8>) -> Int? {
        Chain(bytes)?.measuredKbps
    }

    /// The chain of frames a chunk of a live ADTS stream holds: what its bitrate and duration are measured on.
    public struct Chain: Sendable, Equatable {
        /// How many whole frames.
        public let frames: Int
        /// Their bytes.
        public let bytes: Int
        /// Their bytes without their headers (7 bytes each, 9 with a CRC): the AAC an encoder's bitrate counts.
        public let payload: Int
        /// Their samples, per channel.
        public let samples: Int
        /// The stream's sample rate.
        public let sampleRate: Int

        /// How long the frames play, in seconds.
        public var seconds: Double { Double(samples) / Double(sampleRate) }
        /// Their average bitrate, in kbit/s.
        public var kbps: Int { Int((Double(bytes * 8) / seconds / 1_000).rounded()) }
        /// The bitrate a stream is told, when the chain is long enough to trust (``framesToSniff``) and the
        /// average plausible (8 to 1,000 kbit/s).
        public var measuredKbps: Int? { frames >= framesToSniff && (8...1_000).contains(kbps) ? kbps : nil }
        /// The bitrate the encoder was set to, as near as the chain tells: its AAC's bitrate, headers left out,
        /// told as the usual setting it is near (``NominalBitrate``) — 96 for a stream measured at 99 or 100.
        package var nominalKbps: Int {
            NominalBitrate.of(Int((Double(payload * 8) / seconds / 1_000).rounded()))
        }

        /// The chain in `bytes`, which may start anywhere: the first header followed by another of the same stream
        /// exactly where its length says starts it, and every frame that follows it in the chunk counts. `nil` when
        /// no header is followed so.
        public init?(_ bytes: some Collection<UInt8>) {
            let bytes = Array(bytes)
            for start in bytes.indices where bytes.count - start >= 2 * ADTSFrame.headerBytes {
                guard let first = ADTSFrame(bytes[start...]) else { continue }
                var (at, frames, length, samples, payload) = (start, 0, 0, 0, 0)
                while at + ADTSFrame.headerBytes <= bytes.count, let frame = ADTSFrame(bytes[at...]), frame.streamKey == first.streamKey,
                      at + frame.length <= bytes.count {
                    frames += 1
                    length += frame.length
                    payload += frame.length - frame.headerLength
                    samples += ADTSFrame.samples(seventh: bytes[at + 6])
                    at += frame.length
                }
                guard frames >= 2 else { continue }  // a header that no other follows: not the chain
                (self.frames, self.bytes, self.samples, self.sampleRate) = (frames, length, samples, first.sampleRate)
                self.payload = payload
                return
            }
            return nil
        }
    }

    /// The sample rates by index 0…12 (13–15 are reserved or escape codes, which ADTS does not use).
    private static let sampleRates = [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350]
}
