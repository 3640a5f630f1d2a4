internal import Icy

/// A player decodes the codec its reply's `Content-Type` named, for as long as the connection lasts: moving
/// listeners to a stream of another codec (an MP3 mount whose fallback is AAC) would feed their decoder bytes it
/// cannot play. Icecast refuses such moves too ("different types, ignored").
extension MountTable {
    /// The `Content-Type` of `mount`'s stream, if it has one now: a source's, its permanent source's, or its
    /// fallback's. (While its stream is away, what its listeners were told is ``Distributor/toldContentType``.)
    func contentType(of mount: Mount) -> String? {
        mount.distributor.assumeIsolated { $0.contentType }
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
