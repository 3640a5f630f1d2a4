internal import Glibc
internal import Synchronization

/// The lock that keeps an event spool to one process: an exclusive `flock` on `<spool>.lock`, taken without
/// waiting and let go when the lock is (or the process ends, even killed). Two processes given the same
/// `--event-spool` would each rewrite the file with their own events, and lose the other's — given it by two
/// paths too (one a symlink to it): the lock is beside the file's real path (``SpoolPath``).
public final class SpoolLock: Sendable {
    /// The lock file: the spool's real path with `.lock` after it.
    public let path: String
    private let fd: Int32

    /// Takes the lock of `spool`, or throws — never waits: another process holds it, or the lock file cannot be
    /// made.
    public init(spool: String) throws(SpoolLockError) {
        let path = SpoolPath.resolved(spool) + ".lock"
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw SpoolLockError(path: path, code: errno) }
        // Before the properties are set: an initializer that throws after would run deinit, closing it twice.
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let code = errno
            _ = close(fd)
            throw SpoolLockError(path: path, code: code)
        }
        self.path = path
        self.fd = fd
    }

    deinit {
        _ = close(fd)
    }

    /// The locks held until the process ends.
    private static let held = Mutex<[SpoolLock]>([])

    /// Takes the lock of `spool` for the rest of the process's life (`casty-cli`, at start-up).
    public static func hold(_ spool: String) throws(SpoolLockError) {
        let lock = try SpoolLock(spool: spool)
        held.withLock { $0.append(lock) }
    }
}

/// Why a spool's lock was not taken: another process holds it, or its file could not be opened.
public struct SpoolLockError: Error, CustomStringConvertible {
    /// The lock file.
    public let path: String
    /// `errno` after `open` or `flock`.
    public let code: Int32

    /// Whether another process holds the lock.
    public var taken: Bool { code == EWOULDBLOCK }

    /// "another Casty process uses it (/var/lib/casty/events.lock is locked)", or the error of its lock file.
    public var description: String {
        taken ? "another Casty process uses it (\(path) is locked)"
            : "cannot lock \(path): \(String(cString: strerror(code)))"
    }
}
