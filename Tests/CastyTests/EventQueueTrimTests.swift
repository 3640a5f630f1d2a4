import Testing

@testable import Casty

/// An event queue too full for the application's outage: what it drops keeps the application's view of what is
/// live right.
struct EventQueueTrimTests {
    func event(_ id: String, _ kind: StreamEvent.Kind, _ type: String? = nil) -> StreamEvent {
        StreamEvent(channel: "live", streamID: id, kind: kind, streamType: type ?? (kind == .available ? "ICY-LIVE" : nil))
    }

    @Test("Past its limit the queue drops streams that opened and closed while they waited, before any closing whose opening was delivered")
    func trim_DropsPairsFirst_NeverAClosingOfAStreamStillOpenForTheApplication() {
        // "a" became available before the application went down (delivered); then b and c came and went, d came.
        var pending = [
            event("a", .closed), event("b", .available), event("b", .available, "HLS-LIVE"), event("c", .available),
            event("b", .closed), event("c", .closed), event("d", .available),
        ]
        let (dropped, paired) = EventQueue<StreamEvent>.trim(&pending, to: 3)
        #expect(dropped == 5 && paired == 5, "b's two openings and its closing, c's opening and closing")
        #expect(pending == [event("a", .closed), event("d", .available)], "a's closing stays: the application thinks a is live")
    }

    @Test func trim_WithoutPairs_DropsTheOldest_ButNotTheOneBeingSent() {
        var pending = (0..<6).map { event("s\($0)", .available) }
        let (dropped, paired) = EventQueue<StreamEvent>.trim(&pending, to: 4)
        #expect(dropped == 2 && paired == 0)
        #expect(pending.map(\.streamID) == ["s0", "s3", "s4", "s5"], "the first may be in flight: it stays")
        var recording = [event("r", .available, "HLS-VOD"), event("x", .available), event("r", .closed, "HLS-VOD"), event("y", .available)]
        _ = EventQueue<StreamEvent>.trim(&recording, to: 3)
        #expect(recording.map(\.streamID) == ["r", "r", "y"],
                "a recording's opening is the first, in flight: it is no pair to drop; the oldest after it goes")
    }

    @Test("A queue that sends several at once keeps every one being sent, pairs among them included")
    func trim_KeepsEveryPostBeingSent() {
        var pending = [event("a", .available), event("a", .closed), event("s0", .available), event("s1", .available), event("s2", .available)]
        let (dropped, paired) = EventQueue<StreamEvent>.trim(&pending, to: 3, keeping: [0, 1, 2])
        #expect(dropped == 2 && paired == 0, "a's pair is in flight: not dropped")
        #expect(pending.map(\.streamID) == ["a", "a", "s0"], "the three in flight stay; the oldest after them go")
    }
}
