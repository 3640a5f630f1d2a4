import Casty
import CastyNet

extension ServerCommand {
    /// The options a station server takes again while it runs (``StationServer/reload(_:)``); the others are
    /// taken at its next start.
    static let reloadable: Set<String> = [
        "source-password", "admin-password", "mounts", "accept-all", "mount-password", "mount-user", "fallback", "max-listeners", "max-sources",
        "mount-max-listeners", "source-timeout", "source-catch-up", "idle-mount-timeout",
    ]

    /// The options of recordings: taken at the next start, not again, but a reading checks them as its file has
    /// them, with its mounts (``reloadOnHangup(_:_:alsoChecking:logger:)``).
    static let recordingOptions: Set<String> = ["record", "record-dir", "record-every", "record-titles"]

    /// From now on SIGHUP reads the command line and its `--config` files again and gives `server` the rules they
    /// set, as Icecast reloads its file on SIGHUP (logrotate's `postrotate`, `systemctl reload`): one line says
    /// what changed — a password only as changed —, and which other options changed, to be taken at a restart. A
    /// mistake in the file changes nothing: one line names it, and the server runs on as it was. Under `nohup`,
    /// which ignores SIGHUP, SIGHUP is taken back for this (``onHangup(_:)``), and one line says so when there is
    /// a `--config` file to read again: an operator who knows that nohup ignores SIGHUP would otherwise wonder.
    /// The options read again are checked as a start checks them (``checkAsAStart(_:)``, then `alsoChecking`: a
    /// root's tree options), all of them: one taken at a restart only, which that restart would refuse, is said now.
    static func reloadOnHangup(
        _ server: StationServer, _ arguments: Arguments, alsoChecking: @escaping @Sendable (Arguments) throws -> Void = { _ in },
        logger: EventLog
    ) {
        let takenBack = onHangup {
            var fresh: Arguments?
            do {
                guard let again = try arguments.readAgain?() else { return }
                fresh = again
                try checkAsAStart(again)
                try alsoChecking(again)
                // What is not taken again stays as the server runs it: a new --relay's mount is not listed without its
                // relay. The recordings aside, which are not taken again either: a mount taken off the list ends its
                // own, and checked against the new list, the old ones would refuse a file that a start takes.
                let taken = again.taking(reloadable.union(recordingOptions), otherwiseAs: arguments)
                fresh = taken
                let configuration = try stationConfiguration(taken, needsSourcePassword: !ControlOptions.verifiesKeys(taken))
                let changes = try await server.reload(configuration)
                let later = restartOnly(arguments, again)
                logger("SIGHUP: options read again: " + (changes.isEmpty ? "nothing to change" : changes.joined(separator: "; "))
                    + (later.isEmpty ? "" : "; \(later.map { "--" + $0 }.joined(separator: ", ")) changed too: taken at a restart"))
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

    /// The options that differ between what the server started with and what was read again, among those a
    /// running server does not take again.
    static func restartOnly(_ running: Arguments, _ again: Arguments) -> [String] {
        running.names.union(again.names).subtracting(reloadable).sorted().filter {
            running.all($0) != again.all($0) || running.flag($0) != again.flag($0)
        }
    }
}
