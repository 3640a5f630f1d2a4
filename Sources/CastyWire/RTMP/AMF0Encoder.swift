/// Writes AMF0 values (``AMF0Value``) as bytes: what Casty answers RTMP commands with.
package enum AMF0Encoder {
    /// The bytes of `values`, one after the other (a command: name, transaction id, arguments).
    package static func encode(_ values: [AMF0Value]) -> [UInt8] {
        var bytes: [UInt8] = []
        for value in values { append(value, to: &bytes) }
        return bytes
    }

    private static func append(_ value: AMF0Value, to bytes: inout [UInt8]) {
        switch value {
        case .number(let number):
            bytes.append(0)
            appendNumber(number, to: &bytes)
        case .boolean(let flag):
            bytes += [1, flag ? 1 : 0]
        case .string(let text):
            appendString(Array(text.utf8), to: &bytes)
        case .notUTF8(let raw):
            appendString(raw, to: &bytes)
        case .object(let properties):
            bytes.append(3)
            appendProperties(properties, to: &bytes)
        case .null:
            bytes.append(5)
        case .undefined:
            bytes.append(6)
        case .ecmaArray(let properties):
            bytes.append(8)
            appendUInt(UInt32(properties.count), count: 4, to: &bytes)
            appendProperties(properties, to: &bytes)
        case .strictArray(let items):
            bytes.append(10)
            appendUInt(UInt32(items.count), count: 4, to: &bytes)
            for item in items { append(item, to: &bytes) }
        case .date(let time):
            bytes.append(11)
            appendNumber(time, to: &bytes)
            bytes += [0, 0]
        }
    }

    /// A string's bytes, after its marker and length: a long string's over 65,535 bytes.
    private static func appendString(_ utf8: [UInt8], to bytes: inout [UInt8]) {
        if utf8.count > 0xFFFF {
            bytes.append(12)
            appendUInt(UInt32(utf8.count), count: 4, to: &bytes)
        } else {
            bytes.append(2)
            appendUInt(UInt32(utf8.count), count: 2, to: &bytes)
        }
        bytes += utf8
    }

    private static func appendProperties(_ properties: [AMF0Property], to bytes: inout [UInt8]) {
        for property in properties {
            let name = Array(property.name.utf8.prefix(0xFFFF))
            appendUInt(UInt32(name.count), count: 2, to: &bytes)
            bytes += name
            append(property.value, to: &bytes)
        }
        bytes += [0, 0, 9]
    }

    private static func appendNumber(_ number: Double, to bytes: inout [UInt8]) {
        let bits = number.bitPattern
        appendUInt(UInt32(bits >> 32), count: 4, to: &bytes)
        appendUInt(UInt32(bits & 0xFFFF_FFFF), count: 4, to: &bytes)
    }

    /// `value`'s low `count` bytes, big-endian.
    static func appendUInt(_ value: UInt32, count: Int, to bytes: inout [UInt8]) {
        for shift in stride(from: (count - 1) * 8, through: 0, by: -8) { bytes.append(UInt8(value >> UInt32(shift) & 0xFF)) }
    }
}
