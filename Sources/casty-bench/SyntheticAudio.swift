/// Compressed audio made up for the benchmarks: frames with valid headers back to back, the way an encoder
/// sends them, and random bodies (so that 0xFF bytes occur inside frames as they do in real audio). Nothing
/// decodes them; the frame chain and the cutter only read the headers.
enum SyntheticAudio {
    enum Format: String {
        case mp3, adts

        /// The `Content-Type` a source sends for it.
        var contentType: String { self == .mp3 ? "audio/mpeg" : "audio/aac" }
    }

    /// Bytes per second at 128 kbit/s.
    static let bytesPerSecond = 16_000

    /// `count` bytes or more of 128 kbit/s 44.1 kHz stereo audio: MPEG-1 Layer III frames (417 or 418 bytes, the
    /// padding bit set on the frames that keep the average at exactly 128 kbit/s) or AAC-LC ADTS frames without
    /// CRC (371 or 372 bytes, 1024 samples each). Ends on a frame boundary.
    static func stream(_ format: Format, bytes count: Int, seed: UInt64 = 0x6361_7374_7962) -> [UInt8] {
        var random = SplitMix(seed)
        var stream: [UInt8] = []
        stream.reserveCapacity(count + 2048)
        // Bytes per frame, as a fraction: MP3 1152 samples × 16,000 B/s ÷ 44,100 Hz; ADTS 1024 samples.
        let samples = format == .mp3 ? 1152 : 1024
        var frame = 0
        while stream.count < count {
            let before = frame * samples * bytesPerSecond / 44_100
            let after = (frame + 1) * samples * bytesPerSecond / 44_100
            let length = after - before
            switch format {
            case .mp3:
                // FF FB: sync, MPEG-1, Layer III, no CRC. 9x: 128 kbit/s, 44.1 kHz, padding bit 0x02. 00: stereo.
                let padded = length == 418
                stream += [0xFF, 0xFB, padded ? 0x92 : 0x90, 0x00]
                for _ in 4..<length { stream.append(random.byte()) }
            case .adts:
                // FF F1: sync, MPEG-4, layer 0, no CRC. Profile LC (1), 44.1 kHz (index 4), 2 channels; then the
                // 13-bit length, buffer fullness 0x7FF (VBR) and one raw data block.
                stream += [
                    0xFF, 0xF1, 0x50, 0x80 | UInt8(length >> 11), UInt8((length >> 3) & 0xFF),
                    UInt8((length & 0x07) << 5) | 0x1F, 0xFC,
                ]
                for _ in 7..<length { stream.append(random.byte()) }
            }
            frame += 1
        }
        return stream
    }

    /// A small, fast, seeded generator, so every run feeds the same bytes.
    struct SplitMix {
        var state: UInt64
        var word: UInt64 = 0, left = 0

        init(_ seed: UInt64) { state = seed }

        mutating func byte() -> UInt8 {
            if left == 0 {
                state &+= 0x9E37_79B9_7F4A_7C15
                var z = state
                z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
                z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
                word = z ^ (z >> 31)
                left = 8
            }
            left -= 1
            let byte = UInt8(truncatingIfNeeded: word)
            word >>= 8
            return byte
        }
    }
}
