import Testing

@testable import Casty

/// What `casty-cli` does with the signals it handles (``SignalResponse``), and SIGHUP's readings
/// (``HangupReadings``).
struct SignalResponseTests {
    @Test("SIGUSR1 and SIGUSR2 are ignored with a line saying why, in every command (logrotate's postrotate sends kill -USR1)")
    func userSignals_AreIgnoredWithALine() {
        for name in ["SIGUSR1", "SIGUSR2"] {
            for (endsItself, reads) in [(false, false), (false, true), (true, false)] {
                #expect(SignalResponse.to(name, endsItself: endsItself, readsAgainOnHangup: reads)
                    == .ignore("\(name): ignored (the access log follows a moved or truncated file by itself: no signal is needed)"))
            }
        }
        #expect(SignalResponse.handled.contains("SIGUSR1") && SignalResponse.handled.contains("SIGUSR2"))
    }

    @Test("SIGHUP is a reading in a command that reads its options again, a stop in the others; SIGINT and SIGTERM stop every one")
    func hangup_IsAReadingOnlyWhereTheCommandReadsAgain() {
        #expect(SignalResponse.to("SIGHUP", endsItself: false, readsAgainOnHangup: true) == .readAgain)
        #expect(SignalResponse.to("SIGHUP", endsItself: false, readsAgainOnHangup: false) == .stop)
        #expect(SignalResponse.to("SIGHUP", endsItself: true, readsAgainOnHangup: false) == .tell)
        for name in ["SIGINT", "SIGTERM"] {
            #expect(SignalResponse.to(name, endsItself: false, readsAgainOnHangup: true) == .stop)
            #expect(SignalResponse.to(name, endsItself: true, readsAgainOnHangup: false) == .tell)
        }
    }

    // Bounded: without the signals held, the reading awaited never comes.
    @Test("A SIGHUP that comes before the reading is ready is read once it is, once however many came", .timeLimit(.minutes(1)))
    func hangupBeforeTheReadingIsReady_IsReadOnceItIs() async {
        let readings = HangupReadings()
        readings.received()
        readings.received()
        let (runs, ran) = AsyncStream.makeStream(of: Int.self)
        let count = Locked(0)
        readings.run {
            count.update { $0 += 1 }
            ran.yield(count.value)
        }
        var iterator = runs.makeAsyncIterator()
        #expect(await iterator.next() == 1)
        readings.received()  // one more, after: one more reading
        #expect(await iterator.next() == 2)
    }
}
