/// Takes the framing off an HTTP/1.1 chunked body (RFC 9112 §7.1) as it arrives, in pieces of any size: what a
/// source sends with `Transfer-Encoding: chunked` (`curl -T -`, a PUT of unknown length), and what an application
/// answers a call with when it writes its body before knowing its length (``HTTPCall``). Each chunk is its size in
/// hex (and extensions after `;`), CRLF, the bytes, CRLF; a chunk of size 0, then trailer lines and an empty line,
/// end the body.
///
/// Bounded: a size or trailer line longer than ``maxLineBytes`` is an error, and so is a size that is not hex or
/// is too large (``Failure/sizeTooLarge(_:)``); the payload is handed on without being copied.
package struct ChunkedDecoder {
    /// Why a body is not chunked as it claims.
    package enum Failure: Error, Equatable, CustomStringConvertible {
        /// A chunk's size line is not a hex number.
        case badSize(String)
        /// A chunk's size line is a hex number too large for a chunk (more than 15 hex digits after its leading
        /// zeros: past 2⁶⁰ bytes, `7fffffffffffffff`), which no body can hold.
        case sizeTooLarge(String)
        /// A chunk's bytes were not followed by CRLF.
        case missingLineEnd
        /// A size or trailer line went on past ``maxLineBytes``.
        case lineTooLong

        package var description: String {
            switch self {
            case .badSize(let line): "a chunk size that is no hex number: '\(line)'"
            case .sizeTooLarge(let line): "a chunk size too large: '\(line)'"
            case .missingLineEnd: "a chunk not followed by CRLF"
            case .lineTooLong: "a chunk size or trailer line longer than \(ChunkedDecoder.maxLineBytes) bytes"
            }
        }
    }

    /// The longest size or trailer line taken.
    package static let maxLineBytes = 4096

    private enum State {
        /// Reading a size line (the bytes so far).
        case size([UInt8])
        /// Inside a chunk: this many payload bytes to go.
        case data(Int)
        /// After a chunk's bytes: its CRLF (`true` once the CR is in).
        case dataEnd(sawCR: Bool)
        /// After the last chunk: trailer lines up to an empty one (the bytes of the current line).
        case trailer([UInt8])
        /// The body has ended; what follows is ignored.
        case done
    }

    private var state = State.size([])

    /// A decoder at the start of a body.
    package init() {}

    /// Whether the last chunk and its trailer have come: the body is complete.
    package var finished: Bool {
        if case .done = state { return true }
        return false
    }

    /// The payload in `bytes`, as slices of it (none copied), in order.
    package mutating func decode(_ bytes: ArraySlice<UInt8>) throws(Failure) -> [ArraySlice<UInt8>] {
        var payload: [ArraySlice<UInt8>] = []
        try decode(bytes, into: &payload)
        return payload
    }

    /// Adds the payload in `bytes` to `payload`, as slices of it (none copied), in order — when the body breaks
    /// its framing, the payload of the chunks before the break is in `payload` all the same: a source's audio that
    /// came whole is not lost with the bytes after it.
    package mutating func decode(_ bytes: ArraySlice<UInt8>, into payload: inout [ArraySlice<UInt8>]) throws(Failure) {
        var index = bytes.startIndex
        while index < bytes.endIndex {
            switch state {
            case .data(let remaining):
                let end = min(bytes.endIndex, index + remaining)
                payload.append(bytes[index..<end])
                state = remaining == end - index ? .dataEnd(sawCR: false) : .data(remaining - (end - index))
                index = end
            case .dataEnd(let sawCR):
                let byte = bytes[index]
                index += 1
                if byte == UInt8(ascii: "\r"), !sawCR {
                    state = .dataEnd(sawCR: true)
                } else if byte == UInt8(ascii: "\n") {
                    state = .size([])
                } else {
                    throw .missingLineEnd
                }
            case .size(var line):
                guard try Self.read(line: &line, from: bytes, at: &index) else {
                    state = .size(line)
                    return
                }
                let size = try Self.size(of: line)
                state = size == 0 ? .trailer([]) : .data(size)
            case .trailer(var line):
                guard try Self.read(line: &line, from: bytes, at: &index) else {
                    state = .trailer(line)
                    return
                }
                state = line.isEmpty || line == [UInt8(ascii: "\r")] ? .done : .trailer([])
            case .done:
                return
            }
        }
        return
    }

    /// Adds to `line` the bytes of `bytes` from `index` up to the next LF, within ``maxLineBytes``: `true` when the
    /// LF came (`index` is then past it; `line` holds the line without it), `false` when `bytes` ended first.
    private static func read(line: inout [UInt8], from bytes: ArraySlice<UInt8>, at index: inout Int) throws(Failure) -> Bool {
        let newline = bytes[index...].firstIndex(of: UInt8(ascii: "\n"))
        line += bytes[index..<(newline ?? bytes.endIndex)]
        guard line.count <= maxLineBytes else { throw .lineTooLong }
        index = newline.map { $0 + 1 } ?? bytes.endIndex
        return newline != nil
    }

    /// The size a size line states: hex digits (blanks around them allowed), then optional extensions after `;`,
    /// and a CR.
    private static func size(of line: [UInt8]) throws(Failure) -> Int {
        let blank: (UInt8) -> Bool = { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }
        var digits = line.prefix { $0 != UInt8(ascii: ";") && $0 != UInt8(ascii: "\r") }.drop(while: blank)
        while let last = digits.last, blank(last) { digits.removeLast() }
        let shown = String(decoding: line.prefix { $0 != UInt8(ascii: "\r") }.prefix(64), as: UTF8.self)
        guard !digits.isEmpty, digits.allSatisfy({ Character(Unicode.Scalar($0)).isHexDigit }) else { throw .badSize(shown) }
        // At most 15 significant digits: an Int holds them, and no body is longer (leading zeros are no size).
        let significant = digits.drop { $0 == UInt8(ascii: "0") }
        guard significant.count <= 15 else { throw .sizeTooLarge(shown) }
        return significant.reduce(0) { $0 << 4 | Int(Character(Unicode.Scalar($1)).hexDigitValue ?? 0) }
    }
}
