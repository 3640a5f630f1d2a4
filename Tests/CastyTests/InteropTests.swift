@testable import CastyNet
import Testing

extension ScriptLaneTwo {
    /// End-to-end tests against real software nobody here wrote (DESIGN.md, "What counts as done"): each test
    /// runs one script of `scripts/interop/` once per upstream — Icecast 2 fed by ffmpeg, and `casty-cli station` —
    /// with `casty-cli proxy` in front and mpg123, ffmpeg, cvlc, streamripper and `casty-cli dummy` as listeners,
    /// all on 127.0.0.1. The script prints `PASS:`/`FAIL:`/`MEASURE:` lines and exits 0 only when every check
    /// passed; on failure it prints the logs of every peer, and this test shows the tail of its output.
    ///
    /// The peers come from `scripts/install-peers.sh` (CI runs it before `swift test`). Without them (no `icecast2`
    /// on the PATH) the tests are skipped, unless the environment variable `CI` is set: there a missing peer is a
    /// failure. The scripts run the `casty-cli` that `swift test` built next to the test bundle (`CASTY_CLI`).
    @Suite(.serialized)
    struct InteropTests {
        @Test(
            "mpg123, ffmpeg, cvlc and streamripper play through casty-cli proxy; titles reach them",
            // Skipped without the peers (no icecast2 on the PATH), but never when CI is set: there it must run.
            .enabled(if: Interop.shouldRun, "peers not installed (no icecast2 on the PATH): run scripts/install-peers.sh"),
            .timeLimit(.minutes(3)),
            arguments: Interop.upstreams
        )
        func players(upstream: String) async {
            await Interop.run(script: "players", upstream: upstream)
        }

        @Test(
            "Listeners stay connected while the upstream dies and comes back, and audio resumes",
            // Skipped without the peers (no icecast2 on the PATH), but never when CI is set: there it must run.
            .enabled(if: Interop.shouldRun, "peers not installed (no icecast2 on the PATH): run scripts/install-peers.sh"),
            .timeLimit(.minutes(3)),
            arguments: Interop.upstreams
        )
        func outage(upstream: String) async {
            await Interop.run(script: "outage", upstream: upstream)
        }

        @Test(
            "A listener that stops reading does not delay the others",
            // Skipped without the peers (no icecast2 on the PATH), but never when CI is set: there it must run.
            .enabled(if: Interop.shouldRun, "peers not installed (no icecast2 on the PATH): run scripts/install-peers.sh"),
            .timeLimit(.minutes(3)),
            arguments: Interop.upstreams
        )
        func slowListener(upstream: String) async {
            await Interop.run(script: "slow-listener", upstream: upstream)
        }

        @Test(
            "An https:// station behind nginx, its playlist and an https:// application are reached through OpenSSL",
            .enabled(if: ScriptRun.inCI || ScriptRun.onPath("nginx"), "nginx not installed: run scripts/install-peers.sh"),
            .timeLimit(.minutes(2))
        )
        func https() async {
            await ScriptRun(script: "scripts/interop/https.sh", arguments: [], deadline: .seconds(90)).run()
        }

        @Test(
            "A relay logs in to an Icecast mount behind listener authentication with the login of its URL, shown nowhere",
            .enabled(if: Interop.shouldRun, "peers not installed (no icecast2 on the PATH): run scripts/install-peers.sh"),
            .timeLimit(.minutes(2))
        )
        func relayLogin() async {
            await ScriptRun(script: "scripts/interop/relay-login.sh", arguments: [], deadline: .seconds(90)).run()
        }
    }
}

/// The interop scripts' upstreams and prerequisites.
enum Interop {
    static let upstreams = ["icecast", "station"]

    /// Run when the peers are installed (`icecast2` on the PATH), and always when `CI` is set (a missing peer then
    /// fails the test).
    static var shouldRun: Bool {
        ScriptRun.inCI || ScriptRun.onPath("icecast2")
    }

    /// Runs `bash scripts/interop/<script>.sh <upstream>` with a deadline under the tests' 3-minute limit.
    static func run(script: String, upstream: String, sourceLocation: SourceLocation = #_sourceLocation) async {
        await ScriptRun(script: "scripts/interop/\(script).sh", arguments: [upstream], deadline: .seconds(160))
            .run(sourceLocation: sourceLocation)
    }
}
