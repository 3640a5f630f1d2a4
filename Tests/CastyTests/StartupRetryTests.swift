@testable import CastyNet
import Icy
import CastyWire
import Testing

@testable import Casty

/// A relay whose upstream is bad when it starts keeps trying, and its listeners get a clear `503` meanwhile
/// (hardening issue, defect 2).
struct StartupRetryTests {
    let loop = EventLoop.shared

    /// Answers that are not a stream, each one a way a station can be broken at boot.
    static let badAnswers: [String] = [
        "HTTP/1.0 404 Not Found\r\nContent-Type: text/html\r\n\r\n<h1>Not here</h1>",
        "HTTP/1.0 200 OK\r\nContent-Type: text/html\r\n\r\n<html>a web page</html>",
        "ICY 200 OK\r\nContent-Type: audio/mpeg\r\nicy-metaint: 0\r\n\r\n",
        "\u{0}\u{1}\u{2} garbage, not HTTP at all\r\n\r\n",
        // Headers past Icy's 16 KiB limit.
        "HTTP/1.0 200 OK\r\nContent-Type: audio/mpeg\r\n" + String(repeating: "X-Padding: \(String(repeating: "a", count: 1000))\r\n", count: 20) + "\r\n",
        // A redirect loop: every answer on /loop sends the relay to /loop again (answered below, not counted here).
        "HTTP/1.0 302 Found\r\nLocation: /loop\r\n\r\n",
    ]

    @Test func proxyStartedInBackground_RetriesBadUpstream_UntilItStreams() async throws {
        let attempts = Locked(0)
        let upstream = try FakeUpstream(on: loop) { connection, request in
            if request.path == "/loop" {
                connection.write(Array("HTTP/1.0 302 Found\r\nLocation: /loop\r\n\r\n".utf8))
                connection.close()
                return
            }
            let attempt = attempts.value
            attempts.update { $0 += 1 }  // the fake upstream's callbacks all run on the one loop thread
            if attempt < Self.badAnswers.count {
                connection.write(Array(Self.badAnswers[attempt].utf8))
                connection.close()
            } else {
                connection.write(icyReplyHead(metaint: 500))
                streamICY(to: connection, metaint: 500, count: 40, interval: .milliseconds(5))
            }
        }
        let lines = Locked<[String]>([])
        var configuration = Proxy.Configuration()
        configuration.segmentBytes = 1000
        configuration.backoff = .milliseconds(20)
        configuration.maxBackoff = .milliseconds(100)
        let proxy = try Proxy(url: upstream.url, configuration: configuration, loop: loop, logger: EventLog { line in lines.update { $0.append(line) } })
        let listener = RecorderNode(loop: loop)
        proxy.send(.request(from: listener, resume: nil))
        await proxy.startInBackground()
        // Six failed attempts first, each a connection: on a busy 2-core machine (the script tests beside) that took
        // up to 14 s.
        #expect(await listener.waitForData(5, timeout: .seconds(20)))
        #expect(await proxy.state == .streaming)
        // One line per failed attempt, each naming its problem, and each saying that it retries.
        let retries = lines.value.filter { $0.contains("retrying in") }
        #expect(retries.count == Self.badAnswers.count, "\(lines.value)")
        #expect(retries.first?.contains("404") == true, "\(retries)")
        #expect(retries.contains { $0.lowercased().contains("redirect") }, "the redirect loop is named: \(retries)")
        #expect(lines.value.contains { $0.contains("proxy: upstream reached after \(Self.badAnswers.count) failed attempts") }, "\(lines.value)")
        proxy.stop()
        await upstream.close()
    }

    /// A proxy retrying at once an upstream that answers each attempt (counted from 1) with `answer(attempt)` and
    /// hangs up, until twenty attempts or more were made; the upstream, and the proxy's log lines.
    func twentyFailedAttempts(
        _ answer: @escaping @Sendable (Int) -> String
    ) async throws -> (upstream: FakeUpstream, lines: Locked<[String]>) {
        let attempts = Locked(0)
        let upstream = try FakeUpstream(on: loop) { connection, _ in
            attempts.update { $0 += 1 }
            connection.write(Array(answer(attempts.value).utf8))
            connection.close()
        }
        let lines = Locked<[String]>([])
        var configuration = Proxy.Configuration()
        configuration.backoff = .milliseconds(1)
        configuration.maxBackoff = .milliseconds(5)
        let proxy = try Proxy(url: upstream.url, configuration: configuration, loop: loop, logger: EventLog { line in lines.update { $0.append(line) } })
        await proxy.startInBackground()
        // A generous deadline: a busy CI run can hold the loop for seconds.
        #expect(await eventually(timeout: .seconds(30)) { attempts.value >= 20 })
        proxy.stop()
        return (upstream, lines)
    }

    /// The same problem each time: a 404, or garbage whose bytes differ at every attempt (and whose quote, control
    /// bytes escaped, is cut to 80 characters as written).
    @Test(arguments: [(answer: "HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n", named: "answered 404 Not Found"),
                      (answer: String(repeating: "\u{1}\u{2}", count: 100) + " #", named: "not an ICY or HTTP status line")])
    func sameProblemAgainAndAgain_IsToldForTheFirstAttempts_ThenSummedUp(answer: String, named: String) async throws {
        let (upstream, lines) = try await twentyFailedAttempts { attempt in
            answer.hasSuffix("#") ? "#\(attempt) " + answer + "\r\n\r\n" : answer
        }
        // Twenty attempts or more: the first three told one by one, the rest summed up (every 10 s, if it took that long).
        let told = lines.value.filter { $0.contains(named) && $0.contains("retrying in") }
        let summed = lines.value.filter { $0.contains(named) && $0.contains("failed the same way, retrying every") }
        #expect(told.count == Proxy.toldAttempts, "\(lines.value)")
        #expect(lines.value.filter { $0.contains(named) }.count == told.count + summed.count, "no other line about the problem")
        #expect(lines.value.allSatisfy { $0.count < 240 }, "a quote is cut to 80 characters: \(lines.value.map(\.count))")
        await upstream.close()
    }

    @Test("A load balancer that sends each attempt to another edge, every one down, is one problem: told for the first attempts, then summed up")
    func redirectsToEdgesThatAreDown_AreOneProblem() async throws {
        // Ports 1–9 of the loopback: nothing listens there, each edge refuses the connection.
        let (upstream, lines) = try await twentyFailedAttempts { attempt in
            "HTTP/1.0 302 Found\r\nLocation: http://127.0.0.1:\(1 + attempt % 9)/edge\r\nContent-Length: 0\r\n\r\n"
        }
        let told = lines.value.filter { $0.contains("/edge") && $0.contains("retrying in") }
        let summed = lines.value.filter { $0.contains("/edge") && $0.contains("failed the same way, retrying every") }
        #expect(told.count == Proxy.toldAttempts, "\(lines.value)")
        #expect(lines.value.filter { $0.contains("/edge") }.count == told.count + summed.count, "no other line about the problem: \(lines.value)")
        await upstream.close()
    }

    @Test("A redirect loop is one problem whatever its chain; a network failure, whatever the address it was met at")
    func problemKinds_LeaveOutWhatVariesBetweenAttempts() throws {
        let a = try #require(StreamURL("http://127.0.0.1:8000/a")), b = try #require(StreamURL("http://127.0.0.1:8001/b"))
        #expect(CastyError.redirects([a, b, a], loop: true).kind == CastyError.redirects([b, a, b], loop: true).kind)
        #expect(CastyError.redirects([a, b], loop: false).kind != CastyError.redirects([a, b], loop: true).kind)
        #expect(CastyError.noReply(a, after: .seconds(5)).kind == CastyError.noReply(b, after: .seconds(5)).kind)
        #expect(CastyError.noReply(a, after: .seconds(5)).kind != CastyError.ended(a).kind)
    }

    @Test("An upstream that fails two ways by turns (404, then 503) is told three times for each, then summed up")
    func twoProblemsByTurns_AreEachToldForTheFirstAttempts_ThenSummedUp() async throws {
        let (upstream, lines) = try await twentyFailedAttempts { attempt in
            "HTTP/1.0 \(attempt % 2 == 0 ? "404 Not Found" : "503 Service Unavailable")\r\nContent-Length: 0\r\n\r\n"
        }
        let told = lines.value.filter { $0.contains("retrying in") }
        // By the status, not "404" alone: the upstream's port may hold those digits (127.0.0.1:40451).
        #expect(told.filter { $0.contains("answered 404") }.count == Proxy.toldAttempts, "\(lines.value)")
        #expect(told.filter { $0.contains("answered 503") }.count == Proxy.toldAttempts, "\(lines.value)")
        let summed = lines.value.filter { $0.contains("in the 2 ways told above, retrying every") }
        #expect(lines.value.filter { $0.contains("server answered") }.count == told.count + summed.count, "\(lines.value)")
        await upstream.close()
    }

    @Test func listenerBeforeAnyStream_Gets503WithRetryAfter() async throws {
        var configuration = Distributor.Configuration()
        configuration.startWait = .milliseconds(200)
        let distributor = Distributor(loop: loop, configuration: configuration)
        let silentSource = RecorderNode(loop: loop)  // takes the request, never replies
        distributor.attachSource(silentSource)
        let port = try ClientPort(distributor: distributor, address: .loopback(port: 0))
        let player = try await TestPeer.connect(to: port.address, on: loop)
        await player.send("GET / HTTP/1.0\r\nIcy-MetaData: 1\r\n\r\n")
        #expect(await eventually(timeout: .seconds(3)) { player.closed.value })
        #expect(player.text.hasPrefix("HTTP/1.0 503 Service Unavailable\r\n"), "\(player.text)")
        #expect(player.text.contains("Retry-After: "))
        port.close()
    }

    @Test("While the upstream is lost, a new player waits and is told 503 with Retry-After, not the last seconds before the loss; those listening stay, and all hear it again once it is back")
    func lostUpstream_NewPlayersGet503_NotAStaleBurst_ListenersStay() async throws {
        let up = Locked(true)
        let upstream = try FakeUpstream(on: loop) { connection, _ in
            guard up.value else { return connection.close() }
            connection.write(icyReplyHead(metaint: 1000))
            let stopped = streamICY(to: connection, metaint: 1000, interval: .milliseconds(20))
            // Taken down: the stream ends, and the station accepts nothing more until it is up again.
            @Sendable func watch() {
                if !up.value { stopped.update { $0 = true }; return connection.close() }
                connection.loop.schedule(after: .milliseconds(20)) { watch() }
            }
            watch()
        }
        var proxyConfiguration = Proxy.Configuration()
        proxyConfiguration.segmentBytes = 1000
        proxyConfiguration.backoff = .milliseconds(100)
        let proxy = try Proxy(url: upstream.url, configuration: proxyConfiguration, loop: loop)
        var configuration = Distributor.Configuration()
        configuration.startWait = .milliseconds(500)
        let distributor = Distributor(loop: loop, configuration: configuration)
        distributor.attachSource(proxy)
        try await proxy.start()
        let port = try ClientPort(distributor: distributor, address: .loopback(port: 0))
        let early = try await TestPeer.connect(to: port.address, on: loop)
        await early.send("GET / HTTP/1.0\r\n\r\n")
        #expect(await early.waitFor { $0.count > 5000 })
        up.update { $0 = false }
        #expect(await eventually { await proxy.reconnects >= 1 })
        try await Task.sleep(for: .milliseconds(200))
        let late = try await TestPeer.connect(to: port.address, on: loop)
        await late.send("GET / HTTP/1.0\r\n\r\n")
        #expect(await eventually(timeout: .seconds(5)) { late.closed.value })
        #expect(late.text.hasPrefix("HTTP/1.0 503 Service Unavailable\r\n") && late.text.contains("Retry-After: "), "\(late.text.prefix(200))")
        #expect(!early.closed.value, "a listener stays through the outage")
        // Back: the listener that stayed hears it again, and a new player is served.
        let before = early.received.value.count
        up.update { $0 = true }
        #expect(await early.waitFor(timeout: .seconds(10)) { $0.count > before + 5000 })
        let again = try #require(try await TestPeer.player(of: port.address, on: loop, request: "GET / HTTP/1.0\r\n\r\n"))
        #expect(await again.waitFor { $0.count > 3000 })
        proxy.stop()
        port.close()
        await upstream.close()
    }

    @Test func listenerWithinTheWait_IsServedOnceTheStreamStarts() async throws {
        // A loop of its own and a wait far longer than the 100 ms the stream takes to start: on a machine busy
        // with the other suites, the shared loop and the test's own sleep could otherwise eat the margin.
        let loop = EventLoop(name: "test-wait")
        defer { loop.shutdown() }
        var configuration = Distributor.Configuration()
        configuration.startWait = .seconds(8)
        let distributor = Distributor(loop: loop, configuration: configuration)
        let source = RecorderNode(loop: loop)
        distributor.attachSource(source)
        let port = try ClientPort(distributor: distributor, address: .loopback(port: 0))
        let player = try await TestPeer.connect(to: port.address, on: loop)
        await player.send("GET / HTTP/1.0\r\n\r\n")
        try await Task.sleep(for: .milliseconds(100))
        distributor.send(.reply(next: 0, context: testContext()))
        for segment in testSegments(2) { distributor.send(.data(segment.number, segment)) }
        #expect(await player.waitFor { $0.count >= 2000 })
        #expect(player.text.hasPrefix("HTTP/1.0 200 OK\r\n"))
        port.close()
    }
}
