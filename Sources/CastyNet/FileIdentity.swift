internal import CCastySystem

/// Which file a path names now.
package enum FileIdentity {
    /// Whether `path` names the file open as `fd`: `false` once the file was renamed (`logrotate`) or deleted, or
    /// the path names another file since, so that a writer of a log can open the path again.
    package static func path(_ path: String, names fd: Int32) -> Bool {
        casty_path_names_fd(path, fd) == 1
    }

    /// Whether `path` names a regular file (through any link) — not a pipe, a FIFO, a directory or a device —;
    /// `nil` when it names nothing.
    package static func isRegularFile(_ path: String) -> Bool? {
        switch casty_is_regular_file(path) {
        case 1: true
        case 0: false
        default: nil
        }
    }
}
