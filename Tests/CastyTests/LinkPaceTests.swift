import Testing

@testable import Casty

/// A relay's link that ends is taken for a file when its audio came faster than it plays to its end — not when it
/// came so only in a live server's burst at its start.
struct LinkPaceTests {
    let start = ContinuousClock.now

    /// Frames of 26 ms, `count` of them, that come `rate` times as fast as they play from `at` on (`.infinity`: at
    /// once); returns when the last came.
    func feed(_ pace: inout LinkPace, _ count: Int, rate: Double, from at: ContinuousClock.Instant) -> ContinuousClock.Instant {
        var now = at
        for _ in 0..<count {
            pace.heard(0.026, at: now)
            now += rate.isInfinite ? .zero : .microseconds(Int64((26_000 / rate).rounded()))
        }
        return now
    }

    @Test("A file sent at once, or at three times its pace, and ended is a file; a short one is not")
    func fileAtDownloadSpeed_IsAFile() {
        var atOnce = LinkPace(started: start)
        let sent = feed(&atOnce, 600, rate: .infinity, from: start + .milliseconds(5))
        #expect(atOnce.wasAFile(endingAt: sent + .milliseconds(5)))
        var fast = LinkPace(started: start)
        let fastEnded = feed(&fast, 1_200, rate: 3, from: start)
        #expect(fast.wasAFile(endingAt: fastEnded), "31 s of audio in 10 s")
        var short = LinkPace(started: start)
        let shortEnded = feed(&short, 300, rate: .infinity, from: start)
        #expect(!short.wasAFile(endingAt: shortEnded), "7.8 s: under 10")
    }

    @Test("A live link that ends 2 s or more after an Icecast burst of 8 to 16 s is no file, though it brought far more than it lasted",
          arguments: [(300, 2.0), (300, 5.0), (600, 2.0), (600, 8.0)])
    func liveLinkEndingAfterItsBurst_IsNoFile(burst: Int, after: Double) {
        var pace = LinkPace(started: start)
        let burstCame = feed(&pace, burst, rate: .infinity, from: start + .milliseconds(20))
        let ended = feed(&pace, Int(after / 0.026), rate: 1, from: burstCame + .milliseconds(26))
        #expect(pace.audio > 2 * pace.lasted(at: ended), "it brought more than twice its time")
        #expect(!pace.wasAFile(endingAt: ended))
    }
}
