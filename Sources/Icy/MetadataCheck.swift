/// What is wrong with a metadata block that does not follow the protocol.
///
/// A well-formed block is `16·k` bytes: text made of `Key='value';` fields back to back, then NUL bytes up
/// to the end. The segment parser checks every block it reads (``Segment/fault``) and still hands over the
/// text, so a relay can decide what to trust and say what it saw.
public enum MetadataFault: Sendable, Equatable {
    /// The text is not `Key='value';` fields back to back: the block holds something else (binary bytes,
    /// often audio read as metadata because an earlier length byte was wrong).
    case malformedText
    /// The text is readable `Key=value;` fields, but its values are not between quotes (`StreamTitle=Song;`),
    /// as a few home-made servers write them. It is text, not audio: its fields are read all the same.
    case unquotedText
    /// The text is well-formed, but the bytes after it are not all NULs: a server that pads with whatever
    /// was left in its buffer. The text can be trusted; the padding cannot.
    case padding
    /// The length byte promised `declared` bytes, but the block — well-formed text and its NUL padding —
    /// ended after `actual`, and what followed was binary (audio). The parser read the block as `actual`
    /// bytes and the rest as the next segment's audio, so the framing stays right.
    case lengthLied(declared: Int, actual: Int)
}

extension MetadataFault: CustomStringConvertible {
    /// One line for a log: what was wrong with the block.
    public var description: String {
        switch self {
        case .malformedText: "metadata text is not Key='value'; fields"
        case .unquotedText: "metadata values are not between quotes (Key=value; rather than Key='value';)"
        case .padding: "metadata padding is not NUL bytes"
        case .lengthLied(let declared, let actual):
            "metadata length byte said \(declared) bytes but the block ended after \(actual); read the rest as audio"
        }
    }
}

extension Metadata {
    /// Whether `text` is well-formed metadata text: zero or more `Key='value';` fields back to back, with keys
    /// of letters, digits, `_` and `-`. A value may hold quotes and semicolons (`StreamTitle='Don't;Stop';`):
    /// it ends at the `';` followed by the end of the text or the next `Key='`. The last field may lack its
    /// `;`. Blanks (space, tab, CR, LF) may stand between fields and after the last, as some servers end a
    /// block's text with a line break. Text with a NUL byte is not well-formed (a NUL ends the text of a block).
    public static func isWellFormed(_ text: some Collection<UInt8>) -> Bool {
        if let answer = text.withContiguousStorageIfAvailable({ wellFormed($0) }) { return answer }
        return Array(text).withUnsafeBufferPointer { wellFormed($0) }
    }

    /// ``isWellFormed(_:)`` on contiguous bytes.
    static func wellFormed(_ text: UnsafeBufferPointer<UInt8>) -> Bool {
        let end = text.count
        var index = 0
        while index < end {
            index = blanksEnd(text, from: index)
            guard index < end else { break }
            let keyStart = index
            while index < end, isKeyByte(text[index]) { index += 1 }
            guard index > keyStart, index + 1 < end, text[index] == UInt8(ascii: "="), text[index + 1] == quote else { return false }
            index += 2
            var closed = false
            while index < end {
                let byte = text[index]
                guard byte != 0 else { return false }
                if byte == quote {
                    var after = index + 1
                    if after < end, text[after] == semicolon { after += 1 }
                    let next = blanksEnd(text, from: after)
                    if next == end || (after > index + 1 && startsField(text, at: next)) {
                        index = next  // the last value (its `;` may be missing), or one followed by a field
                        closed = true
                        break
                    }
                }
                index += 1
            }
            guard closed else { return false }
        }
        return true
    }

    /// Whether `text` — not well-formed — is still text made of fields with unquoted values, `Key=value;`
    /// back to back (blanks between them allowed): no control byte, and every part between `;` a key of
    /// letters, digits, `_` and `-` followed by `=`. Audio read as a block is not: it holds control bytes.
    static func unquoted(_ text: UnsafeBufferPointer<UInt8>) -> Bool {
        guard !text.isEmpty, !text.contains(where: { ($0 < 0x20 && !isBlank($0)) || $0 == 0x7F }) else { return false }
        var index = 0
        var fields = 0
        while index < text.count {
            index = blanksEnd(text, from: index)
            guard index < text.count else { break }
            let keyStart = index
            while index < text.count, isKeyByte(text[index]) { index += 1 }
            guard index > keyStart, index < text.count, text[index] == UInt8(ascii: "=") else { return false }
            fields += 1
            while index < text.count, text[index] != semicolon { index += 1 }
            index += 1
        }
        return fields > 0
    }

    /// Whether `Key='` begins at `index`.
    private static func startsField(_ text: UnsafeBufferPointer<UInt8>, at index: Int) -> Bool {
        var cursor = index
        while cursor < text.count, isKeyByte(text[cursor]) { cursor += 1 }
        return cursor > index && cursor + 1 < text.count && text[cursor] == UInt8(ascii: "=") && text[cursor + 1] == quote
    }

    /// Where the blanks (space, tab, CR, LF) that start at `index` end.
    private static func blanksEnd(_ text: UnsafeBufferPointer<UInt8>, from index: Int) -> Int {
        var cursor = index
        while cursor < text.count, isBlank(text[cursor]) { cursor += 1 }
        return cursor
    }

    private static func isBlank(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: " ") || byte == 0x09 || byte == 0x0A || byte == 0x0D
    }

    private static func isKeyByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "_"), UInt8(ascii: "-"): true
        default: false
        }
    }

    private static let quote = UInt8(ascii: "'")
    private static let semicolon = UInt8(ascii: ";")
}

/// How the segment parser judges one metadata block as it came off the wire (length byte excluded).
struct BlockCheck {
    /// What was wrong, or `nil` for a well-formed block.
    let fault: MetadataFault?
    /// Where the block's text ends (the first NUL, or the end).
    let textEnd: Int
    /// Where the block really ends: its declared length, or less when the length byte lied.
    let blockEnd: Int

    /// Checks `block` (the `16·k` bytes after a length byte), for a stream with `icy-metaint` `metaint`; with
    /// `trustingLength`, the length byte is taken as true whatever follows the text (see
    /// ``StreamReader/trustsLengthBytes``).
    ///
    /// When the block is not well-formed but its start is — well-formed text, NULs up to a 16-byte boundary —
    /// and what follows is binary rather than text (stale text in a server's buffer is harmless, audio
    /// is not), the length byte lied: the block ends at that boundary and the rest is audio. When enough
    /// of that audio is at hand, the next length byte is checked too, where the shorter block puts it.
    init(_ block: [UInt8], metaint: Int, trustingLength: Bool = false) {
        let count = block.count
        let textEnd = block.firstIndex(of: 0) ?? count
        let textIsGood = block.withUnsafeBufferPointer { Metadata.wellFormed(UnsafeBufferPointer(rebasing: $0[..<textEnd])) }
        let padEnd = block[textEnd...].firstIndex { $0 != 0 } ?? count
        if padEnd == count, textIsGood {
            self.textEnd = textEnd
            self.fault = nil
            self.blockEnd = count
            return
        }
        if !trustingLength, let end = Self.shorterBlock(block, textEnd: textEnd, textIsGood: textIsGood, padEnd: padEnd),
           Self.isBinary(block[end...]), Self.nextBlockFits(block[end...], metaint: metaint) {
            self.fault = .lengthLied(declared: count, actual: end)
            self.blockEnd = end
            self.textEnd = min(textEnd, end)
            return
        }
        self.textEnd = textEnd
        self.blockEnd = count
        if textIsGood {
            self.fault = .padding
        } else if padEnd == count, block.withUnsafeBufferPointer({ Metadata.unquoted(UnsafeBufferPointer(rebasing: $0[..<textEnd])) }) {
            self.fault = .unquotedText
        } else {
            self.fault = .malformedText
        }
    }

    /// The longest well-formed block (a multiple of 16 bytes, shorter than `block`) that `block` starts with
    /// and whose text has no control bytes: either the whole text and NULs up to the next boundary, or text
    /// cut at a boundary right after a `';`.
    private static func shorterBlock(_ block: [UInt8], textEnd: Int, textIsGood: Bool, padEnd: Int) -> Int? {
        let textLike = block.firstIndex { isControl($0) || $0 == 0 } ?? block.count
        if textLike == textEnd, textIsGood, textEnd > 0 {
            let boundary = (textEnd + 15) / 16 * 16
            if boundary <= padEnd, boundary < block.count { return boundary }
        }
        var end = min(textLike, block.count - 16) / 16 * 16
        while end >= 16 {
            if block[end - 2] == UInt8(ascii: "'"), block[end - 1] == UInt8(ascii: ";"),
               block.withUnsafeBufferPointer({ Metadata.wellFormed(UnsafeBufferPointer(rebasing: $0[..<end])) }) {
                return end
            }
            end -= 16
        }
        return nil
    }

    /// Whether a byte is a control byte other than NUL, tab, CR and LF.
    private static func isControl(_ byte: UInt8) -> Bool {
        (byte < 0x20 && byte != 0 && byte != 0x09 && byte != 0x0A && byte != 0x0D) || byte == 0x7F
    }

    /// Whether `bytes` start with binary data — a control byte other than NUL, tab, CR and LF among the first
    /// 64 — rather than text, such as a server's stale padding.
    private static func isBinary(_ bytes: ArraySlice<UInt8>) -> Bool {
        bytes.prefix(64).contains(where: isControl)
    }

    /// Whether, if `rest` starts the next segment's audio, the length byte after it (when `rest` reaches it)
    /// starts a block that is well-formed as far as `rest` goes.
    private static func nextBlockFits(_ rest: ArraySlice<UInt8>, metaint: Int) -> Bool {
        guard rest.count > metaint else { return true }
        let lengthAt = rest.startIndex + metaint
        let length = Int(rest[lengthAt]) * 16
        let available = rest[(lengthAt + 1)...].prefix(length)
        let textEnd = available.firstIndex(of: 0) ?? available.endIndex
        if available[textEnd...].contains(where: { $0 != 0 }) { return false }
        if textEnd == available.endIndex, available.count < length { return true }  // the text goes on past `rest`
        return Metadata.isWellFormed(available[..<textEnd])
    }
}
