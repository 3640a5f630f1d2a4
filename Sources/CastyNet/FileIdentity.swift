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

    /// What a path names, as `stat` tells it (through any link).
    package enum Kind: Sendable, CustomStringConvertible {
        case regular, fifo, directory, characterDevice, blockDevice, socket, other

        /// The kind as a line says it: `a FIFO`, `a directory`.
        package var description: String {
            switch self {
            case .regular: "a regular file"
            case .fifo: "a FIFO"
            case .directory: "a directory"
            case .characterDevice: "a character device"
            case .blockDevice: "a block device"
            case .socket: "a socket"
            case .other: "no regular file"
            }
        }

        /// The kind of a file of this `stat` mode.
        init(mode: mode_t) {
            switch mode & S_IFMT {
            case S_IFREG: self = .regular
            case S_IFIFO: self = .fifo
            case S_IFDIR: self = .directory
            case S_IFCHR: self = .characterDevice
            case S_IFBLK: self = .blockDevice
            case S_IFSOCK: self = .socket
            default: self = .other
            }
        }
    }

    /// What `path` names now (through any link); `nil` when it names nothing.
    package static func kind(_ path: String) -> Kind? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return Kind(mode: info.st_mode)
    }

    /// What the file open as `fd` is; `nil` when `fstat` fails.
    package static func kind(ofOpen fd: Int32) -> Kind? {
        var info = stat()
        guard fstat(fd, &info) == 0 else { return nil }
        return Kind(mode: info.st_mode)
    }

    /// Whether `path` names a regular file (through any link) — not a pipe, a FIFO, a directory or a device —;
    /// `nil` when it names nothing.
    package static func isRegularFile(_ path: String) -> Bool? {
        kind(path).map { $0 == .regular }
    }
}
