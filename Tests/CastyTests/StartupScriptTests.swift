@testable import CastyNet
import Testing

extension ScriptLaneTwo {
    /// `scripts/interop/startup.sh` against the real `casty-cli`: a proxy whose station answers 404 at boot keeps
    /// running, answers players 503 with Retry-After, streams once the station is up, and a port in use exits 1;
    /// `scripts/tree/root-options.sh`: `casty-cli root` parses the SRT options as `casty-cli server` does;
    /// `scripts/tree/key-rotation.sh`: SIGHUP rotates a closed tree's key in a root, a branch and a root of mounts;
    /// `scripts/interop/port-options.sh`: `proxy`, `station` and `branch` take `--trusted-proxy` and `--cors-origins`;
    /// `scripts/interop/config-file.sh`: a `--config` file of many mounts, and its mistakes named by their line;
    /// `scripts/interop/demo.sh`: the README's first command plays; `scripts/interop/usage-mistakes.sh`: a usage
    /// mistake ends a command before it starts anything, and a tree node advertising 0.0.0.0 warns;
    /// `scripts/interop/signals-and-limits.sh`: SIGHUP, a dummy's Ctrl-C, the descriptor limit (and a flood of idle connections at it), a killed run's HLS (and a reloaded one's, kept). Needs python3 (always on the machines Casty is
    /// tested on), and mpg123 for the demo.
    @Suite
    struct StartupScriptTests {
        @Test(
            "A proxy outlives a bad upstream at start-up, and a port in use is an error",
            .enabled(if: ScriptRun.inCI || ScriptRun.onPath("python3"), "python3 is not on the PATH"),
            .timeLimit(.minutes(2))
        )
        func badUpstreamAtStartUp() async {
            await ScriptRun(script: "scripts/interop/startup.sh", arguments: [], deadline: .seconds(90)).run()
        }

        @Test(
            "The README's first command: casty-cli demo prints its URL at once, mpg123 plays it with titles, Ctrl-C ends it",
            .enabled(if: ScriptRun.inCI || ScriptRun.onPath("mpg123"), "mpg123 is not installed: run scripts/install-peers.sh"),
            .timeLimit(.minutes(1))
        )
        func demoPlays() async {
            await ScriptRun(script: "scripts/interop/demo.sh", arguments: [], deadline: .seconds(50)).run()
        }

        @Test(
            "Every command that listens takes --trusted-proxy and --cors-origins: proxy, station, branch as well as server",
            .enabled(if: ScriptRun.inCI || ScriptRun.onPath("python3"), "python3 is not on the PATH"),
            .timeLimit(.minutes(1))
        )
        func everyListeningCommandTakesTheEdgeOptions() async {
            await ScriptRun(script: "scripts/interop/port-options.sh", arguments: [], deadline: .seconds(45)).run()
        }

        @Test(
            "A config file of many mounts starts a server; each mistake in one is status 1 and a first line naming its line",
            .enabled(if: ScriptRun.inCI || ScriptRun.onPath("python3"), "python3 is not on the PATH"),
            .timeLimit(.minutes(2))
        )
        func configFileMistakesNameTheirLine() async {
            await ScriptRun(script: "scripts/interop/config-file.sh", arguments: [], deadline: .seconds(75)).run()
        }

        @Test(
            "A usage mistake (--status-every 0, a bad --port, an empty --tree-key-file, an --advertise that is not host:port) ends proxy, station, demo, root and branch before they start anything; advertising 0.0.0.0 is warned of",
            .enabled(if: ScriptRun.inCI || ScriptRun.onPath("python3"), "python3 is not on the PATH"),
            .timeLimit(.minutes(1))
        )
        func usageMistakesEndBeforeAnythingStarts() async {
            await ScriptRun(script: "scripts/interop/usage-mistakes.sh", arguments: [], deadline: .seconds(45)).run()
        }

        @Test(
            "SIGHUP stops a station cleanly (not under nohup); Ctrl-C ends a dummy with its summary; past the descriptor limit a dummy counts failures and a proxy refuses peers with a bounded log, and a flood of idle connections from one address no longer locks a player out; a killed run's live HLS is deleted by the next, and a server's SIGHUP keeps its own",
            .enabled(if: ScriptRun.inCI || ScriptRun.onPath("python3"), "python3 is not on the PATH"),
            .timeLimit(.minutes(2))
        )
        func signalsAndDescriptorLimits() async {
            await ScriptRun(script: "scripts/interop/signals-and-limits.sh", arguments: [], deadline: .seconds(90)).run()
        }

        @Test(
            "casty-cli root takes the SRT options of casty-cli server: --srt-port, --srt-passphrase, --srt-latency, --srt-library",
            .enabled(if: ScriptRun.inCI || ScriptRun.onPath("python3"), "python3 is not on the PATH"),
            .timeLimit(.minutes(1))
        )
        func rootTakesTheServersSRTOptions() async {
            await ScriptRun(script: "scripts/tree/root-options.sh", arguments: [], deadline: .seconds(45)).run()
        }

        @Test(
            "SIGHUP rotates a closed tree's key: a root, a branch and a root of mounts read their key file again and admit the new key and the previous one, never a third",
            .enabled(if: ScriptRun.inCI || ScriptRun.onPath("python3"), "python3 is not on the PATH"),
            .timeLimit(.minutes(1))
        )
        func sighupRotatesTheTreeKey() async {
            await ScriptRun(script: "scripts/tree/key-rotation.sh", arguments: [], deadline: .seconds(50)).run()
        }
    }
}
