import Glibc
import Icy
import Testing

@testable import Casty
@testable import CastyNet
@testable import CastyWire

/// When the process stops, the posts that wait out the wait after a failure get one more attempt at once: an
/// application that failed may answer now, and what it answers is not spooled, nor lost.
struct EventQueueStopTests {
    let loop = EventLoop.shared

    /// An application that answers `500` while `failing`, `200` once it is not.
    func application(failing: Locked<Bool>) throws -> FakeUpstream {
        try FakeUpstream(on: loop) { connection, _ in
            connection.write(Array("HTTP/1.1 \(failing.value ? "500 Oops" : "200 OK")\r\nContent-Length: 0\r\n\r\n".utf8))
            connection.close()
        }
    }

    /// A started queue of stream events to an application failing while `failing` holds, spooled to a fresh file,
    /// whose wait after a failure (30 s) is far past any stop's time: only an attempt at the stop delivers.
    func eventQueue(failing: Locked<Bool>, log: StationServerTests.Log) async throws -> (app: FakeUpstream, queue: EventQueue<StreamEvent>, spool: String) {
        let app = try application(failing: failing)
        let spool = "/tmp/casty-spool-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let queue = EventQueue<StreamEvent>(url: app.url, auth: nil, spool: spool, firstRetry: .seconds(30), loop: loop, logger: log.logger)
        await queue.start()
        return (app, queue, spool)
    }

    @Test("An event waiting out the wait after a failure is sent once more when the process stops, and delivered if the application answers now, not spooled")
    func finishing_TriesAWaitingEventAgain_AndDeliversIt() async throws {
        let failing = Locked(true)
        let log = StationServerTests.Log()
        let (app, queue, spool) = try await eventQueue(failing: failing, log: log)
        defer { unlink(spool) }
        queue.post(StreamEvent(channel: "live", streamID: "s1", kind: .closed))
        #expect(await eventually(timeout: .seconds(15)) { log.contains("attempt 1, trying again") }, "\(log.lines.value)")
        failing.update { $0 = false }  // the application is fixed
        await queue.finish(before: .now + .seconds(20))
        EventSpool.flush()
        #expect(app.requests.value.count == 2, "one attempt more, at the stop")
        #expect(await queue.undelivered().isEmpty)
        #expect(log.contains("delivered at attempt 2"), "\(log.lines.value)")
        #expect(!log.contains("not sent before the process stopped"), "\(log.lines.value)")
        let left = String(decoding: FileWriter.contents(of: spool) ?? [], as: UTF8.self).split(separator: "\n")
        #expect(left.compactMap(StreamEvent.init(spoolLine:)).isEmpty, "delivered, yet spooled for the next start: \(left)")
        await queue.stop()
        await app.close()
    }

    @Test("listener_remove calls waiting after a failure each get one more attempt when the process stops, several at once: none lost once the application answers")
    func finishing_TriesEachWaitingRemovalAgain() async throws {
        let failing = Locked(true)
        let app = try application(failing: failing)
        let log = StationServerTests.Log()
        let queue = EventQueue<ControlPlane.ListenerCall>(url: app.url, auth: nil, name: "listener authorization", inFlight: 4,
                                                          firstRetry: .seconds(30), loop: loop, logger: log.logger)
        await queue.start()
        for client in 1...6 {
            queue.post(.init(server: "radio.example", port: 8000, client: UInt64(client), mount: "/live", ip: "192.0.2.7", agent: "mpg123",
                             auth: nil, started: .now))
        }
        #expect(await eventually(timeout: .seconds(15)) { log.contains("attempt 1, trying again") }, "\(log.lines.value)")
        failing.update { $0 = false }
        await queue.finish(before: .now + .seconds(20))
        #expect(await queue.undelivered().isEmpty, "\(log.lines.value)")
        #expect(!log.contains("lost"), "\(log.lines.value)")
        #expect(app.requests.value.count >= 6, "each tried at the stop: \(app.requests.value.count) calls")
        await queue.stop()
        await app.close()
    }

    @Test("A post whose attempt was under way when the process began to stop, and failed, still gets its attempt at the stop")
    func finishing_TriesAgainAPostWhoseEarlierAttemptFailsDuringTheStop() async throws {
        let failing = Locked(true)
        let loop = loop
        // The answer is decided as the request comes, and written 300 ms later: the stop begins in between.
        let app = try FakeUpstream(on: loop) { connection, _ in
            let answer = "HTTP/1.1 \(failing.value ? "500 Oops" : "200 OK")\r\nContent-Length: 0\r\n\r\n"
            _ = loop.schedule(after: .milliseconds(300)) {
                connection.write(Array(answer.utf8))
                connection.close()
            }
        }
        let log = StationServerTests.Log()
        let queue = EventQueue<StreamEvent>(url: app.url, auth: nil, firstRetry: .seconds(30), loop: loop, logger: log.logger)
        await queue.start()
        queue.post(StreamEvent(channel: "live", streamID: "s1", kind: .closed))
        #expect(await eventually(timeout: .seconds(15)) { app.requests.value.count == 1 })
        failing.update { $0 = false }  // the application is fixed while its 500 is on its way
        await queue.finish(before: .now + .seconds(20))
        #expect(app.requests.value.count >= 2, "the attempt at the stop: \(log.lines.value)")
        #expect(await queue.undelivered().isEmpty, "\(log.lines.value)")
        #expect(log.contains("delivered at attempt 2"), "\(log.lines.value)")
        #expect(!log.contains("not sent before the process stopped"), "\(log.lines.value)")
        await queue.stop()
        await app.close()
    }

    @Test("The last attempt at the stop is said even when it fails as the attempts before it did, which were said")
    func finishing_WithTheSameFailureAgain_SaysTheLastAttempt() async throws {
        let failing = Locked(true)
        let app = try application(failing: failing)
        let log = StationServerTests.Log()
        // Attempts 1 to 3 come within a second; the fourth would wait 1.6 s more, and is made at the stop.
        let queue = EventQueue<StreamEvent>(url: app.url, auth: nil, firstRetry: .milliseconds(200), loop: loop, logger: log.logger)
        await queue.start()
        queue.post(StreamEvent(channel: "live", streamID: "s1", kind: .closed))
        #expect(await eventually(timeout: .seconds(15)) { log.contains("answered 500; attempt 3, trying again") }, "\(log.lines.value)")
        await queue.finish(before: .now + .seconds(20))
        let tries = app.requests.value.count
        #expect(tries >= 4, "\(tries) attempts")
        #expect(log.contains("events: stream-closed of live (s1): application answered 500; attempt \(tries), the last: the process stops"),
                "\(log.lines.value)")
        #expect(log.contains("1 not sent before the process stopped; lost (not spooled)"), "\(log.lines.value)")
        await queue.stop()
        await app.close()
    }

    @Test("Events to an application still failing at the stop get one attempt more, the first only — in order, none goes before it —, and are spooled")
    func finishing_WithTheApplicationStillFailing_TriesTheFirstOnce_AndSpoolsAll() async throws {
        let failing = Locked(true)
        let log = StationServerTests.Log()
        let (app, queue, spool) = try await eventQueue(failing: failing, log: log)
        defer { unlink(spool) }
        queue.post(StreamEvent(channel: "live", streamID: "s1", kind: .available, streamType: "ICY-LIVE"))
        #expect(await eventually(timeout: .seconds(15)) { log.contains("attempt 1, trying again") }, "\(log.lines.value)")
        queue.post(StreamEvent(channel: "live", streamID: "s1", kind: .closed))
        await queue.finish(before: .now + .seconds(20))
        EventSpool.flush()
        #expect(app.requests.value.map { $0.headers["x-event-type"] ?? "" } == ["stream-available", "stream-available"],
                "the first tried again, the second held back behind it")
        #expect(log.contains("attempt 2, the last: the process stops"), "\(log.lines.value)")
        let lines = String(decoding: FileWriter.contents(of: spool) ?? [], as: UTF8.self).split(separator: "\n")
        #expect(lines.compactMap(StreamEvent.init(spoolLine:)).map(\.kind) == [.available, .closed], "\(lines)")
        #expect(log.contains("2 not sent before the process stopped; kept in \(spool)"), "\(log.lines.value)")
        await queue.stop()
        await app.close()
    }
}
