@testable import CastyNet
import Icy
import Testing

@testable import Casty

struct DistributorTests {
    let loop = EventLoop.shared

    @Test func listenerThatRequestsBeforeTheSourceReplied_GetsItsReplyWhenItDoes() async {
        let distributor = Distributor(loop: loop)
        let listener = RecorderNode(loop: loop)
        distributor.send(.request(from: listener, resume: nil))
        #expect(await listener.record.replies.isEmpty)
        distributor.send(.reply(next: 5, context: testContext()))
        #expect(await listener.wait { $0.replies.count == 1 })
        #expect(await listener.record.replies.first?.next == 5)
    }

    @Test func everyListener_GetsEverySegment_InOrder() async throws {
        let distributor = try Distributor(loop: loop, configuration: .init(burst: 0))
        distributor.send(.reply(next: 0, context: testContext()))
        let listeners = (0..<50).map { _ in RecorderNode(loop: loop) }
        for listener in listeners { distributor.send(.request(from: listener, resume: nil)) }
        for segment in testSegments(20) { distributor.send(.data(segment.number, segment)) }
        for listener in listeners {
            #expect(await listener.waitForData(20))
            #expect(await listener.record.numbers == Array(0..<20))
        }
        let stat = await distributor.stat()
        #expect(stat.listeners == 50)
        #expect(stat.segments == 20)
        #expect(stat.gaps == 0)
    }

    @Test func newListener_StartsWithABurstOfRecentSegments() async throws {
        let distributor = try Distributor(loop: loop, configuration: .init(burst: 3))
        distributor.send(.reply(next: 0, context: testContext()))
        for segment in testSegments(10) { distributor.send(.data(segment.number, segment)) }
        let late = RecorderNode(loop: loop)
        distributor.send(.request(from: late, resume: nil))
        #expect(await late.waitForData(3))
        let record = await late.record
        #expect(record.replies.map(\.next) == [7])
        #expect(record.numbers == [7, 8, 9])
        // The reply tells what is playing now, not what played when the source first replied.
        #expect(record.replies.first?.context.title?.streamTitle == "Song 0")
    }

    @Test func listenerThatResumesWithinTheRing_GetsNoGapAndNoDuplicate() async throws {
        let distributor = try Distributor(loop: loop, configuration: .init(burst: 2, ringSize: 8))
        distributor.send(.reply(next: 0, context: testContext()))
        let segments = testSegments(12)
        for segment in segments.prefix(10) { distributor.send(.data(segment.number, segment)) }
        let branch = RecorderNode(loop: loop)
        distributor.send(.request(from: branch, resume: 4))
        for segment in segments.suffix(2) { distributor.send(.data(segment.number, segment)) }
        #expect(await branch.waitForData(8))
        #expect(await branch.record.replies.map(\.next) == [4])
        #expect(await branch.record.numbers == Array(4..<12))
    }

    @Test func listenerThatResumesBeyondTheRing_GetsTheBurstInstead() async throws {
        let distributor = try Distributor(loop: loop, configuration: .init(burst: 2, ringSize: 4))
        distributor.send(.reply(next: 0, context: testContext()))
        for segment in testSegments(10) { distributor.send(.data(segment.number, segment)) }
        let branch = RecorderNode(loop: loop)
        distributor.send(.request(from: branch, resume: 1))
        #expect(await branch.waitForData(2))
        #expect(await branch.record.numbers == [8, 9])
    }

    @Test func gapInTheSourceNumbering_IsCounted_AndOldSegmentsIgnored() async throws {
        let distributor = try Distributor(loop: loop, configuration: .init(burst: 0))
        let listener = Dummy(loop: loop)
        listener.attach(to: distributor)
        distributor.send(.reply(next: 0, context: testContext()))
        let segments = testSegments(10)
        for index in [0, 1, 2, 6, 7, 3, 8] { distributor.send(.data(segments[index].number, segments[index])) }
        #expect(await eventually { await listener.received == 6 })
        let stat = await distributor.stat()
        #expect(stat.gaps == 1)
        #expect(stat.missing == 3)
        #expect(await listener.gaps == 1)
        #expect(await listener.missing == 3)
    }

    @Test func listenerThatLeaves_GetsNothingMore() async throws {
        let distributor = try Distributor(loop: loop, configuration: .init(burst: 0))
        distributor.send(.reply(next: 0, context: testContext()))
        let stays = RecorderNode(loop: loop), leaves = RecorderNode(loop: loop)
        distributor.send(.request(from: stays, resume: nil))
        distributor.send(.request(from: leaves, resume: nil))
        let segments = testSegments(4)
        for segment in segments.prefix(2) { distributor.send(.data(segment.number, segment)) }
        distributor.leave(leaves)
        for segment in segments.suffix(2) { distributor.send(.data(segment.number, segment)) }
        #expect(await stays.waitForData(4))
        #expect(await leaves.record.numbers == [0, 1])
        #expect(await distributor.stat().listeners == 1)
    }

    @Test func stop_StopsEveryListener_AndRefusesNewOnes() async {
        let distributor = Distributor(loop: loop)
        distributor.send(.reply(next: 0, context: testContext()))
        let listener = RecorderNode(loop: loop), late = RecorderNode(loop: loop)
        distributor.send(.request(from: listener, resume: nil))
        distributor.stop()
        distributor.send(.request(from: late, resume: nil))
        #expect(await listener.waitForStop())
        #expect(await late.waitForStop())
        #expect(await distributor.stat().listeners == 0)
    }

    @Test func tenThousandDummies_EachGetEverySegment() async throws {
        let distributor = try Distributor(loop: loop, configuration: .init(burst: 0))
        distributor.send(.reply(next: 0, context: testContext()))
        let dummies = (0..<10_000).map { Dummy(id: $0, loop: loop) }
        for dummy in dummies { dummy.attach(to: distributor) }
        for segment in testSegments(5) { distributor.send(.data(segment.number, segment)) }
        #expect(await eventually { await dummies.last!.received == 5 })
        for dummy in dummies.prefix(100) + dummies.suffix(100) {
            #expect(await dummy.received == 5)
            #expect(await dummy.gaps == 0)
        }
    }

    @Test func branchThatReattachesBeforeItsOldLinkCloses_KeepsItsPlace() async throws {
        let distributor = try Distributor(loop: loop, configuration: .init(burst: 0, treeAddress: "root:1", fanout: 2))
        distributor.send(.reply(next: 0, context: testContext()))
        let oldLink = RecorderNode(loop: loop), newLink = RecorderNode(loop: loop), other = RecorderNode(loop: loop)
        distributor.send(.request(from: oldLink, resume: nil, branch: "a:1"))
        distributor.send(.request(from: other, resume: nil, branch: "b:1"))
        distributor.send(.request(from: newLink, resume: nil, branch: "a:1"))
        distributor.leave(oldLink)
        let stat = await distributor.stat()
        #expect(stat.tree?.children.map(\.address) == ["a:1", "b:1"])
        #expect(stat.branches == 2, "branch links are counted as branches")
        #expect(stat.listeners == 0, "not as listeners")
        // Full: a third branch is sent down the tree, not served here.
        let third = RecorderNode(loop: loop)
        distributor.send(.request(from: third, resume: nil, branch: "c:1"))
        #expect(await third.wait { !$0.redirects.isEmpty })
        #expect(await third.record.redirects == ["http://a:1/"])
    }

    @Test func aNewStream_RestartsTheNumbering_CountsOneGap_AndKeepsItsPlayers() async throws {
        let lines = LogLines()
        let distributor = try Distributor(loop: loop, configuration: .init(burst: 0), logger: lines.logger)
        var old = testContext(), new = testContext()
        old.stream = 1
        new.stream = 2
        distributor.send(.reply(next: 0, context: old))
        let player = RecorderNode(loop: loop)
        distributor.send(.request(from: player, resume: nil))
        for segment in testSegments(10) { distributor.send(.data(segment.number, segment)) }
        distributor.send(.reply(next: 0, context: new))  // a restarted root numbers from 0 again
        for segment in testSegments(5) { distributor.send(.data(segment.number, segment)) }
        #expect(await player.waitForData(15))
        #expect(await player.record.numbers == Array(0..<10) + Array(0..<5), "the player goes on with the new numbers")
        let stat = await distributor.stat()
        #expect(stat.gaps == 1)
        #expect(stat.stream == 2)
        #expect(stat.next == 5)
        #expect(stat.segments == 15)
        #expect(!lines.value.contains { $0.contains("duplicate") })
        // The ring holds the new stream only: a resume is served from it.
        let late = RecorderNode(loop: loop)
        distributor.send(.request(from: late, resume: 2))
        #expect(await late.waitForData(3))
        #expect(await late.record.numbers == [2, 3, 4])
        #expect(await late.record.replies.first?.context.stream == 2)
    }

    @Test func aSourceThatDoesNotNameItsStream_GetsOneName_AcrossItsReplies() async {
        let distributor = Distributor(loop: loop)
        distributor.send(.reply(next: 0, context: testContext()))
        for segment in testSegments(3) { distributor.send(.data(segment.number, segment)) }
        let named = await distributor.stat().stream
        #expect(named != nil && named != 0)
        distributor.send(.reply(next: 7, context: testContext()))  // a proxy that reconnected: same numbering
        for segment in testSegments(2, first: 7) { distributor.send(.data(segment.number, segment)) }
        let stat = await distributor.stat()
        #expect(stat.stream == named)
        #expect(stat.gaps == 1, "the outage's jump, not a new stream")
        #expect(stat.missing == 4)
    }

    @Test func oldSegments_AreLoggedOnce_ThenSummedUp_NotOneLineEach() async {
        let lines = LogLines()
        let distributor = Distributor(loop: loop, logger: lines.logger)
        distributor.send(.reply(next: 0, context: testContext()))
        let segments = testSegments(10)
        for segment in segments { distributor.send(.data(segment.number, segment)) }
        for _ in 0..<5 {
            for segment in segments { distributor.send(.data(segment.number, segment)) }
        }
        #expect(await distributor.stat().segments == 10)
        let told = lines.value.filter { $0.contains("duplicate or old") }
        #expect(told.count == 1, "\(told)")
    }
}
