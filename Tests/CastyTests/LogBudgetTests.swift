@testable import Casty
@testable import CastyNet
import Testing

/// A budget of log lines: the first few of a window one by one, the rest summed up in one line that reads right.
@Suite struct LogBudgetTests {
    @Test("The sum of one line not told reads as one, not '1 more peers refused'", arguments: [(2, "one more of the"), (4, "3 more")])
    func theSummary_CountsWhatWasNotTold(lines: Int, more: String) async {
        let told = Locked<[String]>([])
        let loop = EventLoop.shared
        let budget = LogBudget(loop: loop, logger: EventLog { line in told.update { $0.append(line) } }, what: "peers refused", perWindow: 1)
        for index in 0..<lines { budget("peer \(index) refused") }
        await loop.submit { budget.closeWindow() }
        #expect(await eventually { told.value.count == 2 }, "\(told.value)")
        #expect(told.value.last == "\(more) peers refused in the last 10.0 seconds (not logged one by one)")
    }
}
