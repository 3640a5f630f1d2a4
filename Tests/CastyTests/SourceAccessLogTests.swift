import Glibc
import Icy
import Testing

@testable import Casty
@testable import CastyNet
@testable import CastyWire

/// `--access-log` and sources: a source that published gets one line when its session ends, as Icecast writes one
/// (`"PUT /up.mp3 HTTP/1.1" 200 … "Lavf/59.27.100" 112`) — a refused one has its line already, as any refusal.
extension StationServerTests {
    /// A fresh access log, its path, and its lines so far (written first).
    func sourceAccessLog() throws -> (AccessLog, String, @Sendable () async -> [String]) {
        let path = "/tmp/casty-source-access-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).log"
        let log = try AccessLog(path: path, logger: .silent)
        return (log, path, {
            await log.flush()
            return String(decoding: FileWriter.contents(of: path) ?? [], as: UTF8.self).split(separator: "\n").map(String.init)
        })
    }

    @Test("An Icecast source that published and hung up gets one access-log line: its address, user name (never the password), request with its query hidden, 200, the bytes of audio it sent, referer, agent, seconds")
    func icecastSourceThatEnds_GetsOneAccessLogLine() async throws {
        let (accessLog, path, lines) = try sourceAccessLog()
        defer { _ = unlink(path) }
        let log = Log()
        let server = try server(log: log) { $0.options.accessLog = accessLog }
        defer { server.close() }
        let source = try await TestPeer.connect(to: server.address, on: loop)
        let credentials = Base64.encode(Array("source:hackme".utf8))
        await source.send("PUT /live?key=s3cret HTTP/1.1\r\nHost: x\r\nAuthorization: Basic \(credentials)\r\nContent-Type: audio/mpeg\r\n"
            + "User-Agent: Lavf/59.27.100\r\nReferer: https://studio.example/desk?tok=s3cret\r\n\r\n")
        #expect(await source.waitFor(timeout: .seconds(10)) { String(decoding: $0, as: UTF8.self).hasPrefix("HTTP/1.0 200") }, "\(source.text)")
        await sendAudio(source, Self.silentFrames(20))
        #expect(await eventually { log.contains("publishing /live (PUT") }, "\(log.lines.value)")
        let publishing = await lines()
        #expect(publishing.isEmpty, "no line while it publishes: \(publishing)")
        await source.close()
        #expect(await eventually { log.contains("on /live ended: the source hung up") }, "\(log.lines.value)")
        #expect(await eventually { await lines().count == 1 })
        let written = await lines()
        let line = try #require(written.first, "\(written)")
        #expect(line.hasPrefix("127.0.0.1 - source ["), "\(line)")
        #expect(line.contains(" +0000] \"PUT /live?… HTTP/1.1\" 200 \(20 * 417) \"https://studio.example/desk?…\" \"Lavf/59.27.100\" "), "\(line)")
        #expect(line.split(separator: " ").last.map { Int($0) != nil } == true, "its seconds: \(line)")
        #expect(!line.contains("hackme") && !line.contains("s3cret"), "\(line)")
    }

    @Test("A source the admin disconnects gets its line; an RTMP publisher's request is PUBLISH /mount RTMP (its key never written), its agent the encoder its onMetaData names")
    func rtmpPublisherKilledByTheAdmin_GetsOneAccessLogLine() async throws {
        let (accessLog, path, lines) = try sourceAccessLog()
        defer { _ = unlink(path) }
        let log = Log()
        let server = try server(log: log, rtmp: true) { $0.options.accessLog = accessLog }
        defer { server.close() }
        let rtmp = try await RTMPPeer.publish(server)
        #expect(await eventually { rtmp.statuses() == ["NetStream.Publish.Start"] })
        let metadata = AMF0Encoder.encode([
            .string("@setDataFrame"), .string("onMetaData"), .ecmaArray([AMF0Property("encoder", .string("Lavf61.7.100"))]),
        ])
        await rtmp.send(rtmp.publisher.message(RTMPMessage.dataAMF0, metadata))
        await rtmp.sendMP3(Self.silentFrames(12))
        #expect(await eventually { log.contains("publishing /live (RTMP, audio/mpeg") }, "\(log.lines.value)")
        #expect(try await ask(server, "/admin/killsource?mount=/live").contains("200"))
        #expect(await eventually { rtmp.peer.closed.value })
        // The admin's own request has its line too: the source's is the one of PUBLISH.
        #expect(await eventually { await lines().contains { $0.contains("PUBLISH") } })
        let written = await lines()
        let line = try #require(written.first { $0.contains("PUBLISH") }, "\(written)")
        #expect(line.hasPrefix("127.0.0.1 - - ["), "\(line)")
        #expect(line.contains(" +0000] \"PUBLISH /live RTMP\" 200 \(12 * 417) \"-\" \"Lavf61.7.100\" "), "\(line)")
        #expect(!line.contains("hackme"), "\(line)")
    }
}
