import Testing

extension ScriptLaneTwo {
    /// `scripts/browser/player.sh`: Debian's chromium, headless and driven over the DevTools protocol, plays the player
    /// page (its `<audio>` passes 5 s, its title follows the station's), a page on another origin reads titles from
    /// the stream (CORS), and a screenshot of the player page is written for people to look at.
    /// `scripts/browser/mount-name.sh`: the player page of `/música` shows that mount; one whose address names another
    /// site's audio as its mount says "No such station" and asks that site nothing.
    @Suite
    struct BrowserScriptTests {
        @Test(
            "The player page plays in a real browser, and a page on another site reads the titles",
            .enabled(if: ScriptRun.inCI || ScriptRun.onPath("chromium"), "chromium not installed: run scripts/install-peers.sh"),
            .timeLimit(.minutes(3))
        )
        func playerPage() async {
            await ScriptRun(script: "scripts/browser/player.sh", arguments: [], deadline: .seconds(150)).run()
        }

        @Test(
            "The player page of a mount whose name is not ASCII shows that mount (the browser keeps its path %-escaped)",
            .enabled(if: ScriptRun.inCI || ScriptRun.onPath("chromium"), "chromium not installed: run scripts/install-peers.sh"),
            .timeLimit(.minutes(2))
        )
        func playerPageOfAMountNotASCII() async {
            await ScriptRun(script: "scripts/browser/mount-name.sh", arguments: [], deadline: .seconds(90)).run()
        }

        @Test(
            "Behind nginx terminating TLS, the stream, the title events and the player page work over https",
            .enabled(if: ScriptRun.inCI || (ScriptRun.onPath("chromium") && ScriptRun.onPath("nginx")),
                     "chromium or nginx not installed: run scripts/install-peers.sh"),
            .timeLimit(.minutes(3))
        )
        func behindNginx() async {
            await ScriptRun(script: "scripts/browser/tls.sh", arguments: [], deadline: .seconds(150)).run()
        }
    }
}
