internal import Icy

/// A player decodes the codec its reply's `Content-Type` named, for as long as the connection lasts: moving
/// listeners to a stream of another codec (an MP3 mount whose fallback is AAC) would feed their decoder bytes it
/// cannot play. Icecast refuses such moves too ("different types, ignored").
extension MountTable {
    /// The `Content-Type` `mount`'s listeners were told, if the mount has (or last had) a stream: a source's, its
    /// permanent source's, or its fallback's.
    func contentType(of mount: Mount) -> String? {
        mount.distributor.assumeIsolated { $0.stat().context }?.contentType
    }

    /// Whether `mount`'s listeners may be moved to `target` now: `nil` if so, else why not (both mounts and both
    /// types named), for one log line or an admin's answer. What they were told counts, also while their stream is
    /// away (a relay's lost upstream, whose end the distributor heard before the mount did).
    func codecMismatch(moving mount: Mount, to target: Mount) -> String? {
        let heard = mount.distributor.assumeIsolated { $0.toldContentType }, next = contentType(of: target)
        guard !Context.sameCodec(heard, next), let heard, let next else { return nil }
        return "\(target.path) plays \(next), not \(heard) like \(mount.path)"
    }
}
