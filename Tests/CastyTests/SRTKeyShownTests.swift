import Glibc
import Icy
import Synchronization
import Testing

@testable import Casty
@testable import CastyNet

/// An SRT caller's `?key=` is its secret: the stream ID is shown — in `/status.json`, log lines — with the key
/// left out, and the mount's `icy-name` is the mount.
extension StationServerTests {
    /// A running `ffmpeg`, killed when the test is done with it, and reaped as soon as it ends — on its own (a caller
    /// refused or dropped exits at once) or killed. A child left unreaped is no idle zombie here: Swift Testing's exit
    /// test monitor waits for any child (`waitid(P_ALL, WNOWAIT)`), and one it does not know it finds again and
    /// again, spinning a core and noticing its own child's end only once the zombie is gone.
    final class Caller: Sendable {
        /// The process id.
        let pid: pid_t
        /// Whether it was reaped: its pid may then be another process's, which `stop()` must not kill.
        private let reaped = Mutex(false)

        private init(pid: pid_t) { self.pid = pid }

        /// ffmpeg's input and encoding of a sine tone as MP3.
        static let tone = ["-f", "lavfi", "-i", "sine=frequency=440:duration=60", "-c:a", "libmp3lame", "-b:a", "64k"]
        /// ffmpeg's input and encoding of a small picture as MPEG-2 video, with no audio at all.
        static let videoOnly = ["-f", "lavfi", "-i", "testsrc=size=64x64:rate=5:duration=60", "-c:v", "mpeg2video"]

        /// ffmpeg's input of silence as raw 16-bit PCM: no transport stream, nor MP3 or ADTS frames (with the
        /// container `s16le`).
        static let rawPCM = ["-f", "lavfi", "-i", "anullsrc=r=44100:cl=stereo", "-t", "60", "-c:a", "pcm_s16le"]

        /// Starts ffmpeg publishing `media` (a sine tone as MP3 unless told) in `container` (MPEG-TS unless told) to
        /// `url`; its output goes to /dev/null, and it inherits no other descriptor of the test process.
        static func start(_ url: String, media: [String] = tone, container: String = "mpegts") throws -> Caller {
            let arguments = ["ffmpeg", "-nostdin", "-loglevel", "error", "-re"] + media + ["-f", container, url]
            var actions = posix_spawn_file_actions_t()
            posix_spawn_file_actions_init(&actions)
            defer { posix_spawn_file_actions_destroy(&actions) }
            for descriptor: Int32 in 0...2 { posix_spawn_file_actions_addopen(&actions, descriptor, "/dev/null", O_RDWR, 0) }
            ScriptRun.inheritNothingElse(&actions)
            let argv = arguments.map { strdup($0) } + [nil]
            defer { argv.forEach { free($0) } }
            var pid: pid_t = 0
            try #require(posix_spawnp(&pid, "ffmpeg", &actions, nil, argv, environ) == 0)
            let caller = Caller(pid: pid)
            Task.detached { [caller] in
                while !caller.reapIfEnded() { try? await Task.sleep(for: .milliseconds(50)) }
            }
            return caller
        }

        /// Reaps it if it has ended; whether it was reaped (now or before).
        private func reapIfEnded() -> Bool {
            reaped.withLock { reaped in
                var status: Int32 = 0
                if !reaped, waitpid(pid, &status, WNOHANG) != 0 { reaped = true }
                return reaped
            }
        }

        /// Ends ffmpeg (it is reaped within moments).
        func stop() {
            reaped.withLock { reaped in
                if !reaped { kill(pid, SIGKILL) }
            }
        }
    }

    /// A `?token=` beside the key (the nginx-rtmp habit) is not read, and no more shown than the key: one line names it.
    @Test(.enabled(if: ScriptRun.inCI || ScriptRun.onPath("ffmpeg"), "ffmpeg not installed: run scripts/install-peers.sh"))
    func srtCallersKey_IsNeverShown_InStatusIcyNameOrTheLog() async throws {
        let log = Log()
        let server = try server(log: log) { configuration in
            var srt = SRTIngest.Configuration(address: .loopback(port: 0))
            srt.passphrases = ["/live": "correct-horse-battery"]
            configuration.srt = srt
            takesCommands(&configuration)
        }
        defer { server.close() }
        let port = try #require(server.srtAddress?.port)
        let caller = try Caller.start(
            "srt://127.0.0.1:\(port)?streamid=live%3Fkey%3DSeCrEtKeY42%26token%3DToKeNsEcReT&passphrase=correct-horse-battery")
        defer { caller.stop() }
        #expect(await eventually(timeout: .seconds(30)) { log.contains("SRT source") && log.contains("publishing") }, "\(log.lines.value)")
        #expect(log.contains("on /live: ?token= not read (of a stream ID's query, Casty reads ?key= only)"), "\(log.lines.value)")
        let status = try await ask(server, "/status.json", admin: false)
        #expect(status.contains("\"stream_id\":\"live?key=…&token=…\""), "\(status)")
        #expect(!status.contains("SeCrEtKeY42") && !status.contains("ToKeNsEcReT"), "the key is not in the public status")
        let asked = try await TestPeer.connect(to: server.address, on: loop)
        await asked.send("GET /commands/report HTTP/1.0\r\nAuthorization: Bearer tok\r\n\r\n")
        _ = await eventually { asked.closed.value }
        let report = asked.text
        #expect(report.contains("live?key=…&token=…"), "\(report)")
        #expect(!report.contains("SeCrEtKeY42") && !report.contains("ToKeNsEcReT"), "nor in the report")
        let player = try await listener(server)
        #expect(await player.waitFor(timeout: .seconds(10)) { String(decoding: $0, as: UTF8.self).contains("\r\n\r\n") })
        #expect(player.text.lowercased().contains("icy-name: /live\r\n"), "named by its mount: \(player.text)")
        #expect(!player.text.contains("SeCrEtKeY42"), "nor in the mount's icy-name")
        #expect(!log.lines.value.contains { $0.contains("SeCrEtKeY42") || $0.contains("ToKeNsEcReT") }, "nor in the log")
    }

    /// Port 0 asks the system for a free port: `srtAddress` names the one bound (the CLI prints it at start, tests
    /// and scripts give it to callers), not 0.
    @Test(.enabled(if: ScriptRun.inCI || ScriptRun.onPath("ffmpeg"), "ffmpeg (and its libsrt) not installed: run scripts/install-peers.sh"))
    func srtAddress_NamesThePortBound_WhenPortZeroIsAsked() throws {
        let server = try server { configuration in
            var srt = SRTIngest.Configuration(address: .loopback(port: 0))
            srt.defaultPassphrase = "correct-horse-battery"
            configuration.srt = srt
        }
        defer { server.close() }
        let port = try #require(server.srtAddress?.port)
        #expect(port != 0)
        // The port is SRT's: a UDP socket (without SO_REUSEADDR) cannot bind it while the server listens.
        let probe = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        try #require(probe >= 0)
        defer { close(probe) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(probe, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        #expect(bound != 0 && errno == EADDRINUSE, "port \(port) is not SRT's")
    }
}
