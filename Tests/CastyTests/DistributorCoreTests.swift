@testable import CastyNet
import Icy
import Testing

@testable import Casty

/// The distributor's decisions, as a value: events in, actions out, with a made-up clock. No sockets, no
/// sleeps, no loop.
struct DistributorCoreTests {
    typealias Core = DistributorCore<Int>
    let t0 = ContinuousClock.now

    func core(burst: Int = 2, ring: Int = 8, tree: String? = nil, startWait: Duration = .seconds(3)) -> Core {
        var configuration = Distributor.Configuration()
        configuration.burst = burst
        configuration.ringSize = ring
        configuration.treeAddress = tree
        configuration.startWait = startWait
        var core = Core(configuration: configuration)
        _ = core.sourceAttached()
        return core
    }

    /// A readable form of the actions, for comparing.
    func describe(_ actions: [Core.Action]) -> [String] {
        actions.map { action in
            switch action {
            case .requestSource: "request source"
            case .reply(let listener, let next, _): "reply \(listener) next \(next)"
            case .send(let listener, let number, _): "send \(listener) #\(number)"
            case .fanOut(let number, _): "fan out #\(number)"
            case .fanOutPiece(let number, let piece): piece.abandoned ? "abandon #\(number)" : "piece #\(number) at \(piece.offset)"
            case .redirect(let listener, let url): "redirect \(listener) to \(url)"
            case .stop(let listener, _): "stop \(listener)"
            case .relink(let listener, _): "relink \(listener)"
            case .release(let listener, _): "release \(listener)"
            case .notFound(let listener): "not found \(listener)"
            case .conflict(let listener, _): "conflict \(listener)"
            case .armWaitingTimer(let delay): "timer \(delay)"
            case .log: "log"
            case .titleChanged(let title, _): "title \(title)"
            }
        }
    }

    func feed(_ core: inout Core, _ segments: [StreamSegment]) {
        for segment in segments { _ = core.data(segment.number, segment, at: t0) }
    }

    @Test func firstListener_AsksTheSource_AndWaitsForItsReply() {
        var core = Core(configuration: .init())
        #expect(describe(core.sourceAttached()) == ["request source"])
        #expect(describe(core.request(from: 1, resume: nil, branch: nil, at: t0)) == ["timer 3.0 seconds"])
        #expect(describe(core.reply(first: 5, context: testContext(), at: t0)) == ["reply 1 next 5"])
        #expect(core.listeners == [1])
    }

    @Test func lazySource_IsAskedOnlyAtTheFirstListener() {
        var configuration = Distributor.Configuration()
        configuration.lazy = true
        var core = Core(configuration: configuration)
        #expect(core.sourceAttached().isEmpty)
        #expect(describe(core.request(from: 1, resume: nil, branch: nil, at: t0)) == ["request source", "timer 3.0 seconds"])
    }

    @Test func listenerWithoutAStreamInTime_IsStopped_OthersWaitOn() {
        var core = core()
        _ = core.request(from: 1, resume: nil, branch: nil, at: t0)
        _ = core.request(from: 2, resume: nil, branch: nil, at: t0 + .seconds(2))
        #expect(describe(core.waitingTimedOut(at: t0 + .milliseconds(2999))) == ["timer 0.001 seconds"])
        #expect(describe(core.waitingTimedOut(at: t0 + .seconds(3))) == ["log", "stop 1", "timer 2.0 seconds"])
        #expect(describe(core.reply(first: 0, context: testContext(), at: t0 + .seconds(4))) == ["reply 2 next 0"])
        #expect(core.waitingTimedOut(at: t0 + .seconds(9)).isEmpty, "no refusal once the stream has started")
    }

    @Test func branchWithoutAStream_IsToldBeforeItsOwnWaitForAReply_AndRefusalsAreSummedUpEvery10Seconds() {
        var core = core()
        let lines: ([Core.Action]) -> [String] = { actions in actions.compactMap { if case .log(let text) = $0 { text } else { nil } } }
        _ = core.request(from: 1, resume: nil, branch: "10.0.0.2:8001", at: t0)
        _ = core.request(from: 2, resume: nil, branch: nil, at: t0)
        // The branch waits 2 s (its own wait for a reply is 3 s, after which it would blame this node); a player 3 s.
        let first = core.waitingTimedOut(at: t0 + .seconds(2))
        #expect(describe(first) == ["log", "stop 1", "timer 1.0 seconds"])
        #expect(lines(first) == ["distributor: no stream yet; refused 1 branch with 503"])
        #expect(describe(core.waitingTimedOut(at: t0 + .seconds(3))) == ["stop 2"], "within 10 s of the last line: counted, not told")
        _ = core.request(from: 3, resume: nil, branch: nil, at: t0 + .seconds(9))
        let later = core.waitingTimedOut(at: t0 + .seconds(12))
        #expect(describe(later) == ["log", "stop 3"])
        #expect(lines(later) == ["distributor: no stream yet; refused 2 listeners with 503 (summed up every 10 s)"])
    }

    @Test func relayWithoutAStreamInTime_IsStoppedWithoutALogLine() {
        var core = core()
        _ = core.request(from: 1, resume: nil, branch: nil, relay: .packager, at: t0)  // an HLS packager
        #expect(describe(core.waitingTimedOut(at: t0 + .seconds(3))) == ["stop 1"], "it asks again on its own, quietly")
    }

    @Test func mountRelayingThisOne_WaitsForAStream_AsLongAsItTakes() {
        var core = core()
        _ = core.request(from: 1, resume: nil, branch: nil, relay: .mount, at: t0)
        #expect(core.waitingTimedOut(at: t0 + .seconds(60)).isEmpty, "its own source may be away as long as this one's")
        #expect(describe(core.reply(first: 0, context: testContext(), at: t0 + .seconds(90))) == ["reply 1 next 0"])
    }

    @Test func droppingListeners_ReleasesTheMountsRelayingThisOne_WhichStay() {
        var core = core(burst: 0)
        _ = core.reply(first: 0, context: testContext(), at: t0)
        _ = core.request(from: 1, resume: nil, branch: nil, at: t0)
        _ = core.request(from: 2, resume: nil, branch: nil, relay: .mount, at: t0)
        _ = core.request(from: 3, resume: nil, branch: nil, relay: .packager, at: t0)
        core.sourceGone()
        #expect(Set(describe(core.dropListeners())) == ["stop 1", "release 2", "stop 3"])
        #expect(core.listeners == [2] && core.playerCount == 0)
        var next = testContext()
        next.stream = 9
        _ = core.reply(first: 0, context: next, at: t0)
        #expect(describe(core.data(0, testSegments(1)[0], at: t0)).contains("fan out #0"), "the mount hears the next stream")
    }

    @Test func firstSegmentOfANewStream_IsMarked_AndNoPieceOfItGoesAhead() {
        var core = core(burst: 0)
        _ = core.reply(first: 0, context: testContext(), at: t0)
        _ = core.request(from: 1, resume: nil, branch: nil, at: t0)
        let segments = testSegments(4)
        feed(&core, Array(segments.prefix(2)))
        var other = testContext()
        other.stream = 7
        _ = core.reply(first: 2, context: other, at: t0)  // numbered on as if nothing happened: only the mark tells
        #expect(core.piece(2, StreamPiece(offset: 0, audio: [1, 2, 3])).isEmpty, "a player starts the new stream on a frame")
        let first = core.data(2, segments[2], at: t0).compactMap { action -> StreamSegment? in
            if case .fanOut(_, let segment) = action { segment } else { nil }
        }
        #expect(first.map(\.opensStream) == [true])
        let second = core.data(3, segments[3], at: t0).compactMap { action -> StreamSegment? in
            if case .fanOut(_, let segment) = action { segment } else { nil }
        }
        #expect(second.map(\.opensStream) == [false])
    }

    @Test func playerAdmittedAtTheFrontDoor_CountsUntilItsRequestArrives_OrItsPromiseLapses() {
        var core = core()
        _ = core.reply(first: 0, context: testContext(), at: t0)
        core.promise(at: t0)
        core.promise(at: t0)
        #expect(core.admittedPlayers(at: t0) == 2, "both on their way")
        _ = core.request(from: 1, resume: 0, branch: nil, at: t0)
        #expect(core.admittedPlayers(at: t0) == 2 && core.playerCount == 1, "one arrived, one on its way")
        _ = core.request(from: 2, resume: nil, branch: nil, relay: .packager, at: t0)
        #expect(core.admittedPlayers(at: t0) == 2, "a mount's machinery keeps no player's place")
        #expect(core.admittedPlayers(at: t0 + .seconds(5)) == 1, "a player that never came holds its place 5 s")
    }

    @Test func segmentsRelayedFromAFallback_AreNotCountedAsInput() {
        var core = core()
        _ = core.reply(first: 0, context: testContext(), at: t0)
        let segments = testSegments(2)
        _ = core.data(0, segments[0], at: t0)
        _ = core.data(1, segments[1], relayed: true, at: t0)
        #expect(core.counters.bytesIn == segments[0].audio.count, "the fallback counts its own input")
        #expect(core.counters.segments == 2)
    }

    @Test("A gap is counted always, and said only when a player or branch listens (a mount nobody hears is no fault to read about)")
    func gap_IsCountedAlways_SaidOnlyWithAListener() {
        var core = core()
        _ = core.reply(first: 0, context: testContext(), at: t0)
        let segments = testSegments(6)
        _ = core.data(0, segments[0], at: t0)
        #expect(!describe(core.data(2, segments[2], at: t0)).contains("log"), "nobody listens")
        #expect(core.counters.gaps == 1)
        _ = core.request(from: 1, resume: nil, branch: nil, at: t0)
        #expect(describe(core.data(4, segments[4], at: t0)).contains("log"), "a player listens")
        #expect(core.counters.gaps == 2)
    }

    @Test("Gaps that come often (a flapping upstream) are told at once, then summed up every 10 s")
    func frequentGaps_AreToldOnce_ThenSummedUp() {
        var core = core()
        _ = core.reply(first: 0, context: testContext(), at: t0)
        _ = core.request(from: 1, resume: nil, branch: nil, at: t0)
        let segments = testSegments(20)
        func lines(_ actions: [Core.Action]) -> [String] {
            actions.compactMap { if case .log(let line) = $0 { line } else { nil } }
        }
        _ = core.data(0, segments[0], at: t0)
        #expect(lines(core.data(2, segments[2], at: t0)) == ["distributor: gap: received segment 2, expected 1"])
        #expect(lines(core.data(4, segments[4], at: t0 + .seconds(3))).isEmpty)
        #expect(lines(core.data(6, segments[6], at: t0 + .seconds(6))).isEmpty)
        #expect(lines(core.data(8, segments[8], at: t0 + .seconds(11)))
                == ["distributor: gap: received segment 8, expected 7; 3 gaps since the last line (summed up every 10 s)"])
        #expect(core.counters.gaps == 4)
    }

    @Test("A branch that names this node, or this node's own root, is refused at once with the reason, stream or not: two branches given each other as root would wait for ever")
    func branchNamingThisNodeOrItsRoot_IsRefusedAtOnce() {
        var core = core()
        core.setTreeAddress("10.0.0.1:8001", root: "10.0.0.9:8000")
        #expect(describe(core.request(from: 1, resume: nil, branch: "10.0.0.9:8000", at: t0)) == ["conflict 1"])
        #expect(describe(core.request(from: 2, resume: nil, branch: "10.0.0.1:8001", at: t0)) == ["conflict 2"])
        #expect(describe(core.request(from: 3, resume: nil, branch: "10.0.0.3:8001", at: t0)) == ["timer 2.0 seconds"], "another waits for the stream (a branch 2 s)")
    }

    @Test func mountFallingBackToThisOne_GetsNoBurst() {
        var core = core(burst: 2)
        _ = core.reply(first: 0, context: testContext(), at: t0)
        feed(&core, testSegments(5))
        #expect(describe(core.request(from: 7, resume: nil, branch: nil, relay: .mount, at: t0)) == ["reply 7 next 5"],
                "its players hear the next segment, not the last ones again")
    }

    @Test("A listener moved here by an admin plays on from the next segment: a burst would replay what it has heard")
    func movedListener_GetsNoBurst() {
        var core = core(burst: 2)
        _ = core.reply(first: 0, context: testContext(), at: t0)
        feed(&core, testSegments(5))
        #expect(describe(core.request(from: 7, resume: Message.liveEdge, branch: nil, at: t0)) == ["reply 7 next 5"])
    }

    @Test func newListener_GetsItsReplyAndABurstOfTheLastSegments() {
        var core = core(burst: 2)
        _ = core.reply(first: 0, context: testContext(), at: t0)
        feed(&core, testSegments(5))
        #expect(describe(core.request(from: 7, resume: nil, branch: nil, at: t0)) == ["reply 7 next 3", "send 7 #3", "send 7 #4"])
    }

    @Test func segment_IsOneFanOut_WhateverTheNumberOfListeners() {
        var core = core(burst: 0)
        _ = core.reply(first: 0, context: testContext(), at: t0)
        for listener in 0..<1000 { _ = core.request(from: listener, resume: nil, branch: nil, at: t0) }
        let segment = testSegments(1)[0]
        #expect(describe(core.data(0, segment, at: t0)) == ["fan out #0", "title Song 0"])
        #expect(core.listeners.count == 1000)
    }

    @Test func resumingBranch_GetsEverythingItMissed_FromTheRing() {
        var core = core(burst: 1, ring: 8)
        _ = core.reply(first: 0, context: testContext(), at: t0)
        feed(&core, testSegments(6))
        #expect(describe(core.request(from: 9, resume: 2, branch: nil, at: t0))
            == ["reply 9 next 2", "send 9 #2", "send 9 #3", "send 9 #4", "send 9 #5"])
        // A resume older than the ring is served like a new listener.
        feed(&core, testSegments(10, first: 6))
        #expect(describe(core.request(from: 10, resume: 1, branch: nil, at: t0)) == ["reply 10 next 15", "send 10 #15"])
    }

    @Test func gapsAndOldSegments_AreCounted_OldOnesNotPassedOn() {
        var core = core()
        _ = core.reply(first: 0, context: testContext(), at: t0)
        let segments = testSegments(6)
        feed(&core, Array(segments[0...1]))
        _ = core.request(from: 1, resume: nil, branch: nil, at: t0)  // a player, who could hear the gap
        #expect(describe(core.data(4, segments[4], at: t0)) == ["log", "fan out #4"])
        #expect(core.counters.gaps == 1 && core.counters.missing == 2)
        #expect(describe(core.data(3, segments[3], at: t0)) == ["log"])
        #expect(describe(core.data(2, segments[2], at: t0 + .seconds(1))) == [], "told once, then summed up")
    }

    /// A tree node's core playing stream 1 (its context returned, to change), with player 1 and branch 2.
    func nodeWithAPlayerAndABranch() -> (Core, Context) {
        var core = core(tree: "10.0.0.1:8000")
        var context = testContext()
        context.stream = 1
        _ = core.reply(first: 0, context: context, at: t0)
        _ = core.request(from: 1, resume: nil, branch: nil, at: t0)
        _ = core.request(from: 2, resume: nil, branch: "10.0.0.2:8001", at: t0)
        return (core, context)
    }

    @Test("Listeners let go (a mount off the list, its source not back, another codec): a branch link is told why before it closes, to ask again at once, not blame its link")
    func droppingListeners_TellsBranchLinksWhy() {
        var (core, _) = nodeWithAPlayerAndABranch()
        #expect(Set(describe(core.dropListeners(because: "let go: /live is off the whitelist"))) == ["stop 1", "relink 2"])
    }

    @Test("A new stream restarts the numbering, said with the last segment of the stream before (or that it sent none); players stay, branch links are told and closed, to ask again")
    func newStream_RestartsNumbering_KeepsPlayers_ClosesBranchLinks() {
        var (core, context) = nodeWithAPlayerAndABranch()
        let said: ([Core.Action]) -> [String] = { actions in actions.compactMap { if case .log(let text) = $0 { text } else { nil } } }
        feed(&core, testSegments(5))
        context.stream = 2
        let replied = core.reply(first: 0, context: context, at: t0)
        #expect(describe(replied) == ["log", "relink 2"])
        #expect(said(replied).first?.contains("its segments are numbered from 0 (the last one was at 4);") == true, "\(said(replied))")
        #expect(core.counters.gaps == 1)
        #expect(core.next == 0)
        // Another stream, before this one sent any segment.
        context.stream = 3
        let again = said(core.reply(first: 0, context: context, at: t0))
        #expect(again.first?.contains("its segments are numbered from 0 (the stream before sent none);") == true, "\(again)")
        #expect(describe(core.data(0, testSegments(1)[0], at: t0)) == ["fan out #0"])
    }

    @Test("A new stream whose first segments a branch left out (audio its players heard before) begins at the first one delivered: the break is one gap, nothing missing, no gap line")
    func newStreamWhoseFirstSegmentsWereLeftOut_IsOneGap() {
        var (core, context) = nodeWithAPlayerAndABranch()
        feed(&core, testSegments(5))
        context.stream = 2
        _ = core.reply(first: 0, context: context, at: t0)
        let first = core.data(3, testSegments(1, first: 3)[0], at: t0)
        #expect(describe(first).first == "fan out #3" && !describe(first).contains("log"), "\(describe(first))")
        #expect(core.counters.gaps == 1 && core.counters.missing == 0, "\(core.counters.gaps) gaps, \(core.counters.missing) missing")
        #expect(core.streamFirst == 3 && core.next == 4)
        // Past its first segment, a jump is a gap again.
        _ = core.data(6, testSegments(1, first: 6)[0], at: t0)
        #expect(core.counters.gaps == 2 && core.counters.missing == 2)
    }

    @Test("A new stream's gap is said where someone hears it: not on a node nobody listens to")
    func newStream_OnANodeNobodyListensTo_SaysNoGap() {
        var core = core()
        var context = testContext()
        context.stream = 1
        _ = core.reply(first: 0, context: context, at: t0)
        feed(&core, testSegments(3))
        context.stream = 2
        let said = core.reply(first: 0, context: context, at: t0).compactMap { if case .log(let text) = $0 { text } else { nil } }
        #expect(said.count == 1 && said[0].hasSuffix("its segments are numbered from 0 (the last one was at 2)"), "\(said)")
        #expect(core.counters.gaps == 1, "counted all the same")
        // With a player, it is.
        _ = core.request(from: 1, resume: nil, branch: nil, at: t0)
        context.stream = 3
        let heard = core.reply(first: 0, context: context, at: t0).compactMap { if case .log(let text) = $0 { text } else { nil } }
        #expect(heard.first?.hasSuffix("; listeners play on, one gap counted") == true, "\(heard)")
    }

    @Test("A station server's mount, whose source changes have lines of their own, says a new stream only where it closes branch links, never with the numbers of a stream it had from elsewhere")
    func newStreamOnAStationMount_SaidOnlyWhereBranchLinksClose() {
        var configuration = Distributor.Configuration()
        configuration.mount = "/live"
        configuration.treeAddress = "10.0.0.1:8000"
        var core = Core(configuration: configuration)
        _ = core.sourceAttached()
        let said: ([Core.Action]) -> [String] = { actions in actions.compactMap { if case .log(let text) = $0 { text } else { nil } } }
        var context = testContext()
        // Its fallback's stream (numbered from 466), then its first source's, with a player listening throughout.
        context.stream = 1
        _ = core.reply(first: 466, context: context, at: t0)
        _ = core.request(from: 1, resume: nil, branch: nil, at: t0)
        feed(&core, testSegments(3, first: 466))
        context.stream = 2
        let source = core.reply(first: 0, context: context, at: t0)
        #expect(said(source).isEmpty, "the source's own line says it: \(said(source))")
        #expect(core.counters.gaps == 1 && core.next == 0, "counted all the same")
        // With a branch link, closed to re-read the stream: that is said, with no numbers.
        feed(&core, testSegments(3))
        _ = core.request(from: 2, resume: nil, branch: "10.0.0.2:8001", at: t0)
        context.stream = 3
        let branched = core.reply(first: 40, context: context, at: t0)
        #expect(describe(branched) == ["log", "relink 2"])
        #expect(said(branched) == ["distributor: new stream \(Context.streamText(3)) (its source changed): 1 branch link closed to re-read it"],
                "\(said(branched))")
    }

    @Test("A new stream in another codec lets its players and branches go, to come back to the new type; its own listeners (HLS, a mount relaying it) follow it on")
    func newStreamInAnotherCodec_LetsPlayersAndBranchesGo_NotItsOwnListeners() {
        var (core, context) = nodeWithAPlayerAndABranch()
        _ = core.request(from: 3, resume: nil, branch: nil, relay: .packager, at: t0)
        _ = core.request(from: 4, resume: nil, branch: nil, relay: .mount, at: t0)
        feed(&core, testSegments(3))
        // The same codec under another name: nobody is let go but the branch link, closed to re-read the stream;
        // the relaying mount is told the new stream.
        context.stream = 2
        context.station["Content-Type"] = "audio/mp3"
        #expect(describe(core.reply(first: 0, context: context, at: t0)) == ["log", "relink 2", "reply 4 next 0"])
        core.leave(2)
        _ = core.request(from: 5, resume: nil, branch: "10.0.0.2:8001", at: t0)
        // AAC: the player and the branch go; the packager and the relaying mount stay.
        context.stream = 3
        context.station["Content-Type"] = "audio/aac"
        let replied = core.reply(first: 0, context: context, at: t0)
        let actions = describe(replied)
        #expect(actions.sorted() == ["log", "log", "relink 5", "reply 4 next 0", "stop 1"], "the new stream, and who was let go: \(actions)")
        // The player and the branch are counted apart, as the status line counts them.
        let said = replied.compactMap { if case .log(let line) = $0 { line } else { nil } }
        #expect(said.contains("distributor: the stream goes on in audio/aac, its 1 listener and 1 branch were told audio/mp3:"
            + " disconnected, to come back to audio/aac"), "\(said)")
        #expect(Set(core.listeners) == [3, 4] && core.playerCount == 0)
        // After the source ended, the type its players were told is remembered for the next one.
        _ = core.request(from: 6, resume: nil, branch: nil, at: t0)
        core.sourceGone()
        _ = core.sourceAttached()
        context.stream = 4
        context.station["Content-Type"] = "audio/mpeg"
        #expect(describe(core.reply(first: 0, context: context, at: t0)).contains("stop 6"))
    }

    @Test("A stream that went is remembered in one place: what its players were told and its last numbers, until they are let go or another stream replies")
    func streamAway_ToldTypeAndLastNumbers_UntilLetGoOrReplaced() {
        var core = core(burst: 0)
        _ = core.reply(first: 0, context: testContext(segmentBytes: 1000), at: t0)
        _ = core.request(from: 1, resume: nil, branch: nil, at: t0)
        feed(&core, testSegments(6))
        core.sourceGone()
        #expect(core.streamAway && core.toldContentType == "audio/mpeg")
        #expect(core.lastKnown == (1000, 6))
        // Its players let go (no source came back in time): those that come now were told nothing.
        _ = core.dropListeners()
        #expect(core.streamAway && core.toldContentType == nil && core.lastKnown == (1000, 6))
        // Another stream replies: only its own facts are told.
        var aac = testContext(segmentBytes: 500)
        aac.stream = 9
        aac.station["Content-Type"] = "audio/aac"
        _ = core.sourceAttached()
        _ = core.reply(first: 0, context: aac, at: t0)
        #expect(!core.streamAway && core.toldContentType == "audio/aac" && core.lastKnown == (500, 0))
    }

    @Test func sourceReturningAfterItEnded_IsANewStream_TheOldRingIsNotServed() {
        var core = core(burst: 2)
        _ = core.reply(first: 0, context: testContext(), at: t0)
        _ = core.request(from: 1, resume: nil, branch: nil, at: t0)
        feed(&core, testSegments(6))
        core.sourceGone()
        _ = core.sourceAttached()
        #expect(describe(core.reply(first: 0, context: testContext(), at: t0)) == ["log"])
        #expect(core.counters.gaps == 1)
        feed(&core, testSegments(1))
        #expect(describe(core.request(from: 2, resume: nil, branch: nil, at: t0)) == ["reply 2 next 0", "send 2 #0"])
    }

    @Test func sameStreamBackAfterAnOutage_AtALaterNumber_IsOneGap() {
        var core = core(burst: 0)
        var context = testContext()
        context.stream = 7  // a proxy's stream, the same after it reconnects
        _ = core.reply(first: 0, context: context, at: t0)
        _ = core.request(from: 1, resume: nil, branch: nil, at: t0)
        feed(&core, testSegments(6))
        core.sourceGone()  // the upstream lost: newcomers wait
        // Back 14 segments later (the numbering jumps by the time the outage lasted).
        #expect(describe(core.reply(first: 20, context: context, at: t0)) == ["log"])
        #expect(core.counters.gaps == 1 && core.counters.missing == 14)
        core.sourceGone()
        _ = core.reply(first: 20, context: context, at: t0)
        #expect(core.counters.gaps == 1, "back where it left off: no gap")
    }

    @Test func treeNode_ServesItsFanout_ThenRedirectsBranches_NeverPlayers() {
        var core = core(tree: "10.0.0.1:8000")
        _ = core.reply(first: 0, context: testContext(), at: t0)
        #expect(describe(core.request(from: 1, resume: nil, branch: "10.0.0.2:8001", at: t0)).first == "reply 1 next 0")
        #expect(describe(core.request(from: 2, resume: nil, branch: "10.0.0.3:8001", at: t0)).first == "reply 2 next 0")
        #expect(describe(core.request(from: 3, resume: nil, branch: "10.0.0.4:8001", at: t0)).last?.hasPrefix("redirect 3 to http://10.0.0.") == true)
        #expect(describe(core.request(from: 4, resume: nil, branch: nil, at: t0)) == ["reply 4 next 0"])
        #expect(core.branchCount == 2)
        core.leave(1)
        #expect(core.branchCount == 1)
        #expect(describe(core.request(from: 5, resume: nil, branch: "10.0.0.4:8001", at: t0)).first == "reply 5 next 0")
    }

    @Test("A branch whose parent is lost while every branch of this node is suspected is served here past the fanout, and one line says so")
    func treeNode_EveryBranchSuspected_ServesTheOrphanItself() {
        var core = core(tree: "10.0.0.1:8000")
        _ = core.reply(first: 0, context: testContext(), at: t0)
        _ = core.request(from: 1, resume: nil, branch: "10.0.0.2:8001", at: t0)
        _ = core.request(from: 2, resume: nil, branch: "10.0.0.3:8001", at: t0)
        let hung = t0 + .seconds(30)
        let said = { (actions: [Core.Action]) in actions.compactMap { if case .log(let text) = $0 { text } else { nil } } }
        let lost = core.suspect("10.0.0.2:8001", reportedBy: "10.0.0.4:8001", at: hung)
        #expect(said(lost) == ["tree: branch 10.0.0.4:8001 lost its parent 10.0.0.2:8001; no branch is sent there for 10 s"])
        _ = core.suspect("10.0.0.3:8001", reportedBy: "10.0.0.5:8001", at: hung)
        let orphan = core.request(from: 3, resume: nil, branch: "10.0.0.4:8001", at: hung)
        #expect(describe(orphan) == ["log", "reply 3 next 0"], "\(said(orphan))")
        #expect(said(orphan) == ["tree: branch 10.0.0.4:8001 served here past the fanout of 2: every branch below (10.0.0.2:8001,"
            + " 10.0.0.3:8001) was reported lost; the next go below again once one is trusted"])
        #expect(describe(core.request(from: 4, resume: nil, branch: "10.0.0.5:8001", at: hung)) == ["log", "redirect 4 to http://10.0.0.4:8001/"])
        #expect(core.branchCount == 3)
        core.leave(3)
        #expect(core.branchCount == 2)
    }

    @Test func stop_StopsEveryone_AndRefusesLaterRequests() {
        var core = core()
        _ = core.request(from: 1, resume: nil, branch: nil, at: t0)
        _ = core.reply(first: 0, context: testContext(), at: t0)
        _ = core.request(from: 2, resume: nil, branch: nil, at: t0)
        #expect(Set(describe(core.stop())) == ["stop 1", "stop 2"])
        #expect(describe(core.request(from: 3, resume: nil, branch: nil, at: t0)) == ["stop 3"])
    }

    @Test func stopNotFound_TellsTheWaitingListenersThereIsNoSuchStream() {
        var core = core()
        _ = core.request(from: 1, resume: nil, branch: nil, at: t0)
        _ = core.request(from: 2, resume: nil, branch: "10.0.0.2:8001", at: t0)
        #expect(Set(describe(core.stopNotFound())) == ["not found 1", "not found 2"])
        #expect(describe(core.request(from: 3, resume: nil, branch: nil, at: t0)) == ["stop 3"])
    }

    @Test func relayingMount_IsNeitherAPlayerNorABranch() {
        var core = core(tree: "10.0.0.1:8000")
        _ = core.reply(first: 0, context: testContext(), at: t0)
        _ = core.request(from: 1, resume: nil, branch: nil, at: t0)
        _ = core.request(from: 2, resume: nil, branch: nil, relay: .mount, at: t0)
        _ = core.request(from: 3, resume: nil, branch: "10.0.0.2:8001", at: t0)
        #expect(core.listeners.count == 3)
        #expect(core.playerCount == 1 && core.branchCount == 1)
        #expect(core.counters.peakListeners == 1)
        core.leave(2)
        #expect(core.playerCount == 1)
    }

    @Test("A mount relaying this one (its fallback) is told a new stream as a reply: its numbers start again")
    func newStream_IsToldToRelayingMounts_AsAReply() {
        var core = core()
        _ = core.reply(first: 0, context: testContext(), at: t0)
        feed(&core, testSegments(40))
        _ = core.request(from: 1, resume: nil, branch: nil, at: t0)
        _ = core.request(from: 2, resume: nil, branch: nil, relay: .mount, at: t0)
        _ = core.request(from: 3, resume: nil, branch: nil, relay: .packager, at: t0)
        var next = testContext()
        next.stream = 0xBEEF
        let actions = describe(core.reply(first: 0, context: next, at: t0))
        #expect(actions.contains("reply 2 next 0"))
        #expect(!actions.contains("reply 1 next 0") && !actions.contains("reply 3 next 0"), "\(actions)")
        // The same stream again (a proxy that reconnected) is no news.
        #expect(!describe(core.reply(first: 0, context: next, at: t0)).contains("reply 2 next 0"))
    }

    @Test("A new stream that tells no title ends the old title: pages following the titles are told it is gone")
    func newStreamWithoutATitle_IsATitleChange() {
        var core = core()
        _ = core.reply(first: 0, context: testContext(), at: t0)
        feed(&core, testSegments(4, titleAt: [0]))
        #expect(core.titles.last?.title == "Song 0")
        var next = testContext()
        next.stream = 0xBEEF
        _ = core.reply(first: 0, context: next, at: t0)
        let actions = describe(core.data(0, testSegments(1, titleAt: [])[0], at: t0))
        #expect(actions.contains("title "), "\(actions)")
        #expect(core.titles.last?.title == "")
        // Nothing more is told while the stream goes on untitled.
        #expect(!describe(core.data(1, testSegments(2, titleAt: [])[1], at: t0)).contains("title "))
    }

    @Test func leavingListener_GetsNothingMore() {
        var core = core()
        _ = core.reply(first: 0, context: testContext(), at: t0)
        for listener in 1...3 { _ = core.request(from: listener, resume: nil, branch: nil, at: t0) }
        core.leave(2)
        #expect(Set(core.listeners) == [1, 3])
        core.leave(2)
        #expect(core.listeners.count == 2)
    }
}
