@testable import CastyWire
import Icy
import Testing

@testable import Casty
@testable import CastyNet

/// RTMP publishers while the platform's application is asked about their key, as Icecast and SRT sources are met
/// then: the header timeout no longer runs once `publish` came (the application's own timeout bounds the wait),
/// audio sent before `NetStream.Publish.Start` is held and heard, and one that leaves is the line an Icecast source
/// that leaves gets.
struct RTMPKeyVerificationTests {
    typealias RTMPPeer = StationServerTests.RTMPPeer
    let loop = EventLoop.shared
    let station = StationServerTests()

    /// An RTMP station server of any mount, logging to `log`, whose keys `app` verifies (`hackme` admitted).
    func server(_ app: PlatformServerTests.App, log: StationServerTests.Log, headerTimeout: Duration? = nil, catchUp: Duration? = nil) throws -> StationServer {
        try station.server(mounts: nil, log: log, rtmp: true, headerTimeout: headerTimeout) { configuration in
            var control = ControlPlane.Configuration()
            control.keyVerificationURL = app.url("/verify")
            control.keyVerificationTimeout = .seconds(30)
            configuration.control = ControlPlane(control, loop: loop)
            if let catchUp { configuration.sourceCatchUp = catchUp }
        }
    }

    /// Whether the application has been asked about a key.
    func asked(_ app: PlatformServerTests.App) async -> Bool {
        await eventually(timeout: .seconds(15)) { app.upstream.requests.value.contains { $0.path == "/verify" } }
    }

    @Test("A publisher whose key the application admits after longer than the header timeout is admitted: its publish came, and no line says it did not")
    func aPublisherWhoseKeyIsAdmittedAfterTheHeaderTimeout_IsAdmitted() async throws {
        let app = try PlatformServerTests.App(keys: ["hackme"], verifying: .seconds(4), on: loop)
        let log = StationServerTests.Log()
        let server = try server(app, log: log, headerTimeout: .seconds(2))
        defer { server.close() }
        let rtmp = try await RTMPPeer.publish(server)
        #expect(await asked(app))
        #expect(await eventually(timeout: .seconds(15)) { rtmp.statuses() == ["NetStream.Publish.Start"] || rtmp.peer.closed.value })
        #expect(rtmp.statuses() == ["NetStream.Publish.Start"], "\(log.lines.value)")
        await rtmp.sendMP3(StationServerTests.silentFrames(12))
        #expect(await eventually { log.contains("publishing /live (RTMP, audio/mpeg") }, "\(log.lines.value)")
        #expect(!log.contains("no publish request"), "\(log.lines.value)")
        await rtmp.peer.close()
        await app.upstream.close()
    }

    @Test("An AAC sequence header sent right after publish, before NetStream.Publish.Start, is held while the key is verified: the publisher goes live")
    func anAACSequenceHeaderSentBeforePublishStart_IsHeld_AndThePublisherGoesLive() async throws {
        let app = try PlatformServerTests.App(keys: ["hackme"], verifying: .seconds(2), on: loop)
        let log = StationServerTests.Log()
        let server = try server(app, log: log)
        defer { server.close() }
        let rtmp = try await RTMPPeer.publish(server)
        // Not waiting for NetStream.Publish.Start: its sequence header (sent once) and its first frames at once.
        let frame = [0xAF, 1] + [UInt8](repeating: 0x21, count: 200)
        await rtmp.send(rtmp.publisher.message(RTMPMessage.audio, [0xAF, 0] + RTMPAudioTests.lcStereo)
            + rtmp.publisher.message(RTMPMessage.audio, frame) + rtmp.publisher.message(RTMPMessage.audio, frame))
        #expect(await asked(app))
        #expect(await eventually(timeout: .seconds(15)) { rtmp.statuses() == ["NetStream.Publish.Start"] })
        let player = try await station.listener(server, "/live", titles: false)
        let feeding = await rtmp.keepSending(rtmp.publisher.message(RTMPMessage.audio, frame))
        defer { feeding.cancel() }
        #expect(await eventually { log.contains("publishing /live (RTMP, audio/aac") }, "\(log.lines.value)")
        #expect(await player.waitFor(timeout: .seconds(15)) { $0.count > 2048 }, "its listener hears it")
        #expect(!log.contains("held no frame"), "\(log.lines.value)")
        await player.close()
        await rtmp.peer.close()
        await app.upstream.close()
    }

    @Test("A publisher that sends more audio than the hold takes while its key is verified starts with what came last, and one line says how much was dropped")
    func aPublisherThatSendsMoreThanTheHoldTakes_StartsWithWhatCameLast() async throws {
        let app = try PlatformServerTests.App(keys: ["hackme"], verifying: .seconds(2), on: loop)
        let log = StationServerTests.Log()
        // 1 s of catch-up, no bitrate declared: a hold of 40 kB.
        let server = try server(app, log: log, catchUp: .seconds(1))
        defer { server.close() }
        let rtmp = try await RTMPPeer.publish(server)
        await rtmp.sendMP3(StationServerTests.markedFrames(400, mark: 1) + StationServerTests.markedFrames(40, mark: 2))
        #expect(await asked(app))
        #expect(await eventually(timeout: .seconds(15)) { log.contains("publishing /live (RTMP, audio/mpeg") }, "\(log.lines.value)")
        #expect(await eventually { log.contains("source on /live: dropped ") }, "\(log.lines.value)")
        #expect(log.contains("of the audio that came while its key was verified, ahead of the clock, keeping what came last"), "\(log.lines.value)")
        await rtmp.peer.close()
        await app.upstream.close()
    }

    @Test("A publisher refused by the application never has the audio it sent while its key was verified heard")
    func aRefusedPublisher_AudioSentWhileVerified_IsNeverHeard() async throws {
        let app = try PlatformServerTests.App(keys: ["other"], verifying: .seconds(1), on: loop)
        let log = StationServerTests.Log()
        let server = try server(app, log: log)
        defer { server.close() }
        let rtmp = try await RTMPPeer.publish(server)
        await rtmp.sendMP3(StationServerTests.silentFrames(40))
        #expect(await eventually(timeout: .seconds(15)) { rtmp.peer.closed.value })
        #expect(rtmp.statuses() == ["NetStream.Publish.Unauthorized"])
        #expect(!log.contains("publishing /live"), "\(log.lines.value)")
        #expect(await loop.submit { server.table.all.count } == 0, "no mount made")
        await app.upstream.close()
    }

    @Test("A publisher that leaves while its key is verified (hangs up, or unpublishes) is the line an Icecast source gets, not a connection failed before publishing",
          arguments: [false, true])
    func aPublisherThatLeavesWhileItsKeyIsVerified_IsOneLineAsAnIcecastSource(unpublishing: Bool) async throws {
        let app = try PlatformServerTests.App(keys: ["hackme"], verifying: .seconds(3), on: loop)
        let log = StationServerTests.Log()
        let server = try server(app, log: log)
        defer { server.close() }
        var rtmp = try await RTMPPeer.publish(server)
        #expect(await asked(app))
        if unpublishing {
            await rtmp.send(rtmp.publisher.command("FCUnpublish", [.null, .string("hackme")]))
        } else {
            await rtmp.peer.close()
        }
        #expect(await eventually(timeout: .seconds(15)) {
            log.lines.value.contains { $0.hasPrefix("source 127.0.0.1:") && $0.hasSuffix(" on /live left before it was admitted") }
        }, "\(log.lines.value)")
        try await Task.sleep(for: .milliseconds(300))
        #expect(!log.contains("hung up") && !log.contains("unpublished"), "\(log.lines.value)")
        #expect(!log.contains("publishing /live"), "\(log.lines.value)")
        #expect(await loop.submit { server.table.all.count } == 0, "no mount made")
        await rtmp.peer.close()
        await app.upstream.close()
    }
}
