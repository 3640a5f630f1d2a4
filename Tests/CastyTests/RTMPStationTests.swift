@testable import CastyWire
import Icy
import Testing

@testable import Casty
@testable import CastyNet

/// RTMP publishers on a station server, over real loopback sockets: the same admission as an Icecast source,
/// audio to the mount's listeners, refusals, deadlines, and the session's end closing the connection.
extension StationServerTests {
    /// An RTMP publisher written with the wire types: a handshake, then commands and audio messages.
    struct RTMPPeer {
        let peer: TestPeer
        var publisher = RTMPServerMachineTests.Publisher()

        /// Connects and says everything up to `publish`; the server's answers arrive in ``peer`` (unless it is not
        /// `reading` them: a publisher that writes on before it reads, as ffmpeg does at its end).
        static func publish(_ server: StationServer, app: String = "live", key: String = "hackme", reading: Bool = true) async throws -> RTMPPeer {
            try await publish(server, appValue: .string(app), key: key, reading: reading)
        }

        /// Connects and says everything up to `publish`, its `connect`'s app the AMF0 value `appValue` (a string whose
        /// bytes are not UTF-8: ``AMF0Value/notUTF8(_:)``).
        static func publish(_ server: StationServer, appValue: AMF0Value, key: String = "hackme", reading: Bool = true) async throws -> RTMPPeer {
            let address = try #require(server.rtmpAddress)
            var rtmp = RTMPPeer(peer: try await TestPeer.connect(to: address, on: .shared, reading: reading))
            var bytes = [3] + [UInt8](repeating: 7, count: 1536) + [UInt8](repeating: 0, count: 1536)
            // As ffmpeg connects: its name in `flashVer`.
            bytes += rtmp.publisher.command("connect", [.object([
                AMF0Property("app", appValue), AMF0Property("flashVer", .string("FMLE/3.0 (compatible; Lavf61.7.100)")),
            ])])
            bytes += rtmp.publisher.command("createStream", [.null])
            bytes += rtmp.publisher.command("publish", [.null, .string(key), .string("live")])
            await rtmp.send(bytes)
            return rtmp
        }

        /// A server taking RTMP, logging to `log`, and a publisher of `/live` whose MP3 it has announced.
        static func publishingMP3(_ tests: StationServerTests, log: Log) async throws -> (server: StationServer, rtmp: RTMPPeer) {
            let server = try tests.server(log: log, rtmp: true)
            let rtmp = try await publish(server)
            #expect(await eventually { rtmp.statuses() == ["NetStream.Publish.Start"] })
            await rtmp.sendMP3(StationServerTests.silentFrames(12))
            #expect(await eventually { log.contains("publishing /live (RTMP, audio/mpeg") })
            return (server, rtmp)
        }

        func send(_ bytes: [UInt8]) async {
            let connection = peer.connection
            await EventLoop.shared.submit { _ = connection.write(bytes) }
        }

        /// The `code` of every `onStatus` the server sent so far.
        func statuses() -> [String] { onStatus("code") }

        /// The `description` of every `onStatus` the server sent so far: what an encoder shows its user.
        func descriptions() -> [String] { onStatus("description") }

        private func onStatus(_ field: String) -> [String] {
            let received = peer.received.value
            guard received.count > 3073 else { return [] }
            var reader = RTMPChunkReader()
            let messages = (try? reader.read(received[3073...])) ?? []
            return messages.compactMap { message in
                guard message.type == RTMPMessage.commandAMF0,
                      let values = try? AMF0Decoder.decodeAll(message.payload[...]), values.first?.string == "onStatus" else { return nil }
                return values.compactMap { $0[field]?.string }.first
            }
        }

        /// Sends a video message every 100 ms, as a scene without its audio device does, until the server closes the
        /// connection (10 s at most).
        func sendVideoUntilClosed() async throws {
            try await sendUntilClosed(publisher.message(RTMPMessage.video, [0x17, 1, 2, 3]))
        }

        /// Sends `message` every 100 ms until the server closes the connection (10 s at most) — from the loop
        /// itself, as a publisher's steady stream comes, so that a loaded test run, whose tasks may wait longer than
        /// the server's source timeout for a thread, does not make a pause the server would rightly take for silence.
        func sendUntilClosed(_ message: [UInt8]) async throws {
            let ticker = await keepSending(message)
            defer { ticker.cancel() }
            _ = await eventually(timeout: .seconds(10)) { peer.closed.value }
        }

        /// Sends `message` now and every 100 ms from the loop, until the ticker returned is cancelled.
        func keepSending(_ message: [UInt8]) async -> Ticker {
            let connection = peer.connection
            await EventLoop.shared.submit { _ = connection.write(message) }
            return Ticker(loop: .shared, every: .milliseconds(100)) { _ = connection.write(message) }
        }

        /// An `onMetaData` message (`@setDataFrame`) with `properties`, as ffmpeg and OBS send their titles.
        func metadata(_ properties: [AMF0Property]) -> [UInt8] {
            publisher.message(RTMPMessage.dataAMF0, AMF0Encoder.encode([.string("@setDataFrame"), .string("onMetaData"), .ecmaArray(properties)]))
        }

        /// MP3 frames as FLV audio messages, one frame each.
        func sendMP3(_ frames: [UInt8]) async {
            var bytes: [UInt8] = []
            for start in stride(from: 0, to: frames.count, by: 417) {
                bytes += publisher.message(RTMPMessage.audio, [0x2F] + frames[start..<min(start + 417, frames.count)])
            }
            await send(bytes)
        }
    }

    @Test func rtmpPublisher_WithTheSourcePassword_ListenersHearIt() async throws {
        let log = Log()
        let server = try server(log: log, rtmp: true)
        let rtmp = try await RTMPPeer.publish(server)
        #expect(await eventually { rtmp.statuses() == ["NetStream.Publish.Start"] })
        await rtmp.send(rtmp.publisher.message(RTMPMessage.video, [0x17, 1, 2, 3]))
        await rtmp.sendMP3(Self.silentFrames(20))
        #expect(await eventually { log.contains("publishing /live (RTMP, audio/mpeg") })
        let player = try await listener(server)
        #expect(await player.waitFor { $0.count > 4170 })
        await rtmp.sendMP3(Self.silentFrames(40))
        #expect(await player.waitFor { Self.silentFrameCount($0) >= 30 })
        let parsed = try #require(try player.parsed(segmentBytes: 4170))
        #expect(parsed.headers["Content-Type"] == "audio/mpeg")
        #expect(!log.lines.value.contains { $0.contains("hackme") }, "a key is never logged")
        let status = try await ask(server, "/status.json", admin: false)
        #expect(status.contains("\"rtmp\":{\"port\":\(server.rtmpAddress?.port ?? 0),\"connections\":1,\"publishing\":1"))
        #expect(status.contains("\"video_messages_ignored\":1"))
        // An Icecast source meets the same rules: the mount is in use — while the publisher sends (one silent for 2 s
        // would be taken for an encoder reconnecting, and the same credentials would take the mount).
        let feeding = Task {
            while !Task.isCancelled {
                await rtmp.sendMP3(Self.silentFrames(4))
                try? await Task.sleep(for: .milliseconds(100))
            }
        }
        defer { feeding.cancel() }
        let icecast = try await source(server)
        #expect(await icecast.waitFor(timeout: .seconds(15)) { String(decoding: $0, as: UTF8.self).hasPrefix("HTTP/1.0 403 Mountpoint in use") },
                "\(icecast.text.prefix(80))")
        server.close()
    }

    @Test("A publisher that unpublishes ends its session, and its deleteStream after FCUnpublish is read, not answered with a reset (ffmpeg's 'Broken pipe' at a clean end)")
    func rtmpPublisher_Unpublishing_EndsItsSession_AndTheConnectionClosesGently() async throws {
        let log = Log()
        let server = try server(log: log, rtmp: true)
        defer { server.close() }
        // A publisher that does not read, as ffmpeg writes deleteStream before it reads what came.
        var rtmp = try await RTMPPeer.publish(server, reading: false)
        await rtmp.sendMP3(Self.silentFrames(12))
        #expect(await eventually { log.contains("publishing /live (RTMP, audio/mpeg") })
        await rtmp.send(rtmp.publisher.command("FCUnpublish", [.null, .string("hackme")]))
        #expect(await eventually { log.contains("ended: it stopped publishing (FCUnpublish)") }, "\(log.lines.value.suffix(3))")
        #expect(!log.contains("unpublished"), "the end is said once, in the source's end line: \(log.lines.value.suffix(3))")
        try await Task.sleep(for: .milliseconds(300))
        await rtmp.send(rtmp.publisher.command("deleteStream", [.null, .number(1)]))
        try await Task.sleep(for: .milliseconds(500))
        #expect(rtmp.peer.closeError.value == nil, "\(String(describing: rtmp.peer.closeError.value))")
        await rtmp.peer.close()
    }

    @Test func rtmpPublisher_Refused_GetsAnErrorStatusAndIsClosed() async throws {
        let log = Log()
        let server = try server(log: log, rtmp: true)
        let wrong = try await RTMPPeer.publish(server, key: "wrong")
        #expect(await eventually { wrong.peer.closed.value })
        #expect(wrong.statuses() == ["NetStream.Publish.Unauthorized"])
        let unlisted = try await RTMPPeer.publish(server, app: "elsewhere")
        #expect(await eventually { unlisted.peer.closed.value })
        #expect(unlisted.statuses() == ["NetStream.Publish.BadName"])
        let icecast = try await source(server)
        #expect(await icecast.waitFor { String(decoding: $0, as: UTF8.self) == "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.0 200 OK\r\n\r\n" })
        // It sends: a source silent for 2 s would be taken over by a publisher with its credentials (an encoder
        // reconnecting), and a loaded run may take that long to get there.
        let feeding = keepFeeding(icecast)
        defer { feeding.cancel() }
        let busy = try await RTMPPeer.publish(server)
        #expect(await eventually { busy.peer.closed.value })
        #expect(busy.statuses() == ["NetStream.Publish.BadName"])
        #expect(log.lines.value.filter { $0.contains("(RTMP)") && $0.contains("refused") }.count == 3, "\(log.lines.value)")
        #expect(!icecast.closed.value, "the Icecast source publishes on")
        server.close()
    }

    @Test("A stream key pasted into the server URL too (OBS: Server rtmp://host/live/KEY, Stream Key KEY) is refused, the key never logged nor made a mount, and the line says how to set the server")
    func rtmpStreamKey_AlsoInTheServerURL_IsRefusedWithoutShowingIt() async throws {
        for mounts in [["/live"], nil] as [[String]?] {
            let log = Log()
            let server = try server(mounts: mounts, log: log, rtmp: true)
            defer { server.close() }
            let port = try #require(server.rtmpAddress?.port)
            let fix = "the server URL holds the stream key too: set the server to rtmp://host:\(port)/live, the key apart"
            let rtmp = try await RTMPPeer.publish(server, app: "live/hackme", key: "hackme")
            #expect(await eventually { rtmp.peer.closed.value })
            #expect(rtmp.statuses() == ["NetStream.Publish.BadName"], "\(String(describing: mounts))")
            #expect(rtmp.descriptions() == ["T" + fix.dropFirst() + "."], "\(rtmp.descriptions())")
            #expect(log.contains("refused on /live/… (RTMP): \(fix); answered NetStream.Publish.BadName"), "\(log.lines.value)")
            // The key the application verifies (`?key=`) is a secret as well.
            let queried = try await RTMPPeer.publish(server, app: "live/K1", key: "hackme?key=K1")
            #expect(await eventually { queried.peer.closed.value })
            #expect(queried.statuses() == ["NetStream.Publish.BadName"], "\(String(describing: mounts))")
            #expect(!log.lines.value.contains { $0.contains("hackme") || $0.contains("K1") }, "\(log.lines.value)")
            #expect(await loop.submit { server.table.mount(at: "/live/hackme") == nil && server.table.mount(at: "/live/K1") == nil })
        }
    }

    @Test("Refused publishers are logged in the port's refusals' budget, as refused Icecast sources: ten lines a window, then a sum")
    func rtmpRefusals_AreLoggedWithinTheRefusalsBudget() async throws {
        let log = Log()
        let server = try server(log: log, rtmp: true)
        defer { server.close() }
        for _ in 0..<12 {
            let guess = try await RTMPPeer.publish(server, key: "guess")
            #expect(await eventually { guess.peer.closed.value })
            #expect(guess.statuses() == ["NetStream.Publish.Unauthorized"], "each is still told")
        }
        #expect(log.lines.value.filter { $0.contains("refused on /live (RTMP)") }.count == 10, "\(log.lines.value)")
        await loop.submit { server.port.refusalLog.closeWindow() }  // the window's end, without waiting 10 s
        #expect(log.contains("2 more refusals in the last 10.0 seconds (not logged one by one)"), "\(log.lines.value.suffix(3))")
        let status = try await ask(server, "/status.json", admin: false)
        #expect(status.contains("\"refused\":12"), "all counted: \(status)")
    }

    /// An RTMP station server of any mount whose keys an application verifies, answering every key with `status`.
    func rtmpServerVerifyingKeys(answering status: String, log: Log) throws -> (StationServer, FakeUpstream) {
        let app = try FakeUpstream(on: loop) { connection, _ in
            connection.write(Array("HTTP/1.1 \(status)\r\nContent-Length: 0\r\n\r\n".utf8))
            connection.close()
        }
        let server = try server(mounts: nil, log: log, rtmp: true) { configuration in
            var control = ControlPlane.Configuration()
            control.keyVerificationURL = app.url
            configuration.control = ControlPlane(control, loop: loop)
        }
        return (server, app)
    }

    @Test("A stream key's ?key= is the key the application verifies, as an Icecast URL's and an SRT stream ID's; another query field is logged as not read, by name")
    func rtmpStreamKeysQuery_KeyIsVerified_OtherFieldsAreSaidNotRead() async throws {
        let log = Log()
        let (server, app) = try rtmpServerVerifyingKeys(answering: "403 Forbidden", log: log)
        defer { server.close() }
        let publisher = try await RTMPPeer.publish(server, app: "show", key: "NAME?token=S3CRET&key=K%2B1+2")
        #expect(await eventually(timeout: .seconds(10)) { publisher.peer.closed.value })
        #expect(app.requests.value.first?.headers["x-streaming-key"] == "K+1+2", "a + kept, as a base64 key holds it: \(app.requests.value)")
        #expect(log.contains("publishing /show: ?token= not read (of a stream key's query, Casty reads ?key= only)"), "\(log.lines.value)")
        #expect(!log.lines.value.contains { $0.contains("S3CRET") }, "\(log.lines.value)")
        await app.close()
    }

    @Test("An RTMP stream key with control bytes is refused without asking the application, as an Icecast source's")
    func rtmpStreamKeyWithControlBytes_IsRefused_TheApplicationNotAsked() async throws {
        let log = Log()
        let (server, app) = try rtmpServerVerifyingKeys(answering: "200 OK", log: log)
        defer { server.close() }
        for key in ["good\u{1}ctl", "name?key=good%01ctl"] {
            let publisher = try await RTMPPeer.publish(server, app: "show", key: key)
            #expect(await eventually(timeout: .seconds(10)) { publisher.peer.closed.value })
            #expect(publisher.statuses() == ["NetStream.Publish.Unauthorized"], "\(key.debugDescription)")
            #expect(publisher.descriptions() == ["The stream key was not accepted for /show."], "\(publisher.descriptions())")
        }
        #expect(log.lines.value.count { $0.contains("refused on /show (RTMP): key not accepted, the key holds control characters") } == 2,
                "\(log.lines.value)")
        #expect(!log.lines.value.contains { $0.contains("ctl") }, "never the key: \(log.lines.value)")
        #expect(app.requests.value.isEmpty, "the application was not asked")
        await app.close()
    }

    @Test("A publisher refused because the application could not be asked is told no more than that; one without a key is not sent to it")
    func rtmpPublisher_RefusedWhileTheApplicationIsDown_LearnsNothingOfIt() async throws {
        let log = Log()
        let server = try server(mounts: nil, log: log, rtmp: true) { configuration in
            var control = ControlPlane.Configuration()
            control.keyVerificationURL = StreamURL(host: "127.0.0.1", port: 1, path: "/verify?token=S3CRET")  // nothing listens
            configuration.control = ControlPlane(control, loop: loop)
        }
        let keyed = try await RTMPPeer.publish(server, app: "show", key: "some-key")
        #expect(await eventually(timeout: .seconds(10)) { keyed.peer.closed.value })
        #expect(keyed.statuses() == ["NetStream.Publish.Unauthorized"])
        #expect(keyed.descriptions() == ["The stream key could not be verified for /show now; try again shortly."], "\(keyed.descriptions())")
        #expect(log.contains("refused on /show (RTMP): key not verified, the application could not be asked"), "the log says why")
        let keyless = try await RTMPPeer.publish(server, app: "other", key: "")
        #expect(await eventually(timeout: .seconds(10)) { keyless.peer.closed.value })
        #expect(log.contains("refused on /other (RTMP): wrong or missing credentials; answered NetStream.Publish.Unauthorized"), "\(log.lines.value)")
        let leading = try await RTMPPeer.publish(server, app: "/slashed", key: "k")
        #expect(await eventually(timeout: .seconds(10)) { leading.peer.closed.value })
        #expect(log.contains("refused on /slashed (RTMP)"), "an app typed with its slash names the mount: \(log.lines.value)")
        server.close()
    }

    @Test("A second publisher of a mount whose first has been told to start, but has sent no audio yet, is refused at its publish")
    func secondRTMPPublisher_BeforeTheFirstsAudio_IsRefusedAtOnce() async throws {
        let server = try server(rtmp: true)
        let first = try await RTMPPeer.publish(server)
        #expect(await eventually { first.statuses() == ["NetStream.Publish.Start"] })
        let second = try await RTMPPeer.publish(server)
        #expect(await eventually { second.peer.closed.value })
        #expect(second.statuses() == ["NetStream.Publish.BadName"], "never told to start: \(second.statuses())")
        await first.sendMP3(Self.silentFrames(20))
        let player = try await listener(server)
        #expect(await player.waitFor { $0.count > 4170 }, "the first publishes")
        // Once it has left, the mount is free for the next.
        await first.peer.close()
        #expect(await eventually { await loop.submit { server.table.mount(at: "/live")?.source == nil } })
        let third = try await RTMPPeer.publish(server)
        #expect(await eventually { third.statuses() == ["NetStream.Publish.Start"] })
        await third.peer.close()
        // And one that leaves before sending any audio lets it go too.
        let fourth = try await RTMPPeer.publish(server)
        #expect(await eventually { fourth.statuses() == ["NetStream.Publish.Start"] })
        server.close()
    }

    @Test("A publisher sending AAC frames without their sequence header is dropped with a line that says so")
    func rtmpAACWithoutItsSequenceHeader_IsDroppedWithTheCauseNamed() async throws {
        let log = Log()
        // 3 s for the frames to arrive before the deadline, even on a loaded run.
        let server = try server(timeout: .seconds(3), log: log, rtmp: true)
        let rtmp = try await RTMPPeer.publish(server)
        #expect(await eventually { rtmp.statuses() == ["NetStream.Publish.Start"] })
        var frames: [UInt8] = []
        for _ in 0..<5 { frames += rtmp.publisher.message(RTMPMessage.audio, [0xAF, 1] + [UInt8](repeating: 0x21, count: 200)) }
        await rtmp.send(frames)
        #expect(await eventually(timeout: .seconds(8)) { rtmp.peer.closed.value })
        #expect(log.contains("dropped: no audio after publishing /live (5 audio messages held no frame: AAC frames before an AAC sequence header"),
                "\(log.lines.value.filter { $0.contains("rtmp") })")
        // The encoder is told why, as ffmpeg prints it (`Server error: …`).
        #expect(rtmp.statuses() == ["NetStream.Publish.Start", "NetStream.Publish.Failed"])
        #expect(rtmp.descriptions().last?.hasPrefix("no audio after publishing /live (5 audio messages held no frame") == true, "\(rtmp.descriptions())")
        server.close()
    }

    @Test func rtmpPeers_ThatStall_AreDropped() async throws {
        let log = Log()
        let strict = try server(log: log, rtmp: true, headerTimeout: .milliseconds(300))
        let half = try await TestPeer.connect(to: try #require(strict.rtmpAddress), on: loop)
        await RTMPPeer(peer: half).send([3] + [UInt8](repeating: 1, count: 700))
        #expect(await eventually(timeout: .seconds(3)) { half.closed.value })
        #expect(log.contains("dropped: no publish request within"))
        strict.close()
        let server = try server(timeout: .seconds(1), log: log, rtmp: true)
        let silent = try await RTMPPeer.publish(server)
        #expect(await eventually { silent.statuses() == ["NetStream.Publish.Start"] })
        #expect(await eventually(timeout: .seconds(4)) { silent.peer.closed.value })
        #expect(log.contains("dropped: no audio after publishing /live"))
        server.close()
    }

    @Test("A publisher that sends video but never audio is dropped saying only video was arriving, as a session's end says it")
    func rtmpPublisher_SendingVideoOnly_IsDroppedSayingOnlyVideoArrived() async throws {
        let log = Log()
        // 3 s: the video must have begun before the timeout, and a loaded run's test task may come late.
        let server = try server(timeout: .seconds(3), log: log, rtmp: true)
        defer { server.close() }
        let rtmp = try await RTMPPeer.publish(server)
        #expect(await eventually { rtmp.statuses() == ["NetStream.Publish.Start"] })
        try await rtmp.sendVideoUntilClosed()
        let why = "no audio after publishing /live (only video was arriving: Casty serves audio)"
        #expect(log.contains("dropped: \(why)"), "\(log.lines.value)")
        #expect(rtmp.descriptions().last == why, "\(rtmp.descriptions())")
    }

    @Test("An HTTP request sent to the RTMP port is said to look like one")
    func httpRequest_AtTheRTMPPort_IsSaidToLookLikeOne() async throws {
        let log = Log()
        let server = try server(log: log, rtmp: true)
        defer { server.close() }
        let peer = try await TestPeer.connect(to: try #require(server.rtmpAddress), on: loop)
        await peer.send("GET /live HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(await eventually { peer.closed.value })
        #expect(await eventually { log.contains(": it looks like an HTTP request (GET), not an RTMP handshake") }, "\(log.lines.value)")
        #expect(!log.contains("RTMP version"), "\(log.lines.value)")
    }

    @Test("A publisher whose audio stops while its video goes on (OBS without its audio device) ends saying so, not that nothing arrived")
    func rtmpPublisher_WhoseAudioStopsWhileVideoGoesOn_EndsSayingOnlyVideoArrived() async throws {
        let log = Log()
        let server = try server(timeout: .seconds(2), log: log, rtmp: true)
        defer { server.close() }
        let rtmp = try await RTMPPeer.publish(server)
        #expect(await eventually { rtmp.statuses() == ["NetStream.Publish.Start"] })
        // Its video goes on all along, from before its audio, as OBS's does: a loaded run's late test task makes no
        // pause in it.
        let video = await rtmp.keepSending(rtmp.publisher.message(RTMPMessage.video, [0x17, 1, 2, 3]))
        defer { video.cancel() }
        await rtmp.sendMP3(Self.silentFrames(12))
        #expect(await eventually { log.contains("publishing /live (RTMP, audio/mpeg") })
        #expect(await eventually(timeout: .seconds(10)) { rtmp.peer.closed.value })
        #expect(await eventually { log.contains("on /live ended: no audio for 2.0 seconds (only video was arriving: Casty serves audio)") },
                "\(log.lines.value)")
        // OBS is told why its stream stopped, not just disconnected.
        #expect(await eventually { rtmp.statuses() == ["NetStream.Publish.Start", "NetStream.Publish.Failed"] }, "\(rtmp.statuses())")
        #expect(rtmp.descriptions().last == "no audio for 2.0 seconds (only video was arriving: Casty serves audio)")
    }

    @Test("A publisher whose audio stops while its onMetaData titles go on ends saying no audio came, as one whose video goes on, not that nothing arrived")
    func rtmpPublisher_WhoseAudioStopsWhileTitlesGoOn_EndsSayingOnlyMetadataArrived() async throws {
        let log = Log()
        // 2 s: a loaded run that holds the titles back longer than the timeout would end it with "nothing arrived".
        let server = try server(timeout: .seconds(2), log: log, rtmp: true)
        defer { server.close() }
        let rtmp = try await RTMPPeer.publish(server)
        #expect(await eventually { rtmp.statuses() == ["NetStream.Publish.Start"] })
        await rtmp.sendMP3(Self.silentFrames(12))
        #expect(await eventually { log.contains("publishing /live (RTMP, audio/mpeg") })
        try await rtmp.sendUntilClosed(rtmp.metadata([AMF0Property("title", .string("Song"))]))
        let why = "no audio for 2.0 seconds (only metadata was arriving: Casty serves audio)"
        #expect(await eventually { log.contains("on /live ended: \(why)") }, "\(log.lines.value)")
        #expect(!log.contains("nothing arrived"), "\(log.lines.value)")
        #expect(await eventually { rtmp.descriptions().last == why }, "\(rtmp.descriptions())")
    }

    @Test("What else than audio arrived is named together: video and metadata")
    func sessionEnd_NamesEverythingElseThatArrived() {
        #expect(SourceSession.End.onlyOther(after: .seconds(10), others: ["video"]).description
            == "no audio for 10.0 seconds (only video was arriving: Casty serves audio)")
        #expect(SourceSession.End.onlyOther(after: .seconds(10), others: ["video", "metadata"]).description
            == "no audio for 10.0 seconds (only video and metadata were arriving: Casty serves audio)")
    }

    @Test("An RTMP app whose bytes are not UTF-8 names no mount, as an HTTP source's path does: refused as no mount name, shown with its %XX escapes, never a mount of U+FFFD")
    func rtmpApp_WhoseBytesAreNotUTF8_NamesNoMount() async throws {
        let log = Log()
        let server = try server(mounts: nil, log: log, rtmp: true)
        defer { server.close() }
        for (app, shown) in [([0x61, 0xFF, 0x62], "/a%FFb"), ([0x61, 0xFE, 0x62], "/a%FEb")] as [([UInt8], String)] {
            let rtmp = try await RTMPPeer.publish(server, appValue: .notUTF8(app))
            #expect(await eventually { rtmp.peer.closed.value })
            #expect(rtmp.statuses() == ["NetStream.Publish.BadName"], "\(shown): \(rtmp.statuses())")
            #expect(log.contains("refused on \(shown) (RTMP): not a mount name: it holds a %XX escape; answered NetStream.Publish.BadName"),
                    "\(log.lines.value)")
        }
        #expect(await loop.submit { server.table.mount(at: "/a\u{FFFD}b") == nil })
    }

    @Test("MPEG audio Layer II (MP2) is named in the publishing line, saying that many browsers do not play it")
    func rtmpPublisher_OfLayerII_IsNamedInItsPublishingLine() async throws {
        let log = Log()
        let server = try server(log: log, rtmp: true)
        defer { server.close() }
        let rtmp = try await RTMPPeer.publish(server)
        #expect(await eventually { rtmp.statuses() == ["NetStream.Publish.Start"] })
        await rtmp.sendMP3(Self.layerIIFrames(12))
        #expect(await eventually { log.contains("publishing /live (RTMP, audio/mpeg, MP2 (MPEG audio Layer II, which many browsers do not play: "
            + "publish MP3 or AAC for them (ffmpeg: -c:a libmp3lame or -c:a aac)), FMLE/3.0 (compatible; Lavf61.7.100); stream ") },
                "\(log.lines.value)")
    }

    /// MPEG-1 Layer II frames (MP2) of 417 bytes, 128 kbit/s at 44.1 kHz stereo, their audio bytes zero.
    static func layerIIFrames(_ count: Int) -> [UInt8] {
        (0..<count).flatMap { _ in [0xFF, 0xFD, 0x80, 0x04] + [UInt8](repeating: 0, count: 413) }
    }

    @Test func rtmpSession_KilledByAnAdmin_ClosesTheConnection() async throws {
        let log = Log()
        let (server, rtmp) = try await RTMPPeer.publishingMP3(self, log: log)
        let answer = try await ask(server, "/admin/killsource?mount=/live")
        #expect(answer.contains("200"))
        #expect(await eventually { rtmp.peer.closed.value })
        #expect(log.contains("on /live ended: disconnected by the admin (/admin/killsource)"), "\(log.lines.value)")
        #expect(rtmp.descriptions().last == "disconnected by the admin (/admin/killsource)", "\(rtmp.descriptions())")
        let status = try await ask(server, "/status.json", admin: false)
        #expect(status.contains("\"publishing\":0"))
        server.close()
    }

    @Test("A publisher whose audio goes on in another channel count (or sample rate) ends its session, as one switching codec: its listeners' players set up for the first")
    func rtmpPublisher_WhoseAudioSwitchesShape_EndsItsSessionWithOneLine() async throws {
        let log = Log()
        let (server, rtmp) = try await RTMPPeer.publishingMP3(self, log: log)
        defer { server.close() }
        await rtmp.sendMP3(Self.monoFrames(5))
        #expect(await eventually { rtmp.peer.closed.value })
        #expect(log.lines.value.filter { $0.contains("on /live ended: its audio switched from 44100 Hz stereo to 44100 Hz mono") }.count == 1,
                "\(log.lines.value)")
    }

    @Test func rtmpPublisher_WhoseAudioSwitchesFromMP3ToAAC_EndsItsSessionWithOneLineAndIsClosed() async throws {
        let log = Log()
        let (server, rtmp) = try await RTMPPeer.publishingMP3(self, log: log)
        await rtmp.send(rtmp.publisher.message(RTMPMessage.audio, [0xAF, 0] + RTMPAudioTests.lcStereo)
            + rtmp.publisher.message(RTMPMessage.audio, [0xAF, 1] + [UInt8](repeating: 0x21, count: 200)))
        #expect(await eventually { rtmp.peer.closed.value })
        #expect(log.lines.value.filter { $0.contains("on /live ended: its audio switched from audio/mpeg to audio/aac") }.count == 1,
                "\(log.lines.value)")
        #expect(rtmp.descriptions().last == "its audio switched from audio/mpeg to audio/aac; publish again to change it", "\(rtmp.descriptions())")
        // Publishing again starts the stream in its new format.
        let again = try await RTMPPeer.publish(server)
        #expect(await eventually { again.statuses() == ["NetStream.Publish.Start"] })
        await again.send(again.publisher.message(RTMPMessage.audio, [0xAF, 0] + RTMPAudioTests.lcStereo)
            + again.publisher.message(RTMPMessage.audio, [0xAF, 1] + [UInt8](repeating: 0x21, count: 200)))
        #expect(await eventually { log.contains("publishing /live (RTMP, audio/aac") })
        server.close()
    }

    @Test("Audio Casty does not serve (Nellymoser) is refused naming the mount and the codec, counted as unsupported, and the encoder is told")
    func rtmpPublisher_OfAnUnsupportedCodec_IsToldAndTheLineNamesTheMountAndCodec() async throws {
        let log = Log()
        let server = try server(log: log, rtmp: true)
        defer { server.close() }
        let rtmp = try await RTMPPeer.publish(server)
        #expect(await eventually { rtmp.statuses() == ["NetStream.Publish.Start"] })
        await rtmp.send(rtmp.publisher.message(RTMPMessage.audio, [0x62] + [UInt8](repeating: 0x55, count: 64)))  // FLV sound format 6
        #expect(await eventually { rtmp.peer.closed.value })
        #expect(rtmp.statuses() == ["NetStream.Publish.Start", "NetStream.Publish.Failed"])
        #expect(rtmp.descriptions().last == "its audio is Nellymoser (FLV sound format 6): publish MP3 or AAC")
        #expect(log.contains("refused on /live (RTMP): its audio is Nellymoser (FLV sound format 6): publish MP3 or AAC; answered NetStream.Publish.Failed"),
                "\(log.lines.value)")
        let status = try await ask(server, "/status.json", admin: false)
        #expect(status.contains("\"malformed\":0,\"unsupported\":1"), "\(status)")
    }

    @Test("AAC that ADTS cannot carry (audio object type 0, a sample rate given explicitly) is refused as audio Casty does not serve, as Speex is: the encoder is told, and it is counted as unsupported, not malformed")
    func rtmpAAC_ThatADTSCannotCarry_IsRefusedAsUnsupported() async throws {
        let log = Log()
        let server = try server(log: log, rtmp: true)
        defer { server.close() }
        let configs: [([UInt8], String)] = [
            ([0x00, 0x10], "audio object type 0"), ([0x17, 0x80, 0, 0, 0, 0x10], "a sample rate given explicitly, sampling frequency index 15"),
        ]
        for (config, what) in configs {
            let rtmp = try await RTMPPeer.publish(server)
            #expect(await eventually { rtmp.statuses() == ["NetStream.Publish.Start"] }, "\(what)")
            await rtmp.send(rtmp.publisher.message(RTMPMessage.audio, [0xAF, 0] + config))
            #expect(await eventually { rtmp.peer.closed.value })
            let why = "its audio is AAC that ADTS cannot carry (\(what)): publish AAC LC or HE-AAC at a standard sample rate, or MP3"
            #expect(rtmp.statuses() == ["NetStream.Publish.Start", "NetStream.Publish.Failed"], "\(what): \(rtmp.statuses())")
            #expect(rtmp.descriptions().last == why, "\(rtmp.descriptions())")
            #expect(log.contains("refused on /live (RTMP): \(why); answered NetStream.Publish.Failed"), "\(log.lines.value)")
        }
        let status = try await ask(server, "/status.json", admin: false)
        #expect(status.contains("\"malformed\":0,\"unsupported\":2"), "\(status)")
    }

    @Test func rtmpGarbage_IsOneLogLineAndAClose() async throws {
        let log = Log()
        let server = try server(log: log, rtmp: true)
        let peer = try await TestPeer.connect(to: try #require(server.rtmpAddress), on: loop)
        await RTMPPeer(peer: peer).send([3] + [UInt8](repeating: 1, count: 1536 * 2) + [0x43, 0, 0, 0, 0, 0, 9])
        #expect(await eventually { peer.closed.value })
        #expect(log.lines.value.filter { $0.contains("continued without a first header; closed") }.count == 1, "\(log.lines.value)")
        server.close()
    }

    @Test("A publisher that breaks the protocol mid-stream is closed by Casty, and its session's one end line says so (not that the source hung up)")
    func rtmpGarbage_WhilePublishing_IsOneEndLineNamingIt() async throws {
        let log = Log()
        let (server, rtmp) = try await RTMPPeer.publishingMP3(self, log: log)
        await rtmp.send([0x43, 0, 0, 0, 0, 0, 9] + [UInt8](repeating: 0xEE, count: 64))  // a chunk that continues nothing
        #expect(await eventually { rtmp.peer.closed.value })
        #expect(await eventually { log.contains("on /live ended: closed by Casty: ") }, "\(log.lines.value)")
        #expect(!log.lines.value.contains { $0.contains("hung up") }, "\(log.lines.value)")
        #expect(log.lines.value.filter { $0.contains("closed") && !$0.contains("listener") }.count == 1, "\(log.lines.value)")
        server.close()
    }

    @Test("A flood of RTMP connections that fail before publishing is told five a window, then summed up")
    func rtmpGarbageFlood_IsSummedUp() async throws {
        let log = Log()
        let server = try server(log: log, rtmp: true)
        defer { server.close() }
        for _ in 0..<8 {
            let peer = try await TestPeer.connect(to: try #require(server.rtmpAddress), on: loop)
            await RTMPPeer(peer: peer).send([3] + [UInt8](repeating: 1, count: 1536 * 2) + [0x43, 0, 0, 0, 0, 0, 9])
            #expect(await eventually { peer.closed.value })
        }
        #expect(await eventually(timeout: .seconds(20)) { log.contains("3 more RTMP connections failed before publishing in the last") },
                "\(log.lines.value)")
        #expect(log.lines.value.filter { $0.contains("continued without a first header; closed") }.count == 5, "\(log.lines.value)")
    }

    @Test("At most 64 connections wait to publish at once: the next is closed at once and counted, and one that leaves makes room")
    func rtmpPeers_WaitingToPublish_AreBounded() async throws {
        let log = Log()
        let server = try server(log: log, rtmp: true)
        defer { server.close() }
        let address = try #require(server.rtmpAddress)
        var stalled: [TestPeer] = []
        // From several loopback addresses, each within its own bound (``RTMPPublisher/maxWaitingPerAddress``).
        for index in 0..<RTMPPublisher.maxWaiting {
            let source = SocketAddress(host: "127.0.0.\(2 + index / RTMPPublisher.maxWaitingPerAddress)", port: 0)
            stalled.append(try await TestPeer.connect(to: address, on: loop, from: source))
        }
        @Sendable func status() async -> String { (try? await ask(server, "/status.json", admin: false)) ?? "" }
        #expect(await eventually { await status().contains("\"waiting\":\(RTMPPublisher.maxWaiting),\"turned_away\":0") })
        let next = try await TestPeer.connect(to: address, on: loop)
        #expect(await eventually { next.closed.value }, "closed at once, not held for the header timeout")
        #expect(await status().contains("\"turned_away\":1"))
        #expect(log.contains("\(RTMPPublisher.maxWaiting) connections are waiting to publish already"), "\(log.lines.value.suffix(3))")
        await stalled.removeLast().close()
        #expect(await eventually { await status().contains("\"waiting\":\(RTMPPublisher.maxWaiting - 1),") })
        let room = try await TestPeer.connect(to: address, on: loop)
        #expect(await eventually { await status().contains("\"waiting\":\(RTMPPublisher.maxWaiting),") })
        #expect(!room.closed.value, "taken: one left")
        for peer in stalled + [room] { await peer.close() }
    }

    @Test("One address cannot hold every place: past 8 of its connections waiting, the next from it is closed at once and counted, another's is taken")
    func rtmpPeers_WaitingToPublish_FromOneAddress_AreBounded() async throws {
        let log = Log()
        let server = try server(log: log, rtmp: true)
        defer { server.close() }
        let address = try #require(server.rtmpAddress)
        var stalled: [TestPeer] = []
        for _ in 0..<8 { stalled.append(try await TestPeer.connect(to: address, on: loop)) }
        @Sendable func status() async -> String { (try? await ask(server, "/status.json", admin: false)) ?? "" }
        #expect(await eventually { await status().contains("\"waiting\":8,\"turned_away\":0") })
        let next = try await TestPeer.connect(to: address, on: loop)
        #expect(await eventually { next.closed.value }, "closed at once, not held for the header timeout")
        #expect(await status().contains("\"turned_away\":1"))
        #expect(log.contains(": 8 connections from 127.0.0.1 are waiting to publish already"), "\(log.lines.value.suffix(3))")
        let other = try await TestPeer.connect(to: address, on: loop, from: SocketAddress(host: "127.0.0.2", port: 0))
        #expect(await eventually { await status().contains("\"waiting\":9,") })
        #expect(!other.closed.value, "another address is taken")
        await stalled.removeLast().close()
        #expect(await eventually { await status().contains("\"waiting\":8,") })
        let room = try await TestPeer.connect(to: address, on: loop)
        #expect(await eventually { await status().contains("\"waiting\":9,") })
        #expect(!room.closed.value, "taken: one of its address left")
        for peer in stalled + [other, room] { await peer.close() }
    }

    @Test func rtmpPeer_ThatHangsUpBeforePublishing_IsOneLogLine() async throws {
        let log = Log()
        let server = try server(log: log, rtmp: true)
        let peer = try await TestPeer.connect(to: try #require(server.rtmpAddress), on: loop)
        await RTMPPeer(peer: peer).send([3] + [UInt8](repeating: 1, count: 1536))  // C0 + C1, then gone
        try await Task.sleep(for: .milliseconds(100))
        await peer.close()
        #expect(await eventually { log.contains("hung up before publishing") }, "\(log.lines.value)")
        #expect(log.lines.value.filter { $0.contains("rtmp ") }.count == 1, "\(log.lines.value)")
        server.close()
    }

    @Test("A publisher told to start that hangs up before its first audio is one line naming the mount it held")
    func rtmpPublisher_ThatHangsUpBeforeItsFirstAudio_IsOneLineNamingTheMount() async throws {
        let log = Log()
        let server = try server(log: log, rtmp: true)
        defer { server.close() }
        let rtmp = try await RTMPPeer.publish(server)
        #expect(await eventually { rtmp.statuses() == ["NetStream.Publish.Start"] })
        await rtmp.peer.close()
        #expect(await eventually { log.contains(": hung up after publishing /live, before its first audio") }, "\(log.lines.value)")
        #expect(!log.contains("hung up before publishing"), "\(log.lines.value)")
    }

    @Test func rtmpPeer_ThatDoesNotReadItsAnswers_IsClosed() async throws {
        let log = Log()
        let server = try server(log: log, rtmp: true)
        let peer = try await TestPeer.connect(to: try #require(server.rtmpAddress), on: loop, reading: false, receiveBuffer: 4096)
        var rtmp = RTMPPeer(peer: peer)
        await rtmp.send([3] + [UInt8](repeating: 1, count: 1536 * 2))
        // Each createStream is answered with a _result: thousands of them, never read, must not pile up.
        var commands: [UInt8] = []
        for _ in 0..<8000 { commands += rtmp.publisher.command("createStream", [.null]) }
        await rtmp.send(commands)
        #expect(await eventually(timeout: .seconds(5)) { log.contains("does not read the answers") }, "\(log.lines.value.suffix(3))")
        server.close()
    }
}
