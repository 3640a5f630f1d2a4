internal import CCastySystem
internal import Glibc
internal import Synchronization

/// Why libsrt rejected a caller that the listen callback had let go on with its mount's passphrase: SRT checks
/// the passphrase itself, after the callback, and tells no one but its log. Casty hands libsrt's log lines to
/// ``SRTCallers/logLine(level:message:)``, which finds these rejections in them.
package enum SRTRejection: Sendable, Equatable, CustomStringConvertible {
    /// The caller's passphrase is not its mount's (`SRT_REJ_BADSECRET`, "Incorrect passphrase").
    case wrongPassphrase
    /// The caller gave no passphrase where its mount has one (`SRT_REJ_UNSECURE`, "Password required or
    /// unexpected"; ``parse(_:)`` reads that reason as this case).
    case passphraseMissing
    /// The caller gave a passphrase where its mount has none (`SRT_REJ_UNSECURE` too: libsrt's reason covers both
    /// cases, the listener that set no passphrase tells this one apart with ``given(passphrase:)``).
    case passphraseUnexpected

    /// `wrong passphrase`, `no passphrase, where the mount has one`, `a passphrase, where the mount has none`: how a
    /// log line says it.
    package var description: String {
        switch self {
        case .wrongPassphrase: "wrong passphrase"
        case .passphraseMissing: "no passphrase, where the mount has one"
        case .passphraseUnexpected: "a passphrase, where the mount has none"
        }
    }

    /// This rejection of a caller whose socket was given a passphrase (`passphrase`) or none: libsrt's
    /// `SRT_REJ_UNSECURE` (read as ``passphraseMissing``) is then ``passphraseUnexpected``.
    package func given(passphrase: Bool) -> SRTRejection {
        self == .passphraseMissing && !passphrase ? .passphraseUnexpected : self
    }

    /// The socket and the reason of a rejection that libsrt logs, as in
    /// `@766073194:newConnection: connection rejected due to: INTERNAL REJECTION - ERROR:BADSECRET` (libsrt 1.5;
    /// the time and thread may come first); `nil` for any other line.
    package static func parse(_ line: String) -> (socket: Int32, reason: SRTRejection)? {
        guard let marker = line.firstRange(of: ":newConnection: connection rejected due to:") else { return nil }
        let reason: SRTRejection
        if line[marker.upperBound...].contains("BADSECRET") {
            reason = .wrongPassphrase
        } else if line[marker.upperBound...].contains("UNSECURE") {
            reason = .passphraseMissing
        } else {
            return nil
        }
        let before = line[..<marker.lowerBound]
        guard let at = before.lastIndex(of: "@"), let socket = Int32(before[before.index(after: at)...]) else { return nil }
        return (socket, reason)
    }
}

/// The callers libsrt's listen callback let go on, until they are accepted or rejected: the socket libsrt made
/// for each, its address, and who is told when SRT rejects it. Process-wide, as libsrt's log is.
enum SRTCallers {
    /// One caller in its handshake.
    struct Pending {
        let peer: SocketAddress?
        /// Whether the listen callback gave its socket a passphrase.
        let passphrase: Bool
        let since: ContinuousClock.Instant
        let rejected: @Sendable (SocketAddress?, SRTRejection) -> Void
    }

    /// Callers older than this are forgotten (a handshake takes well under a second).
    static let keep: Duration = .seconds(30)
    private static let pending = Mutex<[Int32: Pending]>([:])
    private static let installed = Atomic<Bool>(false)

    /// Hands libsrt's log lines to ``logLine(level:message:)``, once per process. Without a handler in the
    /// library, rejections go unlogged, as before.
    static func installLogHandler() {
        guard !installed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        _ = casty_srt_set_log_handler { level, message in
            guard let message else { return }
            SRTCallers.logLine(level: level, message: String(cString: message))
        }
    }

    /// `socket` is a caller from `peer` in its handshake, given a passphrase (`passphrase`) or none: `rejected` is
    /// told if SRT rejects it.
    static func started(
        _ socket: Int32, peer: SocketAddress?, passphrase: Bool, rejected: @escaping @Sendable (SocketAddress?, SRTRejection) -> Void
    ) {
        let now = ContinuousClock.now
        pending.withLock { callers in
            callers = callers.filter { now - $0.value.since < keep }
            callers[socket] = Pending(peer: peer, passphrase: passphrase, since: now, rejected: rejected)
        }
    }

    /// `socket` was accepted, or its listener closed: nothing more is expected of it.
    static func ended(_ socket: Int32) {
        _ = pending.withLock { $0.removeValue(forKey: socket) }
    }

    /// One of libsrt's log lines (warnings and worse): a caller's rejection is told to its listener; critical
    /// lines go to standard error, as libsrt wrote them before; the rest is dropped (Casty logs what happens).
    static func logLine(level: Int32, message: String) {
        if let (socket, reason) = SRTRejection.parse(message) {
            guard let caller = pending.withLock({ $0.removeValue(forKey: socket) }) else { return }
            caller.rejected(caller.peer, reason.given(passphrase: caller.passphrase))
        } else if level <= 2 {
            let bytes = Array((message.hasSuffix("\n") ? message : message + "\n").utf8)
            _ = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
        }
    }
}
