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

    @Test("A branch link never skips a segment: past its burst, each one is queued behind what its socket has not taken yet, players' are offered")
    func branchLink_QueuesItsSegments_NeverOffersThem() {
        var branch = policy(branch: true), player = policy()
        branch.burstEnded()
        player.burstEnded()
        #expect(branch.way(bytes: 1001, pending: 0) == .queue)
        #expect(branch.way(bytes: 1001, pending: 5000) == .queue)
        #expect(player.way(bytes: 1001, pending: 0) == .offer)
        let start = ContinuousClock.now
        #expect(branch.queued(bytes: 1001, pending: 0, at: start) == .delivered)
        #expect(branch.queued(bytes: 1001, pending: 3000, at: start + .milliseconds(60)) == .delivered, "a link a little behind keeps up")
        #expect(branch.skipped == 0)
    }

    @Test("A branch link behind for longer than its patience is dropped (200 ms: 3 segments queued behind, and that long), not skipped")
    func branchLink_BehindForLongerThanItsPatience_IsDropped() {
        var policy = policy(branch: true)
        policy.burstEnded()
        let start = ContinuousClock.now
        #expect(policy.queued(bytes: 1001, pending: 500, at: start) == .delivered)
        #expect(policy.queued(bytes: 1001, pending: 1500, at: start + .milliseconds(64)) == .delivered)
        #expect(policy.queued(bytes: 1001, pending: 2500, at: start + .milliseconds(190)) == .delivered)
        #expect(policy.queued(bytes: 1001, pending: 3500, at: start + .milliseconds(250)) == .drop(behindSegments: 4))
        #expect(policy.skipped == 0)
    }

    @Test("A backlog handed on at once is queued, not a reason to drop a branch link — unless it passes what a resume replays")
    func branchLink_QueuesABacklogWithinItsBurstBudget() {
        var policy = policy(branch: true)  // a budget of 10 segments of 1256 bytes
        policy.burstEnded()
        let start = ContinuousClock.now
        for count in 1...9 {
            #expect(policy.queued(bytes: 1001, pending: 1001 * count, at: start + .microseconds(500 * count)) == .delivered)
        }
        // The socket drained: the run of segments behind is over.
        #expect(policy.queued(bytes: 1001, pending: 0, at: start + .milliseconds(100)) == .delivered)
        #expect(policy.queued(bytes: 1001, pending: 12_000, at: start + .milliseconds(101)) == .drop(behindSegments: 1),
                "past the budget at once: the branch resumes from the ring")
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
