internal import Icy

/// One value of AMF0, the Action Message Format Flash used and RTMP still uses for its commands (`connect`,
/// `publish`, …) and for stream metadata (`onMetaData`).
///
/// On the wire every value is a one-byte marker and its body; numbers are big-endian IEEE 754 doubles, strings
/// a 16-bit (or, for long strings, 32-bit) length and UTF-8 bytes, and objects a list of name/value pairs closed
/// by an empty name and the object-end marker (`00 00 09`):
///
/// | marker | value | | marker | value |
/// |---|---|---|---|---|
/// | 0 | number | | 8 | ECMA array (count, then pairs) |
/// | 1 | boolean | | 10 | strict array (count, then values) |
/// | 2 | string | | 11 | date (number + time zone) |
/// | 3 | object | | 12 | long string |
/// | 5 | null | | 15 | XML document (a long string) |
/// | 6 | undefined | | 16 | typed object (class name, then pairs) |
package enum AMF0Value: Sendable, Equatable {
    /// A number (AMF0 has only doubles).
    case number(Double)
    /// `true` or `false`.
    case boolean(Bool)
    /// A string; written as a long string when over 65,535 bytes.
    case string(String)
    /// A string whose bytes are not UTF-8, as they came: what it means is for its reader to say — as text
    /// (``string``), a title, repaired; as a name (``name``), one that may become a mount, never repaired into
    /// another name.
    case notUTF8([UInt8])
    /// An anonymous object: its properties in order (a typed object is read as one too).
    case object([AMF0Property])
    /// `null`.
    case null
    /// `undefined`.
    case undefined
    /// An associative array, as `onMetaData` often sends its properties.
    case ecmaArray([AMF0Property])
    /// An array of values.
    case strictArray([AMF0Value])
    /// A date: milliseconds since 1970 (the time zone, always 0 in practice, is dropped).
    case date(Double)

    /// The value of property `name` of an object or ECMA array.
    package subscript(_ name: String) -> AMF0Value? {
        switch self {
        case .object(let properties), .ecmaArray(let properties): properties.first { $0.name == name }?.value
        default: nil
        }
    }

    /// The string, if this is one, as text: bytes that are not UTF-8 read as Windows-1252 (``IcyText/decode(_:)``),
    /// as an ICY title's are — a title, an encoder's name, repaired.
    package var string: String? {
        switch self {
        case .string(let text): text
        case .notUTF8(let bytes): IcyText.decode(bytes)
        default: nil
        }
    }

    /// The string, if this is one, as a name that may become a mount (an app, a stream key): each byte that is not
    /// UTF-8 as its `%XX` escape (``IcyText/decodeTarget(_:)``), as in a request's path — which names no mount —,
    /// never a character that would make it another name (`U+FFFD`, or a Windows-1252 one: `a\xFFb` is `a%FFb`, not
    /// `aÿb`).
    package var name: String? {
        switch self {
        case .string(let text): text
        case .notUTF8(let bytes): IcyText.decodeTarget(bytes)
        default: nil
        }
    }

    /// The number, if this is one.
    package var number: Double? {
        if case .number(let value) = self { return value }
        return nil
    }
}

/// One name/value pair of an AMF0 object or ECMA array.
package struct AMF0Property: Sendable, Equatable {
    /// The property's name.
    package var name: String
    /// Its value.
    package var value: AMF0Value

    /// A property.
    package init(_ name: String, _ value: AMF0Value) {
        self.name = name
        self.value = value
    }
}
