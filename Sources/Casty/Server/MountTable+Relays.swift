internal import CastyNet

/// A mount's permanent source — a relay of another server's stream, or the built-in station — and what happens
/// to its listeners while a relay's upstream does not stream: they hear the mount's fallback meanwhile.
extension MountTable {
    /// Gives `path` a permanent source (a relay, the built-in station). A relay whose upstream does not stream
    /// (at start, or lost since) leaves its listeners to the mount's fallback meanwhile (``relayChanged(_:streaming:)``).
    func attachPermanent(_ source: any Node, at path: String) {
        let mount = make(path)
        mount.permanent = source
        if mount.source == nil { mount.distributor.switchSource(to: source) }
        if let relay = source as? Proxy {
            relay.whenStreamingChanges { [weak self, loop] streaming in
                loop.execute { [weak self] in
                    guard let self, let mount = mounts[path] else { return }
                    relayChanged(mount, streaming: streaming)
                    if !streaming { relayLost(mount) }
                }
            }
        }
        relaysFallBack()
    }

    /// Every relay mount whose upstream does not stream hears its fallback, if that plays now: called whenever a
    /// mount begins to play (a source is heard, a relay streams, a permanent source is given), which may be one
    /// such mount's fallback — at the end of a chain of them, too.
    func relaysFallBack() {
        for relayed in all where relayed.permanent is Proxy && !feeds(relayed) {
            relayChanged(relayed, streaming: false)
        }
    }

    /// Whether `mount` has a stream of its own now: a source, the built-in station, or a relay whose upstream
    /// streams.
    func feeds(_ mount: Mount) -> Bool {
        if mount.source != nil { return true }
        guard let permanent = mount.permanent else { return false }
        guard let relay = permanent as? Proxy, relay.loop === loop else { return true }
        return relay.assumeIsolated { $0.state } == .streaming
    }

    /// A relay mount's upstream was lost (`streaming` false) or streams again. While it is away — as long as no
    /// source publishes there — its listeners hear its fallback, when that plays (the same codec), on the same
    /// connection as for a source that drops; then the relay again (Icecast moves a relay's listeners to its
    /// fallback too). Without a fallback, they wait for the relay, connected, as before.
    func relayChanged(_ mount: Mount, streaming: Bool) {
        if !streaming {
            mount.relayReturn?.cancel()  // lost again before it was heard: its listeners stay on the fallback
            mount.relayReturn = nil
        }
        guard mount.source == nil, let relay = mount.permanent else { return }
        let onFallback = mount.distributor.assumeIsolated { $0.playsFallback }
        if streaming {
            let first = !mount.relayStreamed
            mount.relayStreamed = true
            mount.fallbackRefused = false
            relaysFallBack()  // this relay may be another's fallback
            guard onFallback, mount.relayReturn == nil else { return }
            // Its first stream is no return from an outage (no burst of what was heard): taken at once.
            takeBack(mount, from: relay, after: first ? .zero : rules.relayReturnHold, first: first)
        } else if !onFallback, let target = rules.fallbacks[mount.path].flatMap({ mounts[$0] }), target !== mount, playsNow(target) {
            if hasPlayers(mount), let mismatch = codecMismatch(moving: mount, to: target) {
                // Said once per outage: the relay's listeners wait for it, as a source's do when the codecs differ
                // (with none, as for a source, the fallback is heard: a newcomer is told its type).
                guard !mount.fallbackRefused else { return }
                mount.fallbackRefused = true
                return logger("mount \(mount.path): its relay does not stream; its fallback \(mismatch): its listeners are not moved there")
            }
            // A relay that never streamed (still reaching its upstream, as the server starts) is said when someone hears.
            if mount.relayStreamed || hasPlayers(mount) {
                let relaying = mount.relayStreamed ? "does not stream" : "has not streamed yet"
                logger("mount \(mount.path): its relay \(relaying); \(whoHears(mount)) \(target.path) meanwhile")
            }
            sayShapeChange(mount, from: shape(of: mount), to: heardShape(target), hearing: target.path)
            mount.distributor.switchSource(to: target.distributor)
            notePeak(from: mount)  // its players count at the fallback now
        }
    }

    /// Takes `mount`'s listeners back from its fallback to its relay, back from an outage, once it has streamed for
    /// `hold` and its audio is coming then (``Proxy/audioComing``): a return that is an upstream's burst and nothing
    /// more (its encoder frozen behind Icecast) is not heard — its listeners stay on the fallback until it is lost
    /// again (which cancels the wait) or its audio comes on, looked at every second.
    private func takeBack(_ mount: Mount, from relay: any Node, after hold: Duration, first: Bool) {
        guard hold > .zero else { return takeBackNow(mount, from: relay, first: first) }
        mount.relayReturn = loop.schedule(after: hold) { [weak self, weak mount] in
            guard let self, let mount else { return }
            mount.relayReturn = nil
            guard mount.source == nil, mount.permanent === relay, feeds(mount),
                  mount.distributor.assumeIsolated({ $0.playsFallback }) else { return }
            guard let proxy = relay as? Proxy, proxy.loop === loop, !proxy.assumeIsolated({ $0.audioComing }) else {
                return takeBackNow(mount, from: relay, first: first)
            }
            takeBack(mount, from: relay, after: .seconds(1), first: first)
        }
    }

    /// Takes `mount`'s listeners from its fallback to its relay now, saying so — its first stream only when someone
    /// heard the fallback until then: not for every relay as the server starts.
    private func takeBackNow(_ mount: Mount, from relay: any Node, first: Bool) {
        if !first || hasPlayers(mount) { logger("mount \(mount.path): its relay streams\(first ? "" : " again"); its listeners hear it") }
        let fallback = rules.fallbacks[mount.path].flatMap { mounts[$0] }.flatMap(heardShape)
        sayShapeChange(mount, from: fallback, to: shape(of: mount), hearing: "its relay again")
        mount.distributor.switchSource(to: relay)
    }

    /// A relay mount's fallback changed (a reload). While its upstream is away, its listeners leave the old
    /// fallback's stream, which is forgotten, for the new one when that plays (the same codec) — or, with none now,
    /// wait for the relay, connected. While the relay streams, the new fallback is there for its next outage.
    func relayFallbackChanged(_ mount: Mount) {
        guard let relay = mount.permanent as? Proxy, !feeds(mount) else { return }
        mount.fallbackRefused = false
        guard mount.distributor.assumeIsolated({ $0.playsFallback }) else { return relayChanged(mount, streaming: false) }
        mount.distributor.switchSource(to: relay)
        mount.distributor.sourceGone()
        relayChanged(mount, streaming: false)
        // Not moved (a fallback of another codec is said by relayChanged): they wait, which is said.
        guard !mount.distributor.assumeIsolated({ $0.playsFallback }), !mount.fallbackRefused, hasPlayers(mount) else { return }
        let why = rules.fallbacks[mount.path].map { "its fallback \($0) plays nothing now" } ?? "it has no fallback any more"
        logger("mount \(mount.path): its relay does not stream and \(why); its listeners wait for the relay")
    }
}
