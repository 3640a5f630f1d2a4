internal import CastyNet

extension MountTable {
    /// Takes the rules of a configuration read again (SIGHUP, as Icecast reloads its file) and returns what
    /// changed, one phrase each — never a password, only that it was set, changed or removed. On the loop.
    ///
    /// What is live follows the new rules at once: a mount the whitelist no longer lists is taken off it as
    /// ``disallow(_:)`` takes it (``takeOff(_:by:)``: its source disconnected, its listeners hear its fallback or are
    /// let go at once), and a mount without a source whose fallback changed moves its
    /// listeners to the new fallback — or, with none now (or one with nothing to play), the mount is as one whose
    /// source left: its stream is forgotten (nothing is moved there), and its listeners, and those of mounts hearing
    /// it as their fallback, wait for a source for the source timeout (let go at once on a mount off the whitelist, unless
    /// a listed mount hears it as its fallback: ``listenersMayWait(_:)``).
    /// A relay mount whose upstream is away does the same, its listeners waiting for the relay (``relayFallbackChanged(_:)``). Sources and listeners already admitted keep their places under new passwords and limits,
    /// which apply to those who come next; a new source timeout and catch-up apply to the sources publishing too. Mounts the admin API added to the whitelist, or took off
    /// it, stay so: of the whitelist, only what changed between the last reading and this one is applied; so do the fallbacks
    /// `/admin/fallbacks` set or removed (``fallbacks(running:configured:wanted:)``). The segment size and the distributors' settings stay: streams cut
    /// and rings sized differently mid-stream would break players' framing.
    func reload(_ new: Rules) -> [String] {
        let old = rules
        var next = new
        next.segmentBytes = old.segmentBytes
        next.distribution = old.distribution
        // Mounts the admin API added or removed stay so: only what changed between the two readings is applied.
        if let configured = configuredWhitelist, let wanted = new.whitelist, let running = old.whitelist {
            next.whitelist = running.union(wanted.subtracting(configured)).subtracting(configured.subtracting(wanted))
        }
        configuredWhitelist = new.whitelist
        // So do fallbacks `/admin/fallbacks` set or removed: only those the configuration changed are applied — unless
        // together they would go round in a circle, when the configuration's are taken as they are, and said.
        var dropped: String?
        (next.fallbacks, dropped) = Self.fallbacks(running: old.fallbacks, configured: configuredFallbacks, wanted: new.fallbacks)
        configuredFallbacks = new.fallbacks
        rules = next
        let changes = Self.differences(old, next) + (dropped.map { [$0] } ?? [])
        guard !changes.isEmpty else { return [] }
        if old.whitelist != next.whitelist { whitelistChanged?(next.whitelist) }
        if old.maxSources != next.maxSources { tellSources() }
        if old.sourceTimeout != next.sourceTimeout || old.sourceCatchUp != next.sourceCatchUp {
            for mount in mounts.values {
                mount.source?.assumeIsolated { $0.retune(timeout: next.sourceTimeout, catchUp: next.sourceCatchUp) }
            }
        }
        for path in (next.whitelist ?? []).sorted() { _ = make(path) }
        fallbacksChanged(from: old.fallbacks)
        // After the fallbacks: a mount taken off with a new one moves its listeners there, not away.
        if let listed = next.whitelist {
            for path in order where !listed.contains(path) { takeOff(path, by: "SIGHUP") }
        }
        return changes
    }

    /// What differs between two sets of rules, in the words of the options that set them.
    static func differences(_ old: Rules, _ new: Rules) -> [String] {
        var changes: [String] = []
        switch (old.whitelist, new.whitelist) {
        case (nil, let listed?): changes.append("mounts \(listed.sorted().joined(separator: ",")) (was --accept-all)")
        case (_?, nil): changes.append("--accept-all (was a whitelist)")
        case (let before?, let after?) where before != after:
            let added = after.subtracting(before).sorted().map { "+" + $0 }
            let removed = before.subtracting(after).sorted().map { "-" + $0 }
            changes.append("mounts " + (added + removed).joined(separator: " "))
        default: break
        }
        if let how = Secret.change(from: old.sourcePassword, to: new.sourcePassword) { changes.append("source password \(how)") }
        changes += Secret.changes("mount password", from: old.mountPasswords, to: new.mountPasswords)
        // Said as a password is: `set` for a mount given one, `changed`, `removed`.
        changes += Secret.changes("mount user", of: Set(old.mountUsers.keys).union(new.mountUsers.keys)) { mount in
            switch (old.mountUsers[mount], new.mountUsers[mount]) {
            case (nil, _?): "set"
            case (_?, nil): "removed"
            case (let before, let after): before == after ? nil : "changed"
            }
        }
        for path in Set(old.fallbacks.keys).union(new.fallbacks.keys).sorted() where old.fallbacks[path] != new.fallbacks[path] {
            // A fallback of a mount off the list is allowed (one taken off keeps its listeners on it), and said so,
            // as at start: `/Live` for `/live` would otherwise pass unseen.
            let unlisted = StationServer.Configuration.unlistedNote(path, listed: new.fallbacks[path] == nil || new.whitelist?.contains(path) != false)
            changes.append("fallback \(path)→\(new.fallbacks[path] ?? "none") (was \(old.fallbacks[path] ?? "none"))\(unlisted)")
        }
        if old.maxListeners != new.maxListeners {
            changes.append("max listeners \(new.maxListeners.map(String.init) ?? "unlimited") (was \(old.maxListeners.map(String.init) ?? "unlimited"))")
        }
        for path in Set(old.mountMaxListeners.keys).union(new.mountMaxListeners.keys).sorted()
        where old.mountMaxListeners[path] != new.mountMaxListeners[path] {
            let now = new.mountMaxListeners[path].map(String.init) ?? "unlimited"
            changes.append("max listeners of \(path) \(now) (was \(old.mountMaxListeners[path].map(String.init) ?? "unlimited"))")
        }
        if old.maxSources != new.maxSources {
            changes.append("max sources \(new.maxSources.map(String.init) ?? "unlimited") (was \(old.maxSources.map(String.init) ?? "unlimited"))")
        }
        if old.sourceTimeout != new.sourceTimeout { changes.append("source timeout \(new.sourceTimeout) (was \(old.sourceTimeout))") }
        if old.sourceCatchUp != new.sourceCatchUp {
            let said = { (limit: Duration?) in limit.map { "\($0)" } ?? "unlimited" }
            changes.append("source catch-up \(said(new.sourceCatchUp)) (was \(said(old.sourceCatchUp)))")
        }
        if old.idleMountTimeout != new.idleMountTimeout {
            changes.append("idle mount timeout \(new.idleMountTimeout) (was \(old.idleMountTimeout))")
        }
        return changes
    }
}
