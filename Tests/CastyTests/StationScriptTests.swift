import Testing

extension ScriptLaneTwo {
    /// End-to-end tests of `casty-cli server` against real sources and players (`scripts/station/`): ffmpeg
    /// publishing MP3 and AAC (with Icecast's protocol, and over RTMP), ezstream (SOURCE, with libshout's TLS probe), liquidsoap (PUT and SOURCE), mpg123
    /// and ffmpeg decoding, refusals with their statuses and log lines, and a listener moved to the fallback and
    /// back on one connection; `branch.sh`: mpg123, ffmpeg and cvlc through a branch under a root that ffmpeg publishes
    /// to, and a title set on the root reaching the branch's listener. Each script also runs against Icecast 2 (`… icecast`), which is how its checks
    /// were proved (but `rtmp.sh` and `srt.sh`: Icecast takes neither). `srt.sh`: ffmpeg publishing MP3 and AAC in
    /// MPEG-TS (and raw MP3) over SRT, stream IDs and passphrases refused and let in, malformed TS, and 5 % loss.
    /// `stall.sh`: an ffmpeg source stopped for 15 s, whose backlog is cut to `--source-catch-up` for its listener.
    @Suite(.serialized)
    struct StationScriptTests {
        static let scripts = ["publish", "branch", "refusals", "fallback", "ezstream", "liquidsoap", "srt", "rtmp", "stall"]

        @Test(
            "casty-cli server takes real sources and serves real players",
            .enabled(if: ScriptRun.inCI || ScriptRun.onPath("ffmpeg"), "peers not installed: run scripts/install-peers.sh"),
            .timeLimit(.minutes(3)),
            arguments: scripts
        )
        func station(script: String) async {
            await ScriptRun(script: "scripts/station/\(script).sh", arguments: ["casty"], deadline: .seconds(150)).run()
        }
    }
}
