internal import CCastySystem
internal import Synchronization

/// The client side of one TLS session over a connected, non-blocking socket, through the system's OpenSSL
/// (loaded at run time: `CCastyTLS.h`).
///
/// Nothing blocks: the handshake, a read or a write that must wait says which way the socket must become ready
/// (``Progress``), and the connection's loop calls again when it is. The server's certificate is checked against
/// the system's certificates (or `SSL_CERT_FILE`/`SSL_CERT_DIR`) and the host name. Loop-confined, like the
/// ``Connection`` that owns it.
package final class TLSSession: @unchecked Sendable {
    /// Where a call stands.
    package enum Progress: Equatable {
        /// Done: the handshake finished, or this many bytes were read or written.
        case done(Int)
        /// Call again once the socket is readable.
        case wantRead
        /// Call again once the socket is writable.
        case wantWrite
        /// The peer closed the session (a read only).
        case closed
    }

    /// The libraries tried, in order: Debian's `libssl3`.
    package static let libraries = (ssl: "libssl.so.3:libssl.so", crypto: "libcrypto.so.3:libcrypto.so")

    /// The one client context of the process, made when the first session is: `nil` until then, or the reason it
    /// could not be made (OpenSSL missing).
    private static let shared = Mutex<Result<UnsafeMutableRawPointer, SocketError>?>(nil)

    private let session: UnsafeMutableRawPointer

    /// A session for the server `host` on the socket `fd` (which it does not own).
    /// - Throws: ``SocketError/tls(_:)`` when OpenSSL cannot be loaded (naming the package to install) or the
    ///   session cannot be made.
    package init(fd: Int32, host: String) throws(SocketError) {
        let context = try Self.context().get()
        let made = Self.withError { casty_tls_session_new(context, fd, host, $0, $1) }
        guard let session = made.value else { throw .tls(made.error) }
        self.session = session
    }

    deinit {
        casty_tls_session_free(session)
    }

    /// Goes on with the handshake.
    package func handshake() throws(SocketError) -> Progress {
        try progress(casty_tls_handshake(session))
    }

    /// Reads decrypted bytes into `buffer`.
    package func read(into buffer: UnsafeMutableRawBufferPointer) throws(SocketError) -> Progress {
        try progress(casty_tls_read(session, buffer.baseAddress, Int32(clamping: buffer.count)))
    }

    /// Writes `bytes` (part of them, maybe).
    package func write(_ bytes: UnsafeRawBufferPointer) throws(SocketError) -> Progress {
        guard !bytes.isEmpty else { return .done(0) }
        return try progress(casty_tls_write(session, bytes.baseAddress, Int32(clamping: bytes.count)))
    }

    private func progress(_ result: Int32) throws(SocketError) -> Progress {
        switch result {
        case let count where count > 0: return .done(Int(count))
        case Int32(CASTY_TLS_CLOSED): return .closed
        case Int32(CASTY_TLS_WANT_READ): return .wantRead
        case Int32(CASTY_TLS_WANT_WRITE): return .wantWrite
        default: throw .tls(Self.withError { casty_tls_error(session, $0, $1) }.error)
        }
    }

    /// The process's client context: loads OpenSSL and makes it the first time.
    private static func context() -> Result<UnsafeMutableRawPointer, SocketError> {
        shared.withLock { shared in
            if let shared { return shared }
            let made: Result<UnsafeMutableRawPointer, SocketError>
            let loaded = withError { casty_tls_load(libraries.ssl, libraries.crypto, $0, $1) }
            if loaded.value != 0 {
                made = .failure(.tls("cannot load OpenSSL (\(loaded.error)); install Debian's libssl3 package"))
            } else {
                let context = withError { casty_tls_context_new($0, $1) }
                made = context.value.map { .success($0) } ?? .failure(.tls(context.error))
            }
            shared = made
            return made
        }
    }

    /// Calls `body` with an error buffer; its result and the buffer's text.
    private static func withError<T>(_ body: (UnsafeMutablePointer<CChar>, Int) -> T) -> (value: T, error: String) {
        var buffer = [CChar](repeating: 0, count: 256)
        let value = buffer.withUnsafeMutableBufferPointer { body($0.baseAddress!, $0.count) }
        return (value, String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
    }
}
