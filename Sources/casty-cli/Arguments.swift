/// A command line split into positional words, `--name value` options and `--flag`s.
struct Arguments: Sendable {
    private(set) var positionals: [String] = []
    private var values: [String: [String]] = [:]
    private var present: Set<String> = []

    /// Splits `words`, knowing which options take a value; anything unknown is a usage error.
    init(_ words: [String], options: Set<String>, flags: Set<String>) throws(UsageError) {
        var index = 0
        while index < words.count {
            let word = words[index]
            index += 1
            guard word.hasPrefix("--") else {
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
                present.insert(name)
            } else if options.contains(name) {
                if let inline {
                    values[name, default: []].append(inline)
                } else {
                    guard index < words.count else { throw UsageError("option --\(name) needs a value") }
                    values[name, default: []].append(words[index])
                    index += 1
                }
            } else {
                throw UsageError("unknown option --\(name)")
            }
        }
    }

    /// The value of `--name`, if given (the last one, if given more than once).
    func value(_ name: String) -> String? {
        values[name]?.last
    }

    /// Every value of an option that may be given more than once (`--relay /a=… --relay /b=…`), in order.
    func all(_ name: String) -> [String] {
        values[name] ?? []
    }

    /// Whether `--name` was given.
    func flag(_ name: String) -> Bool {
        present.contains(name)
    }

    /// The whole number given with `--name`, within `range`, or `fallback`.
    func integer(_ name: String, default fallback: Int, in range: ClosedRange<Int>) throws(UsageError) -> Int {
        guard let text = value(name) else { return fallback }
        guard let value = Int(text), range.contains(value) else {
            throw UsageError("--\(name) must be a whole number from \(range.lowerBound) to \(range.upperBound), not '\(text)'")
        }
        return value
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
    init(_ message: String) { self.message = message }
}
