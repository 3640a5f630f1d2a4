import Testing

@testable import CastyNet

/// The lists a log line names (``listed(_:most:)``): a server of 600 mounts wrote a listening line of 47 kB and a
/// status line of 23 kB, which log collectors cut or drop.
struct LogLineListTests {
    @Test("A few items are named as they were, joined by commas")
    func fewItems_AreNamedAsBefore() {
        #expect(listed([]) == "")
        #expect(listed(["/live"]) == "/live")
        #expect(listed(["/live 2", "/jazz 1"]) == "/live 2, /jazz 1")
        let twenty = (1...20).map { "/m\($0)" }
        #expect(listed(twenty) == twenty.joined(separator: ", "))
    }

    @Test("Past 20 items, the first 20 are named, then how many more")
    func manyItems_AreCutAfterTwenty() {
        let mounts = (1...600).map { "/mount\($0)" }
        let line = listed(mounts)
        #expect(line == (1...20).map { "/mount\($0)" }.joined(separator: ", ") + " and 580 more")
        #expect(line.utf8.count < 300)
        #expect(listed(mounts, most: 2) == "/mount1, /mount2 and 598 more")
    }
}
