import Glibc
import Icy
import Testing

@testable import Casty
@testable import CastyNet
@testable import CastyWire

/// A platform application for listener authorization (Icecast's URL auth), in process: it reads each form
/// Casty posts, admits a listener whose user agent contains `admitted` (`200` with `icecast-auth-user: 1`) and
/// refuses any other (`403`), after thinking `delay` — or, while `failing` holds a status line, answers that
/// instead (`502 Bad Gateway`: the application down behind its proxy).
final class ListenerAuthApp: Sendable {
    let listener: Listener
    /// The forms posted, in order (`action=listener_add&mount=/live&ip=…&agent=…`).
    let forms = Locked<[String]>([])
    /// The status line (`502 Bad Gateway`, `302 Found`) answered to every call while set.
    let failing = Locked<String?>(nil)

    init(on loop: EventLoop, delay: Duration = .zero) throws {
        let forms = forms
        let failing = failing
        listener = try Listener(address: .loopback(port: 0), on: loop) { connection in
            let received = Locked<[UInt8]>([])
            connection.onRead = { bytes in
                received.update { $0 += bytes }
                guard let form = Self.form(received.value) else { return }
                connection.onRead = { _ in }
                forms.update { $0.append(form) }
                let verdict = form.contains("admitted") ? "HTTP/1.1 200 OK\r\nicecast-auth-user: 1\r\n" : "HTTP/1.1 403 Forbidden\r\n"
                let head = failing.value.map { "HTTP/1.1 \($0)\r\nLocation: http://elsewhere.example/\r\n" } ?? verdict
                connection.loop.schedule(after: delay) { _ = connection.write(Array((head + "Content-Length: 0\r\n\r\n").utf8)) }
            }
        }
    }

    var url: StreamURL { StreamURL(host: "127.0.0.1", port: listener.localAddress.port, path: "/listener") }

    /// The forms posted with `action`, for the listener whose user agent is `agent`.
    func forms(_ action: String, agent: String) -> Int {
        forms.value.count { $0.contains("action=\(action)") && $0.contains("agent=\(agent)") }
    }

    /// The request's body once the head and all of it (`Content-Length`) are in.
    private static func form(_ bytes: [UInt8]) -> String? {
        guard let (head, body) = splitAtBlankLine(bytes) else { return nil }
        let length = head.split(separator: "\r\n")
            .first { $0.lowercased().hasPrefix("content-length:") }
            .flatMap { Int($0.dropFirst("content-length:".count).trimmingSpaces) } ?? 0
        return body.utf8.count >= length ? body : nil
    }

    func close() async {
        let listener = listener
        await listener.loop.submit { listener.close() }
    }
}

/// An HTTP message's head and body: the text before and after its first blank line, once it has one.
func splitAtBlankLine(_ bytes: [UInt8]) -> (head: String, body: String)? {
    guard bytes.count >= 4 else { return nil }
    for index in 0...(bytes.count - 4) where bytes[index..<(index + 4)].elementsEqual([13, 10, 13, 10]) {
        return (String(decoding: bytes[..<index], as: UTF8.self), String(decoding: bytes[(index + 4)...], as: UTF8.self))
    }
    return nil
}

/// Listener authorization (`--listener-auth-url`): who is asked — players of a stream, requests that only claim
/// to be branches, HLS players — and who may skip it and the listener limits: a branch that proved itself.
struct ListenerAuthTests {
    let loop = EventLoop.shared
    static let segmentBytes = 4170  // ten frames of 417 bytes

    /// A station server (a tree root with `root`) playing the built-in station at `/live`, asking `app` about
    /// its listeners, if given, and handing its players to `loops`, if given.
    func server(
        root: Bool = false, treeKey: TreeKey? = nil, app: ListenerAuthApp? = nil, appURL: StreamURL? = nil, maxListeners: Int? = nil,
        logger: EventLog = .silent, controlPlane: Locked<ControlPlane?>? = nil, accessLog: AccessLog? = nil, loops: EventLoopGroup? = nil,
        authTimeout: Duration? = nil
    ) async throws -> (StationServer, Station) {
        var configuration = StationServer.Configuration()
        configuration.options.accessLog = accessLog
        configuration.options.loops = loops
        configuration.sourcePassword = "hackme"
        configuration.adminPassword = "adminpw"
        configuration.mounts = ["/live"]
        configuration.segmentBytes = Self.segmentBytes
        configuration.maxListeners = maxListeners
        configuration.options.hls.enabled = false
        if let url = appURL ?? app?.url {
            var control = ControlPlane.Configuration()
            control.listenerAuthURL = url
            if let authTimeout { control.listenerAuthTimeout = authTimeout }
            configuration.control = ControlPlane(control, loop: loop)
            await configuration.control?.start()  // listener_remove calls are sent from a queue, as casty-cli starts it
            let made = configuration.control
            controlPlane?.update { $0 = made }
        }
        let server = root
            ? try StationServer.startRoot(configuration, address: .loopback(port: 0), treeKey: treeKey, loop: loop, logger: logger)
            : try StationServer.start(configuration, address: .loopback(port: 0), loop: loop, logger: logger)
        let station = try Station.builtIn(segmentBytes: Self.segmentBytes, loop: loop)
        await station.start()
        server.attach(station, at: "/live")
        return (server, station)
    }

    /// `GET /live` with `headers`.
    func play(_ server: StationServer, _ headers: String = "") async throws -> TestPeer {
        let peer = try await TestPeer.connect(to: server.address, on: loop)
        await peer.send("GET /live HTTP/1.0\r\n\(headers)\r\n")
        return peer
    }

    /// Whether `peer` is being streamed to (`200` and audio).
    func streams(_ peer: TestPeer) async -> Bool {
        await peer.waitFor(timeout: .seconds(5)) { $0.count > Self.segmentBytes } && peer.text.hasPrefix("HTTP/1.0 200 OK\r\n")
    }

    /// Whether `peer` was answered `status` and closed.
    func answered(_ peer: TestPeer, _ status: String) async -> Bool {
        await eventually(timeout: .seconds(5)) { peer.closed.value } && peer.text.hasPrefix("HTTP/1.0 \(status)")
    }

    @Test("The application is told what Icecast tells it: server, port, a client number, the mount with its query (a token), and on leaving the same client and how long it listened")
    func calls_CarryIcecastsFields_TheTokenInTheURL_AndTheDuration() async throws {
        let app = try ListenerAuthApp(on: loop)
        let (server, station) = try await server(app: app)
        let peer = try await TestPeer.connect(to: server.address, on: loop)
        await peer.send("GET /live?token=t%C3%B8k&x=1 HTTP/1.0\r\nHost: radio.example:8000\r\nUser-Agent: admitted-token\r\n\r\n")
        #expect(await streams(peer))
        let add = try #require(app.forms.value.first { $0.contains("action=listener_add") })
        #expect(add.hasPrefix("action=listener_add&server=radio.example&port=\(server.address.port)&client="), "\(add)")
        #expect(add.contains("&mount=%2Flive%3Ftoken%3Dt%25C3%25B8k%26x%3D1&user=&pass=&ip=127.0.0.1&agent=admitted-token"), "\(add)")
        let client = try #require(add.split(separator: "&").first { $0.hasPrefix("client=") })
        // The admin API names the listener by the same number, as Icecast's does.
        let listed = try await StationServerTests().ask(server, "/admin/listclients?mount=/live")
        #expect(listed.contains("\"id\":\(client.dropFirst("client=".count)),"), "\(listed)")
        await peer.close()
        #expect(await eventually { app.forms("listener_remove", agent: "admitted-token") == 1 })
        let remove = try #require(app.forms.value.first { $0.contains("action=listener_remove") })
        // Whole seconds listened: a moment here, however loaded the machine (rounded, so 0 or a few).
        let duration = remove.split(separator: "&").first { $0.hasPrefix("duration=") }.flatMap { Int($0.dropFirst("duration=".count)) }
        #expect(remove.contains("&\(client)&") && (0...10).contains(duration ?? -1), "\(remove)")
        station.stop()
        server.close()
        await app.close()
    }

    @Test("A server of one mount asks the application about that mount, whatever path the player typed")
    func oneMount_IsAskedAboutByItsName_NotThePathTyped() async throws {
        let app = try ListenerAuthApp(on: loop)
        let (server, station) = try await server(app: app)
        let peer = try await TestPeer.connect(to: server.address, on: loop)
        await peer.send("GET /anything?token=t HTTP/1.0\r\nUser-Agent: admitted-elsewhere\r\n\r\n")
        #expect(await streams(peer))
        #expect(app.forms.value.first?.contains("&mount=%2Flive%3Ftoken%3Dt&") == true, "\(app.forms.value)")
        station.stop()
        server.close()
        await app.close()
    }

    @Test("Listeners still admitted when the process stops are told to the application as gone (listener_remove), once")
    func admittedListeners_AreToldGone_WhenTheProcessStops() async throws {
        let app = try ListenerAuthApp(on: loop)
        let control = Locked<ControlPlane?>(nil)
        let (server, station) = try await server(app: app, controlPlane: control)
        let peer = try await play(server, "User-Agent: admitted-stopping\r\n")
        #expect(await streams(peer))
        control.value?.allListenersLeft()  // what Shutdown does first
        #expect(await eventually { app.forms("listener_remove", agent: "admitted-stopping") == 1 })
        await peer.close()
        try await Task.sleep(for: .milliseconds(300))
        #expect(app.forms("listener_remove", agent: "admitted-stopping") == 1, "not told twice")
        station.stop()
        server.close()
        await app.close()
    }

    @Test("A player admitted, whose connection cannot move to its listener loop (stopped), is counted gone: listener_remove, its access line, its place freed, one log line")
    func playerLostOnTheWayToItsLoop_IsToldGone() async throws {
        let app = try ListenerAuthApp(on: loop)
        let path = "/tmp/casty-access-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).log"
        defer { _ = unlink(path) }
        let accessLog = try AccessLog(path: path, logger: .silent)
        let group = EventLoopGroup(count: 2, first: loop)
        group.loops[1].shutdown()  // every player is handed there, and cannot be
        let log = StationServerTests.Log()
        let (server, station) = try await server(app: app, maxListeners: 1, logger: log.logger, accessLog: accessLog, loops: group)
        let lost = try await play(server, "User-Agent: admitted-lost\r\n")
        #expect(await eventually(timeout: .seconds(5)) { lost.closed.value })
        #expect(await eventually { app.forms("listener_remove", agent: "admitted-lost") == 1 }, "\(app.forms.value)")
        let line = "\"GET /live HTTP/1.0\" 200 0 \"-\" \"admitted-lost\""  // its head went out, then nothing
        #expect(await eventually {
            await accessLog.flush()
            return String(decoding: FileWriter.contents(of: path) ?? [], as: UTF8.self).contains(line)
        })
        #expect(log.contains("let go before its stream: its connection could not move to a listener loop"), "\(log.lines.value)")
        // Its place under --max-listeners 1 is free at once: the next player is admitted (and asked about), not told 503.
        let next = try await play(server, "User-Agent: admitted-next\r\n")
        #expect(await eventually { app.forms("listener_add", agent: "admitted-next") == 1 }, "\(next.text)")
        await next.close()
        station.stop()
        server.close()
        await app.close()
    }

    @Test("A refused listener's log line says what the application answered")
    func refusal_IsLoggedWithTheApplicationsAnswer() async throws {
        let app = try ListenerAuthApp(on: loop)
        let log = StationServerTests.Log()
        let (server, station) = try await server(app: app, logger: log.logger)
        let peer = try await play(server, "User-Agent: stranger\r\n")
        #expect(await answered(peer, "401"))
        #expect(await eventually { log.contains("refused on /live by the listener authorization: the application answered 403 (401)") },
                "\(log.lines.value.filter { $0.contains("refused") })")
        station.stop()
        server.close()
        await app.close()
    }

    @Test("An application that cannot be asked (down) is an outage: the player gets 503 with Retry-After, not a login prompt")
    func applicationDown_Is503_NotALoginPrompt() async throws {
        // A port bound and never listening: nothing answers there, and no other test's server can take it meanwhile
        // (one closed after binding was taken by another's, which answered 404).
        let reserved = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(reserved) }
        var address = sockaddr_in(sin_family: sa_family_t(AF_INET), sin_port: 0, sin_addr: in_addr(s_addr: inet_addr("127.0.0.1")), sin_zero: (0, 0, 0, 0, 0, 0, 0, 0))
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        try withUnsafeMutablePointer(to: &address) { pointer in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                try #require(bind(reserved, $0, length) == 0 && getsockname(reserved, $0, &length) == 0)
            }
        }
        let port = UInt16(bigEndian: address.sin_port)
        let log = StationServerTests.Log()
        let (server, station) = try await server(appURL: StreamURL(host: "127.0.0.1", port: port, path: "/listener"), logger: log.logger)
        let peer = try await play(server, "User-Agent: someone\r\n")
        #expect(await answered(peer, "503"), "\(peer.text.prefix(200))")
        #expect(peer.text.contains("Retry-After: 5\r\n") && !peer.text.contains("WWW-Authenticate"), "\(peer.text.prefix(300))")
        #expect(log.contains("the application could not be asked"), "\(log.lines.value)")
        station.stop()
        server.close()
    }

    @Test("An application that fails (5xx: itself, or the proxy before it) or redirects (3xx) is an outage: the player gets 503 with Retry-After, never a login prompt nor a 403, and the line says what it answered",
          arguments: ["502 Bad Gateway", "500 Internal Server Error", "302 Found"])
    func applicationFailingOrRedirecting_Is503_NotARefusal(status: String) async throws {
        let app = try ListenerAuthApp(on: loop)
        app.failing.update { $0 = status }
        let log = StationServerTests.Log()
        let (server, station) = try await server(app: app, logger: log.logger)
        let anonymous = try await play(server, "User-Agent: admitted-anonymous\r\n")
        #expect(await answered(anonymous, "503"), "\(anonymous.text.prefix(200))")
        #expect(anonymous.text.contains("Retry-After: 5\r\n") && !anonymous.text.contains("WWW-Authenticate"), "\(anonymous.text.prefix(300))")
        let login = "Authorization: Basic \(Base64.encode(Array("fan:secret".utf8)))\r\n"
        let loggedIn = try await play(server, "User-Agent: admitted-fan\r\n\(login)")
        #expect(await answered(loggedIn, "503"), "a login is not refused either: \(loggedIn.text.prefix(200))")
        let code = status.prefix(3)
        #expect(await eventually { log.contains("by the listener authorization: the application could not be asked: it answered \(code)") },
                "\(log.lines.value.filter { $0.contains("refused") })")
        // Recovered: the next try is admitted.
        app.failing.update { $0 = nil }
        let again = try await play(server, "User-Agent: admitted-anonymous\r\n")
        #expect(await streams(again))
        await again.close()
        station.stop()
        server.close()
        await app.close()
    }

    @Test func branchHeader_OnAServerThatTakesNoBranches_IsAnOrdinaryListener_AskedAndCounted() async throws {
        let app = try ListenerAuthApp(on: loop)
        let (server, station) = try await server(app: app)
        let claiming = try await play(server, "User-Agent: stranger\r\nX-Casty-Branch: 10.9.9.9:8001\r\n")
        #expect(await answered(claiming, "401 Unauthorized"), "\(claiming.text.prefix(80))")
        #expect(app.forms("listener_add", agent: "stranger") == 1, "the application was asked")
        let player = try await play(server, "User-Agent: admitted\r\n")
        #expect(await streams(player))
        station.stop()
        server.close()
        await app.close()

        // Without authorization, the header does not lift the listener limit either.
        let (limited, other) = try await self.server(maxListeners: 1)
        let first = try await play(limited)
        #expect(await streams(first))
        let second = try await play(limited, "X-Casty-Branch: 10.9.9.9:8001\r\n")
        #expect(await answered(second, "503 Service Unavailable"))
        other.stop()
        limited.close()
    }

    @Test func keyedBranch_OfAClosedTree_IsNeitherAsked_NorCountedAgainstTheLimit() async throws {
        let key = try #require(TreeKey("sesame"))
        let app = try ListenerAuthApp(on: loop)
        let (server, station) = try await server(root: true, treeKey: key, app: app, maxListeners: 1)
        let player = try await play(server, "User-Agent: admitted\r\n")
        #expect(await streams(player))
        let branch = try await play(server, "User-Agent: Casty\r\nX-Casty-Branch: 10.9.9.9:8001\r\nX-Casty-Key: sesame\r\n")
        #expect(await streams(branch), "a full server still feeds its branches: \(branch.text.prefix(80))")
        #expect(app.forms("listener_add", agent: "Casty") == 0, "the tree's own branch is not asked about")
        let stranger = try await play(server, "User-Agent: Casty\r\nX-Casty-Branch: 10.9.9.9:8002\r\nX-Casty-Key: guess\r\n")
        #expect(await answered(stranger, "403 Forbidden"))
        #expect(app.forms("listener_add", agent: "Casty") == 0)
        for peer in [player, branch] { await peer.close() }
        station.stop()
        server.close()
        await app.close()
    }

    @Test func branchOfAnOpenTree_IsAskedLikeAPlayer_ButNotCountedAgainstTheLimit() async throws {
        let app = try ListenerAuthApp(on: loop)
        let (server, station) = try await server(root: true, app: app)
        let stranger = try await play(server, "User-Agent: stranger\r\nX-Casty-Branch: 10.9.9.9:8001\r\n")
        #expect(await answered(stranger, "401 Unauthorized"), "nothing tells a branch of an open tree from a stranger")
        #expect(app.forms("listener_add", agent: "stranger") == 1)
        let branch = try await play(server, "User-Agent: admitted-branch\r\nX-Casty-Branch: 10.9.9.9:8002\r\n")
        #expect(await streams(branch), "the application admits its own branches")
        await branch.close()
        station.stop()
        server.close()
        await app.close()

        let (open, other) = try await self.server(root: true, maxListeners: 1)
        let player = try await play(open)
        #expect(await streams(player))
        let full = try await play(open)
        #expect(await answered(full, "503 Service Unavailable"))
        let openBranch = try await play(open, "X-Casty-Branch: 10.9.9.9:8003\r\n")
        #expect(await streams(openBranch), "a branch's places are bounded by the fanout, not by --max-listeners")
        for peer in [player, openBranch] { await peer.close() }
        other.stop()
        open.close()
    }
}
