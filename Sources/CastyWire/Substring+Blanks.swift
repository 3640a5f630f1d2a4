extension Substring {
    /// Without the blanks (spaces and tabs) around it: a header's value (RFC 9112, 5: `x-record: true ` is `true`),
    /// a playlist's line.
    package var withoutBlanks: Substring {
        let blank: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        var value = drop(while: blank)
        while let last = value.last, blank(last) { value = value.dropLast() }
        return value
    }
}
