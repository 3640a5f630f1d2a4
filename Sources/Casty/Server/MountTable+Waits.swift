internal import CastyNet

/// Who waits for a source, and when: listeners of a mount with nothing to play wait for the source timeout — those
/// of a mount a source may publish, and those hearing another mount as their fallback when that mount goes quiet.
extension MountTable {
    /// Whether the listeners hearing `mount`, which has nothing to play, may wait for a source (the source timeout):
    /// a source may publish it (``awaitsSource(_:)``), or a mount hearing it as its fallback
    /// (``hearingAsFallback(_:)``). Those asked for a listed mount hear whichever comes first — their own source, or
    /// one down their fallbacks: a mount off the whitelist in the middle of the chain, which they never asked for,
    /// does not let them go at once (nor its own players, who hear the same stream and wait with them).
    func listenersMayWait(_ mount: Mount) -> Bool {
        awaitsSource(mount) || hearingAsFallback(mount).contains { mounts[$0].map(awaitsSource) == true }
    }

    /// The relay of `relay` lost its upstream (after ``relayChanged(_:streaming:)``, which gave the relay's own
    /// listeners its fallback, if that plays): a mount hearing it as its fallback — no source, no relay of its own —
    /// that has nothing to play now is as one whose fallback has nothing to play as its source leaves. Its listeners
    /// (and those hearing it in turn) wait for a source for the source timeout, said at once, and are let go then,
    /// unless something plays by then (the relay back, a source); new listeners get `404` meanwhile, as on any mount
    /// with nothing to play. They were held on silence, unsaid, for as long as the outage lasted.
    func relayLost(_ relay: Mount) {
        guard !stopping else { return }
        for path in fallingBack[relay.path] ?? [] {
            guard let mount = mounts[path], mount.source == nil, mount.permanent == nil, !mount.fallbackRefused,
                  mount.waiting == nil, !playsNow(mount) else { continue }
            let hearing = hearingAsFallback(mount)
            guard hasPlayers(mount) || !hearing.isEmpty else { continue }
            if listenersMayWait(mount) {
                logger("mount \(path): its fallback \(relay.path) plays nothing now (its relay does not stream); "
                    + "its listeners\(Self.alsoLetGo(hearing)) wait for a source (up to \(rules.sourceTimeout))")
            }
            dropListenersUnlessServed(mount)
        }
    }
}
