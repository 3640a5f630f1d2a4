/// Text from strangers made safe to print or pass on: titles, station names, user agents and paths come from
/// upstreams and players Casty does not control, and may hold control characters.
///
/// - In a log line, a CR or LF would forge a second line and an ESC would drive the terminal, so every
///   control character is written as an escape (`\r`, `\n`, `\t`, `\e`, `\x00`, `\u{85}`): the log keeps one
///   line per event and still shows what was sent. So is a bidirectional override (`\u{202e}`), which would show
///   the rest of the line reversed.
/// - In a header passed on to listeners or in a page, control characters are removed (a tab becomes a space).
public enum SafeText {
    /// Whether `scalar` is a control character: C0 (U+0000–U+001F), DEL (U+007F) or C1 (U+0080–U+009F).
    public static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value)
    }

    /// Whether `scalar` is not for text: a control character, a line or paragraph separator (U+2028, U+2029, which
    /// JavaScript and many playlist readers take for a line break: a title holding one would start a line of a
    /// playlist of its own), or a noncharacter (U+FFFE, U+FFFF, U+FDD0–U+FDEF: not allowed in XML).
    static func isUnsafe(_ scalar: Unicode.Scalar) -> Bool {
        isControl(scalar) || scalar.value == 0x2028 || scalar.value == 0x2029 || scalar.value & 0xFFFE == 0xFFFE
            || (0xFDD0...0xFDEF).contains(scalar.value)
    }

    /// Whether `scalar` reorders the text after it: a bidirectional embedding, override or isolate (U+202A–U+202E,
    /// U+2066–U+2069). Right in a title — right-to-left text uses them — but in a log line a stranger's U+202E
    /// would show the rest of the line (who set the title, from where) reversed on the operator's terminal.
    static func isBidiControl(_ scalar: Unicode.Scalar) -> Bool {
        (0x202A...0x202E).contains(scalar.value) || (0x2066...0x2069).contains(scalar.value)
    }

    /// Whether `scalar` is written as an escape in a log line: ``isUnsafe(_:)`` or ``isBidiControl(_:)``.
    private static func isEscapedInLog(_ scalar: Unicode.Scalar) -> Bool {
        isUnsafe(scalar) || isBidiControl(scalar)
    }

    /// `text` with every control character (and line separator, noncharacter: ``isUnsafe(_:)``; and bidirectional
    /// control: ``isBidiControl(_:)``) written as a visible escape, for one log line.
    public static func logLine(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: isEscapedInLog) else { return text }
        var out = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            guard isEscapedInLog(scalar) else {
                out.append(scalar)
                continue
            }
            let escape: String
            switch scalar {
            case "\n": escape = "\\n"
            case "\r": escape = "\\r"
            case "\t": escape = "\\t"
            case "\u{1B}": escape = "\\e"
            default:
                let hex = String(scalar.value, radix: 16)
                escape = scalar.value < 0x80 ? "\\x" + (hex.count < 2 ? "0" : "") + hex : "\\u{\(hex)}"
            }
            out.append(contentsOf: escape.unicodeScalars)
        }
        return String(out)
    }

    /// `text` cut to `limit` characters for a log line, saying how long it was: a 5,000-character title is one
    /// readable line, not a page of log.
    public static func shortened(_ text: String, to limit: Int = 200) -> String {
        guard text.count > limit else { return text }
        return text.prefix(limit) + "… (\(text.count) characters)"
    }

    /// `text` without control characters, for a header value, a title, a playlist or a page: a tab or a line
    /// break (CR, LF, CRLF, U+2028, U+2029) becomes a space — `line1\r\nline2` is `line1 line2`, not
    /// `line1line2` —, any other (and a noncharacter, ``isUnsafe(_:)``) is dropped.
    public static func printable(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: isUnsafe) else { return text }
        var out = String.UnicodeScalarView()
        var previous: Unicode.Scalar = " "
        for scalar in text.unicodeScalars {
            if scalar == "\t" || scalar == "\r" || (scalar == "\n" && previous != "\r") || scalar == "\u{2028}" || scalar == "\u{2029}" {
                out.append(" ")
            } else if !isUnsafe(scalar) {
                out.append(scalar)
            }
            previous = scalar
        }
        return String(out)
    }
}
