import Testing

@testable import Casty

/// When a title watcher is taken for gone, as a value: samples of the bytes waiting for it, pings and pongs.
struct WatcherHealthTests {
    /// Feeds `samples` one heartbeat each; the verdicts, in order.
    func verdicts(_ health: inout WatcherHealth, _ samples: [Int]) -> [WatcherHealth.Verdict] {
        samples.map { health.beat(waiting: $0) }
    }

    @Test func watcherThatReads_IsKept_WhateverItsTitlesJustSent() {
        var health = WatcherHealth(patience: 4, expectsPongs: false)
        // Zero most of the time; now and then an event written a moment before the sample is not acknowledged yet.
        let samples = [0, 0, 120, 0, 0, 95, 0, 14, 0] + Array(repeating: 0, count: 100)
        #expect(verdicts(&health, samples).allSatisfy { $0 == .keep })
    }

    @Test func bytesWaitingThatNeverGoDown_DropTheWatcher_AfterPatienceHeartbeats() {
        var health = WatcherHealth(patience: 4, expectsPongs: false)
        // A peer gone without a FIN: every heartbeat adds 14 bytes nobody acknowledges.
        let verdicts = verdicts(&health, [0, 14, 28, 42, 56, 70])
        #expect(verdicts.dropLast() == Array(repeating: .keep, count: 5), "the first non-zero sample only starts the count")
        #expect(verdicts.last == .drop(.stalled(waiting: 70, beats: 4)))
    }

    @Test func bytesWaitingThatStayTheSame_CountAsStalled() {
        // A full window and a full send buffer: what waits no longer grows, and is never taken.
        var health = WatcherHealth(patience: 3, expectsPongs: false)
        #expect(verdicts(&health, [5000, 5000, 5000, 5000]) == [.keep, .keep, .keep, .drop(.stalled(waiting: 5000, beats: 3))])
    }

    @Test func bytesWaitingThatGoDown_StartTheCountAgain() {
        // A slow reader on a poor link: behind, but taking bytes.
        var health = WatcherHealth(patience: 3, expectsPongs: false)
        let samples = [100, 200, 300, 250, 300, 400, 0, 100, 200, 300]
        #expect(verdicts(&health, samples).allSatisfy { $0 == .keep })
        #expect(health.stalledBeats == 2)
        #expect(health.beat(waiting: 300) == .drop(.stalled(waiting: 300, beats: 3)))
    }

    @Test func webSocketPage_ThatAnswersNoPing_IsDropped_OneThatDoesIsKept() {
        var silent = WatcherHealth(patience: 4, expectsPongs: true)
        #expect(verdicts(&silent, [0, 0, 0, 0]) == Array(repeating: .keep, count: 4), "four pings sent")
        #expect(silent.beat(waiting: 0) == .drop(.silent(pings: 4)))
        var answering = WatcherHealth(patience: 4, expectsPongs: true)
        for _ in 0..<50 {
            #expect(answering.beat(waiting: 0) == .keep)
            answering.answered()
        }
        #expect(answering.unansweredPings == 0)
        var serverSent = WatcherHealth(patience: 4, expectsPongs: false)
        #expect(verdicts(&serverSent, Array(repeating: 0, count: 50)).allSatisfy { $0 == .keep }, "no pongs from Server-Sent Events")
    }

    @Test func patience_IsAtLeastOneHeartbeat() {
        var health = WatcherHealth(patience: 0, expectsPongs: false)
        #expect(health.patience == 1)
        #expect(verdicts(&health, [0, 10, 10]) == [.keep, .keep, .drop(.stalled(waiting: 10, beats: 1))])
    }
}
