/// What a `Range: bytes=…` header asks of a body of known length (RFC 9110 §14): the whole body, one part of
/// it, or nothing it has.
///
/// Only single ranges are served: `bytes=0-499`, `bytes=500-` and the suffix form `bytes=-500`. A header that
/// is not a byte range, names several ranges, or is malformed is ignored — the whole body is sent with `200`,
/// which RFC 9110 allows — so a player never fails on a form it did not need. A well-formed range that starts
/// past the end is ``unsatisfiable`` (`416`). Pure: no I/O.
enum ByteRange: Equatable {
    /// No usable range: send the whole body (`200`).
    case whole
    /// These bytes of the body (`206 Partial Content`).
    case part(Range<Int>)
    /// The range starts past the end of the body (`416 Range Not Satisfiable`).
    case unsatisfiable

    /// What `header` (the `Range` value, if any) asks of a body of `length` bytes.
    init(header: String?, length: Int) {
        guard let header else { self = .whole; return }
        let trimmed = Substring(header).trimmingSpaces
        guard trimmed.lowercased().hasPrefix("bytes="), !trimmed.contains(",") else { self = .whole; return }
        let spec = trimmed.dropFirst("bytes=".count)
        let ends = spec.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        guard ends.count == 2 else { self = .whole; return }
        let first = ends[0].trimmingSpaces, last = ends[1].trimmingSpaces
        switch (Self.number(first), Self.number(last)) {
        case (nil, let suffix?) where first.isEmpty:
            // The last `suffix` bytes.
            guard suffix > 0, length > 0 else { self = .unsatisfiable; return }
            self = .part(max(0, length - suffix)..<length)
        case (let start?, nil) where last.isEmpty:
            self = start < length ? .part(start..<length) : .unsatisfiable
        case (let start?, let end?) where start <= end:
            self = start < length ? .part(start..<(end >= length - 1 ? length : end + 1)) : .unsatisfiable
        default:
            self = .whole
        }
    }

    /// A decimal count of bytes, or `nil`. One of more than 18 digits is past any body: read as `Int.max` (no
    /// overflow), so that `bytes=99999999999999999999-` is `416` like any other start past the end.
    private static func number(_ text: Substring) -> Int? {
        guard !text.isEmpty, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        return text.count <= 18 ? Int(text) : Int.max
    }
}
