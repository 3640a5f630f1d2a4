/// A `--config` file read into command-line words: `name value` lines become `--name=value`, `name` alone
/// `--name`; blank lines and `#` comments (whole lines, or after a blank at a line's end) are skipped. A value in
/// double quotes is what stands between them — blanks and ` #` included (`title "Jazz #1 "`) —, as most config
/// formats read it: a password written `"s3cret"` is `s3cret`; so is one mount's value (`mount-password /a="s p"` is
/// `/a=s p`); a value such a comment may have cut short (`admin-password my #1 pass`) is warned of (``warnings``).
/// Each word keeps the `file:line` it came from, so that a mistake found later (a port that is no number, a mount
/// that is no name) names its line.
struct ConfigFile {
    /// The words, in the file's order; a value always inline (`--admin-password=--x`), so it is never taken for an option.
    private(set) var words: [String] = []
    /// Where each of ``words`` came from: `path:line`.
    private(set) var places: [String] = []
    /// The lines to warn of, one per line of the file (``commentWarning(_:_:_:comment:)``): a value a trailing
    /// comment may have cut short.
    private(set) var warnings: [String] = []
    /// The most a configuration file is read of: a station of a thousand mounts needs a few tens of KiB.
    static let largest = 1024 * 1024

    /// Reads the file at `path` for a command with these options and flags. An unknown name, a flag given a value,
    /// or an option given none is a usage error naming the line; a file that is not UTF-8 text (UTF-16, as Windows
    /// Notepad's "Unicode" saves it, or another encoding) is one naming the file, which says to save it as UTF-8 —
    /// read as UTF-8, its first line was an unknown option of replacement characters and NULs.
    /// Read `again` (SIGHUP), it must be a regular file (``readFile(_:limit:regularOnly:)``).
    init(path: String, options: Set<String>, flags: Set<String>, again: Bool = false) throws {
        // Bounded: `/dev/zero` given by mistake would never end. (A pipe is read up at the start — `--config <(…)`;
        // a SIGHUP reads a regular file only, checked as it is opened: a FIFO put in its place would block.)
        let bytes = try readFile(path, limit: Self.largest, regularOnly: again)
        guard var text = String(validating: bytes, as: UTF8.self), !bytes.contains(0) else {
            let utf16 = bytes.starts(with: [0xFF, 0xFE]) || bytes.starts(with: [0xFE, 0xFF]) || bytes.contains(0)
            throw UsageError("\(path): the file is \(utf16 ? "UTF-16 text (Windows Notepad's \"Unicode\")" : "not UTF-8 text"): save it as UTF-8", inFile: true)
        }
        if text.hasPrefix("\u{FEFF}") { text.removeFirst() }  // the byte order mark some editors write
        // Lines end in LF, CRLF (a file written on Windows) or CR: to Swift, CRLF is one Character, no "\n".
        let lines = text.split(omittingEmptySubsequences: false) { $0 == "\n" || $0 == "\r\n" || $0 == "\r" }
        for (number, raw) in lines.enumerated() {
            let place = "\(path):\(number + 1)"
            let kept = Self.withoutComment(raw)
            let line = kept.trimmingCharacters(in: " \t\r")
            guard !line.isEmpty, !line.hasPrefix("#") else { continue }
            // `<?xml …`, `<icecast>`: Icecast's own file, given as it is to Casty.
            if line.hasPrefix("<") { throw Self.xml(path, text) }
            let name = String(line.prefix { $0 != " " && $0 != "\t" })
            var value = line.dropFirst(name.count).trimmingCharacters(in: " \t")
            // `port = 8000`, `port : 8000`, as other formats write it (a value that starts so is quoted: `title "= x ="`).
            if options.contains(name), let separator = value.split(separator: " ", maxSplits: 1).first, separator == "=" || separator == ":" {
                let given = value.dropFirst().trimmingCharacters(in: " \t")
                throw UsageError("\(place): '\(name) \(separator) …': \(Self.nameValue(name, given, without: String(separator)))", inFile: true)
            }
            let inQuotes = value.hasPrefix("\"") || (ServerCommand.mountPairOptions.contains(name) && ServerCommand.mountPair(value)?.value.hasPrefix("\"") == true)
            if value.hasPrefix("\"") {
                value = try Self.unquoted(value, place, name)
                guard !value.isEmpty else { throw UsageError("\(place): \(name) needs a value", inFile: true) }
            } else if ServerCommand.mountPairOptions.contains(name), let (mount, quoted) = ServerCommand.mountPair(value), quoted.hasPrefix("\"") {
                // One mount's value (`mount-password /a="s p"`) is read as a whole one: `/a=s p`. An empty one
                // (`/a=""`) is refused with the option's own words, as `/a=` is.
                value = try "\(mount)=" + Self.unquoted(quoted, place, name)
            }
            guard options.contains(name) || flags.contains(name), name != "config" else {
                // `--port 8000` (or `--port=8000`), copied from a command line, or `port=8000`, `port: 8000`, as other
                // formats write it: the name is what follows the dashes, up to the `=` or `:`.
                let dashless = name.drop { $0 == "-" }
                let separator = dashless.firstIndex { $0 == "=" || $0 == ":" }
                let bare = String(dashless[..<(separator ?? dashless.endIndex)])
                let inline = separator.map { String(dashless[dashless.index(after: $0)...]) } ?? ""
                let given = [inline, value].filter { !$0.isEmpty }.joined(separator: " ")
                let known = bare != name && bare != "config" && (options.contains(bare) || flags.contains(bare))
                let hint = !known ? "" : name.hasPrefix("-")
                    ? " (in a file, an option is written without its dashes: \(Self.line(bare, given)))"
                    : " (\(Self.nameValue(bare, given, without: separator.map { String(dashless[$0]) } ?? "")))"
                // The name as written, but never what follows its `=` or `:`: `admin-password=…` may be a secret.
                let written = name.firstIndex { $0 == "=" || $0 == ":" }.map { name[...$0] + (name[$0...].count > 1 ? "…" : "") } ?? name[...]
                throw UsageError("\(place): unknown option '\(written)'\(hint)", inFile: true)
            }
            if value.isEmpty {
                guard flags.contains(name) else { throw UsageError("\(place): \(name) needs a value", inFile: true) }
                words.append("--\(name)")
            } else {
                guard options.contains(name) else { throw UsageError("\(place): \(name) takes no value, not '\(value)'", inFile: true) }
                words.append("--\(name)=\(value)")
                if !inQuotes, let warning = Self.commentWarning(place, name, value, comment: raw[kept.endIndex...]) { warnings.append(warning) }
            }
            places.append(place)
        }
    }

    /// `value`, which opens a double quote, without it and the one that closes it at the line's end — the comment
    /// stripper (``withoutComment(_:)``) read what stands between them as quoted —; one that does not close there is
    /// a usage error naming the line (never the value: it may be a secret).
    private static func unquoted(_ value: String, _ place: String, _ name: String) throws(UsageError) -> String {
        guard value.count >= 2, value.hasSuffix("\"") else {
            throw UsageError("\(place): \(name): a value that opens a double quote closes it at the line's end", inFile: true)
        }
        return String(value.dropFirst().dropLast())
    }

    /// The warning for a value (not in quotes) that a trailing comment may have cut short: `admin-password my #1
    /// pass` is the password `my`. A comment written as one is written — `#` and a blank (`port 8000  # public`), or
    /// `#` at the line's end — is none: a `#` right before a word (`#1`) is one the value was likely meant to hold.
    /// The line says how to keep it (the value in double quotes); a secret's value is never in it.
    private static func commentWarning(_ place: String, _ name: String, _ value: String, comment: Substring) -> String? {
        guard comment.hasPrefix("#"), let next = comment.dropFirst().first, next != " ", next != "\t", next != "\r" else { return nil }
        let pair = ServerCommand.mountPairOptions.contains(name) ? ServerCommand.mountPair(value) : nil
        let mount = pair.map { "\($0.mount)=" } ?? ""
        let cut = (pair?.value ?? value) + " " + comment.trimmingCharacters(in: " \t\r")
        let taken = Arguments.secrets.contains(name)
            ? "\(name)'s value ends before it (not shown: a secret)" : "\(name)'s value is '\(value)'"
        let quoted = Arguments.secrets.contains(name) ? "…" : cut
        return "warning: \(place): a '#' after a blank starts a comment: \(taken); to keep the '#', write the value in double quotes"
            + " (\(name) \(mount)\"\(quoted)\")"
    }

    /// What a file that is XML — Icecast's `icecast.xml`, given as it is — is told: Casty reads none; its own format
    /// is one option per line.
    private static func xml(_ path: String, _ text: String) -> UsageError {
        let icecast = text.contains("<icecast") ? "Icecast's XML configuration (icecast.xml)" : "XML"
        return UsageError("\(path): the file looks like \(icecast), which Casty does not read: a Casty config file has one option "
            + "per line, without its dashes (port 8000, mounts /live,/backup, fallback /live=/backup; README, \"The station "
            + "server\", Config file; casty-cli server --help)", inFile: true)
    }

    /// A line as a file writes it, quoted for a message: `'port 8000'`, a secret's value not shown (`'admin-password …'`).
    private static func line(_ name: String, _ value: String) -> String {
        "'\(name)\(value.isEmpty ? "" : Arguments.secrets.contains(name) ? " …" : " \(value)")'"
    }

    /// What a line that separates an option from its value with `separator` (`port=8000`, `port: 8000`) is told.
    private static func nameValue(_ name: String, _ value: String, without separator: String) -> String {
        "in a file, an option and its value are separated by a blank, without '\(separator)': \(line(name, value))"
    }

    /// `line` up to its comment: a `#` that starts the line or follows a blank (`source-password hackme  # change
    /// me` is the password `hackme`, not `hackme  # change me`). A `#` inside a word stays (`pa#ss`), and so does
    /// one between double quotes (`title "Jazz #1"`).
    static func withoutComment(_ line: Substring) -> Substring {
        var previous: Character = " "
        var quoted = false
        for index in line.indices {
            if line[index] == "\"" { quoted.toggle() }
            if line[index] == "#", !quoted, previous == " " || previous == "\t" { return line[..<index] }
            previous = line[index]
        }
        return line
    }
}
