/// How far behind the root a branch's link brings the stream, from the time each segment was cut there
/// (`CastyTime`, milliseconds since 1970): the lag a segment arrives with, against the least of the link's.
///
/// A link that carries the stream as fast as it plays keeps about its least lag, whatever the clocks of the two
/// hosts say; one too slow for the stream falls further behind with every second it lasts (a 100 kbit/s link under a
/// 128 kbit/s stream, a fifth of a second each second), until its parent drops it or it stalls. What that growth
/// says is that the link trickled: a silence that follows it is the link's, not a fault of the parent
/// (``Branch/linkTrickled``). A pure value: the caller says when each segment came.
struct LinkLag: Sendable {
    /// The least lag a segment of this link came with, in milliseconds.
    private var least: Int64?
    /// The lag the last segment came with, in milliseconds.
    private(set) var last: Int64?

    /// A segment cut at `cut` came at `now` (both milliseconds since 1970).
    mutating func heard(cut: Int64, at now: Int64) {
        let lag = now - cut
        last = lag
        least = min(least ?? lag, lag)
    }

    /// How much later than at its best the link's last segment came; zero before any.
    var growth: Duration {
        guard let last, let least else { return .zero }
        return .milliseconds(last - least)
    }

    /// A new link: its lag is counted from its own segments.
    mutating func reset() {
        least = nil
        last = nil
    }

    /// How far behind its best a link falls before it is taken for too slow for the stream: a second, or two of its
    /// segments if they are longer (a segment arrives whole, its last bytes as late as a loaded host makes them).
    static func bound(segmentDuration: Duration) -> Duration {
        max(.seconds(1), segmentDuration * 2)
    }
}
