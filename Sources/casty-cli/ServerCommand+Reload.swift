import Casty
import CastyNet
import Synchronization

extension ServerCommand {
    /// The options a station server takes again while it runs (``StationServer/reload(_:)``); the others are
    /// taken at its next start.
    static let reloadable: Set<String> = [
        "source-password", "admin-password", "mounts", "accept-all", "mount-password", "mount-user", "fallback", "max-listeners", "max-sources",
        "mount-max-listeners", "source-timeout", "source-catch-up", "idle-mount-timeout",
    ]

    /// The options a server started with `running` takes again: ``reloadable``, and the SRT passphrases if it listens
    /// for SRT (one that does not would need `--srt-port`, taken at a restart, to take them).
    static func reloadable(_ running: Arguments) -> Set<String> {
        running.value("srt-port") == nil ? reloadable : reloadable.union(["srt-passphrase"])
    }

    /// The options of recordings: taken at the next start, not again, but a reading checks them as its file has
    /// them, with its mounts (``reloadOnHangup(_:_:alsoChecking:logger:)``).
    static let recordingOptions: Set<String> = ["record", "record-dir", "record-every", "record-titles"]

    /// From now on SIGHUP reads the command line and its `--config` files again and gives `server` the rules they
    /// set, as Icecast reloads its file on SIGHUP (logrotate's `postrotate`, `systemctl reload`): one line says
    /// what changed — a password only as set, changed or removed —, and which other options changed, to be taken
    /// at a restart (said by the reading that changed them, not again by the next ones, which leave them so). A
    /// mistake in the file changes nothing: one line names it, and the server runs on as it was. Under `nohup`,
    /// which ignores SIGHUP, SIGHUP is taken back for this (``onHangup(_:)``), and one line says so when there is
    /// a `--config` file to read again: an operator who knows that nohup ignores SIGHUP would otherwise wonder.
    /// The options read again are checked as a start checks them (``checkAsAStart(_:)``, then `alsoChecking`: a
    /// root's tree options), all of them: one taken at a restart only, which that restart would refuse, is said now.
    /// A root of a closed tree gives its `runningKey`: its key (`--tree-key-file`'s file, read again, or a file's
    /// `--tree-key`) is taken at once, the key it replaces still accepted until the next change (``TreeKeyReload``);
    /// a key file that cannot be read, or holds no key, is a mistake like another: the server runs on as it was.
    static func reloadOnHangup(
        _ server: StationServer, _ arguments: Arguments, runningKey: TreeKey? = nil,
        alsoChecking: @escaping @Sendable (Arguments) throws -> Void = { _ in }, logger: EventLog
    ) {
        let taking = reloadable(arguments)
        let last = LastReading(arguments)
        let takenBack = onHangup {
            var fresh: Arguments?
            do {
                guard let readAgain = arguments.readAgain else { return }
                // The files (the --config files, a key file) are read off the pool, where waiting on a disk blocks nothing.
                let again = try await offThePool(readAgain)
                fresh = again
                for warning in again.warnings { logger("SIGHUP: \(warning)") }
                // Checked, and the key read once, off the pool as well: taken only if all of it is.
                let key = try await offThePool { () throws -> TreeKey? in
                    try checkAsAStart(again)
                    try alsoChecking(again)
                    return runningKey == nil ? nil : try treeKey(again)
                }
                // What is not taken again stays as the server runs it: a new --relay's mount is not listed without its
                // relay. The recordings aside, which are not taken again either: a mount taken off the list ends its
                // own, and checked against the new list, the old ones would refuse a file that a start takes.
                let taken = again.taking(taking.union(recordingOptions), otherwiseAs: arguments)
                fresh = taken
                var configuration = try configurationTaken(taken, restartOnly: restartOnly(arguments, again, taking: taking))
                if let address = server.srtAddress {
                    var srt = SRTIngest.Configuration(address: address)  // of it, the passphrases only are taken again
                    try SRTOptions.takePassphrases(taken, into: &srt)
                    configuration.srt = srt
                }
                var changes = try await server.reload(configuration)
                let before = last.swap(again)
                // A closed tree's key, still given: taken (a key removed, or given to an open tree, waits for a restart).
                var takingNow = taking
                if let runningKey, let key, let source = TreeKeyReload.source(again) {
                    takingNow.formUnion(TreeKeyReload.options)
                    if let change = TreeKeyReload.take(key, into: runningKey, from: source, before: TreeKeyReload.source(before), branch: false) {
                        changes.append(change)
                    }
                }
                // Those the server does not run as read, that this reading changed: a line not touched since is not said again.
                let later = Set(restartOnly(before, again, taking: takingNow))
                    .intersection(restartOnly(arguments, again, taking: takingNow))
                logger("SIGHUP: options read again: " + said(changes, later: later.sorted()))
                // A password this reading set, while the application decides the keys: believed to protect, it does not.
                if ["source-password", "mount-password", "mount-user"].contains(where: { before.all($0) != again.all($0) }) {
                    warnOfPasswordsNotAsked(taken, logger: logger.prefixed("SIGHUP: "))
                }
            } catch {
                let message = (error as? ConfigurationError).flatMap(optionNamed) ?? "\(error)"
                let placed = (error as? UsageError).map { fresh?.placed($0) ?? $0.message } ?? fresh?.placed(message) ?? message
                logger("SIGHUP: options not read again, the server runs on as it was: \(placed)")
            }
        }
        let files = arguments.all("config")
        if takenBack, !files.isEmpty {
            logger("--config \(files.joined(separator: ", ")): SIGHUP was ignored when this process started (under nohup?); "
                + "it is taken all the same, to read the file again: it never stops the server, and a closed terminal's SIGHUP reads the file again too")
        }
    }

    /// The configuration of the options a reading gives the running server (`taken`: those taken again, the others as
    /// it runs them). The reading was checked whole, as a start; a mistake now comes from that mix — a fallback to the
    /// mount of a `--relay` or `--station` the reading adds, which only a restart takes: said so (`restartOnly`, the
    /// options the reading changed that wait for one), not as a mount that does not exist.
    private static func configurationTaken(_ taken: Arguments, restartOnly: [String]) throws -> StationServer.Configuration {
        do {
            return try stationConfiguration(taken, needsSourcePassword: !ControlOptions.verifiesKeys(taken))
        } catch let error as UsageError where !restartOnly.isEmpty {
            throw UsageError(error.message + " until a restart takes \(restartOnly.map { "--" + $0 }.joined(separator: ", ")) as this"
                + " reading gives \(restartOnly.count == 1 ? "it" : "them"): restart to take them together", inFile: error.inFile)
        }
    }

    /// The options that differ between two readings (what the server started with, or the last reading, and what
    /// was read again), among those a running server does not take again (all but `taking`).
    static func restartOnly(_ before: Arguments, _ again: Arguments, taking: Set<String>) -> [String] {
        before.names.union(again.names).subtracting(taking).sorted().filter {
            before.all($0) != again.all($0) || before.flag($0) != again.flag($0)
        }
    }

    /// What a reading's line says after `SIGHUP: options read again: `: the `changes` taken now, and the options
    /// (`later`) that changed but wait for a restart — never "nothing to change" beside options that did change.
    static func said(_ changes: [String], later: [String]) -> String {
        let options = later.map { "--" + $0 }.joined(separator: ", ")
        switch (changes.isEmpty, later.isEmpty) {
        case (true, true): return "nothing changed"
        case (true, false): return "only \(options) changed: taken at a restart"
        case (false, true): return changes.joined(separator: "; ")
        case (false, false): return changes.joined(separator: "; ") + "; \(options) changed too: taken at a restart"
        }
    }
}

/// The options the last reading gave (the command line's, until SIGHUP reads them again): an option taken at a
/// restart is said changed by the reading that changed it only. Readings run one at a time (``onHangup(_:)``).
private final class LastReading: Sendable {
    private let arguments: Mutex<Arguments>

    init(_ arguments: Arguments) {
        self.arguments = Mutex(arguments)
    }

    /// Keeps `reading` as the last one, and returns the one before.
    func swap(_ reading: Arguments) -> Arguments {
        arguments.withLock { last in
            defer { last = reading }
            return last
        }
    }
}
