/// The segments a live stream keeps: its live window and, before it, the segments that left the playlist but may
/// still be fetched.
///
/// RFC 8216 §6.2.2 asks that a segment removed from the playlist stay available "for a period of time equal to the
/// duration of the segment plus the duration of the longest Playlist file distributed by the server containing that
/// segment": a player that read the playlist just before the segment left it still finds it. So each segment's time
/// is counted from when it leaves the playlist — not by how many segments came after it, which a slow stream (four
/// segments cut from one relay segment at once), a VBR one or one that caught up after a stall makes in a burst.
///
/// A segment goes once its time is up, and only from the front (the oldest first), so that the segments kept stay
/// one run of numbers. Beyond `limit` segments past the window, the oldest go anyway: a source that sends far faster
/// than it plays cannot make the packager hold more than a few windows' worth.
///
/// A playlist withdrawn (its session over, ``withdraw(now:)``) is left by every segment it listed at once, and the
/// same rule holds: each stays for its own duration plus the longest playlist that listed it, then goes
/// (``expire(now:)``) — a player that read the playlist just before it was withdrawn still finds the segments it
/// was given. No playlist lists them again.
package struct HLSKept: Sendable {
    /// The segments kept, oldest first: those of a withdrawn playlist, those that left the playlist, then the live
    /// window (and, after a jump in the numbers, the segments not listed yet).
    package private(set) var segments: [HLSSegment] = []
    /// How many of the oldest ``segments`` a withdrawn playlist left (``withdraw(now:)``): kept for their time only,
    /// never listed again.
    package private(set) var withdrawn = 0
    /// How long the longest playlist that listed each segment lasted, in seconds, by segment name.
    private var longestPlaylist: [String: Double] = [:]
    /// When each segment that left the playlist may go, by segment name.
    private var departure: [String: ContinuousClock.Instant] = [:]

    /// Nothing kept yet.
    package init() {}

    /// The segments a live playlist may list: all but those a withdrawn playlist left.
    package var live: ArraySlice<HLSSegment> { segments[withdrawn...] }

    /// Adds the segment just made, after the others.
    package mutating func append(_ segment: HLSSegment) {
        segments.append(segment)
    }

    /// The playlist served from `now` lists `listed` (positions in ``segments``): each segment in it notes how long
    /// the playlist lasts; each before it that has just left the playlist may go once its own duration and the
    /// longest playlist that listed it have passed. Then the segments at the front whose time is up go, and the
    /// oldest of those that left beyond `limit`. Returns the names of the segments that went.
    package mutating func list(_ listed: Range<Int>, now: ContinuousClock.Instant, limit: Int) -> [String] {
        let lasting = segments[listed].reduce(0) { $0 + $1.duration }
        for segment in segments[listed] {
            longestPlaylist[segment.name] = max(longestPlaylist[segment.name] ?? 0, lasting)
            departure[segment.name] = nil  // listed (again): its time starts when it leaves
        }
        for segment in segments[..<listed.lowerBound] where departure[segment.name] == nil {
            departure[segment.name] = now + .milliseconds(Int64(((segment.duration + (longestPlaylist[segment.name] ?? 0)) * 1_000).rounded(.up)))
        }
        var gone: [String] = []
        var left = listed.lowerBound
        while left > 0, let first = segments.first, left > max(0, limit) || departure[first.name].map({ $0 <= now }) ?? true {
            segments.removeFirst()
            longestPlaylist[first.name] = nil
            departure[first.name] = nil
            gone.append(first.name)
            left -= 1
            withdrawn = max(0, withdrawn - 1)
        }
        return gone
    }

    /// The playlist is withdrawn at `now` (the session is over): every segment kept leaves it, and goes once its own
    /// duration and the longest playlist that listed it have passed (those that left it before keep their time) —
    /// none is listed again. Returns the names of the segments whose time is up already.
    package mutating func withdraw(now: ContinuousClock.Instant) -> [String] {
        let gone = list(segments.endIndex..<segments.endIndex, now: now, limit: .max)
        withdrawn = segments.count
        return gone
    }

    /// Lets the segments of a withdrawn playlist go whose time is up at `now` — the oldest first, as ``list(_:now:limit:)``
    /// does when a playlist is served; a withdrawn one is served no more. Returns the names of those that went.
    package mutating func expire(now: ContinuousClock.Instant) -> [String] {
        list(withdrawn..<withdrawn, now: now, limit: .max)
    }

    /// When the oldest segment of a withdrawn playlist may go, if one is kept.
    package var nextExpiry: ContinuousClock.Instant? {
        withdrawn > 0 ? segments.first.flatMap { departure[$0.name] } : nil
    }
}
