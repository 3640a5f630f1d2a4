import Testing

@testable import Casty

struct TreePlacesTests {
    @Test func firstBranchesUpToTheFanout_AreServed() {
        var places = TreePlaces(address: "root:1", fanout: 2)
        #expect(places.place("a:1", path: []) == .serve)
        #expect(places.place("b:1", path: []) == .serve)
        #expect(places.children.map(\.address) == ["a:1", "b:1"])
    }

    @Test func furtherBranches_AreRedirectedTowardsTheSmallerSubtree() {
        var places = TreePlaces(address: "root:1", fanout: 2)
        _ = places.place("a:1", path: [])
        _ = places.place("b:1", path: [])
        let decisions = (0..<6).map { places.place("n\($0):1", path: []) }
        #expect(decisions == [
            .redirect("http://a:1/"), .redirect("http://b:1/"), .redirect("http://a:1/"),
            .redirect("http://b:1/"), .redirect("http://a:1/"), .redirect("http://b:1/"),
        ])
        #expect(places.children.map(\.subtree) == [4, 4])
        #expect(places.subtree == 9)
    }

    @Test("A branch sent down again (it restarted) counts once; one that comes back (it repaired, or restarted) leaves the count of the child it was sent to")
    func branchesAreCountedOnce_WhereTheyWereSentLast() {
        var places = TreePlaces(address: "root:1", fanout: 2)
        _ = places.place("a:1", path: [], now: .now - TreePlaces.settling)
        _ = places.place("b:1", path: [], now: .now - TreePlaces.settling)
        #expect(places.place("c:1", path: []) == .redirect("http://a:1/"))
        for _ in 0..<4 { _ = places.place("d:1", path: []) }  // restarting, sent down each time
        #expect(places.children.map(\.subtree) == [2, 2], "\(places.children.map(\.subtree))")
        // c lost a:1 and asks again: it goes under b, and a's count shrinks.
        _ = places.suspect("a:1", until: .now + .seconds(10))
        #expect(places.place("c:1", path: []) == .redirect("http://b:1/"))
        #expect(places.children.map(\.subtree) == [1, 3])
        // The next branch goes where there is room now.
        let later = ContinuousClock.now + .seconds(20)
        #expect(places.place("e:1", path: [], now: later) == .redirect("http://a:1/"))
    }

    @Test("When every child is suspected, a branch is served here past the fanout, never sent back to a hung child; the next goes below the trusted one, and the place is freed when it leaves")
    func everyChildSuspected_TheBranchIsServedHere() {
        let start = ContinuousClock.now
        var places = TreePlaces(address: "root:1", fanout: 2)
        _ = places.place("a:1", path: [], now: start)
        _ = places.place("b:1", path: [], now: start)
        #expect(places.place("c:1", path: [], now: start) == .redirect("http://a:1/"))
        #expect(places.place("d:1", path: [], now: start) == .redirect("http://b:1/"))
        // Both children hang at once: their branches report them lost.
        let hung = start + .seconds(30)
        let suspected = [places.suspect("a:1", until: hung + .seconds(10), now: hung), places.suspect("b:1", until: hung + .seconds(10), now: hung)]
        #expect(suspected == [true, true])
        #expect(places.place("c:1", path: [], now: hung) == .serve)
        #expect(places.children.map(\.address) == ["a:1", "b:1", "c:1"])
        // The next orphan goes below the one trusted place, not back to a hung child.
        #expect(places.place("d:1", path: [], now: hung) == .redirect("http://c:1/"))
        // The hung children are dropped: the taken branch keeps its place until it leaves, then room is made as usual.
        places.remove("a:1")
        places.remove("b:1")
        #expect(places.place("e:1", path: [], now: hung + .seconds(1)) == .serve)
        places.remove("c:1")
        #expect(places.children.map(\.address) == ["e:1"])
    }

    @Test("A child's subtree size, asked before a branch was sent down to it, still counts that branch: the next one goes to the other child, not below a full one")
    func aSurveyAnsweredBeforeABranchArrived_DoesNotForgetTheBranch() {
        var places = TreePlaces(address: "root:1", fanout: 2)
        let start = ContinuousClock.now
        _ = places.place("a:1", path: [], now: start)
        _ = places.place("b:1", path: [], now: start)
        let asked = start + .seconds(1)
        #expect(places.place("c:1", path: [], now: asked + .milliseconds(10)) == .redirect("http://a:1/"))
        // a's answer left before c reached it: a alone.
        places.report("a:1", subtree: 1, asked: asked)
        #expect(places.children.map(\.subtree) == [2, 1])
        #expect(places.place("d:1", path: [], now: asked + .milliseconds(20)) == .redirect("http://b:1/"))
        // The next survey, asked after both were sent, is the size from then on.
        places.report("a:1", subtree: 2, asked: asked + .seconds(10))
        places.report("b:1", subtree: 2, asked: asked + .seconds(10))
        #expect(places.children.map(\.subtree) == [2, 2])
    }

    @Test func aChildThatLeft_MakesRoomForTheNextBranch() {
        var places = TreePlaces(address: "root:1", fanout: 2)
        _ = places.place("a:1", path: [])
        _ = places.place("b:1", path: [])
        places.remove("a:1")
        #expect(places.place("c:1", path: []) == .serve)
        #expect(places.children.map(\.address) == ["b:1", "c:1"])
    }

    @Test func aBranchThatIsThisNodeOrAboveIt_IsRefused() {
        var places = TreePlaces(address: "mid:1", fanout: 2)
        guard case .refuse = places.place("top:1", path: ["top:1"]) else { Issue.record("an ancestor must be refused"); return }
        guard case .refuse = places.place("mid:1", path: ["top:1"]) else { Issue.record("itself must be refused"); return }
        #expect(places.children.isEmpty)
    }

    @Test func aChildThatReattaches_IsServedAgain_WithoutTakingASecondPlace() {
        var places = TreePlaces(address: "root:1", fanout: 2)
        _ = places.place("a:1", path: [])
        _ = places.place("b:1", path: [])
        #expect(places.place("a:1", path: []) == .serve)
        #expect(places.children.count == 2)
    }

    @Test(arguments: [1, 2, 3])
    func fanout_BoundsTheChildren(fanout: Int) {
        var places = TreePlaces(address: "root:1", fanout: fanout)
        for index in 0..<20 { _ = places.place("n\(index):1", path: []) }
        #expect(places.children.count == fanout)
    }
}
