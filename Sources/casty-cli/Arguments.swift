internal import CastyWire

/// A command line split into positional words, `--name value` options and `--flag`s.
struct Arguments: Sendable {
    private(set) var positionals: [String] = []
    private var values: [String: [String]] = [:]
    private var present: Set<String> = []
    /// Where each value of ``values`` (and each flag) came from: a config file's `path:line`, or `nil`.
    private var valuePlaces: [String: [String?]] = [:]
    private var flagPlaces: [String: String] = [:]
    /// What the `--config` files hold that is no mistake but may be one, one line each (``ConfigFile/warnings``):
    /// logged as the command starts, or as SIGHUP reads them again.
    var warnings: [String] = []
    /// Reads the same command line again, with its `--config` files as they are now (a station server's SIGHUP).
    var readAgain: (@Sendable () throws -> Arguments)?

    /// Splits `words`, knowing which options take a value; anything unknown is a usage error. `places` tells where
    /// each word came from (``ConfigFile``; none for the command line), for ``placed(_:)``.
    init(_ words: [String], options: Set<String>, flags: Set<String>, places: [String?] = []) throws(UsageError) {
        var index = 0
        while index < words.count {
            let word = words[index]
            let place = index < places.count ? places[index] : nil
            index += 1
            guard word.hasPrefix("--") else {
                // `-p 8000`: Casty's options have two dashes (a lone `-` may be a value, as a negative number).
                if word.count > 1, word.hasPrefix("-"), word.dropFirst().first?.isLetter == true {
                    // Never what follows an `=`: `-admin-password=…` holds a secret.
                    let written = word.firstIndex(of: "=").map { word[...$0] + "…" } ?? word[...]
                    throw UsageError("unknown option \(written) (options take two dashes: --port, --help)")
                }
                positionals.append(word)
                continue
            }
            var name = String(word.dropFirst(2))
            var inline: String?
            if let equals = name.firstIndex(of: "=") {
                inline = String(name[name.index(after: equals)...])
                name = String(name[..<equals])
            }
            // A name that is both a flag and an option (`casty-cli root --station` or `--station /m`) takes a
            // value when one is given: inline, or a next word that is not an option.
            let valueFollows = inline != nil || (index < words.count && !words[index].hasPrefix("--"))
            if flags.contains(name), !options.contains(name) || !valueFollows {
                // `--rtmp=false` must not turn RTMP on: a flag takes no value.
                if let inline { throw UsageError("--\(name) takes no value, not '\(inline)'") }
                present.insert(name)
                flagPlaces[name] = place
            } else if options.contains(name) {
                let value: String
                if let inline {
                    value = inline
                } else {
                    guard index < words.count else { throw UsageError("option --\(name) needs a value") }
                    value = words[index]
                    // `--title $EMPTY --port 8000`: the next option is no value (`--title=--…` gives one that is).
                    let next = String(value.dropFirst(2).prefix { $0 != "=" })
                    if value.hasPrefix("--"), options.contains(next) || flags.contains(next) {
                        throw UsageError("option --\(name) needs a value, not the option \(value.prefix { $0 != "=" }) that follows it")
                    }
                    index += 1
                }
                // `--source-password "$UNSET"`: an empty value is a value forgotten, as in a config file.
                guard !value.isEmpty else { throw UsageError("option --\(name) needs a value, not an empty one") }
                values[name, default: []].append(value)
                valuePlaces[name, default: []].append(place)
            } else {
                throw UsageError("unknown option --\(name)")
            }
        }
        try refuseRepeats()
        try keepLastPerMount()
    }

    /// The options that may be given more than once, each time adding to the others (`--relay /a=… --relay /b=…`).
    static let repeatable: Set<String> = [
        "config", "fallback", "mount-max-listeners", "mount-password", "mount-user", "record", "relay", "srt-passphrase",
    ]

    /// The options whose values are secrets — passwords, passphrases, keys, credentials for the application: a
    /// message about them never quotes what was given (a service manager keeps what a command prints).
    static let secrets: Set<String> = [
        "source-password", "admin-password", "mount-password", "srt-passphrase", "tree-key",
        "key-verification-auth", "event-callback-auth", "commands-auth",
    ]

    /// How a message quotes `text`, given to `--name`: `'text'` — a URL without its password and query, which may
    /// hold a token (``StreamURL/shown(_:)``) —, or nothing of it for a secret.
    static func quoted(_ text: String, of name: String) -> String {
        secrets.contains(name) ? "(a value not shown: it is a secret)" : "'\(text.contains("://") ? StreamURL.shown(text) : text)'"
    }

    /// An option that takes one value, given twice in one place (twice on the command line, or twice in one config
    /// file), is a mistake to point at rather than a silent choice of the last. A config file's value given again on
    /// the command line, or in a later file, is not: that is how a run changes one setting of a shared file.
    private func refuseRepeats() throws(UsageError) {
        for (name, texts) in values.sorted(by: { $0.key < $1.key }) where texts.count > 1 && !Self.repeatable.contains(name) {
            // The file a place names (`casty.conf:4` → `casty.conf`), or "" for the command line.
            let sources = (valuePlaces[name] ?? []).map { place in place.map(Self.file(of:)) ?? "" }
            for (index, source) in sources.enumerated() {
                guard let earlier = sources[..<index].lastIndex(of: source) else { continue }
                let values = Self.secrets.contains(name) ? "" : "\(Self.quoted(texts[earlier], of: name)), then \(Self.quoted(texts[index], of: name))"
                let places = valuePlaces[name] ?? []
                throw Self.twice("--\(name)", values: values, places[earlier], places[index])
            }
        }
    }

    /// Of an option that gives each mount its own value (``ServerCommand/mountPairOptions``: `--fallback /a=/b`), a
    /// mount's values given in several places are as an option of one value: the last place's is kept — the command
    /// line's over a config file's, a later file's over an earlier one's —, the others dropped (``all(_:)`` no longer
    /// has them). One mount's value given twice in one place is a mistake naming it: the file and line, or the
    /// command line. `--srt-passphrase PW`, every mount's without its own, is one more "mount" so; a value of no
    /// mount of another option is left for its option to refuse.
    private mutating func keepLastPerMount() throws(UsageError) {
        for name in ServerCommand.mountPairOptions.sorted() {
            guard let texts = values[name], texts.count > 1 else { continue }
            let places = valuePlaces[name] ?? []
            let mounts = texts.map { ServerCommand.mountPair($0)?.mount ?? (name == "srt-passphrase" ? "" : nil) }
            let sources = texts.indices.map { places[$0].map(Self.file(of:)) }
            var dropped: Set<Int> = []
            for index in texts.indices {
                guard let mount = mounts[index] else { continue }
                for earlier in texts.indices[..<index] where mounts[earlier] == mount && !dropped.contains(earlier) {
                    guard sources[earlier] != sources[index] else {
                        let option = mount.isEmpty ? "--\(name) PW (every mount's without its own)" : "--\(name) \(mount)=…"
                        let value = { (text: String) in Self.quoted(ServerCommand.mountPair(text)?.value ?? text, of: name) }
                        let values = Self.secrets.contains(name) ? "" : "\(value(texts[earlier])), then \(value(texts[index]))"
                        throw Self.twice(option, values: values, places[earlier], places[index])
                    }
                    dropped.insert(earlier)
                }
            }
            values[name] = texts.indices.filter { !dropped.contains($0) }.map { texts[$0] }
            valuePlaces[name] = texts.indices.filter { !dropped.contains($0) }.map { places[$0] }
        }
    }

    /// `option` given twice in one place (``refuseRepeats()``, ``keepLastPerMount()``), at `firstPlace` then
    /// `secondPlace` (both `nil` on the command line): the mistake, naming the place — the file and both lines, or the
    /// command line — and the two `values` as quoted (none for a secret).
    private static func twice(_ option: String, values: String, _ firstPlace: String?, _ secondPlace: String?) -> UsageError {
        let shown = values.isEmpty ? "" : " (\(values))"
        guard let firstPlace, let secondPlace else { return UsageError("\(option) is given twice on the command line\(shown): give it once") }
        let line = { (place: String) in String(place[(place.lastIndex(of: ":").map(place.index(after:)) ?? place.startIndex)...]) }
        return UsageError("\(secondPlace): \(option) is given twice in this file, on lines \(line(firstPlace)) and \(line(secondPlace))"
            + "\(shown): give it once", inFile: true)
    }

    /// The value of `--name`, if given (the command line's over a config file's, a later file's over an earlier one's).
    func value(_ name: String) -> String? {
        values[name]?.last
    }

    /// Every value of an option that may be given more than once (`--relay /a=… --relay /b=…`), in order.
    func all(_ name: String) -> [String] {
        values[name] ?? []
    }

    /// These arguments, with the options and flags not in `names` as `other` has them (a station server read
    /// again keeps what it runs with, except what it may take again).
    func taking(_ names: Set<String>, otherwiseAs other: Arguments) -> Arguments {
        var result = other
        result.readAgain = readAgain
        for name in names {
            result.values[name] = values[name]
            result.valuePlaces[name] = valuePlaces[name]
            if present.contains(name) { result.present.insert(name) } else { result.present.remove(name) }
            result.flagPlaces[name] = flagPlaces[name]
        }
        result.warnings = warnings
        return result
    }

    /// The names of the options and flags given.
    var names: Set<String> { Set(values.keys).union(present) }

    /// Whether `--name` was given.
    func flag(_ name: String) -> Bool {
        present.contains(name)
    }

    /// `message` — a mistake found in the options — led by the config file line it is about (`casty.conf:4: …`): the
    /// line of the first option it names (`--port`), or else of a value it quotes (`'backup'` of `mounts
    /// /live,backup`). Of an option given more than once (`--fallback /a=/typo`, `--fallback /b=/c`), the line of
    /// the value the message names after the option — that value, or one of its mount (`--mount-password /zz=…:`,
    /// `--record /Live:`) —, or of a value it quotes; else the last one, the one taken. Unchanged when the mistake
    /// is on the command line, or about no option.
    func placed(_ message: String) -> String {
        let quoted = Self.quoted(in: message)
        var place: String?
        if let name = Self.optionNames(in: message).first(where: { values[$0] != nil || flagPlaces[$0] != nil }) {
            let given = Array(zip(values[name] ?? [], valuePlaces[name] ?? []))
            let named = Self.valueNamed(after: name, in: message)
            let namedValue = named.flatMap { named in
                given.last { value, _ in value == named } ?? given.last { value, _ in Self.mount(of: value) == Self.mount(of: named) }
            }
            let quotedValue = given.last { value, _ in quoted.contains { value.contains($0) } }
            place = (namedValue ?? quotedValue).map { $0.1 } ?? given.last.map { $0.1 } ?? flagPlaces[name]
        } else if !quoted.isEmpty {
            place = values.lazy.flatMap { name, texts in zip(texts, self.valuePlaces[name] ?? []) }
                .first { value, place in place != nil && quoted.contains { value.contains($0) } }?.1
        }
        return place.map { "\($0): \(message)" } ?? message
    }

    /// `error`'s message led by where it is: ``placed(_:)`` for a mistake of one option; for one of the options
    /// together (``UsageError/ofTheWhole``: `no source could publish /a`, where a password line is missing, not
    /// wrong), the config files that gave the options it names — or, when no file gave any (the line deleted is
    /// the mistake), every config file read —, without a line: a line would point at one that holds no mistake.
    /// Unchanged when no config file was read.
    func placed(_ error: UsageError) -> String {
        guard error.ofTheWhole else { return placed(error.message) }
        let named = Self.optionNames(in: error.message).flatMap { (valuePlaces[$0] ?? []) + [flagPlaces[$0]] }.compactMap { $0.map(Self.file(of:)) }
        var files: [String] = []
        for file in named.isEmpty ? all("config") : named where !files.contains(file) { files.append(file) }
        return files.isEmpty ? error.message : "\(files.joined(separator: ", ")): \(error.message)"
    }

    /// The file a place names: `casty.conf:4` → `casty.conf`.
    private static func file(of place: String) -> String {
        String(place[..<(place.lastIndex(of: ":") ?? place.endIndex)])
    }

    /// The option names a message mentions (`--port`), in order.
    private static func optionNames(in message: String) -> [String] {
        var names: [String] = []
        var rest = Substring(message)
        while let dash = rest.firstIndex(of: "-") {
            rest = rest[rest.index(after: dash)...]
            guard rest.first == "-" else { continue }
            let name = rest.dropFirst().prefix { $0.isLetter || $0.isNumber || $0 == "-" }
            if !name.isEmpty { names.append(String(name)) }
            rest = rest.dropFirst(name.count + 1)
        }
        return names
    }

    /// The value a message names right after `--name` (`--fallback /a=/typo: …` → `/a=/typo`, `--mount-user '/c=dj:x':
    /// …` → `/c=dj:x`), or `nil` when a word follows it (`--fallback takes …`) or nothing does.
    private static func valueNamed(after name: String, in message: String) -> String? {
        guard let option = message.firstRange(of: "--\(name) ") else { return nil }
        let rest = message[option.upperBound...]
        let word = rest.hasPrefix("'") ? rest.dropFirst().prefix { $0 != "'" } : rest.prefix { $0 != " " && $0 != "\t" }
        let value = word.hasSuffix(":") ? word.dropLast() : word
        return value.first == "/" ? String(value) : nil
    }

    /// The mount a `/m=value` (or `/m`, `m`) option's value is about, for ``placed(_:)``: `/m`, blanks around
    /// it aside.
    private static func mount(of value: String) -> String {
        let mount = value.prefix { $0 != "=" }.trimmingCharacters(in: " \t")
        return mount.hasPrefix("/") ? mount : "/" + mount
    }

    /// The texts a message quotes (`'abc'`), not empty.
    private static func quoted(in message: String) -> [String] {
        message.split(separator: "'", omittingEmptySubsequences: false).enumerated()
            .compactMap { $0.offset % 2 == 1 && !$0.element.isEmpty ? String($0.element) : nil }
    }

    /// The whole number given with `--name`, within `range`, or `fallback`.
    func integer(_ name: String, default fallback: Int, in range: ClosedRange<Int>) throws(UsageError) -> Int {
        guard let text = value(name) else { return fallback }
        guard let value = Int(text), range.contains(value) else {
            throw UsageError("--\(name) must be a whole number from \(range.lowerBound) to \(range.upperBound), not '\(text)'")
        }
        return value
    }

    /// `--segment-bytes`: the audio bytes of each segment, the `icy-metaint` players see (default 8192). At
    /// least 1,024, a frame or two of audio: smaller segments would last a few milliseconds, every deadline a
    /// node derives from their duration with them (a relay would take its station for silent between two of its
    /// reads), for no player's benefit.
    func segmentBytes() throws(UsageError) -> Int {
        try integer("segment-bytes", default: 8192, in: 1024...1_048_576)
    }

    /// A TCP port given with `--name`, or `fallback`.
    func port(_ name: String, default fallback: UInt16) throws(UsageError) -> UInt16 {
        UInt16(try integer(name, default: Int(fallback), in: 0...65535))
    }

    /// The one positional word a command needs.
    func single(_ what: String) throws(UsageError) -> String {
        guard positionals.count == 1 else {
            throw UsageError(positionals.isEmpty ? "missing \(what)" : "unexpected words: \(positionals.dropFirst().joined(separator: " "))")
        }
        return positionals[0]
    }

    /// No positional words allowed.
    func none() throws(UsageError) {
        guard positionals.isEmpty else { throw UsageError("unexpected words: \(positionals.joined(separator: " "))") }
    }
}

/// A mistake on the command line: the message, then the command's usage.
struct UsageError: Error {
    let message: String
    /// Whether the mistake is in a `--config` file (its message names the file and line).
    let inFile: Bool
    /// Whether the mistake is of the options together, no single line's (`no source could publish /a`): a config
    /// file names it by its file alone (``Arguments/placed(_:)``).
    let ofTheWhole: Bool
    init(_ message: String, inFile: Bool = false, ofTheWhole: Bool = false) {
        self.message = message
        self.inFile = inFile
        self.ofTheWhole = ofTheWhole
    }

    /// How a message names a value that came from an environment variable: `COMMANDS_API_AUTH (from the
    /// environment) takes …`.
    static let fromTheEnvironment = "(from the environment)"

    /// Whether the command's usage helps: not for a mistake in a config file or in an environment variable, which
    /// the usage would bury under the options the command line got right.
    var wantsUsage: Bool { !inFile && !message.contains(Self.fromTheEnvironment) }
}
