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

/// Chapter 4: fanning one stream out to many listeners, some of them slow.
struct FanOutChecks {
    @Test func sendBuffer_takesASegmentWhole_orNotAtAll() {
        var buffer = SendBuffer(capacity: 1500)
        let first = buffer.offer(1000)
        #expect(first)
        #expect(buffer.queued == 1000)
        let second = buffer.offer(1000)
        #expect(!second, "500 bytes free: a 1000-byte segment does not fit")
        #expect(buffer.queued == 1000, "a refused segment leaves nothing behind")
        let third = buffer.offer(500)
        #expect(third)
        #expect(buffer.queued == 1500)
    }

    @Test func sendBuffer_whenEmpty_takesEvenASegmentLargerThanItself() {
        var buffer = SendBuffer(capacity: 100)
        let big = buffer.offer(1000)
        let more = buffer.offer(1)
        #expect(big)
        #expect(!more)
    }

    @Test func deliver_sendsEachSegmentToEveryListener_thatKeepsUp() {
        var core = distributor(["a", "b", "c"])
        var sent: [Envelope] = []
        for number in 0..<5 {
            sent += core.deliver(number, segment(number))
            for listener in ["a", "b", "c"] { core.drain(listener, 1000) }
        }
        for listener in ["a", "b", "c"] { #expect(numbers(sent, to: listener) == [0, 1, 2, 3, 4]) }
        #expect(core.next == 5)
        #expect(core.listeners.allSatisfy { $0.skipped == 0 })
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
        #expect(numbers(sent, to: "fast") == Array(0..<10))
        let slow = numbers(sent, to: "slow")
        #expect(slow == [0, 2, 4, 7, 9], "the slow listener gets whole segments when its buffer has room")
        let data = sent.filter { $0.to == "slow" }.allSatisfy {
            if case .data(_, let s) = $0.message { s.audio.count == context.segmentBytes } else { false }
        }
        #expect(data, "never part of a segment")
        #expect(core.listeners.first { $0.address == "slow" }?.skipped == 5)
        #expect(core.listeners.first { $0.address == "fast" }?.skipped == 0)
    }

    @Test func deliver_dropsAListenerThatKeepsSkipping() {
        var core = distributor(["fast", "stuck"], maxConsecutiveSkips: 3)
        for number in 0..<6 {
            _ = core.deliver(number, segment(number))
            core.drain("fast", 1000)
        }
        // "stuck" took segment 0, then skipped 1, 2, 3 (allowed) and 4 (one too many).
        #expect(core.dropped == ["stuck"])
        #expect(core.listeners.map(\.address) == ["fast"])
    }

    @Test func deliver_keepsTheLastSegments_forTheBurstOfANewListener() {
        var core = distributor(["a"])
        for number in 0..<5 { _ = core.deliver(number, segment(number)) }
        let greeting = core.request(from: "late")
        #expect(greeting.first?.message == .reply(next: 3, context: context))
        #expect(numbers(greeting, to: "late") == [3, 4])
    }

    @Test func dummy_countsSegmentsGapsAndWhatWentMissing() {
        var counts = DummyCounts()
        counts.receive(.reply(next: 10, context: context))
        for number in [10, 11, 14, 15, 17] { counts.receive(.data(number, segment(number))) }
        #expect(counts.received == 5)
        #expect(counts.gaps == 2)
        #expect(counts.missing == 3)
        #expect(counts.expected == 18)
    }

    @Test func fanOut_aThousandDummies_eachGetEverySegment() async {
        let report = await measureFanOut(dummies: 1000, segments: 3, segmentBytes: 1024)
        #expect(report.received == 3000)
        #expect(report.gaps == 0)
    }
}
