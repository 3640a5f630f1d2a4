/// The bit reservoir of MP3 (Layer III), and what a relay must do about it where it joins two streams.
///
/// A Layer III frame is not self-contained. After its header (and a 2-byte CRC when the header's protection bit is
/// 0) comes its *side information*: how the frame's two granules are coded — how many bits of Huffman code each
/// channel takes (`part2_3_length`), how loud it is (`global_gain`), which tables it uses. The coded audio itself,
/// the *main data*, follows — but not necessarily in the same frame. Every frame has a fixed length set by the
/// bitrate, while a loud passage needs more bits than a quiet one: so an encoder lets a frame start its main data
/// in the unused bytes at the end of the frames before it. The side information's first field, `main_data_begin`,
/// says how many bytes back from the end of the side information (not counting headers and side information of
/// the frames in between) the main data begins:
///
/// ```
///  frame n−1                                   frame n
///  [hdr][side info][ main data of n−1 | main…  ][hdr][side info][ …data of n | main data of n+1 … ]
///                                     ◄────── main_data_begin of n ──────►
/// ```
///
/// Main data follow one another: a frame's begins where the one before's ended, or later — never earlier. So a
/// decoder need not keep every data area (the bytes after the side information) it read: mpg123 keeps what the
/// frame before it could reach, that frame's `main_data_begin` bytes and its own data area, and looks back into
/// them. Where a relay joins two streams — an encoder that reconnected, a listener moved to a
/// fallback and back, a reconnect to an upstream — the first frames of the new stream point back into bytes that
/// are now the *old* stream's (or zeros and a tag a splice put there): the decoder decodes whatever is there, and
/// says so (mpg123: `dequantization failed!`), or plays a burst of noise. A decoder that starts from nothing knows
/// it has no reservoir and skips such frames; one that goes on across a join cannot tell.
///
/// So after a join, a frame whose main data begins before the join is *muted*: its side information is zeroed
/// (``muted(_:mainDataBegin:)``), so that it codes no bits at all and decodes as silence (one frame: 26 ms at
/// 44.1 kHz), but its data area is kept, since the main data of the frames after it may begin there — and its
/// `main_data_begin` points at the join, so that a decoder keeps the data areas of every frame since (a muted
/// frame whose main data began in its own data area would let mpg123 forget those before it). ``ReservoirJoin``
/// walks the frames after a join and mutes those that must be.
extension MP3Frame {
    /// The size of the CRC-16 that follows the header of a protected frame (``isProtected(_:)``).
    public static let crcBytes = 2

    /// The bytes of side information after the header (and CRC) of a Layer III frame: 17 for mono and 32 for two
    /// channels in MPEG-1 (two granules), 9 and 17 in MPEG-2 and 2.5 (one granule); 0 for Layers I and II, which have
    /// none.
    public var sideInformationBytes: Int {
        guard layer == .layer3 else { return 0 }
        let mono = channelMode == .mono
        return version == .mpeg1 ? (mono ? 17 : 32) : (mono ? 9 : 17)
    }

    /// Whether the frame whose header's second byte is `b1` carries a CRC-16 after its header: the protection bit
    /// (bit 0) is 0.
    public static func isProtected(_ b1: UInt8) -> Bool { b1 & 1 == 0 }

    /// `main_data_begin` of the Layer III frame that starts `frame` (its header and side information at least):
    /// how many bytes of the data areas of the frames before it its main data begins, back from the end of its side
    /// information — 9 bits in MPEG-1 (up to 511 bytes), 8 in MPEG-2 and 2.5. `nil` when `frame` does not start with a
    /// Layer III header, or ends before the field.
    public static func mainDataBegin(of frame: ArraySlice<UInt8>) -> Int? {
        guard let header = MP3Frame(frame), header.layer == .layer3 else { return nil }
        let at = frame.startIndex + headerBytes + (isProtected(frame[frame.startIndex + 1]) ? crcBytes : 0)
        guard at + 2 <= frame.endIndex else { return nil }
        return header.version == .mpeg1 ? Int(frame[at]) << 1 | Int(frame[at + 1] >> 7) : Int(frame[at])
    }

    /// The bytes of a frame of this header that follow its side information, `protected` or not (it has a CRC): its
    /// data area, where its own main data and that of later frames lie.
    public func dataAreaBytes(protected: Bool) -> Int {
        length - Self.headerBytes - (protected ? Self.crcBytes : 0) - sideInformationBytes
    }

    /// `frame` (a Layer III frame from its header, whole or at least up to the end of its side information) muted:
    /// its side information all zeros — for every granule and channel `part2_3_length` 0 (no bits of audio),
    /// `big_values` 0, `global_gain` 0 — but `main_data_begin`, set to `mainDataBegin` (where its no bits of main
    /// data are, which the next frame's may not begin before), so that a decoder reads no main data for it and
    /// decodes silence; its CRC, if it has one, computed anew (``crc16(_:)``). The data area is left as it is: the
    /// main data of the frames after it may begin there. `frame` as it is when it is not such a frame.
    public static func muted(_ frame: ArraySlice<UInt8>, mainDataBegin: Int = 0) -> [UInt8] {
        var bytes = Array(frame)
        guard let header = MP3Frame(frame), header.layer == .layer3 else { return bytes }
        let protected = isProtected(bytes[1])
        let start = headerBytes + (protected ? crcBytes : 0)
        let end = min(bytes.count, start + header.sideInformationBytes)
        guard start + 2 <= end else { return bytes }
        for index in start..<end { bytes[index] = 0 }
        if header.version == .mpeg1 {
            let begin = min(mainDataBegin, 511)
            bytes[start] = UInt8(begin >> 1)
            bytes[start + 1] = UInt8(begin & 1) << 7
        } else {
            bytes[start] = UInt8(min(mainDataBegin, 255))
        }
        if protected, end == start + header.sideInformationBytes {
            // The CRC covers the header's last two bytes and the side information (ISO 11172-3 §2.4.3.1).
            let crc = crc16([bytes[2], bytes[3]] + bytes[start..<end])
            bytes[4] = UInt8(crc >> 8)
            bytes[5] = UInt8(crc & 0xFF)
        }
        return bytes
    }

    /// The CRC-16 of an MPEG audio frame over `bytes`: polynomial x¹⁶ + x¹⁵ + x² + 1 (0x8005), starting from
    /// 0xFFFF, most significant bit first, nothing reflected or inverted. A protected frame stores it big-endian
    /// right after its header, computed over the header's bytes 2 and 3 and then the side information.
    public static func crc16(_ bytes: some Sequence<UInt8>) -> UInt16 {
        var crc: UInt16 = 0xFFFF
        for byte in bytes {
            crc ^= UInt16(byte) << 8
            for _ in 0..<8 { crc = crc & 0x8000 != 0 ? (crc << 1) ^ 0x8005 : crc << 1 }
        }
        return crc
    }
}

/// The walk over the first frames of an MPEG audio stream joined to another, that mutes those a decoder cannot
/// decode: their main data begin in bytes before the join (see the extension of ``MP3Frame`` on the bit reservoir).
///
/// It counts ``available``: the bytes of data area of the frames of the new stream passed so far — all a decoder
/// has of the new stream to look back into. A frame whose `main_data_begin` is within it is decodable, and so is
/// every frame after it (each one's main data begins after the one before's): the join is over. A frame that
/// reaches further back is muted — its `main_data_begin` set to ``available``, the join — and its data area
/// counted. A stream's first frame has a `main_data_begin` of 0, so a stream joined at its start loses nothing; one
/// joined in the middle, a frame or two at most (a `main_data_begin` reaches 511 bytes back; a 128 kbit/s frame's
/// data area holds 381).
///
/// ```
///  join │ begins 420 back        │ begins 400 back        │ begins 250 back        │ …
///       │ 0 available: muted,    │ 381 available: muted,  │ 762: decodable         │ as they are
///       │ begins 0 back          │ begins 381 back        │                        │
/// ```
///
/// Frames of Layers I and II, which have no reservoir, end the join at once.
public struct ReservoirJoin: Sendable, Equatable {
    /// The bytes of data area of the frames passed since the join.
    public private(set) var available = 0
    /// Whether a decodable frame came: this one and every frame after it are passed as they are.
    public private(set) var isOver = false

    /// A join, before the first frame after it.
    public init() {}

    /// `frame` — the next frame after the join, from its header: the whole frame, or at least its header and side
    /// information — muted (``MP3Frame/muted(_:mainDataBegin:)``) when its main data begins before the join; `nil`
    /// when it is to be passed as it is. Once a frame need not be muted (or cannot be told: not Layer III, or cut
    /// before its side information ends), the join is over, and no frame after it is muted.
    public mutating func muted(_ frame: ArraySlice<UInt8>) -> [UInt8]? {
        guard !isOver else { return nil }
        guard let begin = MP3Frame.mainDataBegin(of: frame), let header = MP3Frame(frame), begin > available else {
            isOver = true
            return nil
        }
        let protected = MP3Frame.isProtected(frame[frame.startIndex + 1])
        guard frame.count >= MP3Frame.headerBytes + (protected ? MP3Frame.crcBytes : 0) + header.sideInformationBytes else {
            isOver = true
            return nil
        }
        defer { available += header.dataAreaBytes(protected: protected) }
        return MP3Frame.muted(frame, mainDataBegin: available)
    }
}
