/// The AAC decoder configuration (MPEG-4 AudioSpecificConfig) an RTMP publisher sends once, in its AAC sequence
/// header, before any audio: which AAC, the sample rate, the channels. Raw AAC frames carry none of it, so it
/// is what turns each of them into an ADTS frame a player can decode on its own.
///
/// ```
/// 5 bits  audio object type (2 = AAC LC; 31 = escape: 6 more bits + 32)
/// 4 bits  sampling frequency index (15 = escape: 24 bits of frequency follow, which ADTS cannot carry)
/// 4 bits  channel configuration
/// [HE-AAC (5) or HE-AAC v2 (29) signalled explicitly: 4 bits extension frequency index, 5 bits core object type]
/// ```
package struct AudioSpecificConfig: Sendable, Equatable {
    /// The audio object type of the core coder: 1 Main, 2 LC, 3 SSR, 4 LTP (what ADTS's 2-bit profile holds).
    package let objectType: Int
    /// The sampling frequency index (0 = 96 kHz … 4 = 44.1 kHz … 11 = 8 kHz, 12 = 7.35 kHz).
    package let frequencyIndex: Int
    /// The channel configuration: 1 mono, 2 stereo, … (0: in the stream itself).
    package let channels: Int

    /// Reads a config, or says why it cannot be read (``RTMPError/badAudioSpecificConfig(_:)``: cut short, a reserved
    /// sampling frequency index) or why ADTS cannot carry the AAC it describes (``RTMPError/unsupportedAAC(_:)``:
    /// an audio object type ADTS's profile has no room for, a sample rate given explicitly).
    package init(_ bytes: ArraySlice<UInt8>) throws(RTMPError) {
        var bits = BitReader(bytes)
        func read(_ count: Int) throws(RTMPError) -> Int {
            guard let value = bits.read(count) else { throw .badAudioSpecificConfig("cut short") }
            return value
        }
        var objectType = try read(5)
        if objectType == 31 { objectType = 32 + (try read(6)) }
        let frequencyIndex = try read(4)
        guard frequencyIndex != 15 else { throw .unsupportedAAC("a sample rate given explicitly, sampling frequency index 15") }
        guard frequencyIndex < 13 else { throw .badAudioSpecificConfig("reserved sampling frequency index \(frequencyIndex)") }
        let channels = try read(4)
        if objectType == 5 || objectType == 29 {
            // Explicit HE-AAC: the core is described after the SBR extension's frequency; ADTS carries the core
            // (decoders find the SBR data in the frames themselves).
            _ = try read(4)
            objectType = try read(5)
        }
        guard (1...4).contains(objectType) else { throw .unsupportedAAC("audio object type \(objectType)") }
        self.objectType = objectType
        self.frequencyIndex = frequencyIndex
        self.channels = channels
    }

    /// The 7-byte ADTS header (no CRC) for a raw AAC frame of `payloadBytes` bytes, or `nil` when the frame is
    /// too long for ADTS's 13-bit length.
    package func adtsHeader(payloadBytes: Int) -> [UInt8]? {
        let length = payloadBytes + 7
        guard length <= 8191 else { return nil }
        return [
            0xFF, 0xF1,  // sync, MPEG-4, layer 0, no CRC
            UInt8((objectType - 1) << 6 | frequencyIndex << 2 | channels >> 2),
            UInt8((channels & 3) << 6 | length >> 11),
            UInt8(length >> 3 & 0xFF),
            UInt8((length & 7) << 5 | 0x1F),  // buffer fullness 0x7FF: variable bitrate
            0xFC,  // one raw data block
        ]
    }
}

/// Reads bits from the front of some bytes, most significant first.
struct BitReader {
    private let bytes: ArraySlice<UInt8>
    private var position = 0

    init(_ bytes: ArraySlice<UInt8>) {
        self.bytes = bytes
    }

    /// The next `count` bits (at most 32), or `nil` when the bytes run out.
    mutating func read(_ count: Int) -> Int? {
        guard position + count <= bytes.count * 8 else { return nil }
        var value = 0
        for _ in 0..<count {
            let byte = bytes[bytes.startIndex + position / 8]
            value = value << 1 | Int(byte >> (7 - UInt8(position % 8)) & 1)
            position += 1
        }
        return value
    }
}
