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
package struct HLSKept: Sendable {
    /// The segments kept, oldest first: those that left the playlist, then the live window (and, after a jump in the
    /// numbers, the segments not listed yet).
    package private(set) var segments: [HLSSegment] = []
    /// How long the longest playlist that listed each segment lasted, in seconds, by segment name.
    private var longestPlaylist: [String: Double] = [:]
    /// When each segment that left the playlist may go, by segment name.
    private var departure: [String: ContinuousClock.Instant] = [:]

    /// Nothing kept yet.
    package init() {}

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
        }
        return gone
    }

    /// Lets every segment go (the session is over).
    package mutating func removeAll() {
        self = HLSKept()
    }
}
