/// What a stream that holds no MP3 or ADTS frames seems to be, from the signature its first bytes carry — so
/// that a source or a station sending Ogg, FLAC or a web page where MP3 was announced is told so in one log
/// line, instead of "no frames".
///
/// Only containers Casty does not cut are named: each is known by the magic bytes its format begins with
/// (Ogg's `OggS` page, FLAC's `fLaC`, RIFF/WAVE, an EBML header for Matroska/WebM, an MP4 `ftyp` box, `FLV`).
package enum AudioSignature {
    /// A short name for what `bytes` (the start of a stream) seem to be, or `nil` when nothing is recognised.
    package static func name(of bytes: ArraySlice<UInt8>) -> String? {
        let start = bytes.prefix(12).map { $0 }
        func begins(_ text: String, at offset: Int = 0) -> Bool {
            let magic = Array(text.utf8)
            return start.count >= offset + magic.count && Array(start[offset..<offset + magic.count]) == magic
        }
        if begins("OggS") { return "Ogg" }
        if begins("fLaC") { return "FLAC" }
        if begins("RIFF"), begins("WAVE", at: 8) { return "WAV" }
        if start.starts(with: [0x1A, 0x45, 0xDF, 0xA3]) { return "Matroska/WebM" }
        if begins("ftyp", at: 4) { return "MP4" }
        if begins("FLV") { return "FLV" }
        return isText(bytes) ? text : nil
    }

    /// The name of a stream that begins as text does (``isText(_:)``).
    package static let text = "text (a web page or JSON)"

    /// Whether `bytes` (the start of a stream) begin as a web page or JSON does: `<` or `{`, after blanks. No audio
    /// format begins so: an error page a server sends under the stream's type, which no player can play.
    package static func isText(_ bytes: ArraySlice<UInt8>) -> Bool {
        let first = bytes.prefix(64).first { $0 != 0x20 && $0 != 0x09 && $0 != 0x0D && $0 != 0x0A }
        return first == UInt8(ascii: "<") || first == UInt8(ascii: "{")
    }
}
