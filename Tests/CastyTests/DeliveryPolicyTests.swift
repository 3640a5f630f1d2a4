@testable import CastyNet
import Testing

@testable import Casty

/// A listener's delivery decisions, as a value: no sockets, and the time given.
struct DeliveryPolicyTests {
    /// 1000-byte segments at 128 kbit/s: 62 ms each.
    let context = testContext(segmentBytes: 1000, bitrate: 128)

    func policy(branch: Bool = false, burstBytes: Int = 3000, maxBehind: Duration = .seconds(1)) -> DeliveryPolicy {
        var options = ClientOptions()
        options.burstBytes = burstBytes
        options.maxBehind = maxBehind
        options.branchMaxBehind = .milliseconds(200)
        options.branchBurstSegments = 10
        return DeliveryPolicy(next: 5, context: context, isBranch: branch, options: options)
    }

    @Test func burst_IsWrittenWithinItsBudget_ThenOffered() {
        var policy = policy(burstBytes: 3000)
        #expect(policy.way(bytes: 1001, pending: 0) == .write)
        #expect(policy.way(bytes: 1001, pending: 1999) == .write)
        #expect(policy.way(bytes: 1001, pending: 2000) == .offer, "past the budget the burst turns lossy")
        policy.burstEnded()
        #expect(policy.way(bytes: 1001, pending: 0) == .offer)
    }

    @Test func branch_GetsAWholeRingAsItsBurst() {
        let branch = policy(branch: true)
        #expect(branch.burstBudget == 10 * (1000 + 256))
        #expect(branch.way(bytes: 1001, pending: 9000) == .write)
    }

    @Test func listenerBehindForLongerThanMaxBehind_IsDropped() {
        var policy = policy(maxBehind: .seconds(1))  // 16 segments of 62 ms
        let start = ContinuousClock.now
        #expect(policy.delivered() == .delivered)
        // Segments at the pace they play: 16 skipped are a second behind, the 17th past it.
        for skips in 1...16 {
            #expect(policy.skipped(consecutiveSkips: skips, at: start + .milliseconds(64 * skips)) == .skipped)
        }
        #expect(policy.skipped(consecutiveSkips: 17, at: start + .milliseconds(64 * 17)) == .drop(behindSegments: 17))
        #expect(policy.skipped == 17)
    }

    @Test("A backlog handed on at once (a stalled upstream resumed) is skipped, not a reason to drop: skips must last too")
    func backlogSkippedInABurst_IsNoDrop_ButAListenerStillSkippingLaterIs() {
        var policy = policy(maxBehind: .seconds(1))
        let start = ContinuousClock.now
        // Forty segments in 20 ms: forty skips in a row, 2.5 s of audio, within a moment.
        for skips in 1...40 {
            #expect(policy.skipped(consecutiveSkips: skips, at: start + .microseconds(500 * skips)) == .skipped)
        }
        // The socket drains: a segment goes out, and a new run of skips starts from naught.
        #expect(policy.delivered() == .delivered)
        #expect(policy.skipped(consecutiveSkips: 1, at: start + .milliseconds(100)) == .skipped)
        #expect(policy.skipped(consecutiveSkips: 30, at: start + .milliseconds(900)) == .skipped)
        // Still skipping more than a second after its run began, and more than a second of audio: dropped.
        #expect(policy.skipped(consecutiveSkips: 31, at: start + .milliseconds(1200)) == .drop(behindSegments: 31))
    }

    @Test func branch_IsDroppedSooner() {
        var policy = policy(branch: true)  // 200 ms: 3 segments
        let start = ContinuousClock.now
        #expect(policy.skipped(consecutiveSkips: 1, at: start) == .skipped)
        #expect(policy.skipped(consecutiveSkips: 3, at: start + .milliseconds(190)) == .skipped)
        #expect(policy.skipped(consecutiveSkips: 4, at: start + .milliseconds(250)) == .drop(behindSegments: 4))
    }

    @Test func gapsAreCounted_AlsoANewStreamsRestart() {
        var policy = policy()
        policy.arrived(5)
        policy.arrived(6)
        policy.arrived(9)  // three missed upstream
        policy.arrived(0)  // a new stream: numbering restarted
        policy.arrived(1)
        #expect(policy.segments == 5)
        #expect(policy.gaps == 2)
    }
}
