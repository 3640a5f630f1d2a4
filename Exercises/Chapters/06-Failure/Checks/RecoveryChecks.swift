import Kit
import Recovery
import Testing

let context = Context(name: "Casty FM", segmentBytes: 8192, bitrate: 128)  // 512 ms per segment

/// A parent and a branch on a network, with a clock that moves one segment duration per step.
struct Scenario {
    let clock = ManualClock()
    let network = Network()
    let parent: Parent
    let branch: Branch
    /// The number of the segment the next step cuts.
    var cut = 0

    init(history: Int) async {
        parent = Parent(address: "root", context: context, history: history)
        branch = Branch(address: "branch", parent: "root", now: clock.now)
        await network.add(parent)
        await network.add(branch)
        await network.post(await branch.attach())
        await network.run()
    }

    /// One segment duration passes: the parent cuts a segment, the branch looks at the clock.
    mutating func step() async {
        clock.advance(by: context.segmentDuration)
        await network.post(await parent.broadcast(Segment(audio: [UInt8(truncatingIfNeeded: cut)])))
        cut += 1
        await network.post(await branch.tick())
        await network.run()
    }

    /// Runs steps until segment `last` has been cut; returns the number of the segment whose step made the
    /// branch attach again, if one did.
    mutating func run(through last: Int) async -> Int? {
        var reattachedAt: Int?
        while cut <= last {
            let number = cut
            await step()
            if reattachedAt == nil, await branch.reattached > 0 { reattachedAt = number }
        }
        return reattachedAt
    }
}

/// An expectation's message: the hole it checks, where that is, and what it expects of it — so that a hole still
/// returning its placeholder (no deadline, never silent, nothing replayed, every segment kept) is named when it fails.
func hole(_ function: String, _ what: String) -> Comment {
    "\(function) (Chapter 6, Starter/Holes.swift): \(what)"
}

/// Chapter 6: a branch notices a silent parent, attaches again, and resumes without a gap or a duplicate.
struct RecoveryChecks {
    @Test func watchdog_deadline_isSixSegmentDurations_soItFollowsTheBitrate() {
        let watchdog = Watchdog(now: .zero)
        #expect(watchdog.deadline(for: context) == .milliseconds(3072), hole("Watchdog.deadline(for:)", "6 segments of 512 ms"))
        #expect(watchdog.deadline(for: Context(name: "slow", segmentBytes: 8192, bitrate: 64)) == .milliseconds(6144),
                hole("Watchdog.deadline(for:)", "6 segments of 1024 ms at 64 kbit/s"))
        #expect(Watchdog(silentSegments: 2, now: .zero).deadline(for: context) == .milliseconds(1024),
                hole("Watchdog.deadline(for:)", "silentSegments segments: 2 of 512 ms"))
    }

    @Test func watchdog_isSilent_onlyOnceTheDeadlineHasPassedSinceLastHeard() {
        var watchdog = Watchdog(now: .seconds(1))
        #expect(!watchdog.isSilent(at: .milliseconds(4072), context: context),
                hole("Watchdog.isSilent(at:context:)", "heard at 1 s: not silent at exactly the deadline, 4072 ms"))
        #expect(watchdog.isSilent(at: .milliseconds(4073), context: context),
                hole("Watchdog.isSilent(at:context:)", "heard at 1 s: silent once past the deadline (Watchdog.deadline(for:)), 4073 ms"))
        watchdog.heard(at: .seconds(4))
        #expect(!watchdog.isSilent(at: .seconds(7), context: context), hole("Watchdog.isSilent(at:context:)", "heard again at 4 s: not silent at 7 s"))
    }

    @Test func watchdog_isSilent_followsTheBitrate_soALowBitrateStreamIsNotDeclaredDeadTooEarly() {
        // 64 kbit/s: a segment of 8192 bytes every 1024 ms, so 6 segments of silence are 6144 ms, not 3072.
        let slow = Context(name: "slow", segmentBytes: 8192, bitrate: 64)
        let watchdog = Watchdog(now: .seconds(1))
        #expect(!watchdog.isSilent(at: .milliseconds(4073), context: slow),
                hole("Watchdog.isSilent(at:context:)", "64 kbit/s, heard at 1 s: not silent yet at 4073 ms, its segments come 1024 ms apart (the deadline follows the context: Watchdog.deadline(for:))"))
        #expect(!watchdog.isSilent(at: .milliseconds(7144), context: slow),
                hole("Watchdog.isSilent(at:context:)", "64 kbit/s, heard at 1 s: not silent at exactly the deadline, 1 s + 6 × 1024 ms = 7144 ms"))
        #expect(watchdog.isSilent(at: .milliseconds(7145), context: slow),
                hole("Watchdog.isSilent(at:context:)", "64 kbit/s, heard at 1 s: silent once past 1 s + 6 × 1024 ms, at 7145 ms"))
    }

    @Test func watchdog_isSilent_followsTheBitrate_soAHighBitrateStreamIsDeclaredDeadSooner() {
        // 256 kbit/s: a segment of 8192 bytes every 256 ms, so 6 segments of silence are 1536 ms.
        let fast = Context(name: "fast", segmentBytes: 8192, bitrate: 256)
        let watchdog = Watchdog(now: .seconds(1))
        #expect(!watchdog.isSilent(at: .milliseconds(2536), context: fast),
                hole("Watchdog.isSilent(at:context:)", "256 kbit/s, heard at 1 s: not silent at exactly the deadline, 1 s + 6 × 256 ms = 2536 ms"))
        #expect(watchdog.isSilent(at: .milliseconds(2537), context: fast),
                hole("Watchdog.isSilent(at:context:)", "256 kbit/s, heard at 1 s: silent once past 1 s + 6 × 256 ms, at 2537 ms (the deadline follows the context: Watchdog.deadline(for:))"))
    }

    @Test func history_resume_startsWhereTheRequesterStopped_whileThatIsKept() {
        var history = History(capacity: 4)
        for number in 0..<10 { history.append(number, Segment(audio: [])) }  // keeps 6, 7, 8, 9
        #expect(history.resume(from: 7, upcoming: 10) == Replay(next: 7, numbers: [7, 8, 9]),
                hole("History.resume(from:upcoming:)", "from 7, still kept: replay 7, 8, 9"))
        #expect(history.resume(from: 10, upcoming: 10) == Replay(next: 10, numbers: []), hole("History.resume(from:upcoming:)", "from the upcoming one: nothing to replay"))
        #expect(history.resume(from: nil, upcoming: 10) == Replay(next: 10, numbers: []), hole("History.resume(from:upcoming:)", "from nil: the upcoming one, nothing replayed"))
    }

    @Test func history_resume_fromTooLongAgo_startsWithTheOldestKept() {
        var history = History(capacity: 4)
        for number in 0..<10 { history.append(number, Segment(audio: [])) }
        #expect(history.resume(from: 2, upcoming: 10) == Replay(next: 6, numbers: [6, 7, 8, 9]),
                hole("History.resume(from:upcoming:)", "from 2, no longer kept: from the oldest kept, 6"))
        #expect(history.resume(from: 42, upcoming: 10) == Replay(next: 10, numbers: []),
                hole("History.resume(from:upcoming:)", "from a number after the upcoming one: the upcoming one, nothing replayed"))
    }

    @Test func receiver_dropsDuplicates_andCountsGaps() {
        var receiver = Receiver()
        receiver.replied(next: 0)
        let kept = [0, 1, 2, 1, 2, 3, 6, 5, 7].map { receiver.accept($0) }
        #expect(kept == [true, true, true, false, false, true, true, false, true], hole("Receiver.accept(_:)", "older than expected dropped, the others kept"))
        #expect(receiver.duplicates == 3, hole("Receiver.accept(_:)", "3 duplicates: 1, 2 again and 5 after 6"))
        #expect(receiver.gaps == 1, hole("Receiver.accept(_:)", "1 gap: 3 → 6"))
        #expect(receiver.missing == 2, hole("Receiver.accept(_:)", "2 missing: 4 and 5"))
        #expect(receiver.expected == 8, hole("Receiver.accept(_:)", "8 expected after 7"))
    }

    @Test func receiver_countsASingleMissingSegment() {
        var receiver = Receiver()
        receiver.replied(next: 0)
        let kept = [0, 1, 3, 4].map { receiver.accept($0) }
        #expect(kept == [true, true, true, true], hole("Receiver.accept(_:)", "a later number is kept"))
        #expect(receiver.gaps == 1, hole("Receiver.accept(_:)", "1 gap: 1 → 3, one segment missing"))
        #expect(receiver.missing == 1, hole("Receiver.accept(_:)", "1 missing: 2"))
        #expect(receiver.expected == 5, hole("Receiver.accept(_:)", "5 expected after 4"))
    }

    @Test func branch_whoseParentFallsSilent_reattaches_andMissesNothing() async {
        var scenario = await Scenario(history: 16)
        _ = await scenario.run(through: 2)
        await scenario.network.cut("root", "branch")  // from segment 3 on, nothing arrives
        let reattachedAt = await scenario.run(through: 11)
        // Last heard at 1536 ms (segment 2); silent past 1536 + 3072 = 4608 ms, which is segment 9's step.
        #expect(reattachedAt == 9, hole("Watchdog.isSilent(at:context:)", "the branch notices the silence at segment 9's step, and attaches again"))
        #expect(await scenario.branch.played == Array(0...11),
                hole("History.resume(from:upcoming:) and Receiver.accept(_:)", "every segment played once, in order, the missed ones replayed"))
        let receiver = await scenario.branch.receiver
        #expect(receiver.gaps == 0, hole("History.resume(from:upcoming:)", "no gap: the parent replays from where the branch stopped"))
        #expect(receiver.duplicates == 0, hole("History.resume(from:upcoming:)", "no duplicate: nothing replayed twice"))
    }

    @Test func branch_afterAnOutageLongerThanTheHistory_countsTheGap_butGetsNoDuplicate() async {
        var scenario = await Scenario(history: 4)
        _ = await scenario.run(through: 2)
        await scenario.network.cut("root", "branch")
        _ = await scenario.run(through: 11)
        #expect(await scenario.branch.played == [0, 1, 2] + Array(6...11),
                hole("Watchdog.isSilent(at:context:), History.resume(from:upcoming:) and Receiver.accept(_:)", "0 to 2, then from the oldest kept, 6"))
        let receiver = await scenario.branch.receiver
        #expect(receiver.gaps == 1, hole("Receiver.accept(_:)", "1 gap: 2 → 6"))
        #expect(receiver.missing == 3, hole("Receiver.accept(_:)", "3 missing: 3, 4 and 5"))
        #expect(receiver.duplicates == 0, hole("History.resume(from:upcoming:)", "no duplicate: nothing replayed twice"))
    }
}
