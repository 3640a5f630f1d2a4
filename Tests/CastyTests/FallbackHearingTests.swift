import Testing

@testable import Casty
@testable import CastyNet

/// Who hears a mount as its fallback is found from the mounts that fall back to it, not by reading every fallback
/// rule once per mount reached: a status page, a reload and a listener's join stay linear in the mounts involved on
/// a server with many mounts (the work is counted, ``MountTable/hearingSteps``, not timed).
struct FallbackHearingTests {
    let loop = EventLoop.shared

    /// A table of `fallbacks`, its mounts whitelisted, no source anywhere.
    func table(_ fallbacks: [String: String]) -> MountTable {
        var rules = MountTable.Rules()
        rules.whitelist = Set(fallbacks.keys).union(fallbacks.values)
        rules.fallbacks = fallbacks
        return MountTable(rules: rules, loop: loop, logger: EventLog { _ in })
    }

    /// The steps a status page of `table` takes (``MountTable/listed(asked:streaming:)``), and how many mounts it lists.
    func stepsOfAPage(_ table: MountTable, streaming: Bool = false) async -> (steps: Int, listed: Int) {
        await loop.submit {
            let before = table.hearingSteps
            let listed = table.listed(asked: nil, streaming: streaming).count
            return (table.hearingSteps - before, listed)
        }
    }

    @Test func aStatusPage_OfManyMountsFallingBackToOne_FindsWhoHearsItOnce() async {
        let count = 60
        let table = table(Dictionary(uniqueKeysWithValues: (0..<count).map { ("/m\($0)", "/backup") }))
        let (steps, listed) = await stepsOfAPage(table)
        #expect(listed == count + 1)
        #expect(steps <= 4 * count, "\(steps) steps for \(count) mounts: one walk per mount, not per mount and rule")
    }

    @Test func aStatusPage_OfALongChainOfFallbacks_WalksItOnce() async {
        let count = 100
        let table = table(Dictionary(uniqueKeysWithValues: (0..<count).map { ("/m\($0)", "/m\($0 + 1)") }))
        let (steps, listed) = await stepsOfAPage(table)
        #expect(listed == count + 1)
        #expect(steps <= 4 * count, "\(steps) steps for a chain of \(count): down and up it once, not once per mount")
    }

    @Test func whoHearsAMount_IsFoundFromItsDependants_NotFromEveryRule() async {
        // A mount nobody falls back to, among many rules: nothing to walk.
        var fallbacks = Dictionary(uniqueKeysWithValues: (0..<50).map { ("/m\($0)", "/backup") })
        fallbacks["/a"] = "/b"
        let table = table(fallbacks)
        let (steps, hearing) = await loop.submit {
            let before = table.hearingSteps
            let hearing = table.hearingAsFallback(table.mount(at: "/b")!) + table.hearingAsFallback(table.mount(at: "/m7")!)
            return (table.hearingSteps - before, hearing)
        }
        #expect(hearing.isEmpty, "nobody listens")
        #expect(steps == 1, "/b's one dependant, /a, and none of /m7: \(steps)")
    }

    @Test func theIndexOfWhoFallsBack_FollowsTheRulesAsTheyChange() async {
        let table = table(["/a": "/backup", "/b": "/backup"])
        #expect(await loop.submit { table.fallingBack["/backup"]?.sorted() } == ["/a", "/b"])
        let after = await loop.submit {
            var next = table.rules
            next.fallbacks = ["/a": "/other"]
            _ = table.reload(next)
            return table.fallingBack
        }
        #expect(after == ["/other": ["/a"]])
    }
}
