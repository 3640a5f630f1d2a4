import Glibc
import Icy
import Testing

@testable import Casty
@testable import CastyNet
@testable import CastyWire

/// Events are delivered in order per channel (their lane), and one channel whose events the application refuses
/// holds back the later events of that channel only: the other channels' are delivered meanwhile, and at the stop.
struct EventLaneTests {
    let loop = EventLoop.shared

    /// An application that answers each event with `status(channel)` (`200`, `400`…), and the events it got, as
    /// `channel event-type`.
    func application(_ status: @escaping @Sendable (String) -> Int) throws -> FakeUpstream {
        try FakeUpstream(on: loop) { connection, request in
            let code = status(request.headers["x-streaming-channel"] ?? "")
            connection.write(Array("HTTP/1.1 \(code) \(code == 200 ? "OK" : "Nope")\r\nContent-Length: 0\r\n\r\n".utf8))
            connection.close()
        }
    }

    /// The events `app` got, `channel event-type` each, in the order they came; of `channel` only, if given.
    func received(_ app: FakeUpstream, of channel: String? = nil) -> [String] {
        app.requests.value
            .filter { channel == nil || $0.headers["x-streaming-channel"] == channel }
            .map { ($0.headers["x-streaming-channel"] ?? "") + " " + ($0.headers["x-event-type"] ?? "") }
    }

    func available(_ channel: String, _ id: String) -> StreamEvent {
        StreamEvent(channel: channel, streamID: id, kind: .available, streamType: "ICY-LIVE", indexFile: "/\(channel)")
    }

    func closed(_ channel: String, _ id: String) -> StreamEvent {
        StreamEvent(channel: channel, streamID: id, kind: .closed)
    }

    @Test("Events of a channel the application keeps refusing hold back none of other channels, which are delivered in order, and the log says so")
    func aRefusedChannel_HoldsBackNoOtherChannel() async throws {
        let app = try application { $0 == "poison" ? 400 : 200 }
        let log = StationServerTests.Log()
        // Its second attempt 2 s after its first: the others are delivered meanwhile.
        let queue = EventQueue<StreamEvent>(url: app.url, auth: nil, firstRetry: .seconds(2), loop: loop, logger: log.logger)
        await queue.start()
        queue.post(available("poison", "p1"))
        #expect(await eventually(timeout: .seconds(15)) { log.contains("poison (p1, ICY-LIVE): application answered 400; attempt 1, trying again") },
                "\(log.lines.value)")
        queue.post(closed("poison", "p1"))
        queue.post(available("healthy", "h1"))
        queue.post(closed("healthy", "h1"))
        queue.post(available("other", "o1"))
        #expect(await eventually(timeout: .seconds(15)) { await queue.undelivered().map(\.channel) == ["poison", "poison"] },
                "\(received(app)) \(log.lines.value)")
        #expect(received(app, of: "healthy") == ["healthy stream-available", "healthy stream-closed"], "in order: \(received(app))")
        #expect(received(app, of: "other") == ["other stream-available"])
        #expect(!received(app).contains("poison stream-closed"), "held back behind its channel's refused event")
        // The poison's next failure says that others went on.
        #expect(await eventually(timeout: .seconds(15)) { log.contains("delivered meanwhile, not held back by it") }, "\(log.lines.value)")
        #expect(log.lines.value.contains { $0.contains("poison (p1, ICY-LIVE): application answered 400; attempt 2") && $0.contains("not held back by it") },
                "\(log.lines.value)")
        await queue.stop()
        await app.close()
    }

    @Test("A channel whose first event fails keeps its order — its next event waits until it is delivered — while another channel's goes meanwhile")
    func aFailedEvent_KeepsItsChannelsOrder_WithoutHoldingBackOthers() async throws {
        let callsOfA = Locked(0)
        let app = try application { channel in
            guard channel == "a" else { return 200 }
            callsOfA.update { $0 += 1 }  // one at a time: its events are sent in order
            return callsOfA.value == 1 ? 500 : 200
        }
        let log = StationServerTests.Log()
        let queue = EventQueue<StreamEvent>(url: app.url, auth: nil, firstRetry: .seconds(2), loop: loop, logger: log.logger)
        await queue.start()
        queue.post(available("a", "s1"))
        queue.post(closed("a", "s1"))
        queue.post(available("b", "s2"))
        #expect(await eventually(timeout: .seconds(20)) { await queue.undelivered().isEmpty }, "\(received(app)) \(log.lines.value)")
        #expect(received(app, of: "a") == ["a stream-available", "a stream-available", "a stream-closed"], "\(received(app))")
        let all = received(app)
        #expect(all.firstIndex(of: "b stream-available")! < all.lastIndex(of: "a stream-available")!,
                "b went while a waited to try again: \(all)")
        #expect(await eventually(timeout: .seconds(5)) { log.contains("stream-available of a (s1, ICY-LIVE): delivered at attempt 2") }, "\(log.lines.value)")
        await queue.stop()
        await app.close()
    }

    @Test("Past its limit the queue never drops a post being sent, though it is not the first one: the first waits after a failure")
    func trim_KeepsAPostInFlightBehindOneThatWaits() {
        let events = (0..<6).map { available("c\($0)", "s\($0)") }
        var pending = events
        let (dropped, paired) = EventQueue<StreamEvent>.trim(&pending, to: 3, keeping: [1, 4])
        #expect(dropped == 3 && paired == 0)
        #expect(pending.map(\.streamID) == ["s1", "s4", "s5"], "the two being sent stay; the oldest of the others go")
        var pairs = [available("a", "a"), available("b", "b"), closed("b", "b"), closed("a", "a"), available("c", "c")]
        _ = EventQueue<StreamEvent>.trim(&pairs, to: 3, keeping: [1])
        #expect(pairs.map(\.streamID) == ["b", "b", "c"], "b's opening is being sent: no pair to drop; a's pair goes")
    }

    @Test("A queue too full keeps the event it is sending, behind a refused one that waits")
    func aFullQueue_KeepsTheEventBeingSent_BehindOneThatWaits() async throws {
        let released = Locked(false)
        let loop = loop
        let app = try FakeUpstream(on: loop) { connection, request in
            if request.headers["x-streaming-channel"] == "poison" {
                connection.write(Array("HTTP/1.1 400 Nope\r\nContent-Length: 0\r\n\r\n".utf8))
                return connection.close()
            }
            // The others are answered once released.
            @Sendable func answerOnceReleased() {
                guard released.value else { return _ = loop.schedule(after: .milliseconds(20)) { answerOnceReleased() } }
                connection.write(Array("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n".utf8))
                connection.close()
            }
            answerOnceReleased()
        }
        let log = StationServerTests.Log()
        let queue = EventQueue<StreamEvent>(url: app.url, auth: nil, limit: 2, timeout: .seconds(60), firstRetry: .seconds(30), loop: loop,
                                            logger: log.logger)
        await queue.start()
        queue.post(available("poison", "p"))
        #expect(await eventually(timeout: .seconds(15)) { log.contains("attempt 1, trying again") }, "\(log.lines.value)")
        queue.post(available("held", "h"))
        #expect(await eventually(timeout: .seconds(15)) { received(app).contains("held stream-available") })
        // The queue holds [poison, held (being sent)]; one more is one too many: the poison goes, not the one in flight.
        queue.post(available("x1", "x1"))
        #expect(await queue.undelivered().map(\.channel) == ["held", "x1"])
        queue.post(available("x2", "x2"))
        #expect(await queue.undelivered().map(\.channel) == ["held", "x2"])
        released.update { $0 = true }
        #expect(await eventually(timeout: .seconds(15)) { await queue.undelivered().isEmpty }, "\(received(app))")
        #expect(received(app, of: "held") == ["held stream-available"], "sent once, kept until answered")
        await queue.stop()
        await app.close()
    }

    @Test("At the stop each channel's first event gets its attempt: one refused then holds back its own channel's later events only, which are spooled with it")
    func finishing_ARefusedChannel_HoldsBackItsOwnEventsOnly() async throws {
        let allFailing = Locked(true)
        let app = try application { channel in allFailing.value ? 500 : channel == "poison" ? 400 : 200 }
        let log = StationServerTests.Log()
        let spool = "/tmp/casty-spool-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { unlink(spool) }
        // Waits of 30 s after a failure: only the attempts at the stop deliver.
        let queue = EventQueue<StreamEvent>(url: app.url, auth: nil, spool: spool, firstRetry: .seconds(30), loop: loop, logger: log.logger)
        await queue.start()
        queue.post(available("poison", "p1"))
        queue.post(closed("poison", "p1"))
        queue.post(available("healthy", "h1"))
        #expect(await eventually(timeout: .seconds(15)) { log.lines.value.filter { $0.contains("attempt 1, trying again") }.count == 2 },
                "both channels' first events failed once: \(log.lines.value)")
        allFailing.update { $0 = false }  // the application answers again, but for poison
        await queue.finish(before: .now + .seconds(20))
        EventSpool.flush()
        #expect(received(app, of: "poison") == ["poison stream-available", "poison stream-available"], "its closing waits behind it")
        #expect(received(app, of: "healthy") == ["healthy stream-available", "healthy stream-available"])
        #expect(log.contains("stream-available of healthy (h1, ICY-LIVE): delivered at attempt 2"), "\(log.lines.value)")
        #expect(log.contains("stream-available of poison (p1, ICY-LIVE): application answered 400; attempt 2, the last: the process stops"),
                "\(log.lines.value)")
        let lines = String(decoding: FileWriter.contents(of: spool) ?? [], as: UTF8.self).split(separator: "\n")
        #expect(lines.compactMap(StreamEvent.init(spoolLine:)).map { "\($0.channel) \($0.kind.rawValue)" }
            == ["poison stream-available", "poison stream-closed"], "\(lines)")
        #expect(log.contains("2 not sent before the process stopped; kept in \(spool)"), "\(log.lines.value)")
        await queue.stop()
        await app.close()
    }
}
