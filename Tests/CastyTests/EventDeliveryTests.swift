import Icy
import Testing

@testable import Casty
@testable import CastyNet
@testable import CastyWire

/// An event callback whose application answers at once but holds its body — a framework that flushes its head
/// first, a proxy whose upstream stalls: only the status counts, so the event is delivered once, and the events
/// after it are not held up.
struct EventDeliveryTests {
    /// The answers that flush a `200` head and then hold the connection open: a body announced longer than what
    /// came, and a body of no length that never ends.
    static let heldAnswers = [
        "HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\nok, processing",
        "HTTP/1.1 200 OK\r\n\r\nok, processing",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\ne\r\nok, processing\r\n",
    ]

    @Test("A call that needs only the head returns once the body's grace is over, with what came of it", arguments: heldAnswers)
    func httpCall_WithABodyGrace_TakesAHeldBodyAsItCame(answer: String) async throws {
        let loop = EventLoop(name: "test-held-body")
        defer { loop.shutdown() }
        let app = try FakeUpstream(on: loop) { connection, _ in connection.write(Array(answer.utf8)) }
        let started = ContinuousClock.now
        let taken = try await HTTPCall.post(app.url, loop: loop, timeout: .seconds(20), limit: 4096, bodyGrace: .milliseconds(300))
        #expect(taken.status == 200 && taken.body == Array("ok, processing".utf8))
        #expect(ContinuousClock.now - started < .seconds(10), "the grace, not the call's 20 s")
        // Without a grace the whole body is needed: the call waits for it, and says so when it is over.
        await #expect(throws: CastyError.self) { try await HTTPCall.post(app.url, loop: loop, timeout: .milliseconds(500)) }
        await app.close()
    }

    @Test("Events to an application that holds its bodies are each delivered once, in order, none held up", arguments: heldAnswers)
    func events_ToAnApplicationHoldingItsBody_AreDeliveredOnce(answer: String) async throws {
        let loop = EventLoop(name: "test-held-events")
        defer { loop.shutdown() }
        let app = try FakeUpstream(on: loop) { connection, _ in connection.write(Array(answer.utf8)) }
        let log = StationServerTests.Log()
        // A long attempt: without the grace, the first event would hold every later one for 20 s.
        let queue = EventQueue<StreamEvent>(url: app.url, auth: nil, timeout: .seconds(20), loop: loop, logger: log.logger)
        await queue.start()
        queue.post(StreamEvent(channel: "one", streamID: "s1", kind: .available, streamType: "ICY-LIVE"))
        queue.post(StreamEvent(channel: "one", streamID: "s1", kind: .closed))
        queue.post(StreamEvent(channel: "two", streamID: "s2", kind: .available, streamType: "ICY-LIVE"))
        let sent = { app.requests.value.map { ($0.headers["x-streaming-channel"] ?? "") + " " + ($0.headers["x-event-type"] ?? "") } }
        let expected = ["one stream-available", "one stream-closed", "two stream-available"]
        #expect(await eventually(timeout: .seconds(10)) { await queue.undelivered().isEmpty }, "\(sent()) \(log.lines.value)")
        try await Task.sleep(for: .seconds(1))  // a re-send would come 0.5 s after a failure
        #expect(sent() == expected)
        #expect(!log.contains("attempt"), "\(log.lines.value)")
        await queue.stop()
        await app.close()
    }
}
