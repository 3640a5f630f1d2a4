import Testing

@testable import Casty

/// The source's pace: audio may run ahead of the clock by the allowance, no more.
@Suite struct SourcePaceTests {
    /// MP3 frames at 44.1 kHz last 26.1 ms.
    let frame = 1_152.0 / 44_100

    /// Feeds `count` frames that all come at `now`; returns the verdicts.
    func burst(_ pace: inout SourcePace, _ count: Int, at now: ContinuousClock.Instant) -> [SourcePace.Verdict] {
        (0..<count).map { _ in pace.admit(frame, at: now) }
    }

    @Test func aSourceAtItsPace_LosesNothing_EvenInUnevenPieces() {
        var pace = SourcePace(allowance: .seconds(5))
        var now = ContinuousClock.now
        // Ten minutes of audio in pieces of 1 to 20 frames, each piece coming when the one before has played,
        // give or take 150 ms.
        var verdicts: [SourcePace.Verdict] = []
        for index in 0..<3_000 {
            let count = 1 + index % 20
            verdicts += burst(&pace, count, at: now)
            now += .milliseconds(Int64(Double(count) * frame * 1_000)) + .milliseconds(index % 2 == 0 ? 150 : -150)
        }
        #expect(verdicts.allSatisfy { $0 == .pass })
    }

    @Test func aStallShorterThanTheAllowance_IsCaughtUpWhole() {
        var pace = SourcePace(allowance: .seconds(5))
        let start = ContinuousClock.now
        #expect(burst(&pace, 40, at: start).allSatisfy { $0 == .pass })
        // Silent for 4 s, then the 4 s it could not send at once (and a little more).
        let later = start + .seconds(5)
        #expect(burst(&pace, Int(5 / frame), at: later).allSatisfy { $0 == .pass })
    }

    @Test func aFloodPastTheAllowance_IsDropped_ThenTheSourceGoesOnLive() throws {
        var pace = SourcePace(allowance: .seconds(5))
        let start = ContinuousClock.now
        // A stall of 30 s, then its whole backlog in one read.
        let flood = burst(&pace, Int(30 / frame), at: start + .seconds(30))
        let passed = flood.filter { $0 == .pass }.count
        #expect(abs(Double(passed) * frame - 5) < 0.1, "the allowance passes, \(passed) frames")
        #expect(flood.dropFirst(passed).allSatisfy { $0 == .drop })
        // Frames go on again once half a second of credit came back (0.4 s at 1.25 × the clock), and the run of
        // dropped frames is told once.
        let back = start + .seconds(30) + .milliseconds(400)
        let verdict = pace.admit(frame, at: back)
        let run = try #require({ if case .passAfterDropping(let frames, let seconds) = verdict { (frames, seconds) } else { nil } }())
        #expect(run.0 == flood.count - passed && abs(run.1 - 25) < 0.1)
        #expect(pace.droppedRun == nil)
        // Then at its pace: nothing more is dropped.
        var now = back
        for _ in 0..<2_000 {
            now += .milliseconds(26)
            #expect(pace.admit(frame, at: now) == .pass)
        }
    }

    @Test func whileDropping_SingleFramesDoNotSlipThrough() {
        var pace = SourcePace(allowance: .seconds(2))
        var now = ContinuousClock.now
        _ = burst(&pace, Int(2 / frame) + 1, at: now)  // the allowance spent, one dropped
        // A flood at 20 × the pace: credit comes back at 1.6 ms a frame, and only whole half-seconds pass.
        var verdicts: [SourcePace.Verdict] = []
        for _ in 0..<600 {
            now += .microseconds(Int64(frame * 1_000_000 / 20))
            verdicts.append(pace.admit(frame, at: now))
        }
        // Runs of passing frames last half a second (19 frames) or more, never one frame between drops.
        var run = 0
        var runs: [Int] = []
        for verdict in verdicts {
            if verdict == .drop { if run > 0 { runs.append(run) }; run = 0 } else { run += 1 }
        }
        #expect(!runs.isEmpty && runs.allSatisfy { Double($0) * frame >= 0.45 }, "\(runs)")
    }

    @Test func aRunWhoseSourceWentQuiet_IsEnded_AndTheNextFrameWaitsForItsResume() throws {
        var pace = SourcePace(allowance: .seconds(1))
        let start = ContinuousClock.now
        let flood = burst(&pace, 100, at: start)
        let dropped = flood.filter { $0 == .drop }.count
        let ended = pace.endRun()
        let run = try #require(ended)
        let again = pace.endRun()
        #expect(run.frames == dropped && pace.droppedRun == nil && again == nil)
        // Credit is still short of the half second a dropped run resumes with: the next frame waits for it, and the
        // run told when frames pass again is only what was dropped since the run ended.
        let early = pace.admit(frame, at: start + .milliseconds(100))
        let resumed = pace.admit(frame, at: start + .milliseconds(600))
        #expect(early == .drop)
        #expect(resumed == .passAfterDropping(frames: 1, seconds: frame))
    }
}
