import Glibc
import Icy
import Testing

@testable import Casty
@testable import CastyNet
@testable import CastyWire

/// A station server run by a platform's application (key verification, events), against a fake application on
/// loopback: titles set with a session's own key, refused sources that leave no mount behind, the events a
/// stopping server still sends or spools; and how the command report names servers.
struct PlatformServerTests {
    let loop = EventLoop.shared
    let station = StationServerTests()

    /// A fake application: `/verify` admits the keys given (`200`), refuses any other (`403`); events are answered
    /// `200` and kept.
    final class App: Sendable {
        let upstream: FakeUpstream

        /// `verifying` is how long the application thinks before it answers a key; each answer carries a body of
        /// `bodyBytes` (a page, an echoed object); `receiving` is how long it takes to answer an event.
        init(keys: Set<String>, verifying: Duration = .zero, receiving: Duration = .zero, bodyBytes: Int = 0, on loop: EventLoop) throws {
            upstream = try FakeUpstream(on: loop) { connection, request in
                let event = request.headers["x-event-type"] != nil
                let admitted = event || keys.contains(request.headers["x-streaming-key"] ?? "")
                let answer: @Sendable () -> Void = {
                    connection.write(Array("HTTP/1.1 \(admitted ? "200 OK" : "403 Forbidden")\r\nContent-Length: \(bodyBytes)\r\n\r\n".utf8)
                        + [UInt8](repeating: UInt8(ascii: "x"), count: bodyBytes))
                    connection.close()
                }
                let delay = event ? receiving : verifying
                if delay == .zero { answer() } else { _ = loop.schedule(after: delay, answer) }
            }
        }

        /// The `x-stream-type` of each `stream-available` received, in order (`ICY-LIVE`, `HLS-LIVE`, `HLS-VOD`).
        var streamTypes: [String] {
            upstream.requests.value.compactMap { $0.headers["x-event-type"] == "stream-available" ? $0.headers["x-stream-type"] : nil }
        }

        /// The events received: type (`stream-available`, `stream-closed`) and stream id.
        var events: [(kind: String, id: String)] {
            upstream.requests.value.compactMap { request in
                request.headers["x-event-type"].map { ($0, request.headers["x-streaming-id"] ?? "") }
            }
        }

        func url(_ path: String) -> StreamURL {
            StreamURL(host: "127.0.0.1", port: upstream.listener.localAddress.port, path: path)
        }
    }

    /// A server with `--accept-all`, no source password, keys verified by `app`, events to `events` (if given),
    /// advertised as `publicURL` (if given), letting sources run `catchUp` ahead of the clock (if given).
    func server(
        app: App, events: StreamURL? = nil, spool: String? = nil, hlsTarget: Int? = nil, publicURL: String? = nil,
        recording: String? = nil, trusted: TrustedProxies? = nil, catchUp: Duration? = nil, log: StationServerTests.Log = .init()
    ) async throws -> StationServer {
        var control = ControlPlane.Configuration()
        if let publicURL { control.publicURL = publicURL }
        control.keyVerificationURL = app.url("/verify")
        control.eventCallbackURL = events
        control.eventSpool = spool
        var configuration = StationServer.Configuration()
        configuration.adminPassword = "adminpw"
        configuration.mounts = nil
        configuration.segmentBytes = 4170
        configuration.distribution.burst = 1
        configuration.options.hls.enabled = hlsTarget != nil
        configuration.options.hls.targetDuration = hlsTarget ?? 6
        if let recording {  // `--record /live --record-dir <recording>`
            configuration.options.recording.directory = recording
            configuration.options.recording.mounts = ["/live"]
        }
        configuration.options.trustedProxies = trusted
        configuration.sourceCatchUp = catchUp
        configuration.control = ControlPlane(control, loop: loop, logger: log.logger)
        await configuration.control?.start()
        return try StationServer.start(configuration, address: .loopback(port: 0), loop: loop, logger: log.logger)
    }

    /// `GET path` with Basic `user:password`; the whole answer.
    func ask(_ server: StationServer, _ path: String, user: String = "source", password: String) async throws -> String {
        let peer = try await TestPeer.connect(to: server.address, on: loop)
        await peer.send("GET \(path) HTTP/1.0\r\nAuthorization: Basic \(Base64.encode(Array("\(user):\(password)".utf8)))\r\n\r\n")
        _ = await eventually { peer.closed.value }
        return peer.text
    }

    /// Whether the source was let in (`100 Continue`): generous, since its key goes to the application first, and a
    /// busy CI run has kept the shared loop from it for over 3 s.
    func published(_ peer: TestPeer) async -> Bool {
        await peer.waitFor(timeout: .seconds(15)) { String(decoding: $0, as: UTF8.self).hasPrefix("HTTP/1.1 100") }
    }

    @Test(arguments: [true, false])
    func keyVerification_ToldTheSourcesAddress_TheForwardedOneOnlyBehindATrustedProxy(trusting: Bool) async throws {
        let app = try App(keys: ["key"], on: loop)
        let server = try await server(app: app, trusted: trusting ? TrustedProxies(["127.0.0.1"]) : nil)
        defer { server.close() }
        // A source behind nginx (on 127.0.0.1): the address it came from is in X-Forwarded-For.
        let source = try await TestPeer.connect(to: server.address, on: loop)
        await source.send("PUT /live HTTP/1.1\r\nHost: x\r\nAuthorization: Basic \(Base64.encode(Array("source:key".utf8)))\r\n"
            + "Content-Type: audio/mpeg\r\nX-Forwarded-For: 203.0.113.7\r\nExpect: 100-continue\r\n\r\n")
        #expect(await published(source))
        let asked = try #require(app.upstream.requests.value.first { $0.headers["x-streaming-key"] == "key" })
        // Behind a trusted proxy, the source's own address; else the peer's, whatever a header claims.
        #expect(asked.headers["x-user-ip"] == (trusting ? "203.0.113.7" : "127.0.0.1"), "\(asked.headers)")
    }

    @Test func hlsLive_IsAnnounced_OnceTheLivePlaylistAnswers() async throws {
        let app = try App(keys: ["key"], on: loop)
        let server = try await server(app: app, events: app.url("/events"), hlsTarget: 1)
        let source = try await station.source(server, mount: "/live", password: "key")
        #expect(await published(source))
        await station.sendPaced(source, StationServerTests.silentFrames(30))  // 0.8 s: not three target durations
        #expect(await eventually { app.streamTypes == ["ICY-LIVE"] })
        try await Task.sleep(for: .milliseconds(300))
        #expect(app.streamTypes == ["ICY-LIVE"], "no HLS-LIVE while the playlist answers 503")
        #expect(try await ask(server, "/live/index.m3u8", password: "key").contains(" 503 Service Unavailable"))
        await station.sendPaced(source, StationServerTests.silentFrames(200))  // 5.2 s more
        #expect(await eventually(timeout: .seconds(5)) { app.streamTypes == ["ICY-LIVE", "HLS-LIVE"] }, "\(app.streamTypes)")
        #expect(try await ask(server, "/live/index.m3u8", password: "key").contains(" 200 OK"))
        server.close()
    }

    @Test("Each recording of a mount recorded anyway is announced under the stream ID of the session it holds")
    func recordingsOfARecordedMount_CarryTheirSessionsStreamID() async throws {
        let app = try App(keys: ["key"], on: loop)
        let server = try await server(app: app, events: app.url("/events"), hlsTarget: 1, recording: temporaryDirectory("session-ids"))
        for session in 1...2 {
            let source = try await station.source(server, mount: "/live", password: "key")
            #expect(await published(source))
            await station.sendPaced(source, StationServerTests.silentFrames(60))  // 1.6 s
            await source.close()
            #expect(await eventually(timeout: .seconds(15)) { app.streamTypes.filter { $0 == "HLS-VOD" }.count == session },
                    "\(app.streamTypes)")
        }
        let available = app.upstream.requests.value.filter { $0.headers["x-event-type"] == "stream-available" }
        let live = available.filter { $0.headers["x-stream-type"] == "ICY-LIVE" }.compactMap { $0.headers["x-streaming-id"] }
        let recorded = available.filter { $0.headers["x-stream-type"] == "HLS-VOD" }.compactMap { $0.headers["x-streaming-id"] }
        #expect(live.count == 2 && Set(live).count == 2)
        #expect(recorded == live, "each file under its own session's ID: \(recorded) vs \(live)")
        server.close()
        await app.upstream.close()
    }

    @Test func titles_AreSetWithTheLiveSessionsKey_OnItsMountOnly() async throws {
        let app = try App(keys: ["key-one", "key-two"], on: loop)
        let server = try await server(app: app)
        let one = try await station.source(server, mount: "/one", password: "key-one")
        let two = try await station.source(server, mount: "/two", password: "key-two")
        #expect(await published(one))
        #expect(await published(two))
        await station.sendAudio(one, StationServerTests.silentFrames(10))
        let title = "mode=updinfo&song=Blue+in+Green"
        #expect(try await ask(server, "/admin/metadata?mount=/one&\(title)", password: "key-one").hasPrefix("HTTP/1.0 200 OK"))
        #expect(try await ask(server, "/admin/metadata?mount=/one&\(title)", user: "admin", password: "adminpw").hasPrefix("HTTP/1.0 200 OK"))
        #expect(try await ask(server, "/admin/metadata?mount=/one&\(title)", password: "key-two").hasPrefix("HTTP/1.0 401"),
                "another mount's key sets no title here")
        #expect(try await ask(server, "/admin/metadata?mount=/one&\(title)", password: "key-on").hasPrefix("HTTP/1.0 401"))
        #expect(try await ask(server, "/admin/metadata?mount=/one&\(title)", password: "").hasPrefix("HTTP/1.0 401"))
        await station.sendAudio(one, StationServerTests.silentFrames(20))
        let distributor = try #require(await loop.submit { server.table.mount(at: "/one")?.distributor })
        #expect(await eventually { await distributor.stat().context?.title?.streamTitle == "Blue in Green" })
        // Once the session is over, its key is worth nothing here.
        await one.close()
        #expect(await eventually { await loop.submit { server.table.mount(at: "/one")?.source == nil } })
        #expect(try await ask(server, "/admin/metadata?mount=/one&\(title)", password: "key-one").hasPrefix("HTTP/1.0 401"))
        await two.close()
        server.close()
        await app.upstream.close()
    }

    @Test func refusedSources_OnRandomMounts_LeaveNoMountBehind() async throws {
        let app = try App(keys: ["good"], on: loop)
        let log = StationServerTests.Log()
        let server = try await server(app: app, log: log)
        for number in 0..<20 {
            let intruder = try await station.source(server, mount: "/random-\(number)", password: "guess-\(number)")
            // A key check is a call to the application: on a machine busy with the whole suite, give it time.
            #expect(await eventually(timeout: .seconds(15)) { intruder.closed.value })
            #expect(intruder.text.hasPrefix("HTTP/1.0 403"), "\(intruder.text)")
        }
        #expect(await loop.submit { server.table.all.count } == 0)
        let status = try await ask(server, "/status.json", password: "")
        #expect(status.contains("\"source\":[]"), "\(status)")
        let admitted = try await station.source(server, mount: "/good", password: "good")
        #expect(await published(admitted))
        #expect(await loop.submit { server.table.all.map(\.path) } == ["/good"])
        await admitted.close()
        server.close()
        await app.upstream.close()
    }

    @Test("A reconnecting source whose key the application refuses leaves the silent live source on the air: only an admitted one takes the mount over")
    func aReconnectingSourceWithARefusedKey_DoesNotReplaceTheLiveOne() async throws {
        let app = try App(keys: ["good"], on: loop)
        let log = StationServerTests.Log()
        let server = try await server(app: app, log: log)
        defer { server.close() }
        // Its password is its credential; its key, `?key=`, is what the application verifies.
        let live = try await station.source(server, mount: "/live?key=good", password: "pw")
        #expect(await published(live))
        await station.sendAudio(live, StationServerTests.silentFrames(20))
        #expect(await eventually(timeout: .seconds(10)) { await loop.submit { server.table.mount(at: "/live")?.source != nil } })
        try await Task.sleep(for: .milliseconds(2_200))  // silent for longer than a takeover needs
        let refused = try await station.source(server, mount: "/live?key=revoked", password: "pw")
        #expect(await eventually(timeout: .seconds(15)) { refused.closed.value })
        #expect(refused.text.hasPrefix("HTTP/1.0 403"), "\(refused.text.prefix(60))")
        #expect(!live.closed.value, "the live source keeps its mount")
        #expect(!log.contains("replaced by"), "\(log.lines.value.suffix(5))")
        let again = try await station.source(server, mount: "/live?key=good", password: "pw")
        #expect(await published(again), "an admitted one takes it over: \(again.text.prefix(60))")
        #expect(await eventually(timeout: .seconds(5)) { live.closed.value })
        #expect(log.contains("ended: replaced by 127.0.0.1:"), "\(log.lines.value.suffix(5))")
        await again.close()
        await app.upstream.close()
    }

    @Test("A ?key= is read as a token, as an SRT stream ID's: its escapes decoded, a + kept (a base64 key's), not made a space")
    func aQueryKey_KeepsItsPlus() async throws {
        let app = try App(keys: ["ab+c/d="], on: loop)
        let server = try await server(app: app)
        defer { server.close() }
        let source = try await TestPeer.connect(to: server.address, on: loop)
        await source.send("PUT /live?key=ab+c%2Fd%3D HTTP/1.1\r\nHost: x\r\nContent-Type: audio/mpeg\r\nExpect: 100-continue\r\n\r\n")
        #expect(await published(source), "\(source.text.prefix(60))")
        #expect(app.upstream.requests.value.first?.headers["x-streaming-key"] == "ab+c/d=")
        await source.close()
        await app.upstream.close()
    }

    @Test("A source whose Basic password is Latin-1, not UTF-8 (pass\\xE9), is asked about as passé, not challenged as one that gave none")
    func aLatin1Password_IsReadAsLatin1() async throws {
        let app = try App(keys: ["passé"], on: loop)
        let server = try await server(app: app)
        defer { server.close() }
        let source = try await TestPeer.connect(to: server.address, on: loop)
        await source.send("PUT /live HTTP/1.1\r\nHost: x\r\nAuthorization: Basic \(Base64.encode(Array("source:pass".utf8) + [0xE9]))\r\n"
            + "Content-Type: audio/mpeg\r\nExpect: 100-continue\r\n\r\n")
        #expect(await published(source), "\(source.text.prefix(60))")
        #expect(app.upstream.requests.value.first?.headers["x-streaming-key"] == "passé")
        await source.close()
        await app.upstream.close()
    }

    @Test("A source whose key holds control bytes (its password, or ?key=) is refused 403 without asking the application, in one line naming the mount, never the key")
    func aKeyWithControlBytes_IsRefused_TheApplicationNotAsked() async throws {
        let app = try App(keys: ["goodctl"], on: loop)
        let log = StationServerTests.Log()
        let server = try await server(app: app, log: log)
        defer { server.close() }
        let byPassword = try await station.source(server, mount: "/m", password: "good\u{1}ctl")
        let byQuery = try await station.source(server, mount: "/q?key=good%01ctl", password: "goodctl")
        for source in [byPassword, byQuery] {
            #expect(await eventually(timeout: .seconds(15)) { source.closed.value })
            #expect(source.text.hasPrefix("HTTP/1.0 403"), "\(source.text)")
            #expect(source.text.contains("\r\n\r\nThe stream key was not accepted for \(source === byPassword ? "/m" : "/q")."), "\(source.text)")
        }
        for mount in ["/m", "/q"] {
            #expect(log.lines.value.count { $0.contains("refused on \(mount): key not accepted, the key holds control characters") } == 1, "\(log.lines.value)")
        }
        #expect(!log.lines.value.contains { $0.contains("ctl") }, "never the key: \(log.lines.value)")
        #expect(app.upstream.requests.value.isEmpty, "the application was not asked: \(app.upstream.requests.value)")
        await app.upstream.close()
    }

    /// `curl -T` sends its body at once, not waiting for `100 Continue`: audio sits unread before its hang-up, which
    /// the server sees all the same.
    @Test("A source that hangs up while its key is verified — with audio sent after its request or not — is never announced",
          arguments: [false, true])
    func aSourceThatHangsUpWhileItsKeyIsVerified_IsNeverAnnounced(sentAudio: Bool) async throws {
        let app = try App(keys: ["key"], verifying: .seconds(sentAudio ? 2 : 4), on: loop)
        let log = StationServerTests.Log()
        let server = try await server(app: app, events: app.url("/events"), log: log)
        let source = try await station.source(server, mount: "/live", password: "key")
        if sentAudio { await station.sendAudio(source, StationServerTests.silentFrames(40)) }
        #expect(await eventually(timeout: .seconds(15)) { app.upstream.requests.value.contains { $0.path == "/verify" } })
        await source.close()
        #expect(await eventually(timeout: .seconds(15)) { log.contains("left before it was admitted") }, "\(log.lines.value)")
        try await Task.sleep(for: .milliseconds(300))
        #expect(app.events.isEmpty, "no stream-available, no stream-closed: \(app.events)")
        #expect(await loop.submit { server.table.all.count } == 0, "no mount made")
        server.close()
        await app.upstream.close()
    }

    @Test("A source let in by its key that then sends no audio frames is never said to be available, nor closed")
    func anAdmittedSourceThatSendsGarbage_IsNeverAnnounced() async throws {
        let app = try App(keys: ["key"], on: loop)
        let log = StationServerTests.Log()
        let server = try await server(app: app, events: app.url("/events"), log: log)
        let source = try await station.source(server, mount: "/live", password: "key")
        #expect(await published(source))
        #expect(app.events.isEmpty, "not on admission: \(app.events)")
        var random = SystemRandomNumberGenerator()
        await source.send(bytes: (0..<8192).map { _ in UInt8.random(in: 0...0xFE, using: &random) })
        #expect(await eventually(timeout: .seconds(15)) { log.contains("on /live ended") }, "\(log.lines.value.suffix(3))")
        try await Task.sleep(for: .milliseconds(300))
        #expect(app.events.isEmpty, "no stream-available, no stream-closed: \(app.events)")

        // The next source of the mount, with frames, is announced and closed as ever.
        let good = try await station.source(server, mount: "/live", password: "key")
        #expect(await published(good))
        await station.sendPaced(good, StationServerTests.silentFrames(10))
        #expect(await eventually(timeout: .seconds(15)) { app.events.map(\.kind) == ["stream-available"] }, "\(app.events)")
        await good.close()
        #expect(await eventually(timeout: .seconds(15)) { app.events.map(\.kind) == ["stream-available", "stream-closed"] }, "\(app.events)")
        server.close()
        await app.upstream.close()
    }

    @Test func endingTheSources_TellsTheApplicationStreamClosed() async throws {
        let app = try App(keys: ["key"], on: loop)
        let server = try await server(app: app, events: app.url("/events"))
        let source = try await station.source(server, mount: "/live", password: "key")
        #expect(await published(source))
        await station.sendPaced(source, StationServerTests.silentFrames(10))
        #expect(await eventually(timeout: .seconds(15)) { app.events.contains { $0.kind == "stream-available" } })
        let id = try #require(app.events.first?.id)
        #expect(!app.events.contains { $0.kind == "stream-closed" })
        await server.endSources()
        #expect(await eventually(timeout: .seconds(15)) { app.events.contains { $0 == ("stream-closed", id) } }, "\(app.events)")
        #expect(await eventually { source.closed.value }, "the source is disconnected")
        await app.upstream.close()
    }

    @Test("An application whose 200 carries a page (5,000 bytes) admits the key, and has each event delivered once: only the status counts")
    func anApplicationsLongAnswers_AdmitAndDeliverOnce() async throws {
        let app = try App(keys: ["key"], bodyBytes: 5_000, on: loop)
        let server = try await server(app: app, events: app.url("/events"))
        let source = try await station.source(server, mount: "/live", password: "key")
        #expect(await published(source))
        await station.sendPaced(source, StationServerTests.silentFrames(10))
        await server.endSources()
        #expect(await eventually(timeout: .seconds(15)) { app.events.map(\.kind) == ["stream-available", "stream-closed"] }, "\(app.events)")
        try await Task.sleep(for: .seconds(1))  // a re-send would come 0.5 s after a failure
        #expect(app.events.count == 2, "\(app.events)")
        await app.upstream.close()
    }

    @Test func finishing_SendsWhatIsLeft_WhileTheApplicationAnswers() async throws {
        let app = try App(keys: [], on: loop)
        let queue = EventQueue<StreamEvent>(url: app.url("/events"), auth: nil, loop: loop)
        await queue.start()
        queue.post(StreamEvent(channel: "live", streamID: "s1", kind: .closed))
        await queue.finish(before: .now + .seconds(20))  // returns as soon as it is sent; a busy CI run may take seconds
        #expect(app.events.map(\.id) == ["s1"], "the event was sent before finish returned")
        #expect(await queue.undelivered().isEmpty)
        await queue.stop()
        await app.upstream.close()
    }

    @Test("Events sent while the process stops leave the spool empty: the next start does not send them again")
    func finishing_AfterSendingAll_LeavesNothingInTheSpool() async throws {
        // The application takes 0.5 s: the spool is written with the event meanwhile, which is then sent.
        let app = try App(keys: [], receiving: .milliseconds(500), on: loop)
        let spool = "/tmp/casty-spool-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { unlink(spool) }
        let queue = EventQueue<StreamEvent>(url: app.url("/events"), auth: nil, spool: spool, loop: loop)
        await queue.start()
        queue.post(StreamEvent(channel: "live", streamID: "s1", kind: .closed))
        await queue.finish(before: .now + .seconds(20))
        EventSpool.flush()  // what Shutdown does next; the process exits then
        #expect(app.events.map(\.id) == ["s1"])
        let left = String(decoding: FileWriter.contents(of: spool) ?? [], as: UTF8.self).split(separator: "\n")
        #expect(left.compactMap(StreamEvent.init(spoolLine:)).isEmpty, "sent, yet spooled for the next start: \(left)")
        await queue.stop()
        await app.upstream.close()
    }

    /// A started event queue with a spool file of its own, whose application is down: a port that refuses connections
    /// (``refusingPort``). The caller removes the spool.
    func queueWithTheApplicationDown() async throws -> (queue: EventQueue<StreamEvent>, spool: String, log: StationServerTests.Log) {
        let url = StreamURL(host: "127.0.0.1", port: refusingPort, path: "/events")
        let spool = "/tmp/casty-spool-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let log = StationServerTests.Log()
        let queue = EventQueue<StreamEvent>(url: url, auth: nil, spool: spool, loop: loop, logger: log.logger)
        await queue.start()
        return (queue, spool, log)
    }

    @Test func finishing_WithTheApplicationDown_SpoolsTheEvents_AtOnce() async throws {
        let (queue, spool, log) = try await queueWithTheApplicationDown()
        defer { unlink(spool) }
        queue.post(StreamEvent(channel: "live", streamID: "s1", kind: .available, streamType: "ICY-LIVE"))
        // Generous: a busy CI run has kept the shared loop from the first attempt for over 3 s.
        #expect(await eventually(timeout: .seconds(15)) { log.contains("attempt 1") }, "the application was found down")
        queue.post(StreamEvent(channel: "live", streamID: "s1", kind: .closed))
        let started = ContinuousClock.now
        await queue.finish(before: .now + .seconds(10))
        EventSpool.flush()
        #expect(ContinuousClock.now - started < .seconds(2), "a failing application is not waited for")
        let lines = String(decoding: FileWriter.contents(of: spool) ?? [], as: UTF8.self).split(separator: "\n")
        #expect(lines.compactMap(StreamEvent.init(spoolLine:)).map(\.kind) == [.available, .closed], "\(lines)")
        #expect(log.contains("2 not sent before the process stopped; kept in \(spool)"))
        await queue.stop()
    }

    @Test("A spool line that is no event (edited by hand, cut short) is said when the spool is read, not dropped without a word")
    func unreadableSpoolLines_AreSaid() async throws {
        let spool = "/tmp/casty-spool-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { unlink(spool) }
        let good = StreamEvent(channel: "live", streamID: "s1", kind: .available, streamType: "ICY-LIVE").spoolLine
        try FileWriter.replace(spool, with: Array("\(good)\ngarbage\n\(good.prefix(10))\n\n".utf8))
        let log = StationServerTests.Log()
        let queue = EventQueue<StreamEvent>(url: StreamURL(host: "127.0.0.1", port: 9, path: "/events"), auth: nil, spool: spool,
                                            loop: loop, logger: log.logger)
        await queue.start()
        #expect(log.contains("1 left by the last run"), "\(log.lines.value)")
        #expect(log.contains("2 lines of \(spool) are no event it wrote (edited, or cut short), and are dropped (lines 2, 3)"),
                "\(log.lines.value)")
        await queue.stop()
    }

    @Test("Every line of the spool and of the live sessions file ends with a line break, the last too: a line appended by hand is read as one of its own; a file of an earlier Casty, without the last one, reads the same")
    func spoolLines_EachEndWithALineBreak() async throws {
        let (queue, spool, log) = try await queueWithTheApplicationDown()
        defer { unlink(spool); unlink(spool + ".live") }
        let events = ["one", "two", "three"].map { StreamEvent(channel: $0, streamID: "s1", kind: .available, streamType: "ICY-LIVE") }
        queue.post(events[0])
        queue.post(events[1])
        let written: @Sendable () -> String = { String(decoding: FileWriter.contents(of: spool) ?? [], as: UTF8.self) }
        #expect(await eventually(timeout: .seconds(10)) { written() == events[0].spoolLine + "\n" + events[1].spoolLine + "\n" },
                "\(written().debugDescription)")
        await queue.stop()
        // An operator appends an event by hand.
        let file = try FileWriter.openForAppending(spool)
        try FileWriter.write(file, Array((events[2].spoolLine + "\n").utf8), path: spool)
        close(file)
        let again = EventQueue<StreamEvent>(url: StreamURL(host: "127.0.0.1", port: refusingPort, path: "/events"), auth: nil, spool: spool,
                                            loop: loop, logger: log.logger)
        await again.start()
        #expect(log.contains("3 left by the last run"), "\(log.lines.value)")
        #expect(!log.contains("dropped"), "\(log.lines.value)")
        await again.stop()
        // A spool of an earlier Casty: no line break after its last line.
        try FileWriter.replace(spool, with: Array((events[0].spoolLine + "\n" + events[1].spoolLine).utf8))
        let earlier = EventQueue<StreamEvent>(url: StreamURL(host: "127.0.0.1", port: refusingPort, path: "/events"), auth: nil, spool: spool,
                                              loop: loop, logger: log.logger)
        await earlier.start()
        #expect(await earlier.undelivered().map(\.channel) == ["one", "two"])
        await earlier.stop()
        // The live sessions file too.
        let live = LiveSessions(spool: spool)
        live.note(events[0])
        live.note(events[1])
        EventSpool.flush()
        let sessions = String(decoding: FileWriter.contents(of: spool + ".live") ?? [], as: UTF8.self)
        #expect(sessions == [events[0].spoolLine, events[1].spoolLine].sorted().joined(separator: "\n") + "\n", "\(sessions.debugDescription)")
        EventSpool.flush()
    }

    @Test("A file with lines, none of them an event Casty wrote (a config file, random bytes), is no spool; one with a line of its own is one, and so is an empty or missing file")
    func aFileWithNoEventLine_IsNoSpool() throws {
        let path = "/tmp/casty-spool-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { unlink(path) }
        #expect(throws: Never.self) { try EventQueue<StreamEvent>.check(spool: path) }
        let config = "port 8000\naccept-all\n\nsource-password x\n"
        try FileWriter.replace(path, with: Array(config.utf8))
        let error = #expect(throws: NotASpoolError.self) { try EventQueue<StreamEvent>.check(spool: path) }
        #expect(error?.lines == 3)
        #expect(String(decoding: FileWriter.contents(of: path) ?? [], as: UTF8.self) == config, "read, not changed")
        try FileWriter.replace(path, with: (0..<100_000).map { _ in UInt8.random(in: 0...255) })
        #expect(throws: NotASpoolError.self) { try EventQueue<StreamEvent>.check(spool: path) }
        let good = StreamEvent(channel: "live", streamID: "s1", kind: .closed).spoolLine
        try FileWriter.replace(path, with: Array("garbage\n\(good)\n".utf8))
        #expect(throws: Never.self) { try EventQueue<StreamEvent>.check(spool: path) }
        try FileWriter.replace(path, with: Array(" \n\n".utf8))
        #expect(throws: Never.self) { try EventQueue<StreamEvent>.check(spool: path) }
    }

    @Test("An event queued while the sender waits to try again is in the spool at once, not at the next attempt: a kill -9 loses it not")
    func anEventQueuedWhileWaiting_IsSpooledAtOnce() async throws {
        let (queue, spool, log) = try await queueWithTheApplicationDown()
        defer { unlink(spool) }
        queue.post(StreamEvent(channel: "first", streamID: "s1", kind: .available, streamType: "ICY-LIVE"))
        #expect(await eventually(timeout: .seconds(15)) { log.contains("attempt 3") }, "the sender waits 2 s before its fourth attempt")
        queue.post(StreamEvent(channel: "second", streamID: "s2", kind: .available, streamType: "ICY-LIVE"))
        // Written off the loop within a tenth of a second; the next attempt is two seconds away.
        #expect(await eventually(timeout: .seconds(1.5)) {
            String(decoding: FileWriter.contents(of: spool) ?? [], as: UTF8.self).split(separator: "\n")
                .compactMap(StreamEvent.init(spoolLine:)).map(\.channel) == ["first", "second"]
        }, "\(String(decoding: FileWriter.contents(of: spool) ?? [], as: UTF8.self))")
        await queue.stop()
    }

    @Test("An event delivered after failures says so in one line, after the lines of the failed attempts")
    func eventDeliveredAfterFailures_IsLogged() async throws {
        let calls = Locked(0)
        let app = try FakeUpstream(on: loop) { connection, _ in
            calls.update { $0 += 1 }
            connection.write(Array("HTTP/1.1 \(calls.value == 1 ? "500 Oops" : "200 OK")\r\nContent-Length: 0\r\n\r\n".utf8))
            connection.close()
        }
        let log = StationServerTests.Log()
        let url = StreamURL(host: "127.0.0.1", port: app.listener.localAddress.port, path: "/events")
        let queue = EventQueue<StreamEvent>(url: url, auth: nil, loop: loop, logger: log.logger)
        await queue.start()
        queue.post(StreamEvent(channel: "live", streamID: "s1", kind: .closed))
        #expect(await eventually(timeout: .seconds(10)) { log.contains("delivered at attempt 2") }, "\(log.lines.value)")
        #expect(log.contains("application answered 500; attempt 1, trying again"))
        await queue.stop()
        await app.close()
    }

    @Test("A failure of another kind than the last one logged is logged at any attempt; the same failure again stays quiet past the third")
    func eventFailuresOfAnotherKind_AreLogged_PastTheThirdAttempt() async throws {
        let calls = Locked(0)
        let app = try FakeUpstream(on: loop) { connection, _ in
            calls.update { $0 += 1 }
            switch calls.value {
            case 1...3: connection.write(Array("HTTP/1.1 500 Oops\r\nContent-Length: 0\r\n\r\n".utf8))
            case 4: connection.write([0, 1, 2] + Array(" not http\r\n\r\n".utf8))
            case 5...6: break  // closed without a word
            default: connection.write(Array("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n".utf8))
            }
            connection.close()
        }
        let log = StationServerTests.Log()
        let url = StreamURL(host: "127.0.0.1", port: app.listener.localAddress.port, path: "/events")
        // Quick retries (20 ms, doubling): seven attempts in a few seconds; a long timeout, which a loaded run's answers
        // must come within.
        let queue = EventQueue<StreamEvent>(url: url, auth: nil, timeout: .seconds(30), firstRetry: .milliseconds(20), loop: loop,
                                            logger: log.logger)
        await queue.start()
        queue.post(StreamEvent(channel: "live", streamID: "s1", kind: .closed))
        #expect(await eventually(timeout: .seconds(20)) { log.contains("delivered at attempt 7") }, "\(log.lines.value)")
        let attempts = (1...7).filter { attempt in log.lines.value.contains { $0.contains("; attempt \(attempt), trying again") } }
        #expect(attempts == [1, 2, 3, 4, 5], "the 6th failed as the 5th: \(log.lines.value)")
        #expect(log.lines.value.contains { $0.contains("not an ICY or HTTP status line") && $0.contains("attempt 4,") }, "\(log.lines.value)")
        #expect(log.lines.value.contains { $0.contains("before its head ended; attempt 5,") }, "\(log.lines.value)")
        await queue.stop()
        await app.close()
    }

    @Test func listenerRemove_IsResent_UntilTheApplicationAnswers200() async throws {
        let calls = Locked(0)
        let app = try FakeUpstream(on: loop) { connection, _ in
            calls.update { $0 += 1 }
            let failing = calls.value <= 2
            connection.write(Array("HTTP/1.1 \(failing ? "500 Oops" : "200 OK")\r\nContent-Length: 0\r\n\r\n".utf8))
            connection.close()
        }
        var configuration = ControlPlane.Configuration()
        configuration.listenerAuthURL = StreamURL(host: "127.0.0.1", port: app.listener.localAddress.port, path: "/listener")
        let log = StationServerTests.Log()
        let control = ControlPlane(configuration, loop: loop, logger: log.logger)
        await control.start()
        control.listenerLeft(.init(server: "radio.example", port: 8000, client: 7, mount: "/live?token=t0k", ip: "192.0.2.7", agent: "mpg123",
                                   auth: BasicAuth(header: "Basic " + Base64.encode(Array("alice:s3cret".utf8))), started: .now))
        // Generous: the retries' backoff plus a busy CI run's delays.
        #expect(await eventually(timeout: .seconds(30)) { calls.value == 3 }, "500, 500, then 200: three calls")
        #expect(app.requests.value.allSatisfy { $0.method == .post && $0.headers["Content-Type"] == "application/x-www-form-urlencoded" })
        #expect(log.contains("listener authorization: listener_remove for 192.0.2.7 on /live: application answered 500; attempt 2"))
        #expect(!log.contains("s3cret") && !log.contains("t0k"), "no password, no token logged")
        // The third call's 200 reaches the queue a moment after the application counted the call.
        #expect(await eventually(timeout: .seconds(5)) { await control.listenerRemovals?.undelivered().isEmpty == true })
        try? await Task.sleep(for: .milliseconds(300))
        #expect(calls.value == 3, "answered 200, it is not sent again")
        await control.listenerRemovals?.stop()
        await app.close()
    }

    @Test func anEvent_AnsweredNoContent_IsDelivered_NotSentAgain() async throws {
        let app = try FakeUpstream(on: loop) { connection, _ in
            connection.write(Array("HTTP/1.1 204 No Content\r\n\r\n".utf8))
            connection.close()
        }
        var configuration = ControlPlane.Configuration()
        configuration.listenerAuthURL = StreamURL(host: "127.0.0.1", port: app.listener.localAddress.port, path: "/listener")
        let control = ControlPlane(configuration, loop: loop, logger: .silent)
        await control.start()
        control.listenerLeft(.init(server: "radio.example", port: 8000, client: 7, mount: "/live", ip: "192.0.2.7", agent: "mpg123",
                                   auth: nil, started: .now))
        #expect(await eventually(timeout: .seconds(10)) { await control.listenerRemovals?.undelivered().isEmpty == true })
        #expect(await eventually(timeout: .seconds(10)) { app.requests.value.count == 1 })
        try? await Task.sleep(for: .milliseconds(1_200))
        #expect(app.requests.value.count == 1, "a 204 is a success: the event is not sent again")
        await control.listenerRemovals?.stop()
        await app.close()
    }

    @Test func streamingServer_ReadsIPv6AndURLs() {
        let v6 = StreamingServer("[::1]:8000")
        #expect(v6?.host == "::1" && v6?.port == 8000 && v6?.id == "[::1]:8000" && v6?.ssl == false)
        let url = StreamingServer("http://[2001:db8::7]:18912/")
        #expect(url?.host == "2001:db8::7" && url?.port == 18912)
        let tls = StreamingServer("https://casty.example")
        #expect(tls?.host == "casty.example" && tls?.port == 443 && tls?.ssl == true && tls?.id == "casty.example:443")
        #expect(StreamingServer("10.0.0.2:9000")?.host == "10.0.0.2")
        #expect(StreamingServer("10.0.0.2:9000")?.port == 9000)
        #expect(StreamingServer("::1")?.host == "::1", "a bare IPv6 address has no port")
        #expect(StreamingServer("[::1]:port") == nil)
        #expect(StreamingServer("[::1") == nil)
        #expect(StreamingServer(":80") == nil)
    }

    @Test func streamingServer_ListsABranchOfSeveralMountsOnce() {
        let branches = StreamingServer.branches([
            ("/a", "10.0.0.2:9000"), ("/b", "10.0.0.2:9000"), ("/a", "[::2]:9000"), ("/b", "10.0.0.3:9000"), ("/a", "bad:x"),
        ])
        #expect(branches.map(\.id) == ["10.0.0.2:9000", "[::2]:9000", "10.0.0.3:9000"])
        #expect(branches.map(\.mounts) == [["/a", "/b"], ["/a"], ["/b"]])
        #expect(branches[1].json.encoded.contains("\"ip\":\"::2\",\"port\":9000"), "\(branches[1].json.encoded)")
    }
}

/// A run killed with sessions live: its next start tells the application they closed.
extension PlatformServerTests {
    @Test("The last run's live sessions leave their file only once their stream-closed is in the spool: a start that fails (a port in use) or is killed right after loses none")
    func lastRunsSessions_AreSpooledBeforeTheirFileIsEmptied() async throws {
        let spool = "/tmp/casty-spool-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { unlink(spool); unlink(spool + ".live") }
        let line = StreamEvent(channel: "x", streamID: "abcdef0123", kind: .available, streamType: "ICY-LIVE").spoolLine
        try FileWriter.replace(spool + ".live", with: Array((line + "\n").utf8), mode: 0o600, sync: true)
        var configuration = ControlPlane.Configuration()
        configuration.eventCallbackURL = StreamURL("http://127.0.0.1:9/events")  // the application is down
        configuration.eventSpool = spool
        let plane = ControlPlane(configuration, loop: loop)
        await plane.start()
        // What a process that exits now (its port in use) leaves on disk, once the writes queued so far are done.
        EventSpool.flush()
        let spooled = String(decoding: FileWriter.contents(of: spool) ?? [], as: UTF8.self)
        #expect(spooled.contains("stream-closed") && spooled.contains("abcdef0123"), "spool: \(spooled)")
        #expect((FileWriter.contents(of: spool + ".live") ?? [1]).isEmpty, "the sessions are in the spool now, not twice")
        await plane.events?.stop()
        EventSpool.flush()
    }

    @Test("Sessions live when a run was killed are closed at the next start: stream-closed, after what the spool held")
    func sessionsLiveWhenKilled_AreClosedAtTheNextStart() async throws {
        let spool = "/tmp/casty-spool-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { unlink(spool); unlink(spool + ".live") }
        let app = try App(keys: [], on: loop)
        var configuration = ControlPlane.Configuration()
        configuration.eventCallbackURL = app.url("/events")
        configuration.eventSpool = spool
        // The killed run: two sessions became available (one recorded), one of them closed; then nothing more.
        let killed = ControlPlane(configuration, loop: loop)
        await killed.start()
        killed.post(StreamEvent(channel: "live", streamID: "s1", kind: .available, streamType: "ICY-LIVE"))
        killed.post(StreamEvent(channel: "live", streamID: "s1", kind: .available, streamType: "HLS-LIVE"))
        killed.post(StreamEvent(channel: "live", streamID: "s1", kind: .available, streamType: "HLS-VOD", indexFile: "a.m3u8"))
        killed.post(StreamEvent(channel: "other", streamID: "s2", kind: .available, streamType: "ICY-LIVE"))
        killed.post(StreamEvent(channel: "other", streamID: "s2", kind: .closed))
        #expect(await eventually(timeout: .seconds(10)) { app.events.count == 5 })
        // Delivered, so no longer in the spool (rewritten within 0.1 s): the next run has nothing of them to re-send.
        let spoolEmpty: @Sendable () -> Bool = { (FileWriter.contents(of: spool) ?? [1]).isEmpty }
        #expect(await eventually(timeout: .seconds(10)) { spoolEmpty() })
        await killed.events?.stop()
        EventSpool.flush()

        let log = StationServerTests.Log()
        let next = ControlPlane(configuration, loop: loop, logger: log.logger)
        await next.start()
        let closings: @Sendable () -> [String] = {
            app.upstream.requests.value.filter { $0.headers["x-event-type"] == "stream-closed" }
                .map { "\($0.headers["x-streaming-id"] ?? "-") \($0.headers["x-stream-type"] ?? "live")" }
        }
        #expect(await eventually(timeout: .seconds(10)) { closings().count == 2 }, "\(app.events)")
        try await Task.sleep(for: .milliseconds(300))
        #expect(closings().sorted() == ["s1 live", "s2 live"],
                "its live outputs closed as one session (s2 closed itself); its finished recording is no live session: \(closings())")
        #expect(log.contains("events: the last run ended without closing 1 live session"), "\(log.lines.value)")
        #expect(await eventually(timeout: .seconds(10)) { spoolEmpty() })
        await next.events?.stop()
        EventSpool.flush()
        // Told once: a third start has nothing to close.
        let third = ControlPlane(configuration, loop: loop)
        await third.start()
        try await Task.sleep(for: .milliseconds(300))
        #expect(closings().count == 2, "\(closings())")
        await third.events?.stop()
    }
}
