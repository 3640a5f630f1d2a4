@testable import CastyNet
import Testing

/// A status line that says what the last one said stays out of the log, but not for ever.
@Suite struct RepeatedLineTests {
    /// Which of `lines` (each at its second after a start) are logged.
    private func logged(_ lines: [(second: Int, line: String)]) -> [Int] {
        var repeated = RepeatedLine(heartbeat: .seconds(600))
        let start = ContinuousClock.now
        return lines.filter { repeated.shouldLog($0.line, at: start + .seconds($0.second)) }.map(\.second)
    }

    @Test("The same status line is logged once, then again only after the heartbeat")
    func theSameLine_IsLoggedAgainOnlyAfterTheHeartbeat() {
        let idle = "status: 0 of 1 mount live, 0 listeners, 0 kB in, 0 kB out, 0 skipped, 0 dropped"
        #expect(logged([0, 10, 590, 600, 610, 1199, 1200].map { ($0, idle) }) == [0, 600, 1200])
    }

    @Test("A line that changed is logged at once, and a change back too")
    func aChangedLine_IsLoggedAtOnce() {
        #expect(logged([(0, "0 listeners"), (10, "1 listener"), (20, "1 listener"), (30, "0 listeners")]) == [0, 10, 30])
    }

    @Test("A status line every hour is never held back: the heartbeat is at least the interval")
    func theHeartbeat_IsAtLeastTheInterval() {
        #expect(RepeatedLine.statusHeartbeat(every: .seconds(10)) == .seconds(600))
        #expect(RepeatedLine.statusHeartbeat(every: .seconds(3600)) == .seconds(3600))
    }
}
