@testable import CastyNet
@testable import CastyWire
import Icy
import Testing

@testable import Casty

/// A tree of many mounts in one process: a station server as the root, with two mounts fed by built-in
/// stations, and branches that relay whatever mount their players ask for, each in that mount's own tree.
@Suite(.serialized)
struct TreeMountsTests {
    /// Small, fast segments: 1600 bytes of the built-in tone at 128 kbit/s last 0.1 s.
    static let segmentBytes = 1600

    /// A root station server of `mounts` (sources publish with the password `hackme`), with `fallbacks`.
    func stationRoot(
        _ mounts: [String], fallbacks: [String: String] = [:], segmentBytes: Int = segmentBytes, fanout: Int = 2, treeKey: TreeKey? = nil,
        sourceTimeout: Duration = .seconds(10), subtreeRefresh: Duration = .seconds(10), logger: EventLog = .silent,
        configure: (inout StationServer.Configuration) -> Void = { _ in }
    ) throws -> StationServer {
        var configuration = StationServer.Configuration()
        configure(&configuration)
        configuration.sourcePassword = "hackme"
        configuration.mounts = mounts
        configuration.fallbacks = fallbacks
        configuration.segmentBytes = segmentBytes
        configuration.sourceTimeout = sourceTimeout
        configuration.distribution.subtreeRefresh = subtreeRefresh
        return try StationServer.startRoot(configuration, address: .loopback(port: 0), fanout: fanout, treeKey: treeKey, logger: logger)
    }

    @Test("On a root of mounts, a branch refused for its tree key is logged under the mount it asked, as the mount's other tree lines are")
    func aBranchRefusedForItsKey_IsLoggedUnderItsMount() async throws {
        let lines = LogLines()
        let server = try stationRoot(["/a", "/b"], treeKey: TreeKey("tree-secret"), logger: lines.logger)
        let station = try Station.builtIn(titles: ["B"], titleInterval: .seconds(1), segmentBytes: Self.segmentBytes)
        await station.start()
        server.attach(station, at: "/b")
        let stranger = try await TestPeer.connect(to: server.address, on: .shared)
        await stranger.send("GET /b HTTP/1.0\r\nX-Casty-Branch: 10.9.9.9:8001\r\nX-Casty-Key: wrong\r\n\r\n")
        #expect(await eventually(timeout: .seconds(10)) { stranger.closed.value })
        #expect(stranger.text.hasPrefix("HTTP/1.0 403 Forbidden\r\n"), "\(stranger.text)")
        #expect(await eventually(timeout: .seconds(10)) {
            lines.value.contains { $0.contains("mount /b: tree: branch 10.9.9.9:8001 from ") && $0.hasSuffix("refused: wrong or missing tree key (403)") }
        }, "\(lines.value)")
        station.stop()
        server.close()
    }

    /// A root station server with mounts `/a` and `/b`, each fed by its own built-in station.
    func root(fanout: Int = 2, treeKey: TreeKey? = nil) async throws -> (server: StationServer, stations: [Station]) {
        let server = try stationRoot(["/a", "/b"], fanout: fanout, treeKey: treeKey)
        var stations: [Station] = []
        for (mount, title) in [("/a", "Mount A"), ("/b", "Mount B")] {
            let station = try Station.builtIn(
                name: "Station \(title)", titles: [title], titleInterval: .seconds(1), segmentBytes: Self.segmentBytes)
            await station.start()
            server.attach(station, at: mount)
            stations.append(station)
        }
        return (server, stations)
    }

    func branch(
        _ server: StationServer, path: String = "/", settings: BranchMounts.Settings = .init(), treeKey: TreeKey? = nil, eager: Bool = false
    ) throws -> Branch.Running {
        var configuration = Branch.Configuration()
        configuration.backoff = .milliseconds(20)
        configuration.treeKey = treeKey
        return try Branch.serve(
            root: StreamURL(host: "127.0.0.1", port: server.address.port, path: path), address: .loopback(port: 0), eager: eager,
            configuration: configuration, mounts: settings)
    }

    /// A branch of `server`'s one mount `path` (not of its mounts: `Branch.serve`), quick to repair, logging to `logger`.
    func mountBranch(of server: StationServer, path: String, logger: EventLog) throws -> Branch.Running {
        var configuration = Branch.Configuration()
        configuration.backoff = .milliseconds(20)
        return try Branch.serve(
            root: StreamURL(host: "127.0.0.1", port: server.address.port, path: path), address: .loopback(port: 0),
            configuration: configuration, logger: logger)
    }

    /// A player asking `serving`'s port for `path`, with titles.
    func play(_ path: String, at address: SocketAddress) async throws -> TestPeer {
        let player = try await TestPeer.connect(to: address, on: .shared)
        await player.send("GET \(path) HTTP/1.0\r\nIcy-MetaData: 1\r\n\r\n")
        return player
    }

    func titles(_ player: TestPeer) throws -> [String] {
        let parsed = try #require(try player.parsed(segmentBytes: Self.segmentBytes))
        return parsed.segments.compactMap { Metadata(parsing: $0.metadata).streamTitle }
    }

    func treeLine(_ address: SocketAddress, mount: String? = nil) async throws -> TreeLine {
        let path = "/tree" + (mount.map { "?mount=\($0)" } ?? "")
        return TreeLine(try await Upstream.fetchText(StreamURL(host: "127.0.0.1", port: address.port, path: path)))
    }

    @Test("A branch of a many-mount tree lists the mounts it relays to pages, and relays one a page asks for")
    func aManyMountBranch_ListsItsMountsToPages() async throws {
        let (server, stations) = try await root()
        let serving = try branch(server)
        let onA = try await play("/a", at: serving.port.address)
        #expect(await onA.waitFor(timeout: .seconds(5)) { $0.count > 3 * Self.segmentBytes })
        let base = "http://127.0.0.1:\(serving.port.address.port)"
        let listed = try await Upstream.fetchText(try #require(StreamURL(base + "/api/mounts")))
        #expect(listed.contains("\"mount\":\"/a\"") && !listed.contains("\"mount\":\"/\""), "\(listed)")
        // /b, which no player asked for yet: a page asking for it is answered (the branch relays it from now on,
        // and joins its tree at its first player: the page's own <audio>).
        let idle = try await Upstream.fetchText(try #require(StreamURL(base + "/api/mounts/b")))
        #expect(idle.contains("\"mount\":\"/b\"") && idle.contains("\"live\":false"), "\(idle)")
        let onB = try await play("/b", at: serving.port.address)
        #expect(await onB.waitFor(timeout: .seconds(5)) { $0.count > 3 * Self.segmentBytes })
        let described = try await Upstream.fetchText(try #require(StreamURL(base + "/api/mounts/b")))
        #expect(described.contains("\"name\":\"Station Mount B\"") && described.contains("\"live\":true"), "\(described)")
        for station in stations { station.stop() }
        serving.stop()
        server.close()
    }

    @Test("A branch of a many-mount tree records a --record mount from the start, with no player asking for it")
    func aManyMountBranch_RecordsARecordedMount_WithNoPlayer() async throws {
        let (server, stations) = try await root()
        let directory = temporaryDirectory("branch-record")
        var options = ClientOptions()
        options.recording.directory = directory
        options.recording.mounts = ["/b", "/c"]  // the root has no /c
        var configuration = Branch.Configuration()
        configuration.backoff = .milliseconds(20)
        let log = StationServerTests.Log()
        let serving = try Branch.serve(
            root: StreamURL(host: "127.0.0.1", port: server.address.port, path: "/"), address: .loopback(port: 0),
            configuration: configuration, options: options, logger: log.logger)
        #expect(await eventually(timeout: .seconds(10)) { await serving.mounts?.relays().map(\.mount).contains("/b") == true })
        // Its segments go to a day's folder of /b: one file of audio at least, growing.
        #expect(await eventually(timeout: .seconds(15)) {
            FileWriter.names(in: directory + "/b").contains { day in
                FileWriter.names(in: "\(directory)/b/\(day)").contains { $0.hasSuffix(".mp3") }
            }
        }, "\(FileWriter.names(in: directory))")
        #expect(!FileWriter.names(in: directory).contains("a"), "only the recorded mount")
        #expect(await serving.mounts?.relays().map(\.mount).contains("/a") == false)
        // /c, which the root has not, is kept all the same, its link asking again: not dropped and made anew.
        try await Task.sleep(for: .seconds(3))
        #expect(await serving.mounts?.relays().map(\.mount).contains("/c") == true)
        #expect(!log.contains("no longer relays /c"), "\(log.lines.value)")
        #expect(log.lines.value.filter { $0.contains("relays /c from now on") }.count == 1, "\(log.lines.value)")
        for station in stations { station.stop() }
        serving.stop()
        server.close()
    }

    @Test func eachBranchRelaysTheMountItsPlayerAsks_ThroughTheTree() async throws {
        let (server, stations) = try await root(fanout: 1)
        let first = try branch(server), second = try branch(server)
        #expect(await first.mounts?.relays().map(\.mount) == ["/"])

        let onA = try await play("/a", at: first.port.address)
        #expect(await onA.waitFor(timeout: .seconds(5)) { $0.count > 3 * Self.segmentBytes })
        #expect(onA.text.hasPrefix("HTTP/1.0 200 OK\r\n"))
        #expect(onA.text.contains("icy-name: Station Mount A"))
        #expect(try titles(onA).first?.hasPrefix("Mount A") == true)
        #expect(await first.mounts?.relays().map(\.mount) == ["/", "/a"])
        #expect(await second.mounts?.relays().map(\.mount) == ["/"])

        let onB = try await play("/b", at: second.port.address)
        #expect(await onB.waitFor(timeout: .seconds(5)) { $0.count > 3 * Self.segmentBytes })
        #expect(onB.text.contains("icy-name: Station Mount B"))
        #expect(try titles(onB).first?.hasPrefix("Mount B") == true)
        #expect(await second.mounts?.relays().map(\.mount) == ["/", "/b"])

        // Each relay hangs under the root in its own mount's tree, with its own stream.
        let a1 = try #require(await first.mounts?.relay(at: "/a"))
        let b2 = try #require(await second.mounts?.relay(at: "/b"))
        #expect(await a1.branch.parent?.port == server.address.port)
        #expect(await a1.branch.parent?.path == "/a")
        #expect(await b2.branch.parent?.path == "/b")
        let streamA = try #require(await a1.distributor.stat().context?.stream)
        let streamB = try #require(await b2.distributor.stat().context?.stream)
        #expect(streamA != streamB)
        #expect(try await treeLine(server.address, mount: "/a").children == [first.port.address.description])
        #expect(try await treeLine(server.address, mount: "/b").children == [second.port.address.description])

        // The root's /a is full (fanout 1): the second branch's /a goes under the first branch's /a.
        let alsoA = try await play("/a", at: second.port.address)
        #expect(await alsoA.waitFor(timeout: .seconds(5)) { $0.count > 3 * Self.segmentBytes })
        #expect(try titles(alsoA).first?.hasPrefix("Mount A") == true)
        let a2 = try #require(await second.mounts?.relay(at: "/a"))
        #expect(await a2.branch.parent?.port == first.port.address.port)
        #expect(await a2.branch.parent?.path == "/a")
        #expect(await a2.distributor.stat().context?.stream == streamA)
        #expect(await a2.distributor.stat().path == [server.address.description, first.port.address.description])
        let atFirst = try await treeLine(first.port.address, mount: "/a")
        #expect(atFirst.children == [second.port.address.description])
        #expect(atFirst["depth"] == "1")
        #expect(try await treeLine(second.port.address, mount: "/a")["depth"] == "2")
        await #expect(throws: CastyError.self, "a mount the branch does not relay has no tree here (404)") {
            try await treeLine(second.port.address, mount: "/nothing")
        }

        // The branch's status lists the mounts it relays.
        let status = try await Upstream.fetchText(StreamURL(host: "127.0.0.1", port: second.port.address.port, path: "/status.json"))
        #expect(status.contains("\"mount\":\"/a\"") && status.contains("\"mount\":\"/b\""))

        for player in [onA, onB, alsoA] { await player.close() }
        stations.forEach { $0.stop() }
        [first, second].forEach { $0.stop() }
        server.close()
    }

    @Test func aMountTheRootDoesNotHave_IsDropped_AndAnIdleMountToo() async throws {
        let (server, stations) = try await root()
        var settings = BranchMounts.Settings()
        settings.idleTimeout = .milliseconds(400)
        let serving = try branch(server, settings: settings)

        let lost = try await play("/nope", at: serving.port.address)
        #expect(await eventually(timeout: .seconds(5)) { lost.closed.value })
        #expect(lost.text.hasPrefix("HTTP/1.0 404"))
        #expect(await eventually { await serving.mounts?.relays().map(\.mount) == ["/"] })

        let player = try await play("/b", at: serving.port.address)
        #expect(await player.waitFor(timeout: .seconds(5)) { $0.count > 3 * Self.segmentBytes })
        try await Task.sleep(for: .milliseconds(800))
        #expect(await serving.mounts?.relays().map(\.mount) == ["/", "/b"], "a mount someone listens to stays")
        await player.close()
        #expect(await eventually(timeout: .seconds(3)) { await serving.mounts?.relays().map(\.mount) == ["/"] })
        #expect(try await treeLine(server.address, mount: "/b").children.isEmpty)

        stations.forEach { $0.stop() }
        serving.stop()
        server.close()
    }

    /// A root of the mounts /a and /b (no sources), and a branch of it at its root path (`eager`: it takes a place at
    /// once), with their log lines; `configure` sets the branch's configuration and its mounts' settings.
    func branchOfTwoMountRoot(
        eager: Bool = false, configure: (inout Branch.Configuration, inout BranchMounts.Settings) -> Void = { _, _ in }
    ) throws -> (server: StationServer, serving: Branch.Running, rootLog: StationServerTests.Log, branchLog: StationServerTests.Log) {
        let rootLog = StationServerTests.Log(), branchLog = StationServerTests.Log()
        let server = try stationRoot(["/a", "/b"], logger: rootLog.logger)
        var configuration = Branch.Configuration()
        var settings = BranchMounts.Settings()
        configure(&configuration, &settings)
        let serving = try Branch.serve(
            root: StreamURL(host: "127.0.0.1", port: server.address.port, path: "/"), address: .loopback(port: 0), eager: eager,
            configuration: configuration, mounts: settings, logger: branchLog.logger)
        return (server, serving, rootLog, branchLog)
    }

    @Test("A branch of a server that is no tree root says so once: it relays it as a player would, unplaced; a branch of a root does not say it",
          arguments: [false, true])
    func aBranchOfAServerThatIsNoRoot_SaysSo(root: Bool) async throws {
        var configuration = StationServer.Configuration()
        configuration.sourcePassword = "hackme"
        configuration.mounts = ["/live"]
        configuration.segmentBytes = Self.segmentBytes
        let server = root
            ? try StationServer.startRoot(configuration, address: .loopback(port: 0))
            : try StationServer.start(configuration, address: .loopback(port: 0))
        let station = try Station.builtIn(segmentBytes: Self.segmentBytes)
        await station.start()
        server.attach(station, at: "/live")
        let log = StationServerTests.Log()
        let serving = try Branch.serve(
            root: StreamURL(host: "127.0.0.1", port: server.address.port, path: "/live"), address: .loopback(port: 0), eager: true,
            logger: log.logger)
        #expect(await eventually(timeout: .seconds(5)) { log.contains("attached to") }, "\(log.lines.value)")
        let said = log.lines.value.filter { $0.contains("places no branches (it is no tree node: start it with casty-cli root)") }
        #expect(said.count == (root ? 0 : 1), "\(log.lines.value)")
        serving.stop()
        station.stop()
        server.close()
    }

    @Test("An --eager branch of a root of several mounts asks it for / once, then rests (idle) until a player asks: not every 10 s for ever")
    func anEagerBranch_OfAManyMountRoot_AsksForTheRootPathOnce() async throws {
        // Were it asking again, ten times a second.
        let (server, serving, rootLog, branchLog) = try branchOfTwoMountRoot(eager: true) { configuration, _ in configuration.missingBackoff = .milliseconds(100) }
        #expect(await eventually(timeout: .seconds(5)) { await serving.branch.status == "idle (the root has no stream here)" })
        try await Task.sleep(for: .seconds(1))
        let asked = rootLog.lines.value.filter { $0.contains("refused: no mount at / (404)") }
        #expect(asked.count == 1, "\(asked)")
        #expect(asked.first?.contains("branch \(serving.branch.address) from 127.0.0.1:") == true, "named by the address it serves at: \(asked)")
        #expect(!branchLog.contains("retrying"), "\(branchLog.lines.value)")
        #expect(branchLog.contains("the root has no stream at / (404)"), "\(branchLog.lines.value)")
        // A player asking for / now is answered 404 at once, the root not asked again.
        let player = try await play("/", at: serving.port.address)
        #expect(await eventually(timeout: .seconds(2)) { player.closed.value })
        #expect(player.text.hasPrefix("HTTP/1.0 404 Not Found\r\n"), "\(player.text)")
        #expect(rootLog.lines.value.filter { $0.contains("refused: no mount at / (404)") }.count == 1)
        // Attempts 10 s apart are summed up every minute, not each in a line of its own.
        #expect(Branch.summingInterval(waiting: .seconds(10)) == .seconds(60))
        #expect(Branch.summingInterval(waiting: .milliseconds(500)) == .seconds(10))
        serving.stop()
        server.close()
    }

    @Test("A branch recording its root path keeps asking the root for it while the root has no stream there, to record it once it comes")
    func aRecordedRootPath_KeepsAsking() async throws {
        let (server, serving, rootLog, _) = try branchOfTwoMountRoot(eager: true) { configuration, settings in
            configuration.missingBackoff = .milliseconds(100)
            settings.kept = ["/"]
        }
        let asked = { @Sendable in rootLog.lines.value.filter { $0.contains("refused: no mount at / (404)") }.count }
        #expect(await eventually(timeout: .seconds(5)) { asked() >= 3 }, "\(rootLog.lines.value)")
        #expect(await serving.branch.status != "idle (the root has no stream here)")
        serving.stop()
        server.close()
    }

    @Test("A scan of paths the root has not costs the branch one refusal line each, within the refusal budget, and the root one ask per path")
    func aScanOfUnknownPaths_IsRefusedQuietly_AskingTheRootOncePerPath() async throws {
        let (server, serving, rootLog, branchLog) = try branchOfTwoMountRoot { configuration, _ in configuration.backoff = .milliseconds(20) }
        for path in Array(repeating: "/typo", count: 5) + (1...20).map({ "/scan\($0)" }) {
            let player = try await play(path, at: serving.port.address)
            #expect(await eventually(timeout: .seconds(5)) { player.closed.value })
            #expect(player.text.hasPrefix("HTTP/1.0 404 Not Found\r\n"), "\(path): \(player.text)")
        }
        let asked = rootLog.lines.value.filter { $0.contains("refused: no mount at /typo (404)") }
        #expect(asked.count == 1, "asked once for five players: \(asked)")
        let lines = branchLog.lines.value.filter { $0.contains("/typo") || $0.contains("/scan") }
        #expect(lines.count <= 10, "ten refusal lines per 10 s, the rest summed up: \(lines)")
        #expect(!lines.contains { $0.contains("relays") || $0.contains("retrying") }, "\(lines)")
        #expect(await serving.mounts?.relays().map(\.mount) == ["/"])
        serving.stop()
        server.close()
    }

    @Test("A branch answers the HLS playlist of a mount the root has not 404, as the root does, not 503 'try again shortly'")
    func aBranchAnswersTheHLSPlaylistOfAMountTheRootHasNot_404() async throws {
        let (server, serving, _, _) = try branchOfTwoMountRoot { configuration, settings in
            configuration.backoff = .milliseconds(20)
            settings.missingFor = .milliseconds(200)  // past it, the branch asks the root again: still 404 meanwhile
        }
        let status = { @Sendable (address: SocketAddress) async in
            String(decoding: await StationServerTests.fetch(address, "/nonexist/index.m3u8").prefix(12), as: UTF8.self)
        }
        #expect(await status(server.address) == "HTTP/1.0 404")
        #expect(await eventually(timeout: .seconds(5)) { await status(serving.port.address) == "HTTP/1.0 404" })
        let since = ContinuousClock.now
        while ContinuousClock.now - since < .seconds(1) {
            #expect(await status(serving.port.address) == "HTTP/1.0 404")
            try await Task.sleep(for: .milliseconds(50))
        }
        serving.stop()
        server.close()
    }

    @Test("A root of one configured mount, its source away: a branch asking / (every path's mount) is told 503, and nothing is logged")
    func aBranchAskingTheRootPath_OfAOneMountRootWithoutASource_Gets503_Unlogged() async throws {
        let log = StationServerTests.Log()
        let server = try stationRoot(["/live"], logger: log.logger)
        let branch = try await TestPeer.connect(to: server.address, on: .shared)
        await branch.send("GET / HTTP/1.0\r\nX-Casty-Branch: 127.0.0.1:9\r\nIcy-MetaData: 1\r\n\r\n")
        #expect(await eventually(timeout: .seconds(5)) { branch.closed.value })
        #expect(branch.text.hasPrefix("HTTP/1.0 503 Service Unavailable\r\n"), "\(branch.text)")
        #expect(!log.contains("refused"), "eager branches ask every half second: \(log.lines.value)")
        server.close()
    }

    @Test func aBranchAnswersAMountTheRootDoesNotHave_WithTheRoots404_AndOneNotLiveYet_With503() async throws {
        let log = StationServerTests.Log()
        let server = try stationRoot(["/a", "/later"], logger: log.logger)
        let station = try Station.builtIn(titles: ["A"], titleInterval: .seconds(1), segmentBytes: Self.segmentBytes)
        await station.start()
        server.attach(station, at: "/a")
        let serving = try branch(server)

        // No such mount: the branch answers as the root does, 404 with its short body.
        let atRoot = try await play("/nosuch", at: server.address)
        let atBranch = try await play("/nosuch", at: serving.port.address)
        for player in [atRoot, atBranch] { #expect(await eventually(timeout: .seconds(5)) { player.closed.value }) }
        #expect(atRoot.text.hasPrefix("HTTP/1.0 404 Not Found\r\n"))
        #expect(atBranch.text.hasPrefix("HTTP/1.0 404 Not Found\r\n"))
        #expect(atBranch.text.hasSuffix("\r\n\r\nNo mount here: /nosuch\n"))
        #expect(atRoot.text.hasSuffix("\r\n\r\nNo mount here: /nosuch\n"))

        // A mount the root has, whose source is not live yet: the branch keeps asking, its player gets 503.
        let waiting = try await play("/later", at: serving.port.address)
        #expect(await eventually(timeout: .seconds(6)) { waiting.closed.value })
        #expect(waiting.text.hasPrefix("HTTP/1.0 503 Service Unavailable\r\n"))
        #expect(waiting.text.contains("Retry-After: 2\r\n"))
        #expect(await serving.mounts?.relays().map(\.mount) == ["/", "/later"], "the branch keeps the mount the root has")

        // Its root path, which a root of several mounts has no stream at: 404 at once, and the branch asks again only
        // every 10 s (it asked every 0.5 s, the root logging each refusal).
        let asked = ContinuousClock.now
        let atRootPath = try await play("/", at: serving.port.address)
        #expect(await eventually(timeout: .seconds(2)) { atRootPath.closed.value })
        #expect(atRootPath.text.hasPrefix("HTTP/1.0 404 Not Found\r\n"), "\(atRootPath.text)")
        #expect(ContinuousClock.now - asked < .seconds(2))
        try await Task.sleep(for: .seconds(3))
        let attempts = log.lines.value.filter { $0.contains("refused: no mount at / (404)") }.count
        #expect((1...3).contains(attempts), "the root refused the branch \(attempts) times in 3 s")

        station.stop()
        serving.stop()
        server.close()
    }

    @Test("A root's mount that goes on in another codec: the branch's players are let go too, never fed AAC after being told MP3")
    func aMountChangingCodec_LetsTheBranchsPlayersGo() async throws {
        let server = try stationRoot(["/live"], segmentBytes: 4170)
        let station = StationServerTests()
        let (mp3, feedingMP3) = try await station.feedingSource(server)
        let serving = try branch(server)
        let player = try await play("/live", at: serving.port.address)
        #expect(await player.waitFor(timeout: .seconds(10)) { StationServerTests.silentFrameCount($0) >= 10 }, "\(player.text.prefix(200))")
        #expect(player.text.contains("Content-Type: audio/mpeg"))

        feedingMP3.cancel()
        await feedingMP3.value
        await mp3.close()
        let (_, feedingAAC) = try await station.feedingSource(server, type: "audio/aac", with: adtsFrames(10))
        defer { feedingAAC.cancel() }
        #expect(await eventually(timeout: .seconds(15)) { player.closed.value }, "the branch's player is let go")
        let adtsHeader: [UInt8] = [0xFF, 0xF1, 0x50]
        let heard = player.received.value
        #expect(!heard.indices.dropLast(2).contains { Array(heard[$0..<$0 + 3]) == adtsHeader }, "no AAC frame reached the MP3 player")
        // Coming back, it is told the new type.
        let again = try await play("/live", at: serving.port.address)
        #expect(await again.waitFor(timeout: .seconds(10)) { String(decoding: $0, as: UTF8.self).contains("\r\n\r\n") })
        #expect(again.text.contains("Content-Type: audio/aac"), "\(again.text.prefix(300))")
        serving.stop()
        server.close()
    }

    @Test("Under a root of one mount, a branch relaying its root path serves that mount's name from the same link, not a second one")
    func aBranchUnderAOneMountRoot_ServesTheMountsNameFromItsRootPathsLink() async throws {
        let server = try stationRoot(["/live"], segmentBytes: 4170)
        let station = StationServerTests()
        let (_, feeding) = try await station.feedingSource(server)
        defer { feeding.cancel() }
        let serving = try branch(server)
        let atRootPath = try await play("/", at: serving.port.address)
        #expect(await atRootPath.waitFor(timeout: .seconds(10)) { StationServerTests.silentFrameCount($0) >= 10 })
        let byName = try await play("/live", at: serving.port.address)
        #expect(await byName.waitFor(timeout: .seconds(10)) { StationServerTests.silentFrameCount($0) >= 10 })
        #expect(await serving.mounts?.relays().map(\.mount) == ["/"], "one link to the root, not one for / and one for /live")
        #expect(try await treeLine(server.address, mount: "/live")["branches"] == "1")
        #expect(try await treeLine(serving.port.address, mount: "/live").isTreeNode, "/tree?mount=/live names the link that carries it")
        serving.stop()
        server.close()
    }

    @Test("A branch that dies below a child stops counting in the root's subtree sizes within one survey of the child's /tree")
    func aBranchThatDiesBelowAChild_StopsCountingAtTheRoot() async throws {
        let server = try stationRoot(["/live"], segmentBytes: 4170, fanout: 1, subtreeRefresh: .milliseconds(300))
        let (_, feeding) = try await StationServerTests().feedingSource(server)
        defer { feeding.cancel() }
        let child = try branch(server)
        let first = try await play("/live", at: child.port.address)
        #expect(await first.waitFor(timeout: .seconds(10)) { StationServerTests.silentFrameCount($0) >= 5 })
        let below = try branch(server)  // the root has room for one: sent down to the child
        let second = try await play("/live", at: below.port.address)
        #expect(await second.waitFor(timeout: .seconds(10)) { StationServerTests.silentFrameCount($0) >= 5 })
        let childAddress = child.port.address.description
        // The root hears of the branch below from the child's /tree, at its next survey.
        #expect(await eventually(timeout: .seconds(5)) {
            (try? await treeLine(server.address, mount: "/live"))?["children"] == "\(childAddress):2"
        })

        below.stop()  // dies below the child: the root never hears of it but from the child
        let counted = Locked("")
        #expect(await eventually(timeout: .seconds(5)) {
            let children = (try? await treeLine(server.address, mount: "/live"))?["children"] ?? ""
            counted.update { $0 = children }
            return children == "\(childAddress):1"
        }, "the root counts \(counted.value)")
        child.stop()
        server.close()
    }

    @Test("A branch of one mount whose root let its players go answers new players 404 at once, as the root does")
    func aBranchOfOneMount_AfterTheRootLetGo_Answers404AtOnce() async throws {
        let server = try stationRoot(["/live"], segmentBytes: 4170, sourceTimeout: .seconds(2))
        let station = StationServerTests()
        let (source, feeding) = try await station.feedingSource(server)
        let serving = try branch(server, path: "/live")
        let player = try await play("/", at: serving.port.address)
        #expect(await player.waitFor(timeout: .seconds(10)) { StationServerTests.silentFrameCount($0) >= 5 })
        feeding.cancel()
        await feeding.value
        await source.close()
        #expect(await eventually(timeout: .seconds(10)) { player.closed.value }, "let go as the root's players are")
        let asked = ContinuousClock.now
        let late = try await play("/", at: serving.port.address)
        #expect(await eventually(timeout: .seconds(5)) { late.closed.value })
        #expect(late.text.hasPrefix("HTTP/1.0 404 Not Found\r\n"), "\(late.text.prefix(120))")
        #expect(ContinuousClock.now - asked < .seconds(2), "not after the 3 s a player waits for a stream")
        serving.stop()
        server.close()
    }

    @Test("A root lets its mount's players go past the source timeout: the branch's players are let go too, and new ones get 404 as at the root")
    func aSourceAwayPastTheTimeout_LetsTheBranchsPlayersGo() async throws {
        let log = StationServerTests.Log()
        let server = try stationRoot(["/live"], segmentBytes: 4170, sourceTimeout: .seconds(3), logger: log.logger)
        let station = StationServerTests()
        let (source, feeding) = try await station.feedingSource(server)
        let serving = try branch(server)
        let atBranch = try await play("/live", at: serving.port.address)
        let atRoot = try await play("/live", at: server.address)
        for player in [atBranch, atRoot] {
            #expect(await player.waitFor(timeout: .seconds(10)) { StationServerTests.silentFrameCount($0) >= 10 }, "\(player.text.prefix(200))")
        }

        feeding.cancel()
        await feeding.value
        await source.close()
        // Within the source timeout both wait, connected; past it the root lets its player go, and the branch its.
        try await Task.sleep(for: .seconds(1))
        #expect(!atBranch.closed.value && !atRoot.closed.value, "players wait for the source within the source timeout")
        #expect(await eventually(timeout: .seconds(10)) { atRoot.closed.value })
        #expect(await eventually(timeout: .seconds(10)) { atBranch.closed.value }, "the branch's player is let go as the root's")
        let late = try await play("/live", at: serving.port.address)
        #expect(await eventually(timeout: .seconds(10)) { late.closed.value })
        #expect(late.text.hasPrefix("HTTP/1.0 404 Not Found\r\n"), "\(late.text.prefix(200))")
        #expect(log.lines.value.contains { $0.hasPrefix("branch ") && $0.contains("refused: nothing to play at /live (404)") },
                "the root's refusal names a branch: \(log.lines.value)")

        // A source that returns is heard through the branch again.
        let (_, feedingAgain) = try await station.feedingSource(server)
        defer { feedingAgain.cancel() }
        let back = try await play("/live", at: serving.port.address)
        #expect(await back.waitFor(timeout: .seconds(10)) { StationServerTests.silentFrameCount($0) >= 10 }, "\(back.text.prefix(200))")
        serving.stop()
        server.close()
    }

    @Test("A branch that relayed / and is told 404 there (the root let the stream go, or came back with no stream at /) rests until a player asks, not asking every 10 s for ever")
    func aBranchWhoseRootPathWentMissing_RestsUntilAPlayerAsks() async throws {
        let rootLog = StationServerTests.Log(), branchLog = StationServerTests.Log()
        let server = try stationRoot(["/live"], segmentBytes: 4170, sourceTimeout: .seconds(2), logger: rootLog.logger)
        let station = StationServerTests()
        let (source, feeding) = try await station.feedingSource(server)
        var configuration = Branch.Configuration()
        configuration.backoff = .milliseconds(20)
        configuration.missingBackoff = .milliseconds(100)  // were it asking again, ten times a second
        let serving = try Branch.serve(
            root: StreamURL(host: "127.0.0.1", port: server.address.port, path: "/"), address: .loopback(port: 0),
            configuration: configuration, logger: branchLog.logger)
        let player = try await play("/", at: serving.port.address)
        #expect(await player.waitFor(timeout: .seconds(10)) { StationServerTests.silentFrameCount($0) >= 5 }, "\(player.text.prefix(200))")

        feeding.cancel()
        await feeding.value
        await source.close()
        #expect(await eventually(timeout: .seconds(10)) { player.closed.value }, "let go as the root's players are")
        #expect(await eventually(timeout: .seconds(10)) { await serving.branch.status == "idle (the root has no stream here)" })
        let refusals = { rootLog.lines.value.filter { $0.contains("refused:") && $0.contains(" / (404)") }.count }
        let asked = refusals()
        try await Task.sleep(for: .seconds(1))
        #expect(asked >= 1 && refusals() == asked, "the branch asked \(refusals() - asked) more times: \(rootLog.lines.value)")
        #expect(await serving.branch.status == "idle (the root has no stream here)")
        #expect(branchLog.contains("asks the root for / again when a player or a branch asks for it"), "\(branchLog.lines.value)")
        #expect(!branchLog.contains("more attempts failed"), "\(branchLog.lines.value)")

        // The source is back: a player asking makes the branch ask the root again, and hear it.
        let (_, feedingAgain) = try await station.feedingSource(server)
        defer { feedingAgain.cancel() }
        let heard = await eventually(timeout: .seconds(15)) {
            guard let back = try? await play("/", at: serving.port.address) else { return false }
            defer { Task { await back.close() } }
            return await back.waitFor(timeout: .seconds(2)) { StationServerTests.silentFrameCount($0) >= 5 }
        }
        #expect(heard, "\(branchLog.lines.value)")
        serving.stop()
        server.close()
    }

    /// A root whose /live has no source and plays its fallback /backup (the built-in station), and a branch of it
    /// whose player of /live hears it.
    func branchPlayingTheFallback() async throws -> (server: StationServer, station: Station, serving: Branch.Running, player: TestPeer) {
        let server = try stationRoot(["/live", "/backup"], fallbacks: ["/live": "/backup"])
        let station = try Station.builtIn(titles: ["Backup"], titleInterval: .seconds(1), segmentBytes: Self.segmentBytes)
        await station.start()
        server.attach(station, at: "/backup")
        let serving = try branch(server)
        let player = try await play("/live", at: serving.port.address)
        #expect(await player.waitFor(timeout: .seconds(10)) { $0.count > 4 * Self.segmentBytes })
        return (server, station, serving, player)
    }

    @Test("A root's mount playing its fallback is still at depth 0: the root names itself once, not as its own parent")
    func aMountPlayingItsFallback_IsAtTheRootsDepth() async throws {
        let (server, station, serving, player) = try await branchPlayingTheFallback()
        defer { _ = player }  // kept listening
        let atRoot = try await treeLine(server.address, mount: "/live")
        #expect(atRoot.depth == 0 && atRoot["parent"] == "-", "\(atRoot["parent"] ?? "none") at depth \(atRoot.depth)")
        let atBranch = try await treeLine(serving.port.address, mount: "/live")
        #expect(atBranch.depth == 1, "depth \(atBranch.depth)")
        station.stop()
        serving.stop()
        server.close()
    }

    @Test("A branch's /api/mounts says a mount plays its fallback, as the root's does: its tree link tells it (X-Casty-Fallback)")
    func aMountPlayingItsFallback_IsSaidSoOnTheBranchesToo() async throws {
        let (server, station, serving, player) = try await branchPlayingTheFallback()
        defer { _ = player }  // kept listening
        for address in [server.address, serving.port.address] {
            let described = try await Upstream.fetchText(try #require(StreamURL("http://127.0.0.1:\(address.port)/api/mounts/live")))
            #expect(described.contains("\"live\":true") && described.contains("\"fallback\":true"), "\(address): \(described)")
        }
        station.stop()
        serving.stop()
        server.close()
    }

    @Test func aClosedTreeOfMounts_RefusesBranchesWithoutTheKey_ButNotPlayers() async throws {
        let key = try #require(TreeKey("sesame"))
        let (server, stations) = try await root(treeKey: key)
        let stranger = try await TestPeer.connect(to: server.address, on: .shared)
        await stranger.send("GET /a HTTP/1.0\r\nX-Casty-Branch: 127.0.0.1:1\r\n\r\n")
        #expect(await eventually { stranger.closed.value })
        #expect(stranger.text.hasPrefix("HTTP/1.0 403 Forbidden\r\n"))
        let serving = try branch(server, treeKey: key)
        let player = try await play("/a", at: serving.port.address)
        #expect(await player.waitFor(timeout: .seconds(5)) { $0.count > 3 * Self.segmentBytes })
        #expect(try titles(player).first?.hasPrefix("Mount A") == true)
        #expect(try await treeLine(server.address, mount: "/a").children == [serving.port.address.description])
        let direct = try await play("/b", at: server.address)  // players need no key
        #expect(await direct.waitFor(timeout: .seconds(5)) { $0.count > 3 * Self.segmentBytes })
        for peer in [player, direct] { await peer.close() }
        stations.forEach { $0.stop() }
        serving.stop()
        server.close()
    }

    @Test func aClosedTreesPlayerPort_GivesABranchWithoutTheKey_NoNumberedLink() async throws {
        let key = try #require(TreeKey("sesame"))
        let (server, stations) = try await root(treeKey: key)
        var configuration = Branch.Configuration()
        configuration.backoff = .milliseconds(20)
        let serving = try Branch.serve(
            root: StreamURL(host: "127.0.0.1", port: server.address.port), address: .loopback(port: 0),
            clientAddress: .loopback(port: 0), treeKey: key, configuration: configuration)
        let clientAddress = try #require(serving.clientPort?.address)
        func head(_ extra: String) async throws -> String {
            let peer = try await TestPeer.connect(to: clientAddress, on: .shared)
            await peer.send("GET /a HTTP/1.0\r\nIcy-MetaData: 1\r\n\(extra)\r\n")
            #expect(await peer.waitFor(timeout: .seconds(10)) { String(decoding: $0, as: UTF8.self).contains("\r\n\r\n") })
            await peer.close()
            return String(peer.text.split(separator: "\r\n\r\n", maxSplits: 1).first ?? "")
        }
        let stranger = try await head("X-Casty-Branch: 127.0.0.1:1\r\n")
        #expect(stranger.hasPrefix("HTTP/1.0 200") && stranger.contains("icy-metaint:"), "a player: \(stranger)")
        #expect(!stranger.contains("X-Casty-Path") && !stranger.contains("X-Casty-Next") && !stranger.contains("X-Casty-Stream"),
                "none of the tree's addresses or clocks: \(stranger)")
        let member = try await head("X-Casty-Branch: 127.0.0.1:1\r\nX-Casty-Key: sesame\r\n")
        #expect(member.contains("X-Casty-Path") && member.contains("X-Casty-Next"), "with the key, numbered: \(member)")
        let dummy = try await head("X-Casty-Numbered: 1\r\n")
        #expect(dummy.contains("X-Casty-Next"), "a dummy measuring the stream is numbered: \(dummy)")
        stations.forEach { $0.stop() }
        serving.stop()
        server.close()
    }

    @Test func aBranchOfOneMount_RelaysOnlyThatMount_ToAnyPath() async throws {
        let (server, stations) = try await root()
        let serving = try branch(server, path: "/b")
        #expect(serving.mounts == nil)
        let player = try await play("/a", at: serving.port.address)  // any path plays the branch's one stream
        #expect(await player.waitFor(timeout: .seconds(5)) { $0.count > 3 * Self.segmentBytes })
        #expect(try titles(player).first?.hasPrefix("Mount B") == true)
        #expect(await serving.branch.parent?.path == "/b")
        #expect(try await treeLine(server.address, mount: "/b").children == [serving.port.address.description])
        #expect(try await treeLine(server.address, mount: "/a").children.isEmpty)
        let first = try await treeLine(server.address)
        #expect(first["address"] == server.address.description, "/tree alone: the first mount")
        #expect(first["mount"] == "/a")
        await player.close()
        stations.forEach { $0.stop() }
        serving.stop()
        server.close()
    }

    @Test("A parent's log names a branch that joins and leaves by the address it serves at, as /tree and the redirects do, then by its connection's")
    func branchJoiningAndLeaving_IsNamedByTheAddressItServesAt() async throws {
        let log = StationServerTests.Log()
        let server = try stationRoot(["/a"], logger: log.logger)
        defer { server.close() }
        let station = try Station.builtIn(titles: ["A"], titleInterval: .seconds(1), segmentBytes: Self.segmentBytes)
        await station.start()
        defer { station.stop() }
        server.attach(station, at: "/a")
        let serving = try mountBranch(of: server, path: "/a", logger: .silent)
        let player = try await play("/a", at: serving.port.address)
        #expect(await player.waitFor(timeout: .seconds(10)) { $0.count > 3 * Self.segmentBytes }, "the branch plays")
        let named = "branch \(serving.port.address) from 127.0.0.1:"
        #expect(await eventually { log.lines.value.contains { $0.contains(named) && $0.contains(" joined: GET /a") } }, "\(log.lines.value)")
        serving.stop()
        #expect(await eventually { log.lines.value.contains { $0.contains(named) && $0.contains(" left after") } }, "\(log.lines.value)")
        await player.close()
    }

    @Test func aRootOfOneStream_FeedsAManyMountBranch_AtItsRootPath_AndEveryOtherPathOnTheSameLink() async throws {
        let source = try Station.builtIn(titles: ["One"], titleInterval: .seconds(1), segmentBytes: Self.segmentBytes)
        await source.start()
        let root = try Root.start(source: source, address: .loopback(port: 0))
        var configuration = Branch.Configuration()
        configuration.backoff = .milliseconds(20)
        let serving = try Branch.serve(
            root: StreamURL(host: "127.0.0.1", port: root.port.address.port), address: .loopback(port: 0), eager: true,
            configuration: configuration)
        #expect(await eventually { await serving.branch.state == .streaming })
        #expect(await root.distributor.stat().tree?.children.map(\.address) == [serving.port.address.description])
        let player = try await play("/", at: serving.port.address)
        #expect(await player.waitFor(timeout: .seconds(5)) { $0.count > 3 * Self.segmentBytes })
        #expect(try titles(player).first?.hasPrefix("One") == true)
        #expect(await serving.mounts?.relays().map(\.mount) == ["/"])
        #expect(try await treeLine(serving.port.address)["depth"] == "1")
        // The root plays its one stream at every path: the branch plays every path on its one link, those that could
        // name no mount too (a space, an escaped slash), as the root does.
        var others: [TestPeer] = []
        for path in ["/listen", "/stream.mp3", "/a%20b", "/a%2Fb"] { others.append(try await play(path, at: serving.port.address)) }
        for other in others {
            #expect(await other.waitFor(timeout: .seconds(15)) { $0.count > 3 * Self.segmentBytes })
            #expect(try titles(other).first?.hasPrefix("One") == true)
        }
        #expect(await serving.mounts?.relays().map(\.mount) == ["/"], "no link of its own for /listen, /stream.mp3")
        // `casty-cli tree http://root/listen` asks every node for /listen: the branch answers for its one link.
        #expect(try await treeLine(serving.port.address, mount: "/listen")["depth"] == "1")
        #expect(try await treeLine(serving.port.address, mount: "/nothing-asked-yet")["depth"] == "1")
        #expect(await root.distributor.stat().tree?.children.map(\.address) == [serving.port.address.description])
        for other in others { await other.close() }
        await player.close()
        source.stop()
        serving.stop()
        root.port.close()
    }

    @Test("A many-mount branch's status line of a mount is left out while it repeats that mount's last one — each mount's compared with its own — and logged again after the heartbeat")
    func aManyMountBranch_LeavesOutAMountsStatusLine_ThatRepeats() async throws {
        let (server, stations) = try await root()
        let serving = try branch(server)
        let mounts = try #require(serving.mounts)
        let onA = try await play("/a", at: serving.port.address), onB = try await play("/b", at: serving.port.address)
        #expect(await onA.waitFor(timeout: .seconds(5)) { $0.count > 3 * Self.segmentBytes })
        #expect(await onB.waitFor(timeout: .seconds(5)) { $0.count > 3 * Self.segmentBytes })
        var lines = BranchMounts.StatusLines(every: .seconds(10))
        let first = await lines.next(of: mounts)
        #expect(first.count == 2 && first[0].hasPrefix("status /a: 1 listener") && first[1].hasPrefix("status /b: 1 listener"), "\(first)")
        // The sources stop: the lines stop changing once the branch has heard so, and are left out from then on.
        for station in stations { station.stop() }
        var quiet = false
        let deadline = ContinuousClock.now + .seconds(20)
        while !quiet, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(300))
            let once = await lines.next(of: mounts), twice = await lines.next(of: mounts)
            quiet = once.isEmpty && twice.isEmpty
        }
        #expect(quiet, "the same lines, every time")
        // Ten minutes on, they are logged again: the branch is alive.
        let later = await lines.next(of: mounts, at: .now + .seconds(601))
        #expect(later.count == 2, "\(later)")
        serving.stop()
        server.close()
    }

    @Test("A branch of a many-mount root, placed in a mount's tree, answers /tree without a mount for that mount, placed — not as a branch with no place (an eager one too, told 404 at /)",
          arguments: [false, true])
    func aManyMountBranch_AnswersTreeForTheMountItIsPlacedIn(eager: Bool) async throws {
        let (server, stations) = try await root()
        let serving = try branch(server, eager: eager)
        if eager {
            #expect(await eventually(timeout: .seconds(10)) { await serving.mounts?.loop.submit { serving.mounts?.isMissing("/") } == true })
        }
        let onB = try await play("/b", at: serving.port.address)
        #expect(await onB.waitFor(timeout: .seconds(5)) { $0.count > 3 * Self.segmentBytes })
        #expect(await eventually(timeout: .seconds(10)) { (try? await self.treeLine(serving.port.address, mount: "/b"))?.depth == 1 })
        let line = try await treeLine(serving.port.address)
        #expect(line["mount"] == "/b" && line.depth == 1 && line["root"] == nil, "\(line)")
        #expect(line["parent"] == server.address.description, "\(line)")
        for station in stations { station.stop() }
        serving.stop()
        server.close()
    }
}

