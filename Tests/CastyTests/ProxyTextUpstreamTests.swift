@testable import CastyNet
import Icy
import Testing

@testable import Casty

/// An upstream that answers as a stream and sends a web page (an error page under `audio/mpeg`, as misconfigured
/// stations and CDN edges do): no stream, retried as any bad answer, nothing of it relayed.
struct ProxyTextUpstreamTests {
    let loop = EventLoop.shared

    /// nginx's 503 page with a terminal's blink sequence in it, as the tester's station sent it.
    static let page = Array("<html><body><h1>503 Service Temporarily Unavailable</h1>\u{1B}[5m</body></html>\r\n".utf8)

    /// An upstream that answers each request `ICY 200 OK`, `audio/mpeg`, `icy-metaint: 8192`, then `repeats` copies
    /// of ``page``; it closes the connection after them when `closes`.
    func textUpstream(repeats: Int, closes: Bool) throws -> FakeUpstream {
        try FakeUpstream(on: loop) { connection, _ in
            connection.write(Array("HTTP/1.0 200 OK\r\nContent-Type: audio/mpeg\r\nicy-metaint: 8192\r\n\r\n".utf8))
            connection.write(Array((0..<repeats).map { _ in Self.page }.joined()))
            if closes { connection.close() }
        }
    }

    /// A proxy of `upstream` retrying quickly, with a listener; its log lines, and whether it was ever told to stream.
    func proxy(of upstream: FakeUpstream) async throws -> (Proxy, RecorderNode, Locked<[String]>, Locked<Bool>) {
        var configuration = Proxy.Configuration()
        configuration.segmentBytes = 1000
        configuration.backoff = .milliseconds(20)
        configuration.maxBackoff = .milliseconds(200)
        let lines = Locked<[String]>([])
        let proxy = try Proxy(url: upstream.url, configuration: configuration, loop: loop, logger: EventLog { line in lines.update { $0.append(line) } })
        let streamed = Locked(false)
        proxy.whenStreamingChanges { streaming in if streaming { streamed.update { $0 = true } } }
        let listener = RecorderNode(loop: loop)
        proxy.send(.request(from: listener, resume: nil))
        await proxy.startInBackground()
        return (proxy, listener, lines, streamed)
    }

    @Test("A web page sent as audio/mpeg is no stream: its link is closed, told in one line, retried; no byte of it reaches a listener")
    func webPageSentAsAudio_IsRefusedAndRetried_NotRelayed() async throws {
        // 10 kB of the page, the connection kept open: the chain finds no frame in its first 3.4 kB.
        let upstream = try textUpstream(repeats: 130, closes: false)
        let (proxy, listener, lines, streamed) = try await proxy(of: upstream)
        let told: @Sendable () -> [String] = { lines.value.filter { $0.contains("its body is text (a web page or JSON), not audio") } }
        #expect(await eventually(timeout: .seconds(20)) { upstream.connections.value >= 3 && told().count >= 2 }, "\(lines.value)")
        #expect(told().allSatisfy { $0.hasPrefix("proxy: ") && $0.contains("(sent as audio/mpeg)") && $0.contains("retrying in") }, "\(told())")
        #expect(!lines.value.contains { $0.contains("unchecked") || $0.contains("upstream lost") || $0.contains("upstream back") },
                "a failed attempt, not a stream lost and back: \(lines.value)")
        #expect(await proxy.state != .streaming)
        #expect(!streamed.value, "a station server's relay mount is never told it streams")
        let record = await listener.record
        #expect(record.audio.isEmpty && record.pieces.isEmpty, "\(record.audio.count) bytes relayed")
        proxy.stop()
        await upstream.close()
    }

    @Test("A short web page that ends with its link is said to be text, not a stream that closed; the proxy is never 'streaming'")
    func shortWebPage_IsSaidToBeText() async throws {
        let upstream = try textUpstream(repeats: 3, closes: true)
        let (proxy, listener, lines, streamed) = try await proxy(of: upstream)
        #expect(await eventually(timeout: .seconds(20)) { upstream.connections.value >= 3 }, "\(lines.value)")
        proxy.stop()
        #expect(lines.value.contains { $0.contains("its body is text (a web page or JSON), not audio") && $0.contains("retrying in") },
                "\(lines.value)")
        #expect(!lines.value.contains { $0.contains("the server closed the stream") || $0.contains("upstream back") }, "\(lines.value)")
        #expect(!streamed.value)
        #expect(await listener.record.audio.isEmpty)
        await upstream.close()
    }

    @Test("After web pages, the station's audio is relayed, and said to be reached then")
    func stationThatSendsAudioAfterWebPages_IsRelayed() async throws {
        let attempts = Locked(0)
        let upstream = try FakeUpstream(on: loop) { connection, _ in
            attempts.update { $0 += 1 }
            if attempts.value <= 2 {
                connection.write(Array("HTTP/1.0 200 OK\r\nContent-Type: audio/mpeg\r\n\r\n".utf8) + Array((0..<60).map { _ in Self.page }.joined()))
            } else {
                connection.write(Array("ICY 200 OK\r\nicy-br: 128\r\nContent-Type: audio/mpeg\r\n\r\n".utf8))
                connection.write(StationServerTests.silentFrames(100))
            }
        }
        let (proxy, listener, lines, streamed) = try await proxy(of: upstream)
        #expect(await listener.waitForData(3, timeout: .seconds(20)), "\(lines.value)")
        #expect(await proxy.state == .streaming)
        #expect(streamed.value)
        #expect(lines.value.filter { $0.contains("its body is text") }.count == 2, "\(lines.value)")
        #expect(lines.value.contains { $0.contains("proxy: upstream reached after 2 failed attempts") }, "\(lines.value)")
        #expect(await listener.record.audio.first == 0xFF, "the relay begins with the first frame, none of the pages")
        proxy.stop()
        await upstream.close()
    }

    @Test("The sum of failed attempts names only the ways they failed since the line before, not every way told before")
    func summedAttempts_CountTheWaysOfTheirOwnWindow() async throws {
        let attempts = Locked(0)
        let upstream = try FakeUpstream(on: loop) { connection, _ in
            attempts.update { $0 += 1 }
            let status = attempts.value <= 3 ? "404 Not Found" : "502 Bad Gateway"
            connection.write(Array("HTTP/1.0 \(status)\r\nContent-Length: 0\r\n\r\n".utf8))
            connection.close()
        }
        var configuration = Proxy.Configuration()
        configuration.backoff = .milliseconds(1)
        configuration.maxBackoff = .milliseconds(5)
        let lines = Locked<[String]>([])
        let proxy = try Proxy(url: upstream.url, configuration: configuration, loop: loop, logger: EventLog { line in lines.update { $0.append(line) } })
        await proxy.startInBackground()
        // Summed up 10 s after the last attempt told one by one.
        let summed: @Sendable () -> [String] = { lines.value.filter { $0.contains("more attempt") } }
        #expect(await eventually(timeout: .seconds(40)) { !summed().isEmpty }, "\(lines.value)")
        proxy.stop()
        #expect(summed().first?.contains("502 Bad Gateway") == true && summed().first?.contains("failed the same way") == true, "\(summed())")
        await upstream.close()
    }
}
