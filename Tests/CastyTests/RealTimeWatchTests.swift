import Testing

@testable import Casty

/// A source or upstream whose audio comes slower than it plays is told, once, and again when it keeps pace; a
/// stall whose backlog comes at once, a variable bitrate, a stream at its pace are not.
struct RealTimeWatchTests {
    let start = ContinuousClock.now

    /// Runs frames of 26 ms that come `rate` times as fast as they play (1: at their pace), for `seconds`, from
    /// `at` on; returns the news, and when the frames ended.
    func feed(_ watch: inout RealTimeWatch, rate: Double, seconds: Double, from at: ContinuousClock.Instant) -> ([RealTimeWatch.News], ContinuousClock.Instant) {
        var news: [RealTimeWatch.News] = []
        var now = at
        let frames = Int(seconds * rate / 0.026)
        for _ in 0..<frames {
            if let told = watch.heard(0.026, at: now) { news.append(told) }
            now += .milliseconds(Int64((26 / rate).rounded()))
        }
        return (news, now)
    }

    @Test("Audio at its pace is no news, for minutes")
    func audioAtItsPace_IsNoNews() {
        var watch = RealTimeWatch()
        let (news, _) = feed(&watch, rate: 1, seconds: 300, from: start)
        #expect(news.isEmpty && !watch.isBehind)
    }

    @Test("Audio that comes at half its pace is told once after two windows, then its return to pace once")
    func halfPace_IsToldOnce_ThenItsReturn() {
        var watch = RealTimeWatch()
        var (news, now) = feed(&watch, rate: 0.5, seconds: 60, from: start)
        #expect(news.count == 1 && watch.isBehind, "\(news)")
        if case .fellBehind(let audio, let seconds) = news.first {
            #expect((19...21).contains(seconds) && abs(audio - seconds / 2) < 1, "\(audio) s in \(seconds) s")
        }
        #expect(news.first?.description.hasPrefix("its audio comes slower than it plays: ") == true)
        (news, now) = feed(&watch, rate: 1, seconds: 30, from: now)
        #expect(news == [.keepsPace] && !watch.isBehind, "\(news)")
    }

    @Test("Audio that comes far faster than it plays (a file at download speed) is told once by a watch that tells it, then its return to pace; a backlog or a burst is not")
    func audioRunningAhead_IsToldOnce_ByAWatchThatTellsIt() {
        var watch = RealTimeWatch(tellsAhead: true)
        var (news, now) = feed(&watch, rate: 20, seconds: 60, from: start)  // 1,200 s of audio in a minute
        #expect(news.count == 1 && watch.isAhead, "\(news)")
        if case .ranAhead(let audio, let seconds) = news.first {
            #expect((19...21).contains(seconds) && audio > 15 * seconds, "\(audio) s in \(seconds) s")
        }
        #expect(news.first?.description.hasPrefix("its audio comes faster than it plays: ") == true)
        (news, now) = feed(&watch, rate: 1, seconds: 30, from: now)
        #expect(news == [.keepsPace] && !watch.isAhead, "\(news)")
        // A burst at a link's start (4 s at once), then the pace: no news; nor for a watch that does not tell it.
        var bursting = RealTimeWatch(tellsAhead: true)
        let (burst, after) = feed(&bursting, rate: 50, seconds: 4, from: start)
        let (paced, _) = feed(&bursting, rate: 1, seconds: 60, from: after)
        #expect((burst + paced).isEmpty, "\(burst + paced)")
        var quiet = RealTimeWatch()
        let (told, _) = feed(&quiet, rate: 20, seconds: 60, from: start)
        #expect(told.isEmpty)
    }

    @Test("A stall of 5 s whose backlog comes at once is no slow link")
    func aStallAndItsBacklog_IsNoNews() {
        var watch = RealTimeWatch()
        var (news, now) = feed(&watch, rate: 1, seconds: 12, from: start)
        now += .seconds(5)
        let (backlog, after) = feed(&watch, rate: 50, seconds: 5, from: now)
        let (rest, _) = feed(&watch, rate: 1, seconds: 30, from: after)
        news += backlog + rest
        #expect(news.isEmpty, "\(news)")
    }

    @Test("A relay's time between two links is not counted: a restarted watch tells nothing of it")
    func aRestart_DoesNotCountTheTimeBetweenLinks() {
        var watch = RealTimeWatch()
        var (news, now) = feed(&watch, rate: 1, seconds: 15, from: start)
        for _ in 0..<3 {
            now += .seconds(8)  // the link is lost, and found again
            watch.restart()
            let (more, after) = feed(&watch, rate: 1, seconds: 4, from: now)
            news += more
            now = after
        }
        #expect(news.isEmpty, "\(news)")
    }
}
