/// `Content-Length` as RFC 9110 §8.6 writes it: one or more decimal digits and nothing else — no sign, no
/// blanks inside, no list. Anything else (`-1`, `+5`, `0x10`, `5, 5`) is not a length, and an answer that gives
/// one is not believed: its body is never cut by it.
package enum ContentLength {
    /// The length `text` says, or `nil` if it is not one: 1 to 18 ASCII digits (any length a body may have, and
    /// never one that overflows).
    package static func value(_ text: String) -> Int? {
        let digits = text.utf8
        guard (1...18).contains(digits.count), digits.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) else { return nil }
        return Int(text)
    }
}
