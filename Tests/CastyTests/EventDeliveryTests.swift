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
        // A call's timeout far past the grace, so that a loaded run's stall of seconds cannot be taken for it.
        let taken = try await HTTPCall.post(app.url, loop: loop, timeout: .seconds(90), limit: 4096, bodyGrace: .milliseconds(300))
        #expect(taken.status == 200 && taken.body == Array("ok, processing".utf8))
        #expect(ContinuousClock.now - started < .seconds(45), "the grace, not the call's 90 s")
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
        #expect(await eventually(timeout: .seconds(10)) { await queue.undelivered().isEmpty }, "\(sent()) \(log.lines.value)")
        try await Task.sleep(for: .seconds(1))  // a re-send would come 0.5 s after a failure
        // Each channel's in order; channel two's may go beside channel one's.
        #expect(sent().filter { $0.hasPrefix("one ") } == ["one stream-available", "one stream-closed"], "\(sent())")
        #expect(sent().filter { $0.hasPrefix("two ") } == ["two stream-available"], "\(sent())")
        #expect(!log.contains("attempt"), "\(log.lines.value)")
        await queue.stop()
        await app.close()
    }

    /// An application that answers `200` to each call `delay` after it came, and the most calls it held at once.
    func slowApplication(answeringAfter delay: Duration, on loop: EventLoop) throws -> (app: FakeUpstream, mostHeld: Locked<Int>) {
        let held = Locked(0), mostHeld = Locked(0)
        let app = try FakeUpstream(on: loop) { connection, _ in
            // On the app's loop, one call at a time: the two counts agree.
            held.update { $0 += 1 }
            let now = held.value
            mostHeld.update { $0 = max($0, now) }
            connection.loop.schedule(after: delay) {
                held.update { $0 -= 1 }
                connection.write(Array("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n".utf8))
                connection.close()
            }
        }
        return (app, mostHeld)
    }

    /// A listener authorization whose application is `app`, sending `inFlight` removals at once, started.
    func listenerAuthorization(_ app: FakeUpstream, inFlight: Int, loop: EventLoop, log: StationServerTests.Log) async -> ControlPlane {
        var configuration = ControlPlane.Configuration()
        configuration.listenerAuthURL = app.url
        configuration.listenerRemovalsInFlight = inFlight
        let control = ControlPlane(configuration, loop: loop, logger: log.logger)
        await control.start()
        return control
    }

    /// Listener `client` leaves.
    func leaving(_ client: UInt64) -> ControlPlane.ListenerCall {
        .init(server: "radio.example", port: 8000, client: client, mount: "/live", ip: "192.0.2.7", agent: "mpg123", auth: nil, started: .now)
    }

    @Test("listener_remove calls go out several at once, never more than the limit, each once")
    func listenerRemovals_ToASlowApplication_GoOutSeveralAtOnce() async throws {
        let loop = EventLoop(name: "test-removals-at-once")
        defer { loop.shutdown() }
        let (app, mostHeld) = try slowApplication(answeringAfter: .milliseconds(250), on: loop)
        let log = StationServerTests.Log()
        let control = await listenerAuthorization(app, inFlight: 8, loop: loop, log: log)
        for client in 0..<UInt64(48) { control.listenerLeft(leaving(client)) }
        // How long they take is the benchmarks' to say (a loaded machine answers late): what is asserted is how many
        // the application held at once.
        #expect(await eventually(timeout: .seconds(30)) { await control.listenerRemovals?.undelivered().isEmpty == true },
                "\(app.requests.value.count) of 48 sent")
        #expect(app.requests.value.count == 48, "each sent once")
        #expect((2...8).contains(mostHeld.value), "at once, yet never more than 8: \(mostHeld.value)")
        #expect(!log.contains("attempt"), "\(log.lines.value)")
        await control.listenerRemovals?.stop()
        await app.close()
    }

    @Test("When the process stops, the listeners still admitted are told gone several at once")
    func listenerRemovals_AtStop_GoOutSeveralAtOnce() async throws {
        let loop = EventLoop(name: "test-removals-at-stop")
        defer { loop.shutdown() }
        let (app, mostHeld) = try slowApplication(answeringAfter: .milliseconds(100), on: loop)
        let log = StationServerTests.Log()
        let control = await listenerAuthorization(app, inFlight: 16, loop: loop, log: log)
        for client in 0..<UInt64(64) { control.listenerLeft(leaving(client)) }
        // A deadline no loaded machine misses: what is asserted is that the stop sends them several at once.
        await control.listenerRemovals?.finish(before: .now + .seconds(30))
        #expect(await control.listenerRemovals?.undelivered().isEmpty == true, "\(app.requests.value.count) of 64 sent")
        #expect((2...16).contains(mostHeld.value), "at once, yet never more than 16: \(mostHeld.value)")
        #expect(!log.contains("not sent before the process stopped"), "\(log.lines.value)")
        await control.listenerRemovals?.stop()
        await app.close()
    }

    @Test("Removals sent together to a failing application say its failure once, then are tried one at a time")
    func listenerRemovals_ToAFailingApplication_SayItOnce_ThenTryOneAtATime() async throws {
        let loop = EventLoop(name: "test-removals-failing")
        defer { loop.shutdown() }
        let app = try FakeUpstream(on: loop) { connection, _ in
            connection.write(Array("HTTP/1.1 503 Busy\r\nContent-Length: 0\r\n\r\n".utf8))
            connection.close()
        }
        let log = StationServerTests.Log()
        let control = await listenerAuthorization(app, inFlight: 8, loop: loop, log: log)
        for client in 0..<UInt64(8) { control.listenerLeft(leaving(client)) }
        #expect(await eventually(timeout: .seconds(15)) { log.contains("attempt 2") }, "\(log.lines.value)")
        #expect(log.lines.value.filter { $0.contains("application answered 503; attempt") }.count == 2, "\(log.lines.value)")
        // Eight at once, then the second attempt alone (0.5 s later; the third waits 1 s more).
        #expect(app.requests.value.count == 9, "\(app.requests.value.count) calls")
        #expect(await control.listenerRemovals?.undelivered().count == 8)
        await control.listenerRemovals?.stop()
        await app.close()
    }

    @Test("An event callback that redirects is said to, as key verification says it (give the final URL), and its event is kept and tried again")
    func events_ToARedirectingURL_SayTheRedirect_AndAreKept() async throws {
        let loop = EventLoop(name: "test-events-redirect")
        defer { loop.shutdown() }
        let app = try FakeUpstream(on: loop) { connection, _ in
            connection.write(Array("HTTP/1.1 302 Found\r\nLocation: https://app.example/events\r\nContent-Length: 0\r\n\r\n".utf8))
            connection.close()
        }
        let log = StationServerTests.Log()
        let queue = EventQueue<StreamEvent>(url: app.url, auth: nil, firstRetry: .milliseconds(100), loop: loop, logger: log.logger)
        await queue.start()
        queue.post(StreamEvent(channel: "live", streamID: "s1", kind: .available, streamType: "ICY-LIVE"))
        let said = "events: stream-available of live (s1, ICY-LIVE): application answered 302 (a redirect, which Casty does not follow:"
            + " give the final URL); attempt 2, trying again"
        #expect(await eventually(timeout: .seconds(15)) { log.contains(said) }, "\(log.lines.value)")
        #expect(await queue.undelivered().map(\.streamID) == ["s1"], "kept, not dropped")
        await queue.stop()
        await app.close()
    }

    @Test("Events to a slow application go out several at once, never more than four, each channel's one at a time, in the order they happened")
    func events_ToASlowApplication_GoOutSeveralAtOnce_EachChannelInOrder() async throws {
        let loop = EventLoop(name: "test-events-in-order")
        defer { loop.shutdown() }
        let (app, mostHeld) = try slowApplication(answeringAfter: .milliseconds(50), on: loop)
        let queue = EventQueue<StreamEvent>(url: app.url, auth: nil, loop: loop)
        await queue.start()
        let channels = (0..<12).map { "c\($0)" }
        for channel in channels {
            queue.post(StreamEvent(channel: channel, streamID: channel, kind: .available, streamType: "ICY-LIVE"))
            queue.post(StreamEvent(channel: channel, streamID: channel, kind: .closed))
        }
        #expect(await eventually(timeout: .seconds(20)) { await queue.undelivered().isEmpty })
        let sent = app.requests.value.map { ($0.headers["x-streaming-channel"] ?? "") + " " + ($0.headers["x-event-type"] ?? "") }
        #expect(sent.count == 24, "each once: \(sent)")
        for channel in channels {
            #expect(sent.filter { $0.hasPrefix(channel + " ") } == ["\(channel) stream-available", "\(channel) stream-closed"], "\(sent)")
        }
        #expect((2...4).contains(mostHeld.value), "at once, yet never more than 4: \(mostHeld.value)")
        await queue.stop()
        await app.close()
    }
}
