import Glibc
import Icy
import Testing

@testable import Casty
@testable import CastyNet
@testable import CastyWire

/// `--access-log` and sources: a source that published gets one line when its session ends, as Icecast writes one
/// (`"PUT /up.mp3 HTTP/1.1" 200 … "Lavf/59.27.100" 112`); a refused one has the line of its refusal — an Icecast
/// source's answer's, an RTMP publisher's or SRT caller's `"PUBLISH /live RTMP" 401 0`.
extension StationServerTests {
    /// A station server writing a fresh access log (taking RTMP, or SRT callers as `srt` says, when asked), its
    /// event log, and the access log's lines so far (written first).
    struct AccessLogged {
        let server: StationServer
        let log = Log()
        let path = "/tmp/casty-source-access-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).log"
        let lines: @Sendable () async -> [String]

        init(_ tests: StationServerTests, timeout: Duration = .seconds(10), rtmp: Bool = false, srt: SRTIngest.Configuration? = nil) throws {
            let accessLog = try AccessLog(path: path, logger: .silent)
            server = try tests.server(timeout: timeout, log: log, rtmp: rtmp) { configuration in
                configuration.options.accessLog = accessLog
                configuration.srt = srt
            }
            lines = { [path] in
                await accessLog.flush()
                return String(decoding: FileWriter.contents(of: path) ?? [], as: UTF8.self).split(separator: "\n").map(String.init)
            }
        }

        /// Closes the server and removes the access log.
        func close() {
            server.close()
            _ = unlink(path)
        }
    }

    /// SRT callers on a port of their own, with `passphrase` for every mount or, given a `mount`, for it alone.
    static func srtCallers(passphrase: String, mount: String? = nil) -> SRTIngest.Configuration {
        var srt = SRTIngest.Configuration(address: .loopback(port: 0))
        if let mount { srt.passphrases = [mount: passphrase] } else { srt.defaultPassphrase = passphrase }
        return srt
    }

    @Test("An Icecast source that published and hung up gets one access-log line: its address, user name (never the password), request with its query hidden, 200, the bytes of audio it sent, referer, agent, seconds")
    func icecastSourceThatEnds_GetsOneAccessLogLine() async throws {
        let logged = try AccessLogged(self)
        defer { logged.close() }
        let (server, log, lines) = (logged.server, logged.log, logged.lines)
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

    /// A server taking RTMP that writes an access log, and a publisher of `/live` it let publish.
    func rtmpPublisherLogged() async throws -> (logged: AccessLogged, rtmp: RTMPPeer) {
        let logged = try AccessLogged(self, rtmp: true)
        let rtmp = try await RTMPPeer.publish(logged.server)
        #expect(await eventually { rtmp.statuses() == ["NetStream.Publish.Start"] })
        return (logged, rtmp)
    }

    @Test("A source the admin disconnects gets its line; an RTMP publisher's request is PUBLISH /mount RTMP (its key never written), its agent the encoder its onMetaData names")
    func rtmpPublisherKilledByTheAdmin_GetsOneAccessLogLine() async throws {
        let (logged, rtmp) = try await rtmpPublisherLogged()
        defer { logged.close() }
        let (server, log, lines) = (logged.server, logged.log, logged.lines)
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

    @Test("An RTMP publisher admitted that hangs up before its first audio gets its access-log line all the same: 200, no bytes, the encoder its connect named")
    func rtmpPublisherGoneBeforeAudio_GetsItsAccessLogLine() async throws {
        let (logged, rtmp) = try await rtmpPublisherLogged()
        defer { logged.close() }
        let (server, log, lines) = (logged.server, logged.log, logged.lines)
        await rtmp.peer.close()
        #expect(await eventually { await lines().contains { $0.contains("PUBLISH") } }, "\(log.lines.value)")
        let line = try #require(await lines().first { $0.contains("PUBLISH") })
        #expect(line.contains(" +0000] \"PUBLISH /live RTMP\" 200 0 \"-\" \"FMLE/3.0 (compatible; Lavf61.7.100)\" "), "\(line)")
        #expect(!line.contains("hackme"), "\(line)")
        // The mount it held is free again: another publisher takes it.
        let next = try await RTMPPeer.publish(server)
        #expect(await eventually { next.statuses() == ["NetStream.Publish.Start"] })
        await next.peer.close()
    }

    @Test("An RTMP publisher whose onMetaData names no encoder is known by the flashVer of its connect, in its publishing line and its access-log line alike")
    func rtmpPublisherWithoutAnEncoderName_IsKnownByItsFlashVer() async throws {
        let (logged, rtmp) = try await rtmpPublisherLogged()
        defer { logged.close() }
        let (log, lines) = (logged.log, logged.lines)
        await rtmp.send(rtmp.metadata([AMF0Property("title", .string("Song"))]))
        await rtmp.sendMP3(Self.silentFrames(12))
        #expect(await eventually { log.contains("publishing /live (RTMP, audio/mpeg, FMLE/3.0 (compatible; Lavf61.7.100); stream ") },
                "\(log.lines.value)")
        await rtmp.peer.close()
        #expect(await eventually { await lines().contains { $0.contains("PUBLISH") } }, "\(log.lines.value)")
        let line = try #require(await lines().first { $0.contains("PUBLISH") })
        #expect(line.contains(" +0000] \"PUBLISH /live RTMP\" 200 \(12 * 417) \"-\" \"FMLE/3.0 (compatible; Lavf61.7.100)\" "), "\(line)")
    }

    @Test("An RTMP publisher refused for audio Casty does not serve (Speex, AAC that ADTS cannot carry) has one access-log line, its refusal's 415, not a 200 besides")
    func rtmpPublisherOfAnUnsupportedCodec_GetsOneAccessLogLine() async throws {
        let (logged, speex) = try await rtmpPublisherLogged()
        defer { logged.close() }
        let (server, log, lines) = (logged.server, logged.log, logged.lines)
        await speex.send(speex.publisher.message(RTMPMessage.audio, [0xB6] + [UInt8](repeating: 0x55, count: 64)))  // FLV sound format 11
        #expect(await eventually { speex.peer.closed.value })
        let aac = try await RTMPPeer.publish(server)
        #expect(await eventually { aac.statuses() == ["NetStream.Publish.Start"] })
        await aac.send(aac.publisher.message(RTMPMessage.audio, [0xAF, 0, 0x00, 0x10]))  // audio object type 0
        #expect(await eventually { aac.peer.closed.value })
        #expect(await eventually { await lines().count { $0.contains("PUBLISH") } >= 2 }, "\(log.lines.value)")
        let written = await lines().filter { $0.contains("PUBLISH") }
        #expect(written.count == 2 && written.allSatisfy { $0.contains(" +0000] \"PUBLISH /live RTMP\" 415 0 \"-\" \"FMLE/3.0 (compatible; Lavf61.7.100)\" ") },
                "\(written)")
    }

    @Test("A refused RTMP publisher gets its access-log line, as a refused Icecast source does: PUBLISH /mount RTMP, the status an Icecast source is answered (401 a wrong key, 403 a mount off the whitelist or in use), 0 bytes, the encoder its connect named, never its key")
    func rtmpPublisherRefused_GetsItsAccessLogLine_WithoutItsKey() async throws {
        let logged = try AccessLogged(self, rtmp: true)
        defer { logged.close() }
        let (server, log, lines) = (logged.server, logged.log, logged.lines)
        let wrong = try await RTMPPeer.publish(server, key: "Wr0ngKeyGuess")
        #expect(await eventually { wrong.peer.closed.value })
        let unlisted = try await RTMPPeer.publish(server, app: "elsewhere")
        #expect(await eventually { unlisted.peer.closed.value })
        let (icecast, feeding) = try await feedingSource(server)
        defer { feeding.cancel() }
        #expect(await eventually { log.contains("publishing /live (PUT") }, "\(log.lines.value)")
        let busy = try await RTMPPeer.publish(server)  // the right key: refused for the mount alone
        #expect(await eventually { busy.peer.closed.value })
        #expect(await eventually { await lines().count { $0.contains("PUBLISH") } == 3 }, "\(log.lines.value)")
        let written = await lines().filter { $0.contains("PUBLISH") }
        #expect(written.allSatisfy { $0.hasPrefix("127.0.0.1 - - [") }, "\(written)")
        #expect(written.contains { $0.contains(" +0000] \"PUBLISH /live RTMP\" 401 0 \"-\" \"FMLE/3.0 (compatible; Lavf61.7.100)\" ") }, "\(written)")
        #expect(written.contains { $0.contains(" +0000] \"PUBLISH /elsewhere RTMP\" 403 0 \"-\" \"FMLE/3.0 (compatible; Lavf61.7.100)\" ") }, "\(written)")
        #expect(written.contains { $0.contains(" +0000] \"PUBLISH /live RTMP\" 403 0 \"-\" \"FMLE/3.0 (compatible; Lavf61.7.100)\" ") }, "in use: \(written)")
        #expect(written.allSatisfy { $0.split(separator: " ").last.map { Int($0) != nil } == true }, "their seconds: \(written)")
        #expect(!written.contains { $0.contains("Wr0ngKeyGuess") || $0.contains("hackme") }, "\(written)")
        await icecast.close()
    }

    @Test("An SRT caller accepted that sends no audio in time gets its access-log line all the same: 200, no bytes",
          .enabled(if: ScriptRun.inCI || ScriptRun.onPath("ffmpeg"), "ffmpeg (and its libsrt) not installed: run scripts/install-peers.sh"))
    func srtCallerWithoutAudio_GetsItsAccessLogLine() async throws {
        let logged = try AccessLogged(self, timeout: .seconds(3), srt: Self.srtCallers(passphrase: "correct-horse-battery"))
        defer { logged.close() }
        let (server, log, lines) = (logged.server, logged.log, logged.lines)
        let port = try #require(server.srtAddress?.port)
        let caller = try Caller.start("srt://127.0.0.1:\(port)?streamid=backup&passphrase=correct-horse-battery", media: Caller.videoOnly)
        defer { caller.stop() }
        #expect(await eventually(timeout: .seconds(30)) { log.contains("on /backup dropped: no MP3 or AAC audio") }, "\(log.lines.value)")
        #expect(await eventually { await lines().contains { $0.contains(" +0000] \"PUBLISH /backup SRT\" 200 0 \"-\" \"-\" ") } })
        #expect(await lines().count { $0.contains("PUBLISH") } == 1, "one line, not a refusal's too")
    }

    @Test("An SRT caller accepted that sends neither a transport stream nor MP3 or ADTS gets its access-log line all the same: 200, no bytes",
          .enabled(if: ScriptRun.inCI || ScriptRun.onPath("ffmpeg"), "ffmpeg (and its libsrt) not installed: run scripts/install-peers.sh"))
    func srtCallerOfNoAudioFormat_GetsItsAccessLogLine() async throws {
        let logged = try AccessLogged(self, srt: Self.srtCallers(passphrase: "correct-horse-battery"))
        defer { logged.close() }
        let (server, log, lines) = (logged.server, logged.log, logged.lines)
        let port = try #require(server.srtAddress?.port)
        let caller = try Caller.start(
            "srt://127.0.0.1:\(port)?streamid=backup&passphrase=correct-horse-battery", media: Caller.rawPCM, container: "s16le")
        defer { caller.stop() }
        #expect(await eventually(timeout: .seconds(30)) { log.contains("on /backup dropped: neither an MPEG transport stream nor MP3 or ADTS") },
                "\(log.lines.value)")
        #expect(await eventually { await lines().contains { $0.contains(" +0000] \"PUBLISH /backup SRT\" 200 0 \"-\" \"-\" ") } }, "\(log.lines.value)")
        #expect(await lines().count { $0.contains("PUBLISH") } == 1, "one line")
    }

    @Test("A refused SRT caller gets its access-log line, in the handshake and after the accept: PUBLISH /mount SRT, 403 off the whitelist or in use, 401 a wrong passphrase, 0 bytes, never its key nor a passphrase",
          .enabled(if: ScriptRun.inCI || ScriptRun.onPath("ffmpeg"), "ffmpeg (and its libsrt) not installed: run scripts/install-peers.sh"))
    func srtCallerRefused_GetsItsAccessLogLine_WithoutItsKeyOrPassphrase() async throws {
        let logged = try AccessLogged(self, srt: Self.srtCallers(passphrase: "correct-horse-battery", mount: "/live"))
        defer { logged.close() }
        let (server, log, lines) = (logged.server, logged.log, logged.lines)
        let port = try #require(server.srtAddress?.port)
        let published = { @Sendable (status: Int, mount: String) in
            await lines().contains { $0.contains(" +0000] \"PUBLISH \(mount) SRT\" \(status) 0 \"-\" \"-\" 0") }
        }
        let unlisted = try Caller.start("srt://127.0.0.1:\(port)?streamid=elsewhere%3Fkey%3DS3cretKey&passphrase=correct-horse-battery")
        defer { unlisted.stop() }
        #expect(await eventually(timeout: .seconds(20)) { await published(403, "/elsewhere") }, "\(log.lines.value)")
        let wrong = try Caller.start("srt://127.0.0.1:\(port)?streamid=live%3Fkey%3DS3cretKey&passphrase=wrong-horse-battery")
        defer { wrong.stop() }
        #expect(await eventually(timeout: .seconds(20)) { await published(401, "/live") }, "\(log.lines.value)")
        let (icecast, feeding) = try await feedingSource(server)
        defer { feeding.cancel() }
        #expect(await eventually(timeout: .seconds(10)) { log.contains("publishing /live (PUT") }, "\(log.lines.value)")
        let busy = try Caller.start("srt://127.0.0.1:\(port)?streamid=live%3Fkey%3DS3cretKey&passphrase=correct-horse-battery")
        defer { busy.stop() }
        #expect(await eventually(timeout: .seconds(20)) { await published(403, "/live") }, "\(log.lines.value)")
        // Refused after the accept: a second encoder with the credentials of the SRT source that publishes, let on in
        // the handshake (it might be that source reconnecting), is refused once the mount's rules are checked again.
        feeding.cancel()
        await icecast.close()
        #expect(await eventually(timeout: .seconds(10)) { log.contains("on /live ended") }, "\(log.lines.value)")
        let url = "srt://127.0.0.1:\(port)?streamid=live%3Fkey%3DS3cretKey&passphrase=correct-horse-battery"
        let first = try Caller.start(url)
        defer { first.stop() }
        #expect(await eventually(timeout: .seconds(30)) { log.lines.value.contains { $0.contains("SRT source") && $0.contains("publishing /live") } },
                "\(log.lines.value)")
        let duplicate = try Caller.start(url)
        defer { duplicate.stop() }
        #expect(await eventually(timeout: .seconds(30)) { log.contains("refused on /live: mount in use; the connection is closed") },
                "\(log.lines.value)")
        // Its line and the one of the caller rejected in the handshake (1409), each 403 as an Icecast source in use is.
        #expect(await eventually { await lines().count { $0.contains(" +0000] \"PUBLISH /live SRT\" 403 0 \"-\" \"-\" ") } == 2 },
                "\(log.lines.value)")
        let written = await lines()
        #expect(written.filter { $0.contains("SRT\"") }.allSatisfy { $0.hasPrefix("127.0.0.1 - - [") }, "\(written)")
        #expect(!written.contains { $0.contains("S3cretKey") || $0.contains("horse-battery") || $0.contains("PUBLISH /live?") }, "\(written)")
    }
}
