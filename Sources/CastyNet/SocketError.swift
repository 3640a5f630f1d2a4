internal import CCastySystem
internal import Glibc

/// What went wrong with a socket call.
///
/// Every failing system call in the Net layer throws one of these. The cases that carry an
/// `errno` also carry the operating system's own text for it (`strerror`), so a log line reads
/// like `connect to 127.0.0.1:8000 failed: connection refused (errno 111)`.
public enum SocketError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A system call failed. `operation` says what was being done (for example
    /// `"bind to 0.0.0.0:8000"`), `errno` is the raw error number and `message` its `strerror` text.
    case failed(operation: String, errno: Int32, message: String)
    /// The call would have to wait (EAGAIN / EWOULDBLOCK). On a non-blocking socket this is not a
    /// failure: wait for readiness and try again.
    case blocked
    /// The socket or connection is already closed.
    case closed
    /// An operation did not finish before its deadline.
    case timedOut
    /// A host name could not be turned into addresses (`getaddrinfo` failed).
    case resolve(host: String, message: String)
    /// The process (EMFILE) or the system (ENFILE) has no file descriptor left.
    case outOfDescriptors
    /// TLS failed (an https:// peer): OpenSSL could not be loaded, the handshake failed, the certificate was not
    /// accepted, or the session broke; the text says which.
    case tls(String)

    /// Whether the peer reset the connection (`ECONNRESET`, or `EPIPE` on a write after it): how a player that
    /// quits with audio unread mostly leaves — its leaving, not a fault.
    public var isReset: Bool {
        guard case .failed(_, let code, _) = self else { return false }
        return code == ECONNRESET || code == EPIPE
    }

    /// Builds the error for a failed call from the current `errno`.
    ///
    /// `EAGAIN`/`EWOULDBLOCK` become ``blocked`` and `EMFILE`/`ENFILE` become ``outOfDescriptors``.
    static func lastError(_ operation: @autoclosure () -> String) -> SocketError {
        fromErrno(Glibc.errno, operation())
    }

    /// Builds the error for `code` (an errno value).
    static func fromErrno(_ code: Int32, _ operation: @autoclosure () -> String) -> SocketError {
        switch code {
        case EAGAIN, EWOULDBLOCK: return .blocked
        case EMFILE, ENFILE: return .outOfDescriptors
        default: return .failed(operation: operation(), errno: code, message: Self.text(forErrno: code))
        }
    }

    /// The `strerror` text for an errno value, obtained in a thread-safe way.
    static func text(forErrno code: Int32) -> String {
        withUnsafeTemporaryAllocation(of: CChar.self, capacity: 256) { buffer in
            String(cString: casty_strerror(code, buffer.baseAddress!, buffer.count))
        }
    }

    /// The errno behind this error, when there is one.
    public var errno: Int32? {
        switch self {
        case .failed(_, let code, _): return code
        case .blocked: return EAGAIN
        case .outOfDescriptors: return EMFILE
        case .closed, .timedOut, .resolve, .tls: return nil
        }
    }

    /// A one-line explanation, for logs and command-line output.
    public var description: String {
        switch self {
        case .failed(let operation, let code, let message):
            return "\(operation) failed: \(Self.lowercasingFirst(message)) (errno \(code))"
        case .blocked:
            return "operation would block (try again when the socket is ready)"
        case .closed:
            return "socket is closed"
        case .timedOut:
            return "operation timed out"
        case .resolve(let host, let message):
            return "cannot resolve host '\(host)': \(Self.lowercasingFirst(message))"
        case .outOfDescriptors:
            return "out of file descriptors (raise the limit with `ulimit -n`)"
        case .tls(let reason):
            return "TLS: \(reason)"
        }
    }

    private static func lowercasingFirst(_ text: String) -> String {
        guard let first = text.first else { return text }
        return first.lowercased() + text.dropFirst()
    }
}
