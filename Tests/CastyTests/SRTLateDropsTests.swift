import Testing

@testable import Casty
@testable import CastyNet

/// Packets SRT drops as too late to play are said once, with the RTT, the latency and what to give the link; then
/// at most once a minute.
struct SRTLateDropsTests {
    func stats(dropped: Int, lost: Int = 0, rtt: Double = 82.5, latency: Int = 120) -> SRTStats {
        var stats = SRTStats()
        stats.packetsDropped = dropped
        stats.packetsLost = lost
        stats.packetsRetransmitted = lost
        stats.rttMilliseconds = rtt
        stats.latencyMilliseconds = latency
        return stats
    }

    @Test("The first drops are said with the RTT, the latency and four times the RTT; more within a minute are not; after it, the new ones and the total")
    func lateDrops_AreSaidFirst_ThenOnceAMinute() throws {
        var drops = SRTLateDrops()
        let start = ContinuousClock.now
        #expect(drops.check(stats(dropped: 0, lost: 30), now: start) == nil, "lost and sent again in time: nothing heard")
        let said = drops.check(stats(dropped: 5, lost: 40), now: start + .seconds(1))
        let first = try #require(said)
        #expect(first.hasPrefix("SRT dropped 5 packets that came too late to play (RTT 83 ms, latency 120 ms)"), "\(first)")
        #expect(first.contains("at least 350 ms") && first.contains("latency=350000, in microseconds") && first.contains("--srt-latency 350"), "\(first)")
        #expect(drops.check(stats(dropped: 8), now: start + .seconds(30)) == nil)
        let saidLater = drops.check(stats(dropped: 9), now: start + .seconds(62))
        let later = try #require(saidLater)
        #expect(later.hasPrefix("SRT dropped 4 packets that came too late to play, 9 so far"), "\(later)")
        #expect(drops.check(stats(dropped: 9), now: start + .seconds(200)) == nil, "none new")
    }

    @Test("The latency advised is four times the RTT, more than the one in use, rounded up to 50 ms")
    func advisedLatency_IsMoreThanTheOneInUse() {
        #expect(SRTLateDrops.advised(stats(dropped: 1, rtt: 45, latency: 120)) == 200)
        #expect(SRTLateDrops.advised(stats(dropped: 1, rtt: 200, latency: 500)) == 800)
    }

    @Test("Drops over a latency that covers 3 times the RTT are said as the link's stall (an outage), no latency advised; on a budget of their own, which leaves the advice for a latency too short said at once")
    func lateDrops_OverALatencyThatCoversTheRTT_AreSaidAsAnOutage_OnTheirOwnBudget() throws {
        var drops = SRTLateDrops()
        let start = ContinuousClock.now
        // The link cut for 2 s on a LAN: RTT 0 ms, latency 120 ms.
        let saidOutage = drops.check(stats(dropped: 12, rtt: 0, latency: 120), now: start)
        let outage = try #require(saidOutage)
        #expect(outage.hasPrefix("SRT dropped 12 packets that came too late to play (RTT 0 ms, latency 120 ms): listeners hear a gap at each. "),
                "\(outage)")
        #expect(outage.contains("the link stalled (an outage, packets arriving seconds late)"), "\(outage)")
        #expect(!outage.contains("--srt-latency") && !outage.contains("latency=") && !outage.contains("Give the link"), "\(outage)")
        // 3 times the RTT exactly is covered; a latency under it is advised.
        #expect(SRTLateDrops.coversRTT(stats(dropped: 1, rtt: 40, latency: 120)))
        #expect(!SRTLateDrops.coversRTT(stats(dropped: 1, rtt: 41, latency: 120)))
        // Another outage within the minute is not said again.
        #expect(drops.check(stats(dropped: 20, rtt: 1, latency: 120), now: start + .seconds(10)) == nil)
        // The link got farther away 20 s later: its latency is too short, and that is said at once.
        let saidAdvice = drops.check(stats(dropped: 25, rtt: 82.5, latency: 120), now: start + .seconds(20))
        let advice = try #require(saidAdvice, "the outage's line does not silence the latency's advice")
        #expect(advice.hasPrefix("SRT dropped 5 packets that came too late to play, 25 so far (RTT 83 ms, latency 120 ms)"),
                "the outage's drops are not counted in: \(advice)")
        #expect(advice.contains("at least 350 ms") && advice.contains("--srt-latency 350"), "\(advice)")
        #expect(drops.check(stats(dropped: 30, rtt: 82.5, latency: 120), now: start + .seconds(40)) == nil, "advised within the minute")
        // An outage after the minute of the first: said, though the advice was given less than a minute ago.
        let saidAgain = drops.check(stats(dropped: 40, rtt: 20, latency: 350), now: start + .seconds(61))
        let again = try #require(saidAgain)
        #expect(again.hasPrefix("SRT dropped 18 packets that came too late to play, 40 so far (RTT 20 ms, latency 350 ms)")
                    && again.contains("the link stalled"), "\(again)")
    }

    @Test("A session's end says what the link lost, and nothing when it lost nothing")
    func summary_SaysWhatTheLinkLost() {
        #expect(SRTLateDrops.summary(stats(dropped: 0, lost: 0)) == "")
        #expect(SRTLateDrops.summary(nil) == "")
        #expect(SRTLateDrops.summary(stats(dropped: 5, lost: 56)) == "; SRT: 56 packets lost, 56 sent again, 5 too late to play")
    }
}
