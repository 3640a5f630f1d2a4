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

    @Test("The latency advised is more than the one in use, rounded up to 50 ms")
    func advisedLatency_IsMoreThanTheOneInUse() {
        #expect(SRTLateDrops.advised(stats(dropped: 1, rtt: 10, latency: 120)) == 150)
        #expect(SRTLateDrops.advised(stats(dropped: 1, rtt: 200, latency: 500)) == 800)
    }

    @Test("A session's end says what the link lost, and nothing when it lost nothing")
    func summary_SaysWhatTheLinkLost() {
        #expect(SRTLateDrops.summary(stats(dropped: 0, lost: 0)) == "")
        #expect(SRTLateDrops.summary(nil) == "")
        #expect(SRTLateDrops.summary(stats(dropped: 5, lost: 56)) == "; SRT: 56 packets lost, 56 sent again, 5 too late to play")
    }
}
