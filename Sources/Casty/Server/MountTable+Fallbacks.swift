internal import CastyNet

/// A mount's fallback changed while the server runs — by `/admin/fallbacks`, or by a reading of the configuration on
/// SIGHUP (``reload(_:)``) —, under the rules `--fallback` sets at start.
extension MountTable {
    /// Sets the fallback of `path` to `target`, or removes it (`nil`), as `/admin/fallbacks` asks; returns what changed
    /// (`fallback /live→/backup (was none)`), or `nil` when nothing did. On the loop.
    ///
    /// The rules are checked as a configuration's are (``StationServer/Configuration/checkFallbacks(_:)``): a change
    /// that would make the fallbacks go round in a circle, or a chain too long, throws and changes nothing. What is live
    /// follows at once, as after a reading (``fallbacksChanged(from:)``). A later reading on SIGHUP keeps the change,
    /// unless it changes that mount's fallback itself (``fallbacks(running:configured:wanted:)``).
    func setFallback(of path: String, to target: String?) throws(ConfigurationError) -> String? {
        let old = rules.fallbacks
        guard old[path] != target else { return nil }
        var next = old
        next[path] = target
        try StationServer.Configuration.checkFallbacks(next)
        rules.fallbacks = next
        fallbacksChanged(from: old)
        return "fallback \(path)→\(target ?? "none") (was \(old[path] ?? "none"))"
    }

    /// The listeners of each mount whose fallback changed from `old` to the rules' now, and which has no source: they
    /// move to the new fallback, on their connections — or, with none now (or one with nothing to play), the mount is
    /// as one whose source left: its stream is forgotten, and its listeners, and those of mounts hearing it as their
    /// fallback, wait for a source for the source timeout. A relay mount whose upstream is away does the same, its
    /// listeners waiting for the relay (``relayFallbackChanged(_:)``). A mount with a source changes nothing now: its
    /// new fallback is heard when its source leaves.
    func fallbacksChanged(from old: [String: String]) {
        let next = rules.fallbacks
        for (path, target) in next.sorted(by: { $0.key < $1.key }) {
            _ = make(path)
            _ = make(target)
        }
        for path in order where old[path] != next[path] {
            guard let mount = mounts[path], mount.source == nil else { continue }
            if mount.permanent != nil {
                relayFallbackChanged(mount)
                continue
            }
            mount.fallbackRefused = false
            // The stream it played (its old fallback's) ends here: left with nothing to play, the mount is one whose
            // source left for good — it forgets that stream, and whoever still hears it waits, then is let go.
            let ended = hasPlayers(mount) || (!isServing(mount) && contentType(of: mount) != nil)
            // What its listeners heard, from the old fallback: a new one of another sample rate or channels is said.
            let heard = old[path].flatMap { mounts[$0] }.flatMap(heardShape)
            mount.distributor.detachSource()
            let hearing = hearingAsFallback(mount)
            if next[path] == nil, listenersMayWait(mount), hasPlayers(mount) || !hearing.isEmpty {
                logger("mount \(path): no fallback any more; its listeners\(Self.alsoLetGo(hearing)) wait for a source (up to \(rules.sourceTimeout))")
            }
            fallBack(mount, sourceEnded: ended, shape: heard)
        }
    }

    /// The fallbacks a reading of the configuration leaves running: those running now (`/admin/fallbacks`' changes
    /// included), with the configuration's where it changed them since the last reading (`configured` → `wanted`) — as
    /// the whitelist keeps the admin API's changes. Should the two together go round in a circle (the admin gave `/a`
    /// the fallback `/b`, the file now gives `/b` the fallback `/a`), the configuration's are taken as they are, and
    /// the phrase returned with them says the admin API's changes were dropped.
    static func fallbacks(running: [String: String], configured: [String: String], wanted: [String: String])
        -> (fallbacks: [String: String], dropped: String?) {
        var merged = running
        for path in Set(configured.keys).union(wanted.keys) where configured[path] != wanted[path] {
            merged[path] = wanted[path]
        }
        guard merged != wanted else { return (wanted, nil) }
        do throws(ConfigurationError) {
            try StationServer.Configuration.checkFallbacks(merged)
            return (merged, nil)
        } catch {
            return (wanted, "fallbacks set by /admin/fallbacks dropped, the configuration's taken as they are: together \(error.description)")
        }
    }
}
