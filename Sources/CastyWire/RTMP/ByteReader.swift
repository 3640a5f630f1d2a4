/// Reads big-endian numbers from the front of some bytes, one at a time, without copying; each read answers
/// `nil` when the bytes run out. Shared by the RTMP chunk reader, AMF0 and the FLV audio tags.
struct ByteReader {
    private let bytes: ArraySlice<UInt8>
    private var index: Int

    /// A reader at the start of `bytes`.
    init(_ bytes: ArraySlice<UInt8>) {
        self.bytes = bytes
        self.index = bytes.startIndex
    }

    /// How many bytes were read.
    var consumed: Int { index - bytes.startIndex }
    /// How many bytes are left.
    var remaining: Int { bytes.endIndex - index }

    /// The next byte.
    mutating func byte() -> UInt8? {
        guard index < bytes.endIndex else { return nil }
        defer { index += 1 }
        return bytes[index]
    }

    /// The next `count` bytes (1 to 4) as a big-endian number.
    mutating func uint(_ count: Int) -> UInt32? {
        guard remaining >= count else { return nil }
        var value: UInt32 = 0
        for _ in 0..<count { value = value << 8 | UInt32(bytes[index]); index += 1 }
        return value
    }

    /// The next 8 bytes as a big-endian number.
    mutating func uint64() -> UInt64? {
        guard let high = uint(4), let low = uint(4) else { return nil }
        return UInt64(high) << 32 | UInt64(low)
    }

    /// The next `count` bytes, as a slice of the original.
    mutating func bytes(_ count: Int) -> ArraySlice<UInt8>? {
        guard count >= 0, remaining >= count else { return nil }
        defer { index += count }
        return bytes[index..<(index + count)]
    }
}
