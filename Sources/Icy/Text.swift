/// Turns bytes from the wire into text the way players do.
///
/// Stations send titles and names in whatever encoding their software used. Valid UTF-8 is read as UTF-8;
/// anything else is read as Windows-1252 (Latin-1 with curly quotes and the euro sign), which is what
/// mpg123 and most Shoutcast-era software assumed.
public enum IcyText {
    /// Decodes bytes as UTF-8 when they are valid UTF-8, otherwise as Windows-1252.
    public static func decode(_ bytes: some Collection<UInt8>) -> String {
        if let text = String(validating: bytes, as: UTF8.self) { return text }
        var scalars = String.UnicodeScalarView()
        for byte in bytes {
            scalars.append(windows1252(byte))
        }
        return String(scalars)
    }

    /// A request target's bytes as text: valid UTF-8 as it is (ffmpeg and some players send `/músic` unescaped),
    /// and each byte that is not UTF-8 as its `%XX` escape (a raw `0xFF` is `%FF`), which is what it means in a URL —
    /// not a Windows-1252 character (`ÿ`) that would name another path, or a mount, and read as one in the log.
    public static func decodeTarget(_ bytes: some Collection<UInt8>) -> String {
        if let text = String(validating: bytes, as: UTF8.self) { return text }
        let array = Array(bytes)
        var text = String.UnicodeScalarView()
        var parser = Unicode.UTF8.ForwardParser()
        var iterator = array.makeIterator()
        var index = 0  // where the next scalar, or the next bytes that are none, start
        while true {
            switch parser.parseScalar(from: &iterator) {
            case .valid(let encoded):
                text.append(Unicode.UTF8.decode(encoded))
                index += encoded.count
            case .error(let length):
                for byte in array[index..<(index + length)] {
                    let hex = String(byte, radix: 16, uppercase: true)
                    text.append(contentsOf: ("%" + (hex.count < 2 ? "0" : "") + hex).unicodeScalars)
                }
                index += length
            case .emptyInput:
                return String(text)
            }
        }
    }

    /// The Unicode character Windows-1252 gives a byte (the five unassigned bytes map to C1 controls).
    package static func windows1252(_ byte: UInt8) -> Unicode.Scalar {
        guard (0x80...0x9F).contains(byte) else { return Unicode.Scalar(byte) }
        return Unicode.Scalar(c1Table[Int(byte - 0x80)])!
    }

    private static let c1Table: [UInt32] = [
        0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
        0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0x008D, 0x017D, 0x008F,
        0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
        0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178,
    ]
}
