/// The header of an ID3v2 tag: the title, artist and cover art an MP3 file carries before its first frame (and a
/// source that streams files as they are — `ffmpeg -c copy`, `curl -T song.mp3`, a playlist of files — sends
/// before each file's frames). Decoders skip it; so does a ``FrameChain``.
///
/// ```
/// "ID3"  major  minor  flags  size (4 bytes of 7 bits: "syncsafe")   then the body; flag 0x10: a 10-byte footer
/// ```
///
/// The size is syncsafe so that no byte of it looks like an MPEG sync (`0xFF`); the versions are never `0xFF`.
package enum ID3v2Header {
    /// The header's length, which is also the footer's.
    package static let headerBytes = 10

    /// The length of the tag whose header starts at `index` — header, body and footer —, or `nil` when no tag
    /// header starts there or it is not all in `bytes`.
    package static func tagLength(_ bytes: ArraySlice<UInt8>, at index: Int) -> Int? {
        guard index >= bytes.startIndex, index + headerBytes <= bytes.endIndex, bytes[index] == 0x49, bytes[index + 1] == 0x44,
              bytes[index + 2] == 0x33, bytes[index + 3] != 0xFF, bytes[index + 4] != 0xFF else { return nil }
        let size = bytes[(index + 6)..<(index + 10)]
        guard size.allSatisfy({ $0 < 0x80 }) else { return nil }
        let footer = bytes[index + 5] & 0x10 != 0 ? headerBytes : 0
        return headerBytes + size.reduce(0) { $0 << 7 | Int($1) } + footer
    }

    /// Whether a tag header begins at `index`: `ID3` there (its length may be in bytes not come yet).
    package static func starts(_ bytes: ArraySlice<UInt8>, at index: Int) -> Bool {
        index + 3 <= bytes.endIndex && bytes[index] == 0x49 && bytes[index + 1] == 0x44 && bytes[index + 2] == 0x33
    }

    /// Whether the bytes from `index` to the end of `bytes`, fewer than a header, are how a tag header begins
    /// (`I`, `ID`, `ID3`, …): more bytes are needed to tell.
    package static func mayBegin(_ bytes: ArraySlice<UInt8>, at index: Int) -> Bool {
        let start = bytes[index...].prefix(headerBytes)
        guard start.count < headerBytes else { return false }
        let magic: [UInt8] = [0x49, 0x44, 0x33]
        return zip(start, magic).allSatisfy { $0 == $1 }
    }
}
