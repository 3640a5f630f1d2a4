import Testing

/// End-to-end tests of `casty-cli server` against real sources and players (`scripts/station/`): ffmpeg
/// publishing MP3 and AAC, ezstream (SOURCE, with libshout's TLS probe), liquidsoap (PUT and SOURCE), mpg123
/// and ffmpeg decoding, refusals with their statuses and log lines, and a listener moved to the fallback and
/// back on one connection. Each script also runs against Icecast 2 (`… icecast`), which is how its checks
/// were proved; here they run against Casty. `srt.sh` is Casty's alone: ffmpeg publishing MP3 and AAC in
/// MPEG-TS (and raw MP3) over SRT, stream IDs and passphrases refused and let in, malformed TS, and 5 % loss.
@Suite(.serialized)
struct StationScriptTests {
    static let scripts = ["publish", "refusals", "fallback", "ezstream", "liquidsoap", "srt"]

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
