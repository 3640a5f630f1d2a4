/// The ID3 tag that starts every HLS segment of packed audio (RFC 8216 §3.4).
///
/// MP3 and ADTS frames carry no timestamps, so a player that downloads segment 1,234 of a live playlist could
/// not tell where it sits on the timeline. Packed audio solves this with an ID3v2 tag in front of the frames,
/// holding a `PRIV` frame whose owner is `com.apple.streaming.transportStreamTimestamp` and whose data is the
/// presentation time of the first frame — a 33-bit count of a 90 kHz clock, written as 8 bytes big-endian, as in
/// MPEG-TS. Decoders skip ID3 tags, so a segment is still a valid MP3 (or ADTS) file on its own.
///
/// Casty adds a `TIT2` frame (title) with what is playing, so players that show ID3 titles show the station's.
///
/// ```
/// "ID3" 04 00 00 [size: 4 syncsafe bytes]                       ID3v2.4 header, no flags
///   "PRIV" [size: 4 syncsafe] 00 00  "com.apple…Timestamp" 00  [8-byte timestamp]
///   "TIT2" [size: 4 syncsafe] 00 00  03 [UTF-8 title]            (only when there is a title)
/// ```
enum ID3Tag {
    /// The owner of the timestamp's `PRIV` frame.
    static let timestampOwner = "com.apple.streaming.transportStreamTimestamp"
    /// Timestamps wrap at 33 bits, like MPEG-TS presentation times.
    static let timestampModulus: UInt64 = 1 << 33
    /// The longest title put in a tag, in bytes (longer ones are cut at a character boundary).
    static let maxTitleBytes = 1024

    /// The tag for a segment whose first frame plays at `timestamp` (90 kHz ticks, taken modulo 2³³), with
    /// `title` if there is one.
    static func segmentTag(timestamp: UInt64, title: String?) -> [UInt8] {
        var body = frame("PRIV", Array(timestampOwner.utf8) + [0] + bigEndian(timestamp % timestampModulus))
        if let title, !title.isEmpty {
            body += frame("TIT2", [3] + shortened(Array(title.utf8)))
        }
        return Array("ID3".utf8) + [4, 0, 0] + syncsafe(body.count) + body
    }

    /// Reads the timestamp back from the start of `bytes` (a segment), or `nil` when it does not start with
    /// a tag holding one: what a player does, and what the tests check.
    static func timestamp(in bytes: some Collection<UInt8>) -> UInt64? {
        let bytes = Array(bytes.prefix(4_096))
        guard bytes.count >= 10, bytes[0] == 0x49, bytes[1] == 0x44, bytes[2] == 0x33 else { return nil }
        let end = min(bytes.count, 10 + unsyncsafe(bytes[6..<10]))
        var index = 10
        let owner = Array(timestampOwner.utf8) + [0]
        while index + 10 <= end {
            let id = String(decoding: bytes[index..<index + 4], as: UTF8.self)
            let size = unsyncsafe(bytes[index + 4..<index + 8])
            let data = index + 10
            guard size >= 0, data + size <= end else { return nil }
            if id == "PRIV", size == owner.count + 8, Array(bytes[data..<data + owner.count]) == owner {
                return bytes[data + owner.count..<data + size].reduce(0) { $0 << 8 | UInt64($1) }
            }
            index = data + size
        }
        return nil
    }

    /// One ID3v2.4 frame: its id, its size (syncsafe), no flags, then its data.
    private static func frame(_ id: String, _ data: [UInt8]) -> [UInt8] {
        Array(id.utf8) + syncsafe(data.count) + [0, 0] + data
    }

    /// A size in ID3v2.4's syncsafe form: 4 bytes of 7 bits each, so no byte of it looks like an MPEG sync.
    static func syncsafe(_ value: Int) -> [UInt8] {
        [21, 14, 7, 0].map { UInt8((value >> $0) & 0x7F) }
    }

    private static func unsyncsafe(_ bytes: ArraySlice<UInt8>) -> Int {
        bytes.reduce(0) { $0 << 7 | Int($1 & 0x7F) }
    }

    private static func bigEndian(_ value: UInt64) -> [UInt8] {
        stride(from: 56, through: 0, by: -8).map { UInt8((value >> UInt64($0)) & 0xFF) }
    }

    /// `title` as HLS carries it, in each segment's tag and after the playlist's `#EXTINF`: at most
    /// ``maxTitleBytes`` bytes of UTF-8, cut at a character boundary — a 5,000-character title would otherwise make
    /// each reload of a live playlist ten times its size.
    static func shortened(title: String) -> String {
        String(decoding: shortened(Array(title.utf8)), as: UTF8.self)
    }

    /// The title's bytes, cut at a character boundary if longer than ``maxTitleBytes``.
    private static func shortened(_ bytes: [UInt8]) -> [UInt8] {
        guard bytes.count > maxTitleBytes else { return bytes }
        // The first byte left out, if it continues a character, cuts that character: it is left out whole.
        var end = maxTitleBytes
        while end > 0, bytes[end] & 0xC0 == 0x80 { end -= 1 }
        return Array(bytes[..<end])
    }
}
