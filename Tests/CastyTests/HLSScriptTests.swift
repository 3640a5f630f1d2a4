import Testing

extension ScriptLaneOne {
    /// End-to-end tests of live HLS and recordings against real players and caches (`scripts/hls/`): ffmpeg and
    /// ffprobe reading the live playlists, cvlc playing a branch's, RFC 8216's rules checked on every reload,
    /// a root's and a branch's segments compared byte for byte, nginx serving `--hls-dir` and caching Casty's
    /// HLS route; a recording of three minutes decoded by mpg123 and ffmpeg, with its events at the platform's
    /// application; and a relay's live HLS across an Icecast upstream whose encoder comes back at another bitrate
    /// and sample rate, twice. The scripts run side by side. And the README's HLS edge, its nginx block run as
    /// written: static HLS with its cache and CORS headers, playlists naming the edge, the title WebSocket, and
    /// listeners under their own addresses.
    @Suite
    struct HLSScriptTests {
        @Test(
            "Live HLS and recordings, judged by ffmpeg, cvlc, mpg123 and nginx",
            .enabled(if: ScriptRun.inCI || ScriptRun.onPath("ffmpeg"), "peers not installed: run scripts/install-peers.sh"),
            .timeLimit(.minutes(5)),
            arguments: ["live", "record", "bitrate-switch"]
        )
        func hls(script: String) async {
            await ScriptRun(script: "scripts/hls/\(script).sh", arguments: [], deadline: .seconds(270)).run()
        }

        @Test(
            "The README's nginx HLS edge, copied as written, serves static HLS to other sites and passes on the host, the WebSocket and the listener's address",
            .enabled(if: ScriptRun.inCI || (ScriptRun.onPath("nginx") && ScriptRun.onPath("ffmpeg")),
                     "nginx or ffmpeg not installed: run scripts/install-peers.sh"),
            .timeLimit(.minutes(2))
        )
        func readmeEdge() async {
            await ScriptRun(script: "scripts/hls/edge.sh", arguments: [], deadline: .seconds(90)).run()
        }
    }
}
