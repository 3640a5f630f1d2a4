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
/// application verifies keys, the newcomer takes over only once its key is accepted (``mayTakeOver(_:credentials:)``
/// before asking, ``takeOver(_:credentials:by:)`` after): one it refuses, or that it cannot be asked about, leaves
/// the live source on the air.
extension MountTable {
    /// How long a live source must have sent nothing for a source with its credentials to take its mount.
    static let takeoverSilence: Duration = .seconds(2)

    /// Whether a source publishing on `path` with one of `credentials` may take the mount now
    /// (``takeOver(_:credentials:by:)``), ending nothing. On the loop.
    func mayTakeOver(_ path: String, credentials: [String?]) -> Bool {
        takeable(path, credentials: credentials) != nil
    }

    /// Ends the source live on `path` for `peer`, a source publishing there with one of `credentials`, if it
    /// published with one of them and has sent nothing for ``takeoverSilence``; returns whether the mount is
    /// free now. Empty credentials match nothing. On the loop.
    func takeOver(_ path: String, credentials: [String?], by peer: String) -> Bool {
        guard let (source, silent) = takeable(path, credentials: credentials) else { return false }
        takingOver = path
        defer { takingOver = nil }
        source.disconnect("replaced by \(peer), which publishes with its credentials after \(formatted(seconds(silent))) s in which"
            + " it sent nothing (the same encoder reconnecting)")
        return mounts[path]?.source == nil
    }

    /// The source live on `path` and how long it has sent nothing, if a source with one of `credentials` may take
    /// its mount: it published with one of them, and has been silent for ``takeoverSilence``.
    private func takeable(_ path: String, credentials: [String?]) -> (source: SourceSession, silent: Duration)? {
        guard let source = mounts[path]?.source,
              credentials.contains(where: { ($0?.isEmpty == false) && source.isPublished(with: $0) }) else { return nil }
        let silent = source.assumeIsolated { $0.silence }
        return silent >= Self.takeoverSilence ? (source, silent) : nil
    }
}
