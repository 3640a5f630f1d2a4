import Kit
import Testing
import Tree

/// A node that answers every request with the same redirect: the way to build a loop.
actor Redirector: Node {
    nonisolated let address: Address
    let target: Address
    init(_ address: Address, to target: Address) {
        self.address = address
        self.target = target
    }
    func receive(_ envelope: Envelope) -> [Envelope] {
        guard case .request = envelope.message else { return [] }
        return [Envelope(from: address, to: envelope.from, .redirect(to: target))]
    }
}

let context = Context(name: "Casty FM")

/// An expectation's message: the hole it checks, where that is, and what it expects of it — so that a hole still
/// returning its placeholder (accept everyone, follow everything) is named when it fails.
func hole(_ function: String, _ what: String) -> Comment {
    "\(function) (Chapter 5, Starter/Holes.swift): \(what)"
}

/// Chapter 5: a tree that grows by itself, two children per node, and branches that find their place.
struct TreeChecks {
    @Test func seats_acceptTwoChildren_thenRedirectToThemInTurn() {
        var seats = Seats(capacity: 2)
        let answers = ["a", "b", "c", "d", "e", "f"].map { seats.place($0) }
        #expect(answers == [.accept, .accept, .redirect(to: "a"), .redirect(to: "b"), .redirect(to: "a"), .redirect(to: "b")],
                hole("Seats.place(_:)", "two accepted, then the others redirected to the children in turn"))
        #expect(seats.children == ["a", "b"], hole("Seats.place(_:)", "the two accepted are the children"))
    }

    @Test func seats_aChildAskingAgain_isNotRedirectedToItself() {
        var seats = Seats(capacity: 2)
        _ = seats.place("a")
        _ = seats.place("b")
        #expect(seats.place("a") == .accept, hole("Seats.place(_:)", "a child that asks again is accepted again"))
        #expect(seats.children == ["a", "b"], hole("Seats.place(_:)", "the children once each, in the order they came"))
    }

    @Test func seats_aChildAskingAgain_doesNotMoveTheTurn() {
        var seats = Seats(capacity: 2)
        let answers = ["a", "b", "c", "a", "d", "b", "e"].map { seats.place($0) }
        #expect(answers == [.accept, .accept, .redirect(to: "a"), .accept, .redirect(to: "b"), .accept, .redirect(to: "a")],
                hole("Seats.place(_:)", "a child asking again (after a reconnect) is accepted and does not move the turn: the newcomers still go to a, b, a"))
    }

    @Test func seats_aNewcomerAskingTwiceWhileThereIsRoom_isSeatedOnce() {
        var seats = Seats(capacity: 2)
        _ = seats.place("a")
        #expect(seats.place("a") == .accept, hole("Seats.place(_:)", "a child that asks again is accepted again"))
        #expect(seats.children == ["a"], hole("Seats.place(_:)", "a child that asks twice while there is room is seated once"))
        #expect(seats.place("b") == .accept, hole("Seats.place(_:)", "a child that asked twice took one seat: the second is still free"))
        #expect(seats.children == ["a", "b"], hole("Seats.place(_:)", "the children once each, in the order they came"))
    }

    @Test func route_followsAChainOfRedirects() throws {
        var route = Route(start: "root")
        #expect(try route.follow("a") == "a", hole("Route.follow(_:)", "the node to ask next is the target"))
        #expect(try route.follow("a1") == "a1", hole("Route.follow(_:)", "the node to ask next is the target"))
        #expect(route.visited == ["root", "a", "a1"], hole("Route.follow(_:)", "every node asked noted, in order"))
    }

    @Test func route_refusesToGoRoundInALoop() {
        var route = Route(start: "x")
        #expect(throws: RouteError.loop(["x", "y", "x"]), hole("Route.follow(_:)", "a redirect back to x is a loop")) {
            _ = try route.follow("y")
            _ = try route.follow("x")
        }
    }

    @Test func route_seesALoopThatDoesNotReturnToItsStart() {
        var route = Route(start: "root")
        #expect(throws: RouteError.loop(["root", "a", "b", "a"]),
                hole("Route.follow(_:)", "a redirect to any node already on the way is a loop, not only one back to the start")) {
            _ = try route.follow("a")
            _ = try route.follow("b")
            _ = try route.follow("a")
        }
    }

    @Test func route_givesUpAfterTooManyRedirects() {
        var route = Route(start: "n0", maxRedirects: 3)
        #expect(throws: RouteError.tooManyRedirects(["n0", "n1", "n2", "n3"]), hole("Route.follow(_:)", "no more than maxRedirects (3) followed")) {
            for hop in 1...10 { _ = try route.follow("n\(hop)") }
        }
    }

    @Test func tree_sixBranchesJoiningTheRoot_growABalancedTreeOfThreeLevels() async {
        let network = Network()
        let root = TreeNode(root: "root", context: context)
        await network.add(root)
        let names = ["a", "b", "c", "d", "e", "f"]
        var branches: [TreeNode] = []
        for name in names {
            let branch = TreeNode(branch: name)
            branches.append(branch)
            await network.add(branch)
            await network.post(await branch.join("root"))
            await network.run(limit: 1000)
        }
        #expect(await root.seats.children == ["a", "b"], hole("Seats.place(_:)", "the root's children are the first two"))
        var parents: [Address: Address] = [:]
        for branch in branches { parents[branch.address] = await branch.parent }
        #expect(parents == ["a": "root", "b": "root", "c": "a", "d": "b", "e": "a", "f": "b"],
                hole("Seats.place(_:) and Route.follow(_:)", "two children per node, the others sent down to them in turn and following"))
        // Every branch hears every segment, exactly once, in order.
        for _ in 0..<3 { await network.post(await root.broadcast(Segment(audio: [1]))) }
        await network.run(limit: 1000)
        for branch in branches {
            #expect(await branch.received == [0, 1, 2], hole("Seats.place(_:) and Route.follow(_:)", "every segment to \(branch.address), once, in order"))
        }
    }

    @Test func tree_aBranchSentRoundInARedirectLoop_givesUp() async {
        let network = Network()
        await network.add(Redirector("x", to: "y"))
        await network.add(Redirector("y", to: "x"))
        let branch = TreeNode(branch: "lost")
        await network.add(branch)
        await network.post(await branch.join("x"))
        await network.run(limit: 1000)
        #expect(await branch.failure == .loop(["x", "y", "x"]), hole("Route.follow(_:)", "the branch gives up on the loop x → y → x"))
        #expect(await branch.parent == nil, hole("Route.follow(_:)", "a branch that gave up has no parent"))
    }
}
