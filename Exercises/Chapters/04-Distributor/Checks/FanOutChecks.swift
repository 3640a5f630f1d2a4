import FanOut
import Kit
import Testing

let context = Context(name: "Casty FM", segmentBytes: 1000, bitrate: 128)

/// A segment of `context.segmentBytes` bytes.
func segment(_ number: Int) -> Segment {
    Segment(audio: [UInt8](repeating: UInt8(truncatingIfNeeded: number), count: context.segmentBytes))
}

/// A distributor with a source that has replied, and the given listeners joined.
func distributor(_ listeners: [Address], sendBuffer: Int = 1500, maxConsecutiveSkips: Int = 20) -> DistributorCore {
    var core = DistributorCore(address: "d", sendBuffer: sendBuffer, maxConsecutiveSkips: maxConsecutiveSkips)
    core.sourceReplied(next: 0, context: context)
    for listener in listeners { _ = core.request(from: listener) }
    return core
}

/// The segment numbers sent to `address`.
func numbers(_ envelopes: [Envelope], to address: Address) -> [Int] {
    envelopes.filter { $0.to == address }.compactMap { if case .data(let n, _) = $0.message { n } else { nil } }
}

/// An expectation's message: the hole it checks, where that is, and what it expects of it — so that a hole still
/// returning its placeholder (`false`, no envelopes, nothing counted) is named when it fails.
func hole(_ function: String, _ what: String) -> Comment {
    "\(function) (Chapter 4, Starter/Holes.swift): \(what)"
}

/// Chapter 4: fanning one stream out to many listeners, some of them slow.
struct FanOutChecks {
    @Test func sendBuffer_takesASegmentWhole_orNotAtAll() {
        var buffer = SendBuffer(capacity: 1500)
        let first = buffer.offer(1000)
        #expect(first, hole("SendBuffer.offer(_:)", "an empty buffer of 1500 bytes takes a 1000-byte segment"))
        #expect(buffer.queued == 1000, hole("SendBuffer.offer(_:)", "a segment taken is queued"))
        let second = buffer.offer(1000)
        #expect(!second, hole("SendBuffer.offer(_:)", "500 bytes free: a 1000-byte segment does not fit"))
        #expect(buffer.queued == 1000, hole("SendBuffer.offer(_:)", "a refused segment leaves nothing behind"))
        let third = buffer.offer(500)
        #expect(third, hole("SendBuffer.offer(_:)", "500 bytes free: a 500-byte segment fits"))
        #expect(buffer.queued == 1500, hole("SendBuffer.offer(_:)", "a segment taken is queued"))
    }

    @Test func sendBuffer_whenEmpty_takesEvenASegmentLargerThanItself() {
        var buffer = SendBuffer(capacity: 100)
        let big = buffer.offer(1000)
        let more = buffer.offer(1)
        #expect(big, hole("SendBuffer.offer(_:)", "an empty buffer of 100 bytes takes any one segment, even of 1000 bytes"))
        #expect(!more, hole("SendBuffer.offer(_:)", "a buffer that holds more than its capacity takes nothing more"))
    }

    @Test func deliver_sendsEachSegmentToEveryListener_thatKeepsUp() {
        var core = distributor(["a", "b", "c"])
        var sent: [Envelope] = []
        for number in 0..<5 {
            sent += core.deliver(number, segment(number))
            for listener in ["a", "b", "c"] { core.drain(listener, 1000) }
        }
        for listener in ["a", "b", "c"] {
            #expect(numbers(sent, to: listener) == [0, 1, 2, 3, 4], hole("DistributorCore.deliver(_:_:)", "every segment to \(listener), which keeps up"))
        }
        let order = sent.map(\.to)
        #expect(order == (0..<5).flatMap { _ in ["a", "b", "c"] },
                hole("DistributorCore.deliver(_:_:)", "each segment's envelopes in the order the listeners joined, a then b then c: walk listeners front to back, as deliver's doc says (a newcomer is appended at its end, and the listeners a drop leaves keep their order)"))
        #expect(core.next == 5, hole("DistributorCore.deliver(_:_:)", "next is the number after the last segment delivered"))
        #expect(core.listeners.allSatisfy { $0.skipped == 0 }, hole("DistributorCore.deliver(_:_:)", "no skip for listeners that keep up"))
    }

    @Test func deliver_aSlowListenerSkipsWholeSegments_andNobodyElseNotices() {
        // "fast" reads everything; "slow" reads 400 bytes per segment time: it can take only some segments.
        var core = distributor(["fast", "slow"])
        var sent: [Envelope] = []
        for number in 0..<10 {
            sent += core.deliver(number, segment(number))
            core.drain("fast", 1000)
            core.drain("slow", 400)
        }
        #expect(numbers(sent, to: "fast") == Array(0..<10), hole("DistributorCore.deliver(_:_:)", "every segment to the fast listener"))
        let slow = numbers(sent, to: "slow")
        #expect(slow == [0, 2, 4, 7, 9], hole("DistributorCore.deliver(_:_:)", "the slow listener gets whole segments when its buffer has room (SendBuffer.offer(_:))"))
        let data = sent.filter { $0.to == "slow" }.allSatisfy {
            if case .data(_, let s) = $0.message { s.audio.count == context.segmentBytes } else { false }
        }
        #expect(data, hole("DistributorCore.deliver(_:_:)", "never part of a segment"))
        #expect(core.listeners.first { $0.address == "slow" }?.skipped == 5, hole("DistributorCore.deliver(_:_:)", "the slow listener's skips counted: 5"))
        #expect(core.listeners.first { $0.address == "fast" }?.skipped == 0, hole("DistributorCore.deliver(_:_:)", "the fast listener skips nothing"))
    }

    @Test func deliver_dropsAListenerThatKeepsSkipping() {
        var core = distributor(["fast", "stuck"], maxConsecutiveSkips: 3)
        var droppedAfter: [[Address]] = []
        for number in 0..<6 {
            _ = core.deliver(number, segment(number))
            core.drain("fast", 1000)
            droppedAfter.append(core.dropped)
        }
        // "stuck" took segment 0, then skipped 1, 2, 3 (allowed) and 4 (one too many).
        #expect(Array(droppedAfter[..<4]) == [[], [], [], []],
                hole("DistributorCore.deliver(_:_:)", "still a listener after skipping segments 1, 2 and 3: maxConsecutiveSkips (3) in a row are allowed"))
        #expect(droppedAfter[4] == ["stuck"],
                hole("DistributorCore.deliver(_:_:)", "dropped on segment 4, its 4th skip in a row: one more than maxConsecutiveSkips"))
        #expect(core.dropped == ["stuck"], hole("DistributorCore.deliver(_:_:)", "a listener dropped after more than maxConsecutiveSkips skips in a row, once"))
        #expect(core.listeners.map(\.address) == ["fast"], hole("DistributorCore.deliver(_:_:)", "a dropped listener is no longer a listener"))
    }

    @Test func deliver_takingASegmentEndsTheSkipsInARow_soAListenerThatSkipsNowAndThenStays() {
        // "halting" reads a segment's worth every other segment time: it takes one segment, skips the next, takes
        // the one after... 5 skips in all, never 2 in a row, with maxConsecutiveSkips 2: it is never dropped.
        var core = distributor(["fast", "halting"], maxConsecutiveSkips: 2)
        var sent: [Envelope] = []
        for number in 0..<10 {
            sent += core.deliver(number, segment(number))
            core.drain("fast", 1000)
            if number % 2 == 1 { core.drain("halting", 1000) }
        }
        #expect(numbers(sent, to: "halting") == [0, 2, 4, 6, 8],
                hole("DistributorCore.deliver(_:_:)", "a listener that takes every other segment gets 0, 2, 4, 6, 8"))
        #expect(core.dropped.isEmpty,
                hole("DistributorCore.deliver(_:_:)", "5 skips, never 2 in a row, and maxConsecutiveSkips 2: not dropped (taking a segment sets consecutiveSkips back to 0)"))
        let halting = core.listeners.first { $0.address == "halting" }
        #expect(halting?.skipped == 5, hole("DistributorCore.deliver(_:_:)", "a listener that takes every other segment of 10 is still a listener, with 5 skips counted"))
        #expect(halting?.consecutiveSkips == 1, hole("DistributorCore.deliver(_:_:)", "took segment 8, skipped 9: consecutiveSkips is 1"))
    }

    @Test func deliver_keepsTheLastSegments_forTheBurstOfANewListener() {
        var core = distributor(["a"])
        for number in 0..<5 { _ = core.deliver(number, segment(number)) }
        let greeting = core.request(from: "late")
        #expect(greeting.first?.message == .reply(next: 3, context: context),
                hole("DistributorCore.deliver(_:_:)", "each segment remembered (remember(_:_:)) and next advanced: a newcomer starts at the burst's first"))
        #expect(numbers(greeting, to: "late") == [3, 4], hole("DistributorCore.deliver(_:_:)", "the last two segments remembered for a newcomer's burst"))
    }

    @Test func dummy_countsSegmentsGapsAndWhatWentMissing() {
        var counts = DummyCounts()
        counts.receive(.reply(next: 10, context: context))
        for number in [10, 11, 14, 15, 17] { counts.receive(.data(number, segment(number))) }
        #expect(counts.received == 5, hole("DummyCounts.receive(_:)", "5 segments received"))
        #expect(counts.gaps == 2, hole("DummyCounts.receive(_:)", "2 gaps: 11 → 14, 15 → 17"))
        #expect(counts.missing == 3, hole("DummyCounts.receive(_:)", "3 segments missing: 12, 13 and 16"))
        #expect(counts.expected == 18, hole("DummyCounts.receive(_:)", "18 expected after 17"))
    }

    @Test func dummy_countsAGap_whenTheFirstSegmentIsNotTheOneTheReplyPromised() {
        var counts = DummyCounts()
        counts.receive(.reply(next: 10, context: context))
        for number in [12, 13] { counts.receive(.data(number, segment(number))) }
        #expect(counts.gaps == 1, hole("DummyCounts.receive(_:)", "the reply said 10 comes next: a first segment numbered 12 is a gap"))
        #expect(counts.missing == 2, hole("DummyCounts.receive(_:)", "10 and 11 missing: the reply sets what is expected"))
        #expect(counts.expected == 14, hole("DummyCounts.receive(_:)", "14 expected after 13"))
    }

    @Test func dummy_aNumberThatGoesBackwards_isAGap_withNothingMissing() {
        // A segment number lower than the one expected (a source that started over, a repeat after a
        // re-attach) is a gap, but no segment went missing: `missing` never goes down.
        var counts = DummyCounts()
        counts.receive(.reply(next: 10, context: context))
        for number in [10, 11, 12, 11, 12, 13] { counts.receive(.data(number, segment(number))) }
        #expect(counts.received == 6, hole("DummyCounts.receive(_:)", "6 segments received"))
        #expect(counts.gaps == 1, hole("DummyCounts.receive(_:)", "1 gap: 12 → 11, a number that goes backwards"))
        #expect(counts.missing == 0, hole("DummyCounts.receive(_:)", "nothing missing when the number goes backwards (12 → 11 is no −2 segments missing)"))
        #expect(counts.expected == 14, hole("DummyCounts.receive(_:)", "14 expected after 13"))
    }

    @Test func fanOut_aThousandDummies_eachGetEverySegment() async {
        let report = await measureFanOut(dummies: 1000, segments: 3, segmentBytes: 1024)
        #expect(report.received == 3000, hole("DistributorCore.deliver(_:_:) and DummyCounts.receive(_:)", "3 segments to each of 1000 dummies, each counted"))
        #expect(report.gaps == 0, hole("DistributorCore.deliver(_:_:) and DummyCounts.receive(_:)", "no gap for dummies that keep up"))
    }
}
