internal import CCastySystem
internal import Glibc

/// Which file a path names now.
package enum FileIdentity {
    /// Whether `path` names the file open as `fd`: `false` once the file was renamed (`logrotate`) or deleted, or
    /// the path names another file since, so that a writer of a log can open the path again.
    package static func path(_ path: String, names fd: Int32) -> Bool {
        casty_path_names_fd(path, fd) == 1
    }

    /// What tells one file from another: its device and inode, the same for every path of one file.
    package struct Identity: Hashable, Sendable {
        /// The device the file is on.
        let device: UInt64
        /// The file's inode on that device.
        let inode: UInt64
    }

    /// The file `path` names now (through any link) — one for `casty.conf`, `./casty.conf` and a link to it —;
    /// `nil` when it names nothing.
    package static func of(_ path: String) -> Identity? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return Identity(device: UInt64(info.st_dev), inode: UInt64(info.st_ino))
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
