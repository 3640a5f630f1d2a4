internal import CastyNet

/// An encoder that reconnects while its old connection still holds the mount: its network blinked, it opened a new
/// connection at once, and the old one — whose end the server never heard (no FIN came through) — still counts
/// as the mount's source. Icecast refuses the newcomer (`403 Mountpoint in use`) until the old one times out, and
/// the broadcaster is off the air for that long, or for as long as the encoder waits before trying again.
///
/// Casty lets the newcomer take over when it publishes with a credential the live source published with (its
/// password or its stream key, compared in constant time — a stranger cannot) and the live source has sent
/// nothing for ``takeoverSilence``: it is the same broadcaster, and the old connection is dead. A second encoder
/// that publishes while the first one still sends (a backup started by mistake) is refused as before. When the
/// application verifies keys, the newcomer takes over only once its key is accepted (``mayTakeOver(_:credentials:passphrase:)``
/// before asking, ``takeOver(_:credentials:passphrase:by:)`` after): one it refuses, or that it cannot be asked about, leaves
/// the live source on the air.
///
/// An SRT caller's credential is its mount's passphrase, which a SIGHUP may change while the encoder publishes
/// (the rotation holds for the callers that come next): a caller with the mount's passphrase now takes the mount back
/// from a silent SRT source admitted with the passphrase it had then, as its encoder restarted with the new one. The
/// old passphrase lets no caller in any more: libsrt checks the new one.
extension MountTable {
    /// How long a live source must have sent nothing for a source with its credentials to take its mount.
    static let takeoverSilence: Duration = .seconds(2)

    /// Whether a source publishing on `path` with one of `credentials` (or, `passphrase`, an SRT caller with the
    /// mount's passphrase) may take the mount now (``takeOver(_:credentials:passphrase:by:)``), ending nothing. On the loop.
    func mayTakeOver(_ path: String, credentials: [String?], passphrase: Bool = false) -> Bool {
        takeable(path, credentials: credentials, passphrase: passphrase) != nil
    }

    /// Ends the source live on `path` for `peer`, a source publishing there with one of `credentials` — or,
    /// `passphrase`, an SRT caller admitted with the mount's passphrase —, if it published with one of them (an
    /// SRT source: with the mount's passphrase, the same or one since changed) and has sent nothing for
    /// ``takeoverSilence``; returns whether the mount is free now. Empty credentials match nothing. On the loop.
    func takeOver(_ path: String, credentials: [String?], passphrase: Bool = false, by peer: String) -> Bool {
        guard let (source, silent) = takeable(path, credentials: credentials, passphrase: passphrase) else { return false }
        takingOver = path
        defer { takingOver = nil }
        source.disconnect("replaced by \(peer), which publishes with its credentials after \(formatted(seconds(silent))) s in which"
            + " it sent nothing (the same encoder reconnecting)")
        return mounts[path]?.source == nil
    }

    /// The source live on `path` and how long it has sent nothing, if a source with one of `credentials` (or,
    /// `passphrase`, the mount's SRT passphrase) may take its mount: it published with one of them (or was admitted
    /// by the mount's passphrase), and has been silent for ``takeoverSilence``.
    private func takeable(_ path: String, credentials: [String?], passphrase: Bool) -> (source: SourceSession, silent: Duration)? {
        guard let source = mounts[path]?.source,
              credentials.contains(where: { ($0?.isEmpty == false) && source.isPublished(with: $0) })
                || (passphrase && source.byPassphrase) else { return nil }
        let silent = source.assumeIsolated { $0.silence }
        return silent >= Self.takeoverSilence ? (source, silent) : nil
    }
}
