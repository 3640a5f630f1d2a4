internal import CastyNet

/// Who hears what: the mount whose audio a mount's listeners hear (down its fallbacks), and the mounts whose
/// players hear a mount as their fallback (up from it). Asked on the loop at every player's join, on every status
/// page and for every mount a reload changes: each is a walk over the mounts involved only — up the table's
/// ``MountTable/fallingBack`` index, not over every rule —, and a page finds each count once.
extension MountTable {
    /// What one status page found out about who hears what, each found once for the whole page: no player joins,
    /// leaves or moves while a page is made.
    struct Hearing {
        /// The mount each mount's listeners hear (``heardMount(_:hearing:)``), by path.
        var heard: [String: Mount] = [:]
        /// How many players listen to each mount's audio (``listeners(of:)``), by path.
        var listeners: [String: Int] = [:]
    }

    /// ``Rules/fallbacks`` turned round: for each mount, those that fall back to it.
    static func fallingBack(_ fallbacks: [String: String]) -> [String: [String]] {
        Dictionary(grouping: fallbacks.keys, by: { fallbacks[$0]! })
    }

    /// The mount whose audio `mount`'s listeners hear: itself, or while it has no source of its own its fallback
    /// (down a chain of them).
    func heardMount(_ mount: Mount) -> Mount {
        var hearing = Hearing()
        return heardMount(mount, hearing: &hearing)
    }

    /// ``heardMount(_:)``, remembering in `hearing` the answer for every mount passed on the way (the one heard
    /// included): a page asking for each mount of a long chain walks it once.
    func heardMount(_ mount: Mount, hearing: inout Hearing) -> Mount {
        var passed: [Mount] = []
        var heard = mount
        for _ in 0..<mounts.count {
            if let known = hearing.heard[heard.path] {
                heard = known
                break
            }
            hearingSteps += 1
            passed.append(heard)
            guard heard.source == nil, heard.permanent == nil, let target = rules.fallbacks[heard.path].flatMap({ mounts[$0] }) else { break }
            heard = target
        }
        for each in passed { hearing.heard[each.path] = heard }
        return heard
    }

    /// How many players listen to `mount`'s audio: its own (those waiting for it too), and those of mounts hearing
    /// it as their fallback.
    func listeners(of mount: Mount) -> Int {
        ([mount.path] + hearingAsFallback(mount)).reduce(0) { sum, path in
            sum + (mounts[path]?.distributor.assumeIsolated { $0.connectedPlayers } ?? 0)
        }
    }

    /// ``listeners(of:)``, counted once per page in `hearing`.
    func listeners(of mount: Mount, hearing: inout Hearing) -> Int {
        if let known = hearing.listeners[mount.path] { return known }
        let count = listeners(of: mount)
        hearing.listeners[mount.path] = count
        return count
    }

    /// Players joined `mount`, or its players now hear another mount: the mount whose audio they hear (itself, or
    /// its fallback) may have reached its most listeners at once.
    func notePeak(from mount: Mount) {
        var hearing = Hearing()
        notePeak(from: mount, hearing: &hearing)
    }

    /// ``notePeak(from:)``, with what the page found so far.
    func notePeak(from mount: Mount, hearing: inout Hearing) {
        guard loop.inEventLoop else { return }  // the server starting, off the loop: nobody listens yet
        let heard = heardMount(mount, hearing: &hearing)
        heard.peakListeners = max(heard.peakListeners, listeners(of: heard, hearing: &hearing))
    }

    /// The mounts with players that hear `mount` as their fallback now — directly, or down a chain (`/x` → `/y` →
    /// `mount`) —, sorted: they are let go with the mount's own listeners. A mount with a permanent source hears its
    /// fallback only while it plays it (a relay whose upstream is away).
    func hearingAsFallback(_ mount: Mount) -> [String] {
        var found: [String] = []
        var seen: Set<String> = [mount.path]
        var next = [mount.path]
        while let path = next.popLast() {
            for from in fallingBack[path] ?? [] {
                hearingSteps += 1
                guard let hearer = mounts[from], hearer.source == nil, !hearer.fallbackRefused,
                      hearer.permanent == nil || hearer.distributor.assumeIsolated({ $0.playsFallback }),
                      seen.insert(from).inserted else { continue }
                if hasPlayers(hearer) { found.append(from) }
                next.append(from)
            }
        }
        return found.sorted()
    }

    /// The mounts a status page lists, with their counters: `asked` only, if a query names one, and only those
    /// that stream when `streaming` (as Icecast lists them: a mount without a source is none of its).
    func listed(asked: String?, streaming: Bool) -> [(mount: Mount, stat: Stat)] {
        // Each count found once for the page: a thousand mounts falling back to one are not a thousand walks.
        var hearing = Hearing()
        return all.compactMap { mount in
            guard asked == nil || mount.path == asked else { return nil }
            var stat = mount.distributor.assumeIsolated { $0.stat() }
            // Streaming: of its own (a source, the built-in station, a relay that streams), as Icecast counts
            // sources — a mount that plays its fallback is no source up, whatever its listeners hear. Its
            // listeners, and the bytes they were sent, are counted where they listen, as Icecast counts those it
            // moved to the fallback: a dashboard that adds up the mounts' listeners finds them all.
            guard !streaming || (stat.context != nil && feeds(mount)) else { return nil }
            if streaming {
                stat.listeners = listeners(of: mount, hearing: &hearing)
                stat.bytesOut = mount.distributor.tally.streamBytesOut
            }
            // One peak on every page: the most who heard the mount at once, those hearing it as their fallback
            // included (its own players' peak, while it played its fallback, too).
            notePeak(from: mount, hearing: &hearing)
            stat.peakListeners = max(mount.peakListeners, stat.peakListeners)
            return (mount, stat)
        }
    }
}
