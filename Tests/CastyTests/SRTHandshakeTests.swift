import Glibc
import Testing

@testable import Casty
@testable import CastyNet

/// What the SRT listen callback can tell from what the server holds is refused in the handshake, with a rejection
/// code the caller's libsrt reports — not accepted and then closed, which a caller sees as a bare I/O error.
extension StationServerTests {
    /// A server that takes SRT callers on a port of its own into `/live`, whose passphrase is
    /// `correct-horse-battery`, and the port bound.
    func srtServer(log: Log) throws -> (server: StationServer, port: UInt16) {
        let server = try server(log: log) { configuration in
            var srt = SRTIngest.Configuration(address: .loopback(port: 0))
            srt.passphrases = ["/live": "correct-horse-battery"]
            configuration.srt = srt
        }
        let port = try #require(server.srtAddress?.port)
        return (server, port)
    }

    @Test("A mount added on a reload with its SRT passphrase takes SRT callers at once; a passphrase changed or removed holds for the next callers, said without it",
          .enabled(if: ScriptRun.inCI || ScriptRun.onPath("ffmpeg"), "ffmpeg (and its libsrt) not installed: run scripts/install-peers.sh"))
    func reload_ANewMountsSRTPassphrase_TakesItsCallersAtOnce() async throws {
        let log = Log()
        let (server, port) = try srtServer(log: log)  // mounts /live, /backup; a passphrase for /live only
        defer { server.close() }
        func reload(_ passphrases: [String: String], default fallback: String? = nil) async throws -> [String] {
            try await server.reload(StationServerReloadTests().configuration { configuration in
                configuration.mounts = ["/live", "/backup", "/news"]
                var srt = SRTIngest.Configuration(address: .loopback(port: 0))
                srt.passphrases = passphrases
                srt.defaultPassphrase = fallback
                configuration.srt = srt
            })
        }
        let changes = try await reload(["/live": "correct-horse-battery", "/news": "news-passphrase-1"])
        #expect(changes == ["mounts +/news", "SRT passphrase of /news set"], "\(changes)")
        let caller = try Caller.start("srt://127.0.0.1:\(port)?streamid=news&passphrase=news-passphrase-1")
        defer { caller.stop() }
        #expect(await eventually(timeout: .seconds(30)) { log.contains("publishing /news") }, "\(log.lines.value)")
        #expect(!log.contains("has no SRT passphrase"), "\(log.lines.value)")
        // Changed, removed, and the one of every other mount set: said without a passphrase, taken by the allow list.
        let again = try await reload(["/news": "news-passphrase-2"], default: "every-other-mount")
        #expect(again == ["SRT passphrase of /news changed", "SRT passphrase of /live removed", "SRT passphrase of the mounts without their own set"],
                "\(again)")
        #expect(server.srtAllowList?.passphrase(of: "/news") == "news-passphrase-2")
        #expect(server.srtAllowList?.passphrase(of: "/live") == "every-other-mount")
        #expect(try await reload(["/news": "news-passphrase-2"], default: "every-other-mount").isEmpty, "read again unchanged: nothing said")
        #expect(!log.lines.value.contains { $0.contains("news-passphrase") || $0.contains("every-other-mount") })
    }

    @Test("A stream ID whose bytes are not UTF-8 names no mount, as an HTTP source's path does: rejected in the handshake with 1403 saying it holds a %XX escape, never published as a mount of U+FFFD",
          .enabled(if: ScriptRun.inCI || ScriptRun.onPath("ffmpeg"), "ffmpeg (and its libsrt) not installed: run scripts/install-peers.sh"))
    func srtStreamID_WhoseBytesAreNotUTF8_IsRejectedInTheHandshake() async throws {
        let log = Log()
        let server = try server(mounts: nil, log: log) { configuration in
            var srt = SRTIngest.Configuration(address: .loopback(port: 0))
            srt.defaultPassphrase = "correct-horse-battery"
            configuration.srt = srt
        }
        defer { server.close() }
        let port = try #require(server.srtAddress?.port)
        for streamID in ["a%FFb", "a%FEb"] {
            let caller = try Caller.start("srt://127.0.0.1:\(port)?streamid=\(streamID)&passphrase=correct-horse-battery")
            defer { caller.stop() }
            #expect(await eventually(timeout: .seconds(30)) {
                log.contains("refused: stream ID '\(streamID)': not a mount name: it holds a %XX escape (1403)")
            }, "\(log.lines.value)")
        }
        #expect(!log.contains("publishing"), "\(log.lines.value)")
        #expect(await loop.submit { server.table.mount(at: "/a\u{FFFD}b") == nil })
    }

    @Test("MPEG-TS with MPEG audio Layer II (ffmpeg's default audio for -f mpegts) is named MP2 in the publishing line, saying that many browsers do not play it",
          .enabled(if: ScriptRun.inCI || ScriptRun.onPath("ffmpeg"), "ffmpeg (and its libsrt) not installed: run scripts/install-peers.sh"))
    func srtCaller_OfLayerII_IsNamedInItsPublishingLine() async throws {
        let log = Log()
        let (server, port) = try srtServer(log: log)
        defer { server.close() }
        let caller = try Caller.start("srt://127.0.0.1:\(port)?streamid=live&passphrase=correct-horse-battery",
                                      media: ["-f", "lavfi", "-i", "sine=frequency=440:duration=60", "-c:a", "mp2"])
        defer { caller.stop() }
        #expect(await eventually(timeout: .seconds(30)) { log.contains("publishing /live") }, "\(log.lines.value)")
        #expect(log.contains(", MPEG-TS MP2 (MPEG audio Layer II, which many browsers do not play: publish MP3 or AAC for them"), "\(log.lines.value)")
    }

    @Test(.enabled(if: ScriptRun.inCI || ScriptRun.onPath("ffmpeg"), "ffmpeg (and its libsrt) not installed: run scripts/install-peers.sh"))
    func srtCaller_OfAMountInUse_IsRejectedInTheHandshake_With1409() async throws {
        let log = Log()
        let (server, port) = try srtServer(log: log)
        defer { server.close() }
        let (source, feeding) = try await feedingSource(server)
        defer { feeding.cancel() }
        #expect(await eventually(timeout: .seconds(10)) { log.contains("publishing /live") }, "\(log.lines.value)")

        let caller = try Caller.start("srt://127.0.0.1:\(port)?streamid=live&passphrase=correct-horse-battery")
        defer { caller.stop() }
        #expect(await eventually(timeout: .seconds(20)) { log.contains("refused: stream ID 'live': /live is in use (1409)") },
                "\(log.lines.value)")
        #expect(!log.contains("SRT source"), "never accepted, so never refused after the accept: \(log.lines.value)")
        await source.close()
    }

    @Test("An SRT caller killed with -9 and started again takes its mount back once the old connection has been silent 2 s, as an RTMP or Icecast encoder does, not after the source timeout; a second encoder while the first sends is refused",
          .enabled(if: ScriptRun.inCI || ScriptRun.onPath("ffmpeg"), "ffmpeg (and its libsrt) not installed: run scripts/install-peers.sh"))
    func srtCaller_ReconnectingAfterKill9_TakesItsMountBack() async throws {
        let log = Log()
        // A source timeout far longer than the test waits: only a takeover lets the second caller in.
        let server = try server(timeout: .seconds(120), log: log) { configuration in
            var srt = SRTIngest.Configuration(address: .loopback(port: 0))
            srt.passphrases = ["/live": "correct-horse-battery"]
            configuration.srt = srt
        }
        defer { server.close() }
        let port = try #require(server.srtAddress?.port)
        let url = "srt://127.0.0.1:\(port)?streamid=live&passphrase=correct-horse-battery"
        let first = try Caller.start(url)
        #expect(await eventually(timeout: .seconds(30)) { log.contains("publishing /live") }, "\(log.lines.value)")
        // A second encoder with the same credentials while the first still sends is no reconnection: refused.
        let duplicate = try Caller.start(url)
        defer { duplicate.stop() }
        #expect(await eventually(timeout: .seconds(30)) { log.contains("refused on /live: ") && log.contains("the connection is closed") },
                "\(log.lines.value)")
        #expect(!log.contains("replaced by"), "\(log.lines.value)")
        first.stop()  // SIGKILL: the server hears nothing of it
        try await Task.sleep(for: .seconds(3))  // longer than the takeover's silence
        let second = try Caller.start(url)
        defer { second.stop() }
        #expect(await eventually(timeout: .seconds(30)) { log.lines.value.filter { $0.contains("publishing /live") }.count == 2 },
                "\(log.lines.value)")
        #expect(log.contains("on /live ended: replaced by 127.0.0.1:"), "\(log.lines.value)")
        #expect(!log.contains("(1409)"), "\(log.lines.value)")
        #expect(!log.lines.value.contains { $0.contains("correct-horse-battery") }, "\(log.lines.value)")
    }

    @Test("After a SIGHUP changed its mount's SRT passphrase, an encoder killed with -9 and started again with the new passphrase takes its mount back from its dead connection; with the old one, SRT refuses it as a wrong passphrase, not 1409",
          .enabled(if: ScriptRun.inCI || ScriptRun.onPath("ffmpeg"), "ffmpeg (and its libsrt) not installed: run scripts/install-peers.sh"))
    func srtCaller_ReconnectingWithTheNewPassphrase_AfterARotation_TakesItsMountBack() async throws {
        let log = Log()
        func configure(_ passphrase: String) -> (inout StationServer.Configuration) -> Void {
            { configuration in
                configuration.sourceTimeout = .seconds(120)  // only a takeover lets the new caller in
                var srt = SRTIngest.Configuration(address: .loopback(port: 0))
                srt.passphrases = ["/live": passphrase]
                configuration.srt = srt
            }
        }
        let server = try server(timeout: .seconds(120), log: log, configure: configure("first-passphrase-1"))
        defer { server.close() }
        let port = try #require(server.srtAddress?.port)
        let first = try Caller.start("srt://127.0.0.1:\(port)?streamid=live&passphrase=first-passphrase-1")
        #expect(await eventually(timeout: .seconds(30)) { log.contains("publishing /live") }, "\(log.lines.value)")
        let changes = try await server.reload(StationServerReloadTests().configuration(configure("second-passphrase-2")))
        #expect(changes == ["SRT passphrase of /live changed"], "\(changes)")
        first.stop()  // SIGKILL: the server hears nothing of it
        try await Task.sleep(for: .seconds(3))  // longer than the takeover's silence
        // The passphrase the SIGHUP replaced lets nobody in, though the live source was admitted with it.
        let old = try Caller.start("srt://127.0.0.1:\(port)?streamid=live&passphrase=first-passphrase-1")
        #expect(await eventually(timeout: .seconds(30)) { log.contains("refused: stream ID 'live': wrong passphrase") }, "\(log.lines.value)")
        old.stop()
        let second = try Caller.start("srt://127.0.0.1:\(port)?streamid=live&passphrase=second-passphrase-2")
        defer { second.stop() }
        #expect(await eventually(timeout: .seconds(30)) { log.lines.value.filter { $0.contains("publishing /live") }.count == 2 },
                "\(log.lines.value)")
        #expect(log.contains("on /live ended: replaced by 127.0.0.1:"), "\(log.lines.value)")
        #expect(!log.contains("(1409)") && !log.contains("refused on /live"), "\(log.lines.value)")
        #expect(!log.lines.value.contains { $0.contains("-passphrase-") }, "\(log.lines.value)")
    }

    @Test(.enabled(if: ScriptRun.inCI || ScriptRun.onPath("ffmpeg"), "ffmpeg (and its libsrt) not installed: run scripts/install-peers.sh"))
    func srtCallers_WaitingToPublish_AreBounded_TheNextRejectedInTheHandshake_With1402() async throws {
        let log = Log()
        // The first caller waits the source timeout: 15 s, so that a run starving this test for seconds still sees it
        // waiting, not already gone.
        let server = try server(timeout: .seconds(15), log: log) { configuration in
            var srt = SRTIngest.Configuration(address: .loopback(port: 0))
            srt.defaultPassphrase = "correct-horse-battery"
            srt.maxPending = 1
            configuration.srt = srt
        }
        defer { server.close() }
        let port = try #require(server.srtAddress?.port)
        // Video only: accepted, it waits for an audio stream (up to the source timeout) and claims no mount.
        let waiting = try Caller.start("srt://127.0.0.1:\(port)?streamid=backup&passphrase=correct-horse-battery", media: Caller.videoOnly)
        defer { waiting.stop() }
        // Counted once its handshake is under way (a second, mostly; more on a loaded machine).
        #expect(await eventually(timeout: .seconds(20)) { server.srtWaiting == 1 })
        let next = try Caller.start("srt://127.0.0.1:\(port)?streamid=live&passphrase=correct-horse-battery")
        defer { next.stop() }
        #expect(await eventually(timeout: .seconds(20)) {
            log.contains("refused: stream ID 'live': 1 callers are waiting to publish already (1402)")
        }, "\(log.lines.value)")
        #expect(!log.contains("publishing /live"), "\(log.lines.value)")
        // Once the first has gone (no audio within the source timeout), a caller is taken again, and a source that
        // publishes no longer counts.
        #expect(await eventually(timeout: .seconds(40)) { log.contains("on /backup dropped: no MP3 or AAC audio") }, "\(log.lines.value)")
        let later = try Caller.start("srt://127.0.0.1:\(port)?streamid=live&passphrase=correct-horse-battery")
        defer { later.stop() }
        #expect(await eventually(timeout: .seconds(20)) { log.contains("publishing /live") }, "\(log.lines.value)")
        let third = try Caller.start("srt://127.0.0.1:\(port)?streamid=backup&passphrase=correct-horse-battery")
        defer { third.stop() }
        #expect(await eventually(timeout: .seconds(20)) { log.contains("publishing /backup") }, "\(log.lines.value)")
    }

    @Test("An SRT source ended as the server stops says so, as the other ingests' do: not that the SRT listener closed",
          .enabled(if: ScriptRun.inCI || ScriptRun.onPath("ffmpeg"), "ffmpeg (and its libsrt) not installed: run scripts/install-peers.sh"))
    func srtSource_EndedAsTheServerStops_SaysSo() async throws {
        let log = Log()
        let (server, port) = try srtServer(log: log)
        defer { server.close() }
        let caller = try Caller.start("srt://127.0.0.1:\(port)?streamid=live&passphrase=correct-horse-battery")
        defer { caller.stop() }
        #expect(await eventually(timeout: .seconds(30)) { log.contains("publishing /live") }, "\(log.lines.value)")
        await server.endSources()
        #expect(await eventually { log.contains("on /live ended: the server is stopping") }, "\(log.lines.value)")
        #expect(!log.contains("the SRT listener closed"), "\(log.lines.value)")
    }

    @Test("Wrong passphrases, which SRT itself rejects, are logged in the handshake refusals' budget: five a window, then a sum",
          .enabled(if: ScriptRun.inCI || ScriptRun.onPath("ffmpeg"), "ffmpeg (and its libsrt) not installed: run scripts/install-peers.sh"))
    func srtCallers_WithAWrongPassphrase_AreLoggedWithinTheBudget() async throws {
        let log = Log()
        let (server, port) = try srtServer(log: log)
        defer { server.close() }
        // At once, so that they fall in one window of the budget.
        let callers = try (0..<10).map { _ in try Caller.start("srt://127.0.0.1:\(port)?streamid=live&passphrase=wrong-horse-battery") }
        defer { callers.forEach { $0.stop() } }
        #expect(await eventually(timeout: .seconds(30)) { log.contains("more SRT callers refused in the handshake in the last") },
                "\(log.lines.value)")
        #expect(log.lines.value.filter { $0.contains("refused: stream ID 'live': wrong passphrase (rejected by SRT during the handshake)") }.count == 5,
                "\(log.lines.value)")
    }

    @Test("An SRT port in use stops the server at start-up saying so, as the HTTP and RTMP ports do: not 'SRT error 1003'",
          .enabled(if: ScriptRun.inCI || ScriptRun.onPath("ffmpeg"), "ffmpeg (and its libsrt) not installed: run scripts/install-peers.sh"))
    func srtPort_InUse_IsSaidSo() throws {
        let taken = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        try #require(taken >= 0)
        defer { close(taken) }
        let bound = SocketAddress.loopback(port: 0).withSockAddr { pointer, length in bind(taken, pointer, length) }
        try #require(bound == 0)
        var address = sockaddr_in(sin_family: 0, sin_port: 0, sin_addr: in_addr(s_addr: 0), sin_zero: (0, 0, 0, 0, 0, 0, 0, 0))
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(taken, $0, &length) } }
        let port = UInt16(bigEndian: address.sin_port)
        try #require(port != 0)
        var configuration = StationServer.Configuration()
        configuration.sourcePassword = "pw"
        var srt = SRTIngest.Configuration(address: .loopback(port: port))
        srt.defaultPassphrase = "long enough passphrase"
        configuration.srt = srt
        let loop = EventLoop(name: "srt-test")
        defer { loop.shutdown() }
        #expect { try StationServer.start(configuration, address: .loopback(port: 0), loop: loop) } throws: { error in
            "\(error)" == "srt_bind(127.0.0.1:\(port)) failed: address already in use (errno \(EADDRINUSE))"
        }
    }
}
