internal import CastyAudio
internal import CastyNet

/// A player sets its decoder up from the first frames it hears: some (VLC) fail on every frame of another sample
/// rate or channel count after them, and keep failing. Moving listeners between a source and a fallback that
/// differ so is allowed — most players follow, and silence would be worse — but said, so that the station's
/// operator can give the fallback the source's sample rate and channels.
extension MountTable {
    /// The shape of the audio `mount`'s own source sends, if it has one that has sent frames.
    func shape(of mount: Mount) -> AudioShape? {
        mount.source?.assumeIsolated { $0.shape }
    }

    /// One log line when `mount`'s listeners move from audio of shape `before` to audio of shape `after` (`what`
    /// names where the new audio comes from); nothing when either is unknown, they agree, or nobody listens.
    func sayShapeChange(_ mount: Mount, from before: AudioShape?, to after: AudioShape?, hearing what: String) {
        guard let before, let after, before != after, hasPlayers(mount) else { return }
        logger("mount \(mount.path): its listeners hear \(what) in \(after), after \(before): some players (VLC) cannot follow "
            + "such a change; give the source and its fallback the same sample rate and channels")
    }
}
