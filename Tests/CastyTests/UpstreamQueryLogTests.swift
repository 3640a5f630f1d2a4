@testable import CastyNet
@testable import CastyWire
import Icy
import Testing

@testable import Casty

/// A relay's upstream URL often carries a CDN's or a platform's token in its query (`/live?token=…`): no log line
/// shows it — neither a failed attempt's, nor the one that says the upstream is reached, nor a redirect's —, each
/// writes the query `?…` (``StreamURL/shown``).
struct UpstreamQueryLogTests {
    let loop = EventLoop.shared

    @Test("A proxy whose upstream URL holds a token logs its failed attempts and its reaching the upstream with the query hidden")
    func proxyOfATokenURL_NeverLogsTheToken() async throws {
        let attempts = Locked(0)
        let upstream = try FakeUpstream(on: loop) { connection, _ in
            attempts.update { $0 += 1 }
            if attempts.value <= 2 {
                connection.close()  // closed before it replied: a failed attempt, told with the URL
            } else {
                connection.write(Array("ICY 200 OK\r\nicy-br: 128\r\nContent-Type: audio/mpeg\r\n\r\n".utf8))
                connection.write(StationServerTests.silentFrames(100))
            }
        }
        var url = upstream.url
        url.path = "/live?token=SuperSecretTok"
        var configuration = Proxy.Configuration()
        configuration.segmentBytes = 1000
        configuration.backoff = .milliseconds(20)
        configuration.maxBackoff = .milliseconds(200)
        let lines = Locked<[String]>([])
        let proxy = try Proxy(url: url, configuration: configuration, loop: loop, logger: EventLog { line in lines.update { $0.append(line) } })
        let listener = RecorderNode(loop: loop)
        proxy.send(.request(from: listener, resume: nil))
        await proxy.startInBackground()
        #expect(await listener.waitForData(3, timeout: .seconds(20)), "\(lines.value)")
        proxy.stop()
        await upstream.close()
        #expect(upstream.requests.value.first?.path == "/live?token=SuperSecretTok", "the token is sent, only not logged")
        #expect(lines.value.filter { $0.contains("/live?…: ") && $0.contains("retrying") }.count == 2, "\(lines.value)")
        #expect(lines.value.contains { $0.contains("upstream reached after 2 failed attempts: \(upstream.url.description)?…") }, "\(lines.value)")
        #expect(!lines.value.contains { $0.contains("SuperSecretTok") }, "\(lines.value)")
    }

    @Test("An upstream error names the URL with its query hidden, a redirect chain's and a redirect's Location too")
    func upstreamErrors_HideTheQuery() {
        let url = StreamURL("http://cdn.example:8000/live?token=SuperSecretTok")!
        let errors: [CastyError] = [
            .network(url, .failed(operation: "connect to 192.0.2.1:8000", errno: 111, message: "Connection refused")),
            .ended(url), .silent(url, after: .seconds(10)), .noReply(url, after: .seconds(5)),
            .redirects([url, StreamURL("http://edge.example/live?token=SuperSecretTok")!], loop: false),
            .badRedirect(url, location: "ftp://edge.example/live?token=SuperSecretTok"),
        ]
        for error in errors {
            #expect(!error.description.contains("SuperSecretTok"), "\(error.description)")
            #expect(error.description.contains("/live?…"), "\(error.description)")
        }
    }
}
