import Icy
import Testing

@testable import Casty
@testable import CastyNet
import CastyWire

/// A source that sends more audio than the sockets buffer while the platform's application is asked about its key
/// (`curl -T` of a song, an encoder's backlog): its body is read into a bounded hold meanwhile, so that its hang-up
/// is seen behind that audio, and an admitted source starts with the audio that came last.
struct KeyVerificationHeldBodyTests {
    let loop = EventLoop.shared
    let station = StationServerTests()
    let platform = PlatformServerTests()

    /// A source asking to publish `mount` with key `key`, as `curl -T` does (`Expect: 100-continue`, and a
    /// `Content-Length` of `length`, if given), declaring 128 kbit/s.
    func source(_ server: StationServer, mount: String = "/live", key: String = "key", length: Int? = nil) async throws -> TestPeer {
        let peer = try await TestPeer.connect(to: server.address, on: loop)
        let credentials = Base64.encode(Array("source:\(key)".utf8))
        await peer.send("PUT \(mount) HTTP/1.1\r\nHost: x\r\nAuthorization: Basic \(credentials)\r\nContent-Type: audio/mpeg\r\n"
            + (length.map { "Content-Length: \($0)\r\n" } ?? "") + "Expect: 100-continue\r\nice-audio-info: bitrate=128\r\n\r\n")
        return peer
    }

    @Test("A source that sent more audio than the sockets hold (1 MB), then hung up while its key was verified, is never announced: one line",
          arguments: [false, true])
    func aSourceThatSentMoreThanTheSocketsHold_ThenHungUp_IsNeverAnnounced(contentLength: Bool) async throws {
        let audio = StationServerTests.silentFrames(2_400)  // 1 MB: far more than the server's receive window
        let app = try PlatformServerTests.App(keys: ["key"], verifying: .seconds(4), on: loop)
        let log = StationServerTests.Log()
        let server = try await platform.server(app: app, events: app.url("/events"), catchUp: .seconds(5), log: log)
        let source = try await source(server, length: contentLength ? audio.count : nil)
        await station.sendAudio(source, audio)
        #expect(await eventually(timeout: .seconds(15)) { app.upstream.requests.value.contains { $0.path == "/verify" } })
        try await Task.sleep(for: .milliseconds(300))  // what the sockets take of it is in them
        await source.close()
        #expect(await eventually(timeout: .seconds(15)) { log.contains("left before it was admitted") }, "\(log.lines.value)")
        try await Task.sleep(for: .milliseconds(300))
        #expect(!log.contains("publishing /live"), "no session: \(log.lines.value)")
        #expect(!log.contains("on /live ended"), "no session: \(log.lines.value)")
        #expect(app.events.isEmpty, "no stream-available, no stream-closed: \(app.events)")
        #expect(await loop.submit { server.table.all.count } == 0, "no mount made")
        server.close()
        await app.upstream.close()
    }

    @Test("A source that sent more audio than the sockets hold while its key was verified, and stays, is admitted: its listeners hear what came last")
    func aSourceThatSentMoreThanTheSocketsHold_AndStays_IsHeardFromWhatCameLast() async throws {
        let app = try PlatformServerTests.App(keys: ["key"], verifying: .seconds(3), on: loop)
        let log = StationServerTests.Log()
        let server = try await platform.server(app: app, events: app.url("/events"), catchUp: .seconds(5), log: log)
        defer { server.close() }
        let source = try await source(server)
        // 1 MB of a backlog, then its last second (marked 2): what the listeners should hear first.
        await station.sendAudio(source, StationServerTests.markedFrames(2_400, mark: 1) + StationServerTests.markedFrames(40, mark: 2))
        #expect(await platform.published(source))
        #expect(await eventually(timeout: .seconds(15)) { log.contains("source on /live: dropped") }, "\(log.lines.value)")
        #expect(log.lines.value.contains { $0.contains("of the audio that came while its key was verified") }, "\(log.lines.value)")
        let listener = try await station.listener(server, "/live", titles: false)
        let feeding = station.keepFeeding(source, with: StationServerTests.markedFrames(3, mark: 3))
        defer { feeding.cancel() }
        #expect(await listener.waitFor(timeout: .seconds(15)) { StationServerTests.count(of: 2, in: $0) > 0 },
                "the audio that came last: \(StationServerTests.count(of: 1, in: listener.received.value)) frames of the backlog's start")
        #expect(await listener.waitFor(timeout: .seconds(15)) { StationServerTests.count(of: 3, in: $0) > 0 }, "and then the live audio")
        #expect(await eventually(timeout: .seconds(15)) { app.events.map(\.kind) == ["stream-available"] }, "\(app.events)")
        #expect(!log.contains("left before it was admitted"), "\(log.lines.value)")
        await source.close()
        await listener.close()
        await app.upstream.close()
    }

    @Test("A source whose chunked body breaks while its key is verified is not admitted: one line naming the break, no session, no events")
    func aSourceWhoseBodyBreaksWhileHeld_IsNotAdmitted() async throws {
        let app = try PlatformServerTests.App(keys: ["key"], verifying: .seconds(2), on: loop)
        let log = StationServerTests.Log()
        let server = try await platform.server(app: app, events: app.url("/events"), catchUp: .seconds(5), log: log)
        defer { server.close() }
        let peer = try await TestPeer.connect(to: server.address, on: loop)
        let credentials = Base64.encode(Array("source:key".utf8))
        let audio = StationServerTests.silentFrames(20)
        await peer.send(bytes: Array(("PUT /live HTTP/1.1\r\nHost: x\r\nAuthorization: Basic \(credentials)\r\nContent-Type: audio/mpeg\r\n"
            + "Transfer-Encoding: chunked\r\n\r\n" + String(audio.count, radix: 16) + "\r\n").utf8) + audio + Array("\r\nZZ\r\n".utf8))
        #expect(await eventually(timeout: .seconds(15)) { log.contains("not admitted: its chunked body is broken") }, "\(log.lines.value)")
        #expect(await eventually { peer.closed.value })
        try await Task.sleep(for: .milliseconds(300))
        #expect(!log.contains("publishing /live") && !log.contains("left before it was admitted"), "\(log.lines.value)")
        #expect(app.events.isEmpty, "no stream-available: \(app.events)")
        await app.upstream.close()
    }
}
