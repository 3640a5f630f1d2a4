/// What `casty-cli` does with a signal it handles (``to(_:endsItself:readsAgainOnHangup:)``): the decision alone,
/// which its signal handler carries out. SIGINT and SIGTERM stop a server cleanly (``Shutdown``); SIGHUP does too,
/// but in a command that reads its options again on it, where it is a reading — held until the reading is ready
/// when it comes during the start (a service manager's early `reload`), never a stop; SIGUSR1 and SIGUSR2 change
/// nothing but a line (logrotate's `postrotate` scripts send `kill -USR1`, and their default action would kill the
/// process at once, its access log's last lines, its recordings and its events lost).
package enum SignalResponse: Equatable, Sendable {
    /// Stop the process cleanly (``Shutdown``), then exit with status 0.
    case stop
    /// Tell the command, which ends itself (a load generator prints its summary); a second such signal exits at once.
    case tell
    /// Read the options again: at once, or once the reading is ready if the command is still starting.
    case readAgain
    /// Change nothing: log this line, which says why.
    case ignore(String)

    /// The signals `casty-cli` handles, by name: the others keep their default action.
    package static let handled = ["SIGINT", "SIGTERM", "SIGHUP", "SIGUSR1", "SIGUSR2"]

    /// What the signal named `name` does to a command that `endsItself` (it watches for being told to end), or
    /// that `readsAgainOnHangup` (a station server, a root of mounts, a node with `--tree-key-file`) — whether or
    /// not its reading is ready yet.
    package static func to(_ name: String, endsItself: Bool, readsAgainOnHangup: Bool) -> SignalResponse {
        switch name {
        case "SIGUSR1", "SIGUSR2":
            return .ignore("\(name): ignored (the access log follows a moved or truncated file by itself: no signal is needed)")
        case "SIGHUP" where readsAgainOnHangup:
            return .readAgain
        default:
            return endsItself ? .tell : .stop
        }
    }
}
