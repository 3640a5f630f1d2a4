import CastyNet
import Casty
import Dispatch
import Glibc
import Synchronization

/// One subcommand of casty-cli.
protocol Command: SendableMetatype {
    /// The word that selects it: `proxy`, `station`, ….
    static var name: String { get }
    /// One line for the overview.
    static var summary: String { get }
    /// The full `--help` text.
    static var usage: String { get }
    /// Options that take a value.
    static var options: Set<String> { get }
    /// Options that take none.
    static var flags: Set<String> { get }
    /// Runs the command; returns when it is done (most run until interrupted).
    static func run(_ arguments: Arguments) async throws
    /// Whether the command ends itself when interrupted (it watches ``interrupted``, and reports before it
    /// exits), rather than being stopped as a server is.
    static var endsItselfWhenInterrupted: Bool { get }
    /// Whether the command, run with `arguments`, reads something again on SIGHUP (``onHangup(_:)``) rather than
    /// stopping: a SIGHUP that comes while it starts is then held for that reading, never a stop.
    static func readsAgainOnHangup(_ arguments: Arguments) -> Bool
}

extension Command {
    static var flags: Set<String> { [] }
    static var endsItselfWhenInterrupted: Bool { false }
    static func readsAgainOnHangup(_ arguments: Arguments) -> Bool { false }
}

/// Set when Ctrl-C, `kill` or a closed terminal asks a command that ends itself (``Command/endsItselfWhenInterrupted``)
/// to end; a second such signal exits at once.
let interrupted = Atomic<Bool>(false)

/// A command, ready to run: what the dispatcher needs to know of it.
struct CommandEntry: Sendable {
    let name: String
    let summary: String
    private let usage: String
    private let options: Set<String>
    private let flags: Set<String>
    private let endsItself: Bool
    private let readsAgainOnHangup: @Sendable (Arguments) -> Bool
    private let run: @Sendable (Arguments) async throws -> Void

    init<C: Command>(_ command: C.Type) {
        name = C.name
        summary = C.summary
        usage = C.usage
        options = C.options
        flags = C.flags
        endsItself = C.endsItselfWhenInterrupted
        readsAgainOnHangup = { C.readsAgainOnHangup($0) }
        run = { try await C.run($0) }
    }

    /// Parses the words after the command's name and runs it; a usage mistake or a failure ends the
    /// process with one error line and a non-zero status.
    func main(_ words: [String]) async -> Never {
        if words.contains("--help") || words.contains("-h") {
            print(usage)
            exit(0)
        }
        var parsed: Arguments?
        do {
            let (all, places, warnings) = try withConfigFile(words)
            var arguments = try Arguments(all, options: options, flags: flags, places: places)
            arguments.warnings = warnings + PortOptions.warnings(arguments)
            arguments.readAgain = { [self] in
                let (all, places, warnings) = try withConfigFile(words, again: true)
                var again = try Arguments(all, options: options, flags: flags, places: places)
                again.warnings = warnings + PortOptions.warnings(again)
                return again
            }
            parsed = arguments
            for warning in arguments.warnings { EventLog.standardError(warning) }
            installSignalHandlers(endsItself: endsItself, readsAgainOnHangup: readsAgainOnHangup(arguments))
            _ = raiseFileDescriptorLimit()
            try await run(arguments)
            exit(0)
        } catch let error as UsageError {
            // A mistake in a config file is one line naming its file and line (an environment variable's, naming
            // it): the usage would bury it.
            let message = parsed?.placed(error) ?? error.message
            fail("\(name): \(message)", code: 1, then: error.wantsUsage && message == error.message ? usageHint : nil)
        } catch {
            fail("\(name): \(parsed?.placed("\(error)") ?? "\(error)")", code: 1)
        }
    }
}

extension CommandEntry {
    /// What follows a usage mistake's line: the usage's first line and where the rest is — the whole usage (up to
    /// a hundred lines) would scroll the mistake off the screen.
    var usageHint: String {
        let first = usage.split(separator: "\n", maxSplits: 1).first.map(String.init) ?? "usage: casty-cli \(name) [options]"
        // A command with no option (`tree`) points at its help all the same, not at options it does not have.
        return "\(first)    (casty-cli \(name) --help for \(options.isEmpty && flags.isEmpty ? "more" : "every option"))"
    }

    /// `words` with the options of the `--config` files, if any, put before them — each file in turn, so a later
    /// file wins over an earlier one and the command line over both —, where each word came from (its file and
    /// line, or `nil` for the command line), and the files' lines to warn of (``ConfigFile/warnings``). A file is
    /// read once, however often and under whatever paths it is given (`casty.conf`, then `./casty.conf`): its later `--config` is dropped — read twice, each of its lines
    /// would be an option given twice. Read `again` (SIGHUP), a file must be a regular file — a pipe
    /// (`--config <(…)`) was read up at the start, and a FIFO would block — that holds an option: an empty one is a
    /// file caught while it was written, not a wish to drop every password and mount.
    func withConfigFile(_ words: [String], again: Bool = false) throws -> (words: [String], places: [String?], warnings: [String]) {
        var all: [String] = []
        var places: [String?] = []
        var warnings: [String] = []
        var read: Set<FileIdentity.Identity> = []
        var repeated: Set<Int> = []  // the indices of the words of a `--config` whose file was read already
        if options.contains("config") {
            for (index, word) in words.enumerated() where word == "--config" || word.hasPrefix("--config=") {
                let path: String
                if word.hasPrefix("--config=") {
                    path = String(word.dropFirst("--config=".count))
                } else {
                    guard index + 1 < words.count else { throw UsageError("option --config needs a value") }
                    path = words[index + 1]
                }
                // `--config "$UNSET"`: a value forgotten, as for every other option (``Arguments``).
                guard !path.isEmpty else { throw UsageError("option --config needs a value, not an empty one") }
                if let identity = FileIdentity.of(path), !read.insert(identity).inserted {
                    repeated.formUnion(word == "--config" ? [index, index + 1] : [index])
                    continue
                }
                if again, FileIdentity.isRegularFile(path) == false {
                    throw UsageError("--config \(path) is no regular file now (a pipe is read once, at the start): give a file to read again")
                }
                let file = try withOption("config", path) { try ConfigFile(path: path, options: options, flags: flags, again: again) }
                if again, file.words.isEmpty {
                    throw UsageError("--config \(path) holds no option now (emptied, or caught while being written?)")
                }
                all += file.words
                places += file.places
                warnings += file.warnings
            }
        }
        let given = words.indices.filter { !repeated.contains($0) }.map { words[$0] }
        return (all + given, places + [String?](repeating: nil, count: given.count), warnings)
    }
}

/// The text of `casty-cli --help`.
func overview(_ commands: [CommandEntry]) -> String {
    """
    casty-cli — relay live Shoutcast/Icecast (ICY) streams

    usage: casty-cli <command> [options]      (casty-cli <command> --help for its options)
           casty-cli --version

    commands:
    \(commands.map { "  \($0.name.padding(10))\($0.summary)" }.joined(separator: "\n"))
    """
}

/// Prints one error line to standard error (control characters escaped: an error may quote what a server
/// sent), then `usage` if given, and exits.
func fail(_ message: String, code: Int32, then usage: String? = nil) -> Never {
    let text = Array("casty-cli: \(SafeText.logLine(message))\n\(usage.map { "\($0)\n" } ?? "")".utf8)
    _ = text.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
    exit(code)
}

/// Exits cleanly on Ctrl-C, `kill` or a closed terminal (SIGINT, SIGTERM, SIGHUP), within 3 s: the application
/// hears `stream-closed` for each live source, recordings are finished, events not sent yet are spooled
/// (``Shutdown``), and listeners see the connection close. A command that `readsAgainOnHangup` (a station server
/// reads its options again, as Icecast does: ``onHangup(_:)``) is not stopped by SIGHUP, even one that comes while
/// it starts, before its reading is ready: that one is held and read once it is. Under `nohup`, which ignores
/// SIGHUP, it is left ignored here — a closed terminal must not stop the command. A command that `endsItself` is
/// only told (``interrupted``), and exits at once on a second signal. SIGUSR1 and SIGUSR2 are ignored, with a line
/// (``SignalResponse``): their default action would kill the process at once.
func installSignalHandlers(endsItself: Bool, readsAgainOnHangup: Bool) {
    if readsAgainOnHangup { hangups.withLock { $0 = $0 ?? HangupReadings() } }
    for name in SignalResponse.handled {
        guard let signal = signalNumbers[name] else { continue }
        if signal == SIGHUP, hangupIgnoredAtStart { continue }
        watch(signal, name, endsItself: endsItself)
    }
}

/// The numbers of the signals ``SignalResponse/handled`` names.
private let signalNumbers: [String: Int32] = [
    "SIGINT": SIGINT, "SIGTERM": SIGTERM, "SIGHUP": SIGHUP, "SIGUSR1": SIGUSR1, "SIGUSR2": SIGUSR2,
]

/// Whether SIGHUP was ignored when the process started (`nohup`), as the kernel says (`sigaction`, which changes
/// nothing) before Casty installs its own handlers.
private let hangupIgnoredAtStart: Bool = {
    var action = sigaction()
    guard sigaction(SIGHUP, nil, &action) == 0 else { return false }
    return unsafeBitCast(action.__sigaction_handler.sa_handler, to: Int.self) == unsafeBitCast(SIG_IGN, to: Int.self)
}()

/// Handles `signal` from now on, off the signal handler, as ``SignalResponse`` decides: SIGHUP told to the
/// command's readings once it has them (``hangups``), SIGUSR1 and SIGUSR2 a line, any signal otherwise the end of
/// the process (``installSignalHandlers(endsItself:readsAgainOnHangup:)``).
private func watch(_ signal: Int32, _ name: String, endsItself: Bool) {
    _ = Glibc.signal(signal, SIG_IGN)  // Dispatch tells it; left to its default action, it would end the process first
    let source = DispatchSource.makeSignalSource(signal: signal, queue: .global())
    source.setEventHandler {
        let readings = hangups.withLock { $0 }
        switch SignalResponse.to(name, endsItself: endsItself, readsAgainOnHangup: readings != nil) {
        case .readAgain:
            readings?.received()
        case .ignore(let line):
            EventLog.standardError(line)
        case .tell:
            if interrupted.exchange(true, ordering: .relaxed) { exit(130) }
        case .stop:
            let started = ContinuousClock.now
            EventLog.standardError("\(name): stopping\(Shutdown.summary)")
            Shutdown.run(within: .seconds(3))
            let (seconds, attoseconds) = (ContinuousClock.now - started).components
            EventLog.standardErrorLast("stopped in \(seconds * 1000 + attoseconds / 1_000_000_000_000_000) ms")
            exit(0)
        }
    }
    source.resume()
    signalSources.append(source)
}

/// Where SIGHUP is told, in a command that reads something again on it: made as the signal handlers are installed
/// when the command says it will (``Command/readsAgainOnHangup(_:)``), so that a SIGHUP during the start waits for
/// the reading; made by ``onHangup(_:)`` otherwise.
private let hangups = Mutex<HangupReadings?>(nil)

/// From now on SIGHUP runs `action` instead of stopping the command: one at a time, in one task, so that a burst
/// of signals cannot leave an older reading in force; signals that come while `action` runs are one more run,
/// which reads what is there by then, and one that came while the command started (held: ``installSignalHandlers(endsItself:readsAgainOnHangup:)``)
/// is run first. Under `nohup` (SIGHUP ignored when the process started) SIGHUP is taken
/// back for `action`, as Icecast and nginx take it: it can no longer stop the command, only run `action` — a
/// closed terminal's SIGHUP too. Returns whether it was so taken back.
@discardableResult
func onHangup(_ action: @escaping @Sendable () async -> Void) -> Bool {
    let readings = hangups.withLock { hangups in
        let readings = hangups ?? HangupReadings()
        hangups = readings
        return readings
    }
    readings.run(action)
    guard hangupIgnoredAtStart else { return false }
    watch(SIGHUP, "SIGHUP", endsItself: false)  // told to `action` alone: `hangups` is set
    return true
}

nonisolated(unsafe) private var signalSources: [any DispatchSourceSignal] = []

extension String {
    /// The string padded with spaces to `width` characters.
    func padding(_ width: Int) -> String {
        count >= width ? self + " " : self + String(repeating: " ", count: width - count)
    }
}
