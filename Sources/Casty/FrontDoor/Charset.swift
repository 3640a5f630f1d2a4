internal import Icy

/// The character sets a title may come in to `/admin/metadata` (`charset=`, as Icecast takes it): old encoders
/// on Windows send the bytes of their system's code page. Titles go to listeners in UTF-8 whatever came.
///
/// UTF-8 (the default, and what a label Casty does not know is refused for), ISO-8859-1 and Windows-1252 (read as
/// Windows-1252, as browsers read every Latin-1 label: WHATWG), and the two Cyrillic code pages of the encoders
/// of that part of the world: Windows-1251 and KOI8-R.
enum Charset: Sendable, Equatable {
    /// UTF-8 when the bytes are that, else Windows-1252 (what a tool that names no charset most likely meant).
    case utf8
    /// Windows-1252, and ISO-8859-1 and US-ASCII, its subsets.
    case windows1252
    /// Windows-1251 (Cyrillic, Windows).
    case windows1251
    /// KOI8-R (Cyrillic, Unix).
    case koi8r

    /// The charset a `charset=` label names (in any case), or `nil` for one Casty does not read: the names and
    /// aliases IANA registers for each (`ISO_8859-1:1987`, `iso-ir-100`, `ISO_8859-1`, `IBM819`, `csISOLatin1`, …;
    /// `ANSI_X3.4-1968`, `ISO646-US`, … for US-ASCII), and the spellings tools write besides (`latin-1`, `utf8`, `cp1251`).
    init?(label: String) {
        switch label.lowercased().filter({ $0 != " " }) {
        case "utf-8", "utf8", "csutf8": self = .utf8
        case "iso-8859-1", "iso_8859-1", "iso_8859-1:1987", "iso-ir-100", "ibm819", "cp819", "csisolatin1", "iso8859-1", "latin1",
             "latin-1", "l1": self = .windows1252
        case "windows-1252", "cswindows1252", "cp1252": self = .windows1252
        case "us-ascii", "ansi_x3.4-1968", "ansi_x3.4-1986", "iso-ir-6", "iso_646.irv:1991", "iso646-us", "us", "ibm367", "cp367", "csascii",
             "ascii": self = .windows1252
        case "windows-1251", "cswindows1251", "cp1251", "win-1251": self = .windows1251
        case "koi8-r", "cskoi8r", "koi8r", "koi8": self = .koi8r
        default: return nil
        }
    }

    /// The labels named in a refusal.
    static let known = "UTF-8, ISO-8859-1, Windows-1252, Windows-1251, KOI8-R"

    /// `bytes` as text.
    func decode(_ bytes: [UInt8]) -> String {
        switch self {
        case .utf8:
            if let text = String(validating: bytes, as: UTF8.self) { return text }
            return Self.singleByte(bytes, IcyText.windows1252)
        case .windows1252: return Self.singleByte(bytes, IcyText.windows1252)
        case .windows1251: return Self.singleByte(bytes) { Self.high($0, Self.windows1251High) }
        case .koi8r: return Self.singleByte(bytes) { Self.high($0, Self.koi8rHigh) }
        }
    }

    private static func singleByte(_ bytes: [UInt8], _ character: (UInt8) -> Unicode.Scalar) -> String {
        String(String.UnicodeScalarView(bytes.map(character)))
    }

    /// ASCII below 0x80, the table's character above.
    private static func high(_ byte: UInt8, _ table: [UInt32]) -> Unicode.Scalar {
        byte < 0x80 ? Unicode.Scalar(byte) : Unicode.Scalar(table[Int(byte - 0x80)]) ?? Unicode.Scalar(byte)
    }

    /// Windows-1251's characters for 0x80–0xFF (0x98 is unassigned: a C1 control, dropped from a title).
    private static let windows1251High: [UInt32] = [
        0x0402, 0x0403, 0x201A, 0x0453, 0x201E, 0x2026, 0x2020, 0x2021, 0x20AC, 0x2030, 0x0409, 0x2039, 0x040A, 0x040C, 0x040B, 0x040F,
        0x0452, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x0098, 0x2122, 0x0459, 0x203A, 0x045A, 0x045C, 0x045B, 0x045F,
        0x00A0, 0x040E, 0x045E, 0x0408, 0x00A4, 0x0490, 0x00A6, 0x00A7, 0x0401, 0x00A9, 0x0404, 0x00AB, 0x00AC, 0x00AD, 0x00AE, 0x0407,
        0x00B0, 0x00B1, 0x0406, 0x0456, 0x0491, 0x00B5, 0x00B6, 0x00B7, 0x0451, 0x2116, 0x0454, 0x00BB, 0x0458, 0x0405, 0x0455, 0x0457,
        0x0410, 0x0411, 0x0412, 0x0413, 0x0414, 0x0415, 0x0416, 0x0417, 0x0418, 0x0419, 0x041A, 0x041B, 0x041C, 0x041D, 0x041E, 0x041F,
        0x0420, 0x0421, 0x0422, 0x0423, 0x0424, 0x0425, 0x0426, 0x0427, 0x0428, 0x0429, 0x042A, 0x042B, 0x042C, 0x042D, 0x042E, 0x042F,
        0x0430, 0x0431, 0x0432, 0x0433, 0x0434, 0x0435, 0x0436, 0x0437, 0x0438, 0x0439, 0x043A, 0x043B, 0x043C, 0x043D, 0x043E, 0x043F,
        0x0440, 0x0441, 0x0442, 0x0443, 0x0444, 0x0445, 0x0446, 0x0447, 0x0448, 0x0449, 0x044A, 0x044B, 0x044C, 0x044D, 0x044E, 0x044F,
    ]

    /// KOI8-R's characters for 0x80–0xFF: box drawing, then Cyrillic in the order of the Latin letters they sound like.
    private static let koi8rHigh: [UInt32] = [
        0x2500, 0x2502, 0x250C, 0x2510, 0x2514, 0x2518, 0x251C, 0x2524, 0x252C, 0x2534, 0x253C, 0x2580, 0x2584, 0x2588, 0x258C, 0x2590,
        0x2591, 0x2592, 0x2593, 0x2320, 0x25A0, 0x2219, 0x221A, 0x2248, 0x2264, 0x2265, 0x00A0, 0x2321, 0x00B0, 0x00B2, 0x00B7, 0x00F7,
        0x2550, 0x2551, 0x2552, 0x0451, 0x2553, 0x2554, 0x2555, 0x2556, 0x2557, 0x2558, 0x2559, 0x255A, 0x255B, 0x255C, 0x255D, 0x255E,
        0x255F, 0x2560, 0x2561, 0x0401, 0x2562, 0x2563, 0x2564, 0x2565, 0x2566, 0x2567, 0x2568, 0x2569, 0x256A, 0x256B, 0x256C, 0x00A9,
        0x044E, 0x0430, 0x0431, 0x0446, 0x0434, 0x0435, 0x0444, 0x0433, 0x0445, 0x0438, 0x0439, 0x043A, 0x043B, 0x043C, 0x043D, 0x043E,
        0x043F, 0x044F, 0x0440, 0x0441, 0x0442, 0x0443, 0x0436, 0x0432, 0x044C, 0x044B, 0x0437, 0x0448, 0x044D, 0x0449, 0x0447, 0x044A,
        0x042E, 0x0410, 0x0411, 0x0426, 0x0414, 0x0415, 0x0424, 0x0413, 0x0425, 0x0418, 0x0419, 0x041A, 0x041B, 0x041C, 0x041D, 0x041E,
        0x041F, 0x042F, 0x0420, 0x0421, 0x0422, 0x0423, 0x0416, 0x0412, 0x042C, 0x042B, 0x0417, 0x0428, 0x042D, 0x0429, 0x0427, 0x042A,
    ]
}
