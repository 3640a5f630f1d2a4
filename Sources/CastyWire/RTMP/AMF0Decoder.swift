/// Reads AMF0 values (``AMF0Value``) from a message's bytes, within limits: nesting depth and the number of
/// values are bounded (``RTMPLimits``), and every length is checked against the bytes there are, so garbage
/// gives ``RTMPError/malformedAMF(_:at:)`` and never a crash or a large allocation.
package struct AMF0Decoder {
    private var reader: ByteReader
    private let limits: RTMPLimits
    private var values = 0

    /// A decoder at the start of `bytes`.
    package init(_ bytes: ArraySlice<UInt8>, limits: RTMPLimits = RTMPLimits()) {
        self.reader = ByteReader(bytes)
        self.limits = limits
    }

    /// Whether every byte was read.
    package var isAtEnd: Bool { reader.remaining == 0 }

    /// Every value in `bytes`, in order.
    package static func decodeAll(_ bytes: ArraySlice<UInt8>, limits: RTMPLimits = RTMPLimits()) throws(RTMPError) -> [AMF0Value] {
        var decoder = AMF0Decoder(bytes, limits: limits)
        var all: [AMF0Value] = []
        while !decoder.isAtEnd { all.append(try decoder.next()) }
        return all
    }

    /// The next value.
    package mutating func next() throws(RTMPError) -> AMF0Value {
        try value(depth: 0)
    }

    private func failure(_ what: String) -> RTMPError {
        .malformedAMF(what, at: reader.consumed)
    }

    private mutating func value(depth: Int) throws(RTMPError) -> AMF0Value {
        values += 1
        guard values <= limits.maxAMFValues else { throw failure("more than \(limits.maxAMFValues) values") }
        guard depth <= limits.maxAMFDepth else { throw failure("nested deeper than \(limits.maxAMFDepth)") }
        guard let marker = reader.byte() else { throw failure("a value was expected") }
        switch marker {
        case 0:
            return .number(try number())
        case 1:
            guard let byte = reader.byte() else { throw failure("a boolean is cut short") }
            return .boolean(byte != 0)
        case 2:
            return try stringValue(lengthBytes: 2)
        case 3:
            return .object(try properties(depth: depth))
        case 5:
            return .null
        case 6:
            return .undefined
        case 8:
            guard reader.uint(4) != nil else { throw failure("an ECMA array's count is cut short") }
            return .ecmaArray(try properties(depth: depth))  // the count is a hint; the end marker ends it
        case 10:
            guard let count = reader.uint(4) else { throw failure("a strict array's count is cut short") }
            // Each value takes at least one byte: a count beyond the bytes left is a lie, not an allocation.
            guard Int(count) <= reader.remaining else { throw failure("a strict array claims \(count) values") }
            var items: [AMF0Value] = []
            for _ in 0..<count { items.append(try value(depth: depth + 1)) }
            return .strictArray(items)
        case 11:
            let time = try number()
            guard reader.uint(2) != nil else { throw failure("a date's time zone is cut short") }
            return .date(time)
        case 12, 15:
            return try stringValue(lengthBytes: 4)
        case 16:
            _ = try string(lengthBytes: 2)
            return .object(try properties(depth: depth))
        default:
            throw failure("marker \(marker) is not supported")
        }
    }

    private mutating func number() throws(RTMPError) -> Double {
        guard let bits = reader.uint64() else { throw failure("a number is cut short") }
        return Double(bitPattern: bits)
    }

    /// A string value: ``AMF0Value/notUTF8(_:)`` when its bytes are not UTF-8, for its reader to say what they mean.
    private mutating func stringValue(lengthBytes: Int) throws(RTMPError) -> AMF0Value {
        let bytes = try stringBytes(lengthBytes: lengthBytes)
        return String(validating: bytes, as: UTF8.self).map(AMF0Value.string) ?? .notUTF8(Array(bytes))
    }

    /// A property's name, or a typed object's class name: bytes that are not UTF-8 are replaced (`U+FFFD`), which
    /// makes it no name Casty reads (`app`, `title`…).
    private mutating func string(lengthBytes: Int) throws(RTMPError) -> String {
        String(decoding: try stringBytes(lengthBytes: lengthBytes), as: UTF8.self)
    }

    private mutating func stringBytes(lengthBytes: Int) throws(RTMPError) -> ArraySlice<UInt8> {
        guard let length = reader.uint(lengthBytes), let bytes = reader.bytes(Int(length)) else {
            throw failure("a string is cut short")
        }
        return bytes
    }

    /// Name/value pairs up to the object-end marker (an empty name, then 9).
    private mutating func properties(depth: Int) throws(RTMPError) -> [AMF0Property] {
        var properties: [AMF0Property] = []
        while true {
            let name = try string(lengthBytes: 2)
            if name.isEmpty, reader.remaining > 0 {
                var probe = reader
                if probe.byte() == 9 {
                    reader = probe
                    return properties
                }
            }
            properties.append(AMF0Property(name, try value(depth: depth + 1)))
        }
    }
}
