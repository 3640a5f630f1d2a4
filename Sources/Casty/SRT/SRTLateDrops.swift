internal import CastyNet

/// What an SRT caller's statistics tell the station's operator about the link.
///
/// SRT keeps a live stream on time by giving each packet `latency` milliseconds to arrive: a packet lost on the
/// way is asked for again (a NAK), and its retransmission must come back within that time. Over a link with a
/// round-trip time (RTT) close to the latency, it does not: the packet is dropped as too late to play, and
/// listeners hear a gap. SRT's own rule of thumb is a latency of three to four times the RTT — 120 ms, the default,
/// suits a LAN, not a caller 40 ms away on a lossy link. Nothing else in the log points there (the transport stream
/// reads the drops as lost packets, the frames as broken ones), so the first drops are said, with the numbers and
/// what to change; then at most once a minute while more come.
///
/// A latency that covers three times the RTT already was not what failed: the link stalled (an outage, a network
/// that dropped out for seconds), its packets came seconds late, and no latency short of that would have kept them.
/// That is said instead — no latency advised —, on its own budget: an outage's line does not silence the advice
/// for a latency problem that comes soon after, nor the other way round.
///
/// A pure value, driven with statistics and the time: on the SRT thread, where the statistics are read.
struct SRTLateDrops: Sendable, Equatable {
    /// The drops seen so far.
    private(set) var seen = 0
    /// The drops seen and not said yet as the latency's fault: its next line says them.
    private var unsaidLate = 0
    /// The drops seen and not said yet as the link's stall: its next line says them.
    private var unsaidStalled = 0
    /// When drops were last said as the latency's fault, with a latency advised.
    private var advisedAt: ContinuousClock.Instant?
    /// When drops were last said as the link's stall.
    private var stalledAt: ContinuousClock.Instant?
    /// How long after a line the next of its kind waits, however many more drops come.
    static let quiet: Duration = .seconds(60)

    /// The line to log for `stats` at `now`, if drops came that were not said and the last line of their kind is
    /// old enough.
    mutating func check(_ stats: SRTStats, now: ContinuousClock.Instant = .now) -> String? {
        guard stats.packetsDropped > seen else { return nil }
        let stalled = Self.coversRTT(stats)
        if stalled { unsaidStalled += stats.packetsDropped - seen } else { unsaidLate += stats.packetsDropped - seen }
        seen = stats.packetsDropped
        if let last = stalled ? stalledAt : advisedAt, now - last < Self.quiet { return nil }
        let new = stalled ? unsaidStalled : unsaidLate
        if stalled { (unsaidStalled, stalledAt) = (0, now) } else { (unsaidLate, advisedAt) = (0, now) }
        let rtt = Int(stats.rttMilliseconds.rounded())
        let total = new == stats.packetsDropped ? "" : ", \(stats.packetsDropped) so far"
        let dropped = "SRT dropped \(counted(new, "packet")) that came too late to play\(total) (RTT \(rtt) ms, latency "
            + "\(stats.latencyMilliseconds) ms): listeners hear a gap at each. "
        if stalled {
            return dropped + "The latency covers 3 times the RTT already: the link stalled (an outage, packets arriving seconds late), "
                + "which no latency shorter than the outage would have saved: not the latency's fault"
        }
        let advised = Self.advised(stats)
        return dropped + "Give the link a latency of 3 to 4 times its RTT, "
            + "at least \(advised) ms: the caller's (ffmpeg: srt://…?latency=\(advised * 1000), in microseconds) or --srt-latency \(advised)"
    }

    /// Whether the latency is 3 times the RTT or more, as SRT's rule of thumb asks: then drops are no sign of a latency
    /// too short for the link, but of the link stalling.
    static func coversRTT(_ stats: SRTStats) -> Bool {
        Double(stats.latencyMilliseconds) >= 3 * stats.rttMilliseconds
    }

    /// Four times the RTT, rounded up to 50 ms, and more than the latency now.
    static func advised(_ stats: SRTStats) -> Int {
        let four = Int((4 * stats.rttMilliseconds).rounded(.up))
        return (max(four, stats.latencyMilliseconds + 1) + 49) / 50 * 50
    }

    /// What the link lost, for a session's end line: `; SRT: 56 packets lost, 57 sent again, 5 too late to play`,
    /// or nothing when it lost none.
    static func summary(_ stats: SRTStats?) -> String {
        guard let stats, stats.packetsLost > 0 || stats.packetsDropped > 0 else { return "" }
        return "; SRT: \(counted(stats.packetsLost, "packet")) lost, \(stats.packetsRetransmitted) sent again, "
            + "\(stats.packetsDropped) too late to play"
    }
}
