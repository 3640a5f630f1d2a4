/// What a benchmark measures and the options it takes: printed by `casty-bench <name> --help` (or `-h`), which
/// then exits without starting anything. Every benchmark of `main.swift`'s table has one, so `--help` works the
/// same way for all of them.
struct Usage {
    /// What it measures and how, a few lines of prose.
    var measures: String
    /// Its options, `--name VALUE` with what it means and its default.
    var options: [(name: String, meaning: String)] = []

    /// Whether the arguments ask for the usage rather than a run.
    static func isAsked(in arguments: [String]) -> Bool {
        arguments.contains("--help") || arguments.contains("-h")
    }

    /// The text printed for `casty-bench <name> --help`.
    func text(name: String) -> String {
        var lines = ["usage: casty-bench \(name)\(options.isEmpty ? "" : " [options]")", "", measures]
        if !options.isEmpty {
            let width = min(30, (options.map(\.name.count).max() ?? 0) + 2)
            lines += ["", "options:"]
            for option in options {
                // A name too long for the column gets a line of its own.
                if option.name.count + 2 > width {
                    lines += ["  " + option.name, "  " + String(repeating: " ", count: width) + option.meaning]
                } else {
                    lines.append("  " + option.name.padding(width) + option.meaning)
                }
            }
        }
        return lines.joined(separator: "\n")
    }
}
