internal import CastyAudio
internal import CastyNet

/// A player sets its decoder up from the first frames it hears: some (VLC) fail on every frame of another sample
/// rate or channel count after them, and keep failing. Moving listeners between a source and a fallback that
/// differ so is allowed — most players follow, and silence would be worse — but said, so that the station's
/// operator can give the fallback the source's sample rate and channels.
extension MountTable {
    /// The shape of the audio `mount` plays of its own, if known: its source's (once it has sent frames), or its
    /// permanent source's — the built-in station's file, a relay's station (on this loop) once it streamed.
    func shape(of mount: Mount) -> AudioShape? {
        if let source = mount.source { return source.assumeIsolated { $0.shape } }
        switch mount.permanent {
        case let station as Station: return station.shape
        case let relay as Proxy where relay.loop === loop: return relay.assumeIsolated { $0.shape }
        default: return nil
        }
    }

    /// One log line when `mount`'s listeners move from audio of shape `before` to audio of shape `after` (`what`
    /// names where the new audio comes from); nothing when either is unknown, they agree, or nobody listens.
    func sayShapeChange(_ mount: Mount, from before: AudioShape?, to after: AudioShape?, hearing what: String) {
        guard let before, let after, before != after, hasPlayers(mount) else { return }
        // A mount with no fallback heard its own source come back so: there is no fallback to match.
        let warning = rules.fallbacks[mount.path] == nil ? Self.returnWarning : Self.shapeWarning
        logger("mount \(mount.path): its listeners hear \(what) in \(after), after \(before): \(warning)")
    }

    /// What a line about listeners moved to another sample rate or channel count adds.
    static let shapeWarning = "\(AudioShape.changeWarning); give the source and its fallback the same sample rate and channels"
    /// What a line about a mount's own source back in another sample rate or channel count adds.
    static let returnWarning = "\(AudioShape.changeWarning); publish in the sample rate and channels the mount had"

    /// How the admin API's move of listeners from `mount` to `destination` changes what they hear, if it changes
    /// the sample rate or channels (both known): `"; they hear 22050 Hz mono, after 44100 Hz stereo: …"`.
    func shapeChange(moving mount: Mount, to destination: Mount) -> String {
        guard let before = heardShape(mount), let after = heardShape(destination), before != after else { return "" }
        return "; they hear \(after), after \(before): \(Self.shapeWarning)"
    }

    /// The shape of what `mount`'s listeners hear: its own audio's, or while it has none its fallback's (down a
    /// chain of them: fallbacks never make a circle, ``StationServer/Configuration``).
    func heardShape(_ mount: Mount) -> AudioShape? {
        shape(of: heardMount(mount))
    }
}
