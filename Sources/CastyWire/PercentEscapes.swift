/// `%XX` escapes, as URLs write bytes they cannot hold as they are: a mount's name that is not ASCII, a title sent
/// in a query, a password with an `@` in a station's URL.
package enum PercentEscapes {
    /// The bytes of `text` with each `%XX` replaced by its byte (and, with `plusIsSpace` — a query's form
    /// encoding —, each `+` by a space). A `%` not followed by two hex digits is kept as it is; with `strict`, it
    /// makes the whole `nil` instead.
    package static func unescaped(_ text: Substring, plusIsSpace: Bool = false, strict: Bool = false) -> [UInt8]? {
        var bytes: [UInt8] = []
        let utf8 = text.utf8
        var index = utf8.startIndex
        while index < utf8.endIndex {
            let byte = utf8[index]
            if byte == UInt8(ascii: "+"), plusIsSpace {
                bytes.append(UInt8(ascii: " "))
            } else if byte == UInt8(ascii: "%") {
                let second = utf8.index(after: index)
                if let high = hex(utf8, second), let low = hex(utf8, utf8.index(after: second)) {
                    bytes.append(high << 4 | low)
                    index = utf8.index(second, offsetBy: 2)
                    continue
                }
                if strict { return nil }
                bytes.append(byte)
            } else {
                bytes.append(byte)
            }
            index = utf8.index(after: index)
        }
        return bytes
    }

    /// The value of the hex digit at `index`, if one is there.
    private static func hex(_ utf8: Substring.UTF8View, _ index: Substring.UTF8View.Index) -> UInt8? {
        guard index < utf8.endIndex else { return nil }
        switch utf8[index] {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return utf8[index] - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return utf8[index] - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return utf8[index] - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
