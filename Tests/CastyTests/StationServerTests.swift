import Icy
import Testing

@testable import Casty
@testable import CastyNet
import CastyWire

/// A Casty node as the station: sources publish with Icecast's protocol, mounts fall back, the admin API
/// answers — on real loopback sockets, with raw TCP peers as sources and players.
struct StationServerTests {
    let loop = EventLoop.shared

    /// MP3 frames whose audio is all zeros (MPEG-1 layer III, 128 kbit/s, 44.1 kHz: 417 bytes each), so a
    /// listener can tell them from the built-in station's tone.
    static func silentFrames(_ count: Int) -> [UInt8] {
        markedFrames(count, mark: 0)
    }

    /// Frames like ``silentFrames(_:)`` whose audio bytes are all `mark`, to tell them apart in what a player got.
    static func markedFrames(_ count: Int, mark: UInt8) -> [UInt8] {
        (0..<count).flatMap { _ in [0xFF, 0xFB, 0x90, 0x64] + [UInt8](repeating: mark, count: 413) }
    }

    /// Counts the zero frames of ``silentFrames(_:)`` in `bytes`.
    static func silentFrameCount(_ bytes: [UInt8]) -> Int {
        count(of: 0, in: bytes)
    }

    /// Counts the frames of ``silentFrames(_:)`` whose audio bytes are all `mark` in `bytes`.
    static func count(of mark: UInt8, in bytes: [UInt8]) -> Int {
        var count = 0
        var index = 0
        while index + 417 <= bytes.count {
            if bytes[index] == 0xFF, bytes[index + 1] == 0xFB, bytes[index + 2] == 0x90, bytes[index + 3] == 0x64,
               bytes[(index + 4)..<(index + 417)].allSatisfy({ $0 == mark }) {
                count += 1
                index += 417
            } else {
                index += 1
            }
        }
        return count
    }

    final class Log: Sendable {
        let lines = Locked<[String]>([])
        var logger: EventLog { EventLog { line in self.lines.update { $0.append(line) } } }
        func contains(_ text: String) -> Bool { lines.value.contains { $0.contains(text) } }
    }

    func server(
        mounts: [String]? = ["/live", "/backup"], fallbacks: [String: String] = [:], timeout: Duration = .seconds(10),
        log: Log = Log(), limits: (server: Int?, mounts: [String: Int]) = (nil, [:]), rtmp: Bool = false,
        headerTimeout: Duration? = nil, configure: (inout StationServer.Configuration) -> Void = { _ in }
    ) throws -> StationServer {
        var configuration = StationServer.Configuration()
        configuration.sourcePassword = "hackme"
        configuration.adminPassword = "adminpw"
        configuration.mounts = mounts
        configuration.fallbacks = fallbacks
        configuration.sourceTimeout = timeout
        configuration.segmentBytes = 4170  // ten frames of 417 bytes
        configuration.distribution.burst = 1
        configuration.maxListeners = limits.server
        configuration.mountMaxListeners = limits.mounts
        if rtmp { configuration.rtmpPort = 0 }
        if let headerTimeout { configuration.options.headerTimeout = headerTimeout }
        configure(&configuration)
        return try StationServer.start(configuration, address: .loopback(port: 0), loop: loop, logger: log.logger)
    }

    /// A source that publishes `mount` with `PUT` and `Expect: 100-continue`, as ffmpeg does.
    func source(_ server: StationServer, mount: String = "/live", user: String = "source", password: String = "hackme",
                type: String = "audio/mpeg", method: String = "PUT") async throws -> TestPeer {
        let peer = try await TestPeer.connect(to: server.address, on: loop)
        let credentials = Base64.encode(Array("\(user):\(password)".utf8))
        await peer.send("\(method) \(mount) HTTP/1.1\r\nHost: x\r\nAuthorization: Basic \(credentials)\r\nContent-Type: \(type)\r\n"
            + "Expect: 100-continue\r\nice-name: Live FM\r\nice-genre: Jazz\r\nice-public: 1\r\nice-url: https://live.example\r\n"
            + "ice-audio-info: bitrate=128;samplerate=44100;channels=2\r\n\r\n")
        return peer
    }

    func sendAudio(_ peer: TestPeer, _ bytes: [UInt8]) async {
        let connection = peer.connection
        await loop.submit { _ = connection.write(bytes) }
    }

    /// Sends `bytes` a segment at a time, a little faster than they play: delivery to listeners is lossy, and a
    /// listener that is sent a long stream all at once may rightly skip some of it.
    func sendPaced(_ peer: TestPeer, _ bytes: [UInt8], segment: Int = 4170) async {
        var start = 0
        while start < bytes.count {
            await sendAudio(peer, Array(bytes[start..<min(start + segment, bytes.count)]))
            start += segment
            try? await Task.sleep(for: .milliseconds(40))
        }
    }

    /// Keeps `peer` fed with silent frames, a segment every 100 ms, until the returned task is cancelled: a test
    /// with a short source timeout must not see its source time out because a loaded machine was slow elsewhere.
    /// A source publishing `mount` (its `100 Continue` awaited), fed `chunk` every 100 ms by the task returned.
    func feedingSource(
        _ server: StationServer, mount: String = "/live", type: String = "audio/mpeg", with chunk: [UInt8] = silentFrames(10)
    ) async throws -> (source: TestPeer, feeding: Task<Void, Never>) {
        let source = try await source(server, mount: mount, type: type)
        #expect(await source.waitFor(timeout: .seconds(10)) { String(decoding: $0, as: UTF8.self).hasPrefix("HTTP/1.1 100") })
        return (source, keepFeeding(source, with: chunk))
    }

    func keepFeeding(_ peer: TestPeer, with chunk: [UInt8] = silentFrames(10)) -> Task<Void, Never> {
        Task {
            while !Task.isCancelled {
                await sendAudio(peer, chunk)
                try? await Task.sleep(for: .milliseconds(100))
            }
        }
    }

    func listener(_ server: StationServer, _ path: String = "/live", titles: Bool = true) async throws -> TestPeer {
        let peer = try await TestPeer.connect(to: server.address, on: loop)
        await peer.send("GET \(path) HTTP/1.0\r\n\(titles ? "Icy-MetaData: 1\r\n" : "")\r\n")
        return peer
    }

    func ask(_ server: StationServer, _ path: String, admin: Bool = true) async throws -> String {
        let auth = admin ? "Authorization: Basic \(Base64.encode(Array("admin:adminpw".utf8)))\r\n" : ""
        return try await answer(server, "GET \(path) HTTP/1.0\r\n\(auth)\r\n")
    }

    /// What the server answers `request`, sent as it is, once it has closed the connection.
    func answer(_ server: StationServer, _ request: String) async throws -> String {
        let peer = try await TestPeer.connect(to: server.address, on: loop)
        await peer.send(request)
        _ = await eventually { peer.closed.value }
        return peer.text
    }

    @Test func source_Publishes_ListenersHearIt_WithItsStationHeaders() async throws {
        let log = Log()
        let server = try server(log: log)
        let source = try await source(server)
        #expect(await source.waitFor { String(decoding: $0, as: UTF8.self) == "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.0 200 OK\r\n\r\n" })
        await sendAudio(source, Self.silentFrames(20))
        let player = try await listener(server)
        #expect(await player.waitFor { $0.count > 4170 })
        await sendAudio(source, Self.silentFrames(40))
        #expect(await player.waitFor { Self.silentFrameCount($0) >= 30 })
        let parsed = try #require(try player.parsed(segmentBytes: 4170))
        #expect(parsed.status == .httpOK)
        #expect(parsed.headers["icy-name"] == "Live FM")
        #expect(parsed.headers["icy-genre"] == "Jazz")
        #expect(parsed.headers["icy-pub"] == "1")
        #expect(parsed.headers["icy-url"] == "https://live.example")
        #expect(parsed.headers["ice-audio-info"] == "bitrate=128;samplerate=44100;channels=2")
        #expect(parsed.headers["icy-metaint"] == "4170")
        #expect(log.contains("publishing /live (PUT"))
        #expect(!log.lines.value.contains { $0.contains("hackme") }, "a password is never logged")
        server.close()
    }

    @Test("Icecast's status path answers the same JSON for the mounts that stream, as Icecast lists them, with each mount's listenurl from the Host asked and the source's URL and audio info; ?mount= asks for one")
    func statusJSONXSL_IsIcecastsStatus_WithListenURL() async throws {
        let server = try server(mounts: ["/live", "/backup", "/músic"])
        let source = try await source(server)
        #expect(await source.waitFor { String(decoding: $0, as: UTF8.self) == "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.0 200 OK\r\n\r\n" })
        await sendAudio(source, Self.silentFrames(20))
        #expect(await eventually { ((try? await ask(server, "/status.json")) ?? "").contains("\"server_name\":\"Live FM\"") })
        func status(_ path: String, host: String) async throws -> String {
            let peer = try await TestPeer.connect(to: server.address, on: loop)
            await peer.send("GET \(path) HTTP/1.0\r\nHost: \(host)\r\n\r\n")
            _ = await eventually { peer.closed.value }
            return peer.text
        }
        let icecast = try await status("/status-json.xsl", host: "radio.example:8000")
        #expect(icecast.hasPrefix("HTTP/1.0 200 OK"))
        #expect(icecast.contains("\"listenurl\":\"http://radio.example:8000/live\""))
        #expect(!icecast.contains("/backup"), "a mount without a stream is not Icecast's to list")
        #expect(icecast.contains("\"server_url\":\"https://live.example\""))
        #expect(icecast.contains("\"audio_info\":\"bitrate=128;samplerate=44100;channels=2\""))
        let casty = try await status("/status.json", host: "radio.example:8000")
        #expect(casty.contains("\"listenurl\":\"http://radio.example:8000/backup\""), "Casty's own lists every mount")
        #expect(casty.contains("\"listenurl\":\"http://radio.example:8000/m%C3%BAsic\""), "a URL: the mount's name percent-encoded")
        let one = try await status("/status-json.xsl?mount=/live", host: "radio.example:8000")
        #expect(one.contains("\"mount\":\"/live\""))
        let other = try await status("/status.json?mount=/backup", host: "radio.example:8000")
        #expect(other.contains("\"mount\":\"/backup\"") && !other.contains("\"mount\":\"/live\""), "\(other)")
        #expect(!(try await status("/status-json.xsl?mount=/backup", host: "x")).contains("\"mount\""))
        // A Host that is no host name is not pasted in: the address the request came in on is named instead.
        let odd = try await status("/status.json", host: "evil\"}, {\"x")
        #expect(odd.contains("\"listenurl\":\"http://\(server.address)/live\""))
        server.close()
    }

    @Test("Icecast's status path is shaped as Icecast 2.4 writes it: one streaming mount is one source object (widgets read icestats.source.title), several an array, none no source; every page says when the server and each stream started")
    func statusJSONXSL_IsShapedAsIcecasts_WithStartTimes() async throws {
        let server = try server()
        defer { server.close() }
        let none = try await ask(server, "/status-json.xsl", admin: false)
        #expect(none.contains(#""icestats":{"server_id":"Casty","server_start":""#) && !none.contains(#""source""#), "\(none)")
        let (_, live) = try await feedingSource(server, mount: "/live")
        defer { live.cancel() }
        #expect(await eventually(timeout: .seconds(10)) { ((try? await ask(server, "/status-json.xsl", admin: false)) ?? "").contains("Live FM") })
        let one = try await ask(server, "/status-json.xsl", admin: false)
        #expect(one.contains(#""source":{"mount":"/live","#), "one mount: an object, as Icecast gives: \(one)")
        #expect(one.contains(#""stream_start_iso8601":""#) && one.contains(#""stream_start":""#), "\(one)")
        let own = try await ask(server, "/status.json", admin: false)
        #expect(own.contains(#""source":[{"mount":"/backup","#), "Casty's own page lists every mount, always as an array: \(own)")
        let (_, backup) = try await feedingSource(server, mount: "/backup")
        defer { backup.cancel() }
        #expect(await eventually(timeout: .seconds(10)) { ((try? await ask(server, "/status-json.xsl", admin: false)) ?? "").contains(#""source":[{"#) })
        // The dates as Icecast writes them: `Mon, 07 Dec 2026 02:41:19 +0000` and `2026-12-07T02:41:19+0000`.
        let stats = try await ask(server, "/admin/stats")
        let iso = try #require(stats.split(separator: "<server_start_iso8601>").dropFirst().first?.prefix { $0 != "<" })
        #expect(iso.count == 24 && iso.hasSuffix("+0000") && iso.dropFirst(10).hasPrefix("T") && iso.hasPrefix(CivilTime.now.date), "\(iso)")
        let rfc822 = try #require(stats.split(separator: "<server_start>").dropFirst().first?.prefix { $0 != "<" })
        #expect(rfc822.count == 31 && rfc822.hasSuffix(" +0000") && rfc822.dropFirst(3).hasPrefix(", "), "\(rfc822)")
        #expect(stats.contains("<stream_start_iso8601>"), "\(stats)")
    }

    @Test("A source that names no station is named by its mount: VLC asks for titles only from a stream with an icy-name")
    func sourceWithoutAName_IsNamedByItsMount() async throws {
        let server = try server()
        let source = try await TestPeer.connect(to: server.address, on: loop)
        let credentials = Base64.encode(Array("source:hackme".utf8))
        await source.send("PUT /live HTTP/1.1\r\nHost: x\r\nAuthorization: Basic \(credentials)\r\nContent-Type: audio/mpeg\r\n\r\n")
        await sendAudio(source, Self.silentFrames(20))
        let player = try #require(await TestPeer.player(of: server.address, on: loop, request: "GET /live HTTP/1.0\r\nIcy-MetaData: 1\r\n\r\n"))
        #expect(await player.waitFor { String(decoding: $0, as: UTF8.self).contains("\r\n\r\n") })
        #expect(player.text.contains("icy-name: /live\r\n"), "\(player.text.prefix(300))")
        server.close()
    }

    @Test("Icecast's /admin/stats answers its XML for the mounts that stream, escaped, admin only; ?mount= asks for one")
    func adminStats_IsIcecastsXML() async throws {
        let server = try server()
        let source = try await source(server)
        let feeding = keepFeeding(source)  // a title reaches the stream with the next segment cut
        defer { feeding.cancel() }
        #expect(await eventually { await loop.submit { server.table.mount(at: "/live")?.source != nil } })
        #expect(try await ask(server, "/admin/metadata?mount=/live&mode=updinfo&song=Tom+%26+Jerry+%3Clive%3E").hasPrefix("HTTP/1.0 200"))
        _ = await eventually { ((try? await ask(server, "/admin/stats")) ?? "").contains("<title>Tom &amp; Jerry &lt;live&gt;</title>") }
        let stats = try await ask(server, "/admin/stats")
        #expect(stats.contains("<title>Tom &amp; Jerry &lt;live&gt;</title>"), "\(stats)")
        #expect(stats.contains("Content-Type: text/xml; charset=utf-8\r\n"))
        #expect(stats.contains("\r\n\r\n<?xml version=\"1.0\"?>\n<icestats>\n<listeners>0</listeners>\n<sources>1</sources>\n"))
        #expect(stats.contains("<source mount=\"/live\">\n<listeners>0</listeners>\n<listener_peak>0</listener_peak>\n"))
        #expect(stats.contains("<server_name>Live FM</server_name>") && stats.contains("<bitrate>128</bitrate>"))
        #expect(!stats.contains("/backup"), "a mount without a stream is not listed, as in Icecast")
        #expect(stats.hasSuffix("</source>\n</icestats>\n"))
        let backup = try await ask(server, "/admin/stats.xml?mount=/backup")
        #expect(backup.contains("<sources>1</sources>") && !backup.contains("<source mount="), "a mount that does not stream: \(backup)")
        let missing = try await ask(server, "/admin/stats?mount=/zzz")
        #expect(missing.hasPrefix("HTTP/1.0 404") && missing.contains("Content-Type: text/xml; charset=utf-8\r\n")
                && missing.hasSuffix("\r\n\r\n<?xml version=\"1.0\"?>\n<iceresponse><message>no mount /zzz</message><return>0</return></iceresponse>\n"),
                "a mount that does not exist, told in XML as Icecast tells it: \(missing)")
        let refused = try await ask(server, "/admin/stats", admin: false)
        #expect(refused.hasPrefix("HTTP/1.0 401") && refused.contains("Content-Type: text/xml; charset=utf-8\r\n")
                && refused.hasSuffix("<iceresponse><message>admin credentials needed</message><return>0</return></iceresponse>\n"),
                "refused in XML too, for the monitoring tool that reads it: \(refused)")
        let listing = try await ask(server, "/admin/listmounts", admin: false)
        #expect(listing.hasPrefix("HTTP/1.0 401") && listing.contains("{\"error\":\"admin credentials needed\"}"), "the other calls are refused in JSON: \(listing)")
        server.close()
    }

    @Test("Mounts are listed by name, as Icecast lists them, not in the order sources made them")
    func listings_SortMountsByName() async throws {
        let server = try server(mounts: nil)
        defer { server.close() }
        let (zulu, feedingZulu) = try await feedingSource(server, mount: "/zulu")
        defer { feedingZulu.cancel() }
        let (alpha, feedingAlpha) = try await feedingSource(server, mount: "/alpha")
        defer { feedingAlpha.cancel() }
        let listed = try await ask(server, "/admin/listmounts")
        let alphaAt = try #require(listed.firstRange(of: #""mount":"/alpha""#)), zuluAt = try #require(listed.firstRange(of: #""mount":"/zulu""#))
        #expect(alphaAt.lowerBound < zuluAt.lowerBound, "\(listed)")
        let status = try await ask(server, "/status.json", admin: false)
        #expect(try #require(status.firstRange(of: #""mount":"/alpha""#)).lowerBound < #require(status.firstRange(of: #""mount":"/zulu""#)).lowerBound)
        await zulu.close()
        await alpha.close()
    }

    @Test("A player of a mount that plays its fallback is counted at the fallback in /admin/stats and /status-json.xsl, as Icecast counts those it moves there: the mounts' listeners add up to the server's")
    func adminStats_CountsAFallbacksListenersWhereTheyListen() async throws {
        let log = Log()
        let (server, feeding, player) = try await playerOnTheFallback(log)
        defer { feeding.cancel(); server.close() }
        #expect(await player.waitFor(timeout: .seconds(10)) { $0.count > 4170 })
        let stats = try await ask(server, "/admin/stats")
        #expect(stats.contains("<icestats>\n<listeners>1</listeners>\n<sources>1</sources>\n"), "\(stats)")
        #expect(stats.contains("<source mount=\"/backup\">\n<listeners>1</listeners>\n"), "\(stats)")
        let json = try await ask(server, "/status-json.xsl", admin: false)
        #expect(json.contains(#""listeners":1"#) && json.contains(#"/backup""#), "\(json)")
        let own = try await ask(server, "/status.json", admin: false)
        #expect(own.contains(#""listeners":0"#), "Casty's own page keeps each mount's own players: \(own)")
    }

    @Test("A fallback's <total_bytes_sent> counts the bytes its moved players were sent, as its <listeners> counts them, and never goes down when they leave; its listener_peak is the same on /status.json as on /status-json.xsl")
    func adminStats_CountsTheBytesSentToAFallbacksListeners_AndOnePeakOnEveryPage() async throws {
        let log = Log()
        let (server, feeding, player) = try await playerOnTheFallback(log)
        defer { feeding.cancel(); server.close() }
        #expect(await player.waitFor(timeout: .seconds(10)) { $0.count > 3 * 4170 })
        func sent() async throws -> Int {
            let stats = try await ask(server, "/admin/stats?mount=/backup")
            return stats.split(separator: "<total_bytes_sent>").dropFirst().first.flatMap { Int($0.prefix { $0.isNumber }) } ?? -1
        }
        let whileListening = try await sent()
        #expect(whileListening >= 3 * 4170, "nobody listens to /backup itself: its bytes went to /live's player")
        let own = try await ask(server, "/status.json", admin: false)
        #expect(own.contains(#""mount":"/backup","listeners":0,"listener_peak":1"#), "\(own)")
        let icecast = try await ask(server, "/status-json.xsl", admin: false)
        #expect(icecast.contains(#""mount":"/backup","listeners":1,"listener_peak":1"#), "\(icecast)")
        await player.close()
        #expect(await eventually { await loop.submit { server.table.listeners(of: server.table.mount(at: "/backup")!) } == 0 })
        #expect(try await sent() >= whileListening, "a counter of bytes sent never goes down")
    }

    @Test("A fallback's peak counts the players moved to it when they came, though no status page was read while they listened")
    func fallbacksPeak_CountsMovedPlayers_WithoutBeingAsked() async throws {
        let log = Log()
        let server = try server(fallbacks: ["/live": "/backup"], log: log)
        defer { server.close() }
        let (_, backup) = try await feedingSource(server, mount: "/backup")
        defer { backup.cancel() }
        let (live, feeding) = try await feedingSource(server, mount: "/live")
        let own = try await listener(server, "/backup")
        let moved = [try await listener(server, "/live"), try await listener(server, "/live")]
        for player in [own] + moved { #expect(await player.waitFor(timeout: .seconds(10)) { $0.count > 4170 }) }
        feeding.cancel()
        await live.close()
        #expect(await eventually(timeout: .seconds(10)) { log.contains("mount /live: no source; its listeners hear /backup") }, "\(log.lines.value)")
        for player in moved { await player.close() }
        #expect(await eventually { await loop.submit { server.table.listeners(of: server.table.mount(at: "/backup")!) } == 1 })
        let stats = try await ask(server, "/admin/stats?mount=/backup")
        #expect(stats.contains("<source mount=\"/backup\">\n<listeners>1</listeners>\n<listener_peak>3</listener_peak>"), "\(stats)")
    }

    @Test("/admin/stats?mount= lists that mount's <source> only, and the server's listeners and sources at the top, as Icecast 2.4.4 does")
    func adminStats_OfOneMount_TopLevelIsTheServers() async throws {
        let server = try server()
        defer { server.close() }
        let (_, live) = try await feedingSource(server, mount: "/live")
        defer { live.cancel() }
        let (_, backup) = try await feedingSource(server, mount: "/backup")
        defer { backup.cancel() }
        let player = try await listener(server, "/backup")
        #expect(await player.waitFor(timeout: .seconds(10)) { $0.count > 4170 })
        let stats = try await ask(server, "/admin/stats?mount=/live")
        #expect(stats.contains("<icestats>\n<listeners>1</listeners>\n<sources>2</sources>\n"), "\(stats)")
        #expect(stats.contains("<source mount=\"/live\">\n<listeners>0</listeners>\n") && !stats.contains("mount=\"/backup\""), "\(stats)")
    }

    @Test("A mount that plays its fallback is no source up: /admin/stats and /status-json.xsl list the fallback's mount only, as Icecast does")
    func mountOnItsFallback_IsNotListedAsStreaming() async throws {
        let server = try server(fallbacks: ["/live": "/backup"])
        defer { server.close() }
        let backup = try await source(server, mount: "/backup")
        let feeding = keepFeeding(backup)
        defer { feeding.cancel() }
        let player = try #require(await TestPeer.player(of: server.address, on: loop, request: "GET /live HTTP/1.0\r\n\r\n"))
        #expect(await player.waitFor(timeout: .seconds(10)) { $0.count > 4170 }, "/live plays its fallback")
        let stats = try await ask(server, "/admin/stats")
        #expect(stats.contains("<sources>1</sources>") && stats.contains("<source mount=\"/backup\">") && !stats.contains("mount=\"/live\""),
                "\(stats)")
        let icecast = try await ask(server, "/status-json.xsl", admin: false)
        #expect(icecast.contains("\"listenurl\":\"http://") && !icecast.contains("/live\""), "\(icecast)")
    }

    @Test("An admin call naming a mount without its slash (mount=live) is told the name it meant")
    func adminCall_MountWithoutItsSlash_IsToldTheName() async throws {
        let server = try server()
        let source = try await source(server)
        await sendAudio(source, Self.silentFrames(20))
        let title = try await ask(server, "/admin/metadata?mount=live&mode=updinfo&song=X")
        #expect(title.hasPrefix("HTTP/1.0 404") && title.contains("no source on live (mount names start with /: mount=/live)"), "\(title)")
        let clients = try await ask(server, "/admin/listclients?mount=backup")
        #expect(clients.contains("no mount backup (mount names start with /: mount=/backup)"), "\(clients)")
        #expect(!(try await ask(server, "/admin/listclients?mount=nowhere")).contains("start with /"))
        server.close()
    }

    @Test func legacySource_GetsOK_AndPublishes() async throws {
        let server = try server()
        let source = try await source(server, method: "SOURCE")
        #expect(await source.waitFor { String(decoding: $0, as: UTF8.self).hasPrefix("HTTP/1.1 100 Continue") || String(decoding: $0, as: UTF8.self).hasPrefix("HTTP/1.0 200 OK") })
        server.close()
    }

    @Test(arguments: [
        ("/live", "s3cr3t-guess", "audio/mpeg", "HTTP/1.0 401 Unauthorized", "(401)"),
        ("/nowhere", "hackme", "audio/mpeg", "HTTP/1.0 403 Forbidden", "not on the whitelist (403)"),
        ("/live", "hackme", "application/ogg", "HTTP/1.0 415 Unsupported Media Type", "(415)"),
    ])
    func badSource_IsRefused_WithItsStatus_AndOneLogLine(
        mount: String, password: String, type: String, status: String, logged: String
    ) async throws {
        let log = Log()
        let server = try server(log: log)
        let source = try await source(server, mount: mount, password: password, type: type)
        #expect(await eventually { source.closed.value })
        #expect(source.text.hasPrefix(status), "\(source.text)")
        #expect(log.lines.value.filter { $0.contains("refused") && $0.contains(logged) }.count == 1, "\(log.lines.value)")
        #expect(!log.lines.value.contains { $0.contains(password) && password != "hackme" })
        if status.contains("401") { #expect(source.text.contains("WWW-Authenticate: Basic")) }
        server.close()
    }

    @Test("A source that sends no credentials is asked for them, unlogged (libshout asks so before every publish); wrong ones are logged, ten per 10 s at most")
    func sourceWithoutCredentials_IsChallengedUnlogged_AndWrongOnesLoggedWithinABudget() async throws {
        let log = Log()
        let server = try server(log: log)
        let bare = try await TestPeer.connect(to: server.address, on: loop)
        await bare.send("PUT /live HTTP/1.1\r\nHost: x\r\nContent-Type: audio/mpeg\r\n\r\n")
        #expect(await eventually { bare.closed.value })
        #expect(bare.text.hasPrefix("HTTP/1.0 401 Unauthorized") && bare.text.contains("WWW-Authenticate: Basic"), "\(bare.text)")
        #expect(!log.contains("refused"), "\(log.lines.value)")
        for _ in 0..<12 {
            let guess = try await source(server, password: "guess")
            #expect(await eventually { guess.closed.value })
        }
        #expect(log.lines.value.filter { $0.contains("refused on /live") }.count == 10, "\(log.lines.value)")
        server.close()
    }

    @Test("A source that sends no credentials and hangs up before its challenge is not logged, as one that reads the challenge is not")
    func sourceWithoutCredentials_HangingUpAtOnce_IsNotLogged() async throws {
        let log = Log()
        let server = try server(log: log)
        for _ in 0..<3 {
            let bare = try await TestPeer.connect(to: server.address, on: loop)
            await bare.send("PUT /live HTTP/1.1\r\nHost: x\r\nContent-Type: audio/mpeg\r\n\r\n")
            await bare.close()
        }
        // A source that goes on to publish is logged: every line before it is in by then.
        let (_, feeding) = try await feedingSource(server)
        defer { feeding.cancel() }
        #expect(await eventually { log.contains("publishing /live") }, "\(log.lines.value)")
        #expect(!log.lines.value.contains { $0.contains("left before it was admitted") || $0.contains("refused") }, "\(log.lines.value)")
        server.close()
    }

    @Test("An off-air mount's HLS playlist: 404 saying nothing plays there (not 'no mount'), not kept by a CDN, and a polling audience logs ten lines per 10 s")
    func offAirPlaylist_Is404_Uncached_AndItsPollingLoggedWithinABudget() async throws {
        let log = Log()
        let server = try server(log: log)
        for _ in 0..<14 {
            let answer = try await ask(server, "/live/index.m3u8", admin: false)
            #expect(answer.hasPrefix("HTTP/1.0 404") && answer.contains("Cache-Control: no-cache\r\n"), "\(answer)")
            #expect(answer.hasSuffix("Nothing plays at /live now: try again later.\n"), "\(answer)")
        }
        let lines = log.lines.value.filter { $0.contains("refused: nothing to play at /live/index.m3u8 (404)") }
        #expect(lines.count == 10, "\(log.lines.value)")
        #expect(try await ask(server, "/nosuch/index.m3u8", admin: false).hasSuffix("No mount here: /nosuch/index.m3u8\n"))
        server.close()
    }

    @Test func secondSource_OnALiveMount_GetsMountpointInUse() async throws {
        let server = try server()
        // The live source sends: one silent for 2 s, on a loaded run, would be taken for a dead connection its
        // encoder publishes again over (the same credentials take the mount then).
        let (first, feeding) = try await feedingSource(server)
        defer { feeding.cancel() }
        let second = try await source(server)
        #expect(await eventually { second.closed.value })
        #expect(second.text.hasPrefix("HTTP/1.0 403 Mountpoint in use"))
        #expect(!first.closed.value, "the live source keeps its mount")
        server.close()
    }

    @Test func droppedSource_ListenersFallBack_AndReturn_OnTheSameConnection() async throws {
        let log = Log()
        let server = try server(fallbacks: ["/live": "/backup"], log: log)
        let station = try Station.builtIn(segmentBytes: 4170, loop: loop)
        await station.start()
        server.attach(station, at: "/backup")
        let source = try await source(server)
        await sendAudio(source, Self.silentFrames(30))
        let player = try await listener(server)
        #expect(await player.waitFor { Self.silentFrameCount($0) >= 10 })
        await source.close()
        #expect(await eventually { log.contains("its listeners hear /backup") })
        let before = player.received.value.count
        #expect(await player.waitFor(timeout: .seconds(4)) { $0.count > before + 3 * 4170 }, "the fallback's tone keeps coming")
        #expect(!player.closed.value)
        let listed = try await ask(server, "/admin/listmounts")
        #expect(listed.contains(#""mount":"/live","listeners":1,"feeding":"fallback""#) && listed.contains(#""feeding":"station""#), "\(listed)")
        #expect(try await ask(server, "/api/mounts/live", admin: false).contains(#""live":true,"fallback":true"#))
        // The source returns: the listener hears it again, on the same connection.
        let silentBefore = Self.silentFrameCount(player.received.value)
        let back = try await self.source(server)
        await sendPaced(back, Self.silentFrames(40))
        let heard = await player.waitFor { Self.silentFrameCount($0) >= silentBefore + 20 }
        #expect(heard, "\(Self.silentFrameCount(player.received.value)) silent frames, \(silentBefore) before; \(log.lines.value.suffix(6))")
        // The ICY framing held throughout: every segment is whole, every block where icy-metaint says.
        let parsed = try #require(try player.parsed(segmentBytes: 4170))
        #expect(parsed.segments.dropLast().allSatisfy { $0.audioBytes.count == 4170 })
        #expect(!player.closed.value)
        station.stop()
        server.close()
    }

    @Test("A source publishing over a mount's built-in station is all its listeners hear: the station stops feeding it meanwhile")
    func sourceOverAStation_IsTheMountsOnlyFeed() async throws {
        let log = Log()
        let server = try server(mounts: ["/live"], log: log)
        let station = try Station.builtIn(segmentBytes: 4170, loop: loop)
        await station.start()
        server.attach(station, at: "/live")
        let source = try await source(server)
        #expect(await source.waitFor { String(decoding: $0, as: UTF8.self).hasPrefix("HTTP/1.1 100") })
        let feeding = keepFeeding(source)
        let player = try await listener(server)
        #expect(await player.waitFor(timeout: .seconds(10)) { Self.silentFrameCount($0) >= 40 })
        try await Task.sleep(for: .seconds(2))  // the station cuts a segment every quarter second
        feeding.cancel()
        await feeding.value
        // Both fed the mount's distributor: the station's segments, numbered ahead, were taken and the source's
        // refused as old, or the other way round, a gap at every turn.
        #expect(!log.contains("duplicate or old segment") && !log.contains("gap: received"), "\(log.lines.value)")
        await source.close()
        station.stop()
        server.close()
    }

    @Test("A fallback whose source came and went for good leaves its mounts alive: the mount's own source is heard, and the fallback's next one; those waiting for it are said to wait")
    func fallbackWhoseSourceTimedOut_LeavesTheMountAlive() async throws {
        let log = Log()
        // A source timeout of 3 s, not 1: a loaded CI run once kept the feeding task away for over a second, the
        // source was dropped for silence, and /live had nothing to play.
        let server = try server(fallbacks: ["/live": "/backup"], timeout: .seconds(3), log: log)
        let backup = try await source(server, mount: "/backup")
        #expect(await backup.waitFor { String(decoding: $0, as: UTF8.self).hasPrefix("HTTP/1.1 100") })
        var feeding = keepFeeding(backup)
        // Once /live has /backup's stream.
        #expect(await eventually(timeout: .seconds(10)) {
            await loop.submit { server.table.mount(at: "/live")?.distributor.assumeIsolated { $0.stat().context != nil } ?? false }
        })
        let early = try await listener(server)  // /live has no source: it hears /backup
        #expect(await early.waitFor(timeout: .seconds(10)) { Self.silentFrameCount($0) >= 10 }, "\(early.text.prefix(60))")
        feeding.cancel()
        await feeding.value
        await backup.close()
        // Said at once, not only when they are let go: those hearing /backup wait for a source.
        #expect(await eventually(timeout: .seconds(10)) {
            log.contains("mount /backup: no source; its listeners (and those of /live, hearing it as their fallback) wait for a source (up to 3.0 seconds)")
        }, "\(log.lines.value.suffix(4))")
        #expect(await eventually(timeout: .seconds(10)) {
            log.contains("mount /backup: no source came back within 3.0 seconds; its listeners are disconnected (and those of /live, hearing it as their fallback)")
        }, "the line names the mount whose listeners are let go: \(log.lines.value.suffix(4))")
        #expect(await eventually { early.closed.value }, "its fallback's listeners were let go, and so are those of the mount hearing it")
        #expect(try await ask(server, "/api/mounts/live", admin: false).contains(#""live":false,"fallback":false"#), "nothing to play: not live")
        #expect(try await ask(server, "/admin/listmounts").contains(#""mount":"/live","listeners":0,"feeding":"idle""#))

        // /live's own source publishes: its listeners hear it.
        let live = try await source(server)
        feeding = keepFeeding(live)
        let player = try await listener(server)
        #expect(await player.waitFor(timeout: .seconds(10)) { Self.silentFrameCount($0) >= 10 },
                "\(player.text.prefix(80)); \(log.lines.value.suffix(5))")
        feeding.cancel()
        await feeding.value
        await live.close()
        #expect(await eventually(timeout: .seconds(10)) { log.contains("mount /live: no source came back within 3.0 seconds") },
                "its fallback has nothing to play either: its listeners are let go after the source timeout")
        #expect(await eventually { player.closed.value })

        // The fallback's source returns: /live, sourceless, plays it again.
        let again = try await source(server, mount: "/backup")
        feeding = keepFeeding(again)
        defer { feeding.cancel() }
        let late = try await listener(server)
        #expect(await late.waitFor(timeout: .seconds(10)) { Self.silentFrameCount($0) >= 10 },
                "\(late.text.prefix(80)); \(log.lines.value.suffix(5))")
        server.close()
    }

    @Test func fallbackOfAnotherCodec_IsNotUsed_ListenersWaitAsWithoutOne() async throws {
        let log = Log()
        let server = try server(fallbacks: ["/live": "/backup"], timeout: .seconds(5), log: log)
        let live = try await source(server)
        let feeding = keepFeeding(live)
        // Before the source's first audio, /live has nothing to play (503): a loaded run may ask that early.
        let player = try #require(await TestPeer.player(of: server.address, on: loop, request: "GET /live HTTP/1.0\r\nIcy-MetaData: 1\r\n\r\n"))
        #expect(await player.waitFor(timeout: .seconds(10)) { Self.silentFrameCount($0) >= 10 })
        let backup = try await source(server, mount: "/backup", type: "audio/aac")
        let feedingBackup = keepFeeding(backup, with: adtsFrames(10))
        defer { feedingBackup.cancel() }
        // Its AAC is announced once two seconds of it are measured: only then is its codec known to differ.
        #expect(await eventually(timeout: .seconds(10)) {
            ((try? await ask(server, "/api/mounts/backup", admin: false)) ?? "").contains("\"contentType\":\"audio/aac\"")
        })

        // The MP3 source drops: its listeners are not fed the AAC fallback, and wait for it as with no fallback.
        let movedBefore = log.lines.value.filter { $0.contains("its listeners hear /backup") }.count  // at the start
        feeding.cancel()
        await feeding.value
        await live.close()
        let line = "mount /live: no source; its fallback /backup plays audio/aac, not audio/mpeg like /live: its listeners are not moved there"
        #expect(await eventually(timeout: .seconds(10)) { log.contains(line) })
        #expect(log.lines.value.filter { $0.contains("its fallback /backup plays") }.count == 1, "one line per incident")
        #expect(log.lines.value.filter { $0.contains("its listeners hear /backup") }.count == movedBefore)
        let stranger = try await listener(server)
        #expect(await eventually { stranger.closed.value })
        #expect(stranger.text.hasPrefix("HTTP/1.0 404"), "a mount with nothing it may play, as with no fallback")
        #expect(await eventually(timeout: .seconds(20)) { player.closed.value }, "let go after the source timeout")
        let adtsHeader: [UInt8] = [0xFF, 0xF1, 0x50]
        let heard = player.received.value
        #expect(!heard.indices.dropLast(2).contains { Array(heard[$0..<$0 + 3]) == adtsHeader }, "no AAC frame reached the MP3 player")
        #expect(log.contains("no source came back within 5.0 seconds"))

        // Its MP3 listeners gone, the mount is its fallback's again: a new player hears /backup's AAC, not 404.
        let late = try await listener(server)
        #expect(await late.waitFor(timeout: .seconds(10)) { bytes in
            bytes.indices.dropLast(2).contains { Array(bytes[$0..<$0 + 3]) == adtsHeader }
        }, "\(late.text.prefix(80))")
        #expect(late.text.hasPrefix("HTTP/1.0 200"))
        server.close()
    }

    @Test func firstSourceOfAnotherCodec_DisconnectsTheListenersOfTheFallback() async throws {
        let log = Log()
        let server = try server(fallbacks: ["/live": "/backup"], log: log)
        let backup = try await source(server, mount: "/backup", type: "audio/aac")
        await sendPaced(backup, adtsFrames(60))
        let player = try await listener(server, titles: false)  // hears /backup's AAC, told audio/aac
        #expect(await player.waitFor { $0.count > 4170 })
        #expect(player.text.contains("Content-Type: audio/aac"))
        let live = try await source(server)
        await sendAudio(live, Self.silentFrames(30))
        #expect(await eventually { player.closed.value }, "the AAC player is not fed MP3")
        #expect(Self.silentFrameCount(player.received.value) == 0)
        #expect(log.contains("mount /live: its source plays audio/mpeg, its listeners were playing audio/aac from its fallback /backup"))
        let again = try await listener(server, titles: false)
        #expect(await again.waitFor { Self.silentFrameCount($0) >= 5 })
        #expect(again.text.contains("Content-Type: audio/mpeg"))
        server.close()
    }

    @Test func returningSourceOfAnotherCodec_WithinTheSourceTimeout_DisconnectsTheWaitingListeners() async throws {
        let log = Log()
        let server = try server(timeout: .seconds(10), log: log)
        let live = try await source(server)
        await sendAudio(live, Self.silentFrames(30))
        let player = try await listener(server, titles: false)  // told audio/mpeg
        #expect(await player.waitFor { Self.silentFrameCount($0) >= 10 })
        await live.close()
        // No fallback: the listener waits for a source to return (10 s) — and an AAC one does, at once (once the
        // server has seen the first one go: before, the mount is still in use).
        #expect(await eventually(timeout: .seconds(10)) { log.contains("on /live ended: ") && !player.closed.value })
        let aac = try await source(server, type: "audio/aac")
        await sendPaced(aac, adtsFrames(60))
        #expect(await eventually(timeout: .seconds(8)) { player.closed.value }, "the MP3 player is not fed AAC: it is let go long before the timeout")
        let adtsHeader: [UInt8] = [0xFF, 0xF1, 0x50]
        let heard = player.received.value
        #expect(!heard.indices.dropLast(2).contains { Array(heard[$0..<$0 + 3]) == adtsHeader }, "no AAC frame reached the MP3 player")
        #expect(log.contains("mount /live: its source plays audio/aac, its listeners were playing audio/mpeg: they are disconnected"))
        #expect(!log.contains("listeners play on"), "none plays on: \(log.lines.value.filter { $0.contains("new stream") })")
        let again = try await listener(server, titles: false)
        #expect(await again.waitFor { $0.count > 1000 })
        #expect(again.text.contains("Content-Type: audio/aac"), "a player that comes back is told the new codec")
        server.close()
    }

    @Test func adminMove_ToAMountOfAnotherCodec_Is409() async throws {
        let server = try server()
        let live = try await source(server)
        await sendAudio(live, Self.silentFrames(30))
        let backup = try await source(server, mount: "/backup", type: "audio/aac")
        await sendAudio(backup, adtsFrames(60))
        let player = try await listener(server)
        #expect(await player.waitFor { Self.silentFrameCount($0) >= 5 })
        let answer = try await ask(server, "/admin/moveclients?mount=/live&destination=/backup")
        #expect(answer.hasPrefix("HTTP/1.0 409 Conflict"))
        #expect(answer.contains("/backup plays audio/aac, not audio/mpeg like /live"))
        #expect(!player.closed.value)
        server.close()
    }

    @Test func silentSource_IsDropped_AfterTheSourceTimeout() async throws {
        let log = Log()
        let server = try server(timeout: .seconds(1), log: log)
        let source = try await source(server)
        await sendAudio(source, Self.silentFrames(12))
        #expect(await eventually(timeout: .seconds(4)) { source.closed.value })
        #expect(log.contains("ended: nothing arrived for 1.0 seconds"))
        server.close()
    }

    @Test("A source that sends garbage never takes its mount's listeners from the fallback they hear: no new stream reaches them")
    func garbageSource_LeavesTheFallbacksListenersAlone() async throws {
        let log = Log()
        let (server, feeding, player) = try await playerOnTheFallback(log)
        defer { feeding.cancel() }
        #expect(await player.waitFor(timeout: .seconds(10)) { $0.count > 3 * 4171 })
        let newStreams = log.lines.value.filter { $0.contains("new stream") }.count
        let garbage = try await source(server)
        await sendAudio(garbage, (0..<70_000).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 3) & 0x7F })
        #expect(await eventually { garbage.closed.value })
        let before = player.received.value.count
        #expect(await player.waitFor(timeout: .seconds(10)) { $0.count > before + 3 * 4171 }, "the fallback plays on")
        #expect(log.lines.value.filter { $0.contains("new stream") }.count == newStreams, "\(log.lines.value.suffix(6))")
        let heard = try #require(try player.parsed(segmentBytes: 4170))
        let audio = heard.segments.flatMap(\.audioBytes)
        let garbageRun = audio.indices.dropLast(8).contains { start in
            (start..<start + 8).allSatisfy { audio[$0 + 1] == (audio[$0] &+ 7) & 0x7F }
        }
        #expect(!garbageRun, "no garbage reached the player")
        server.close()
    }

    @Test func garbageSource_IsDropped_WithOneLogLine() async throws {
        let log = Log()
        let server = try server(log: log)
        let source = try await source(server)
        await sendAudio(source, (0..<70_000).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 3) & 0x7F })
        #expect(await eventually { source.closed.value })
        #expect(log.lines.value.filter { $0.contains("no audio frames") }.count == 1, "\(log.lines.value)")
        server.close()
    }

    @Test func adminMetadata_SetsTheTitle_ListenersAreTold() async throws {
        let log = Log()
        let server = try server(log: log)
        let source = try await source(server)
        await sendAudio(source, Self.silentFrames(10))
        let player = try await listener(server)
        #expect(await player.waitFor { !$0.isEmpty })
        #expect(try await ask(server, "/admin/metadata?mount=/live&mode=updinfo&song=Miles+Davis+-+So+What%21", admin: false)
            .hasPrefix("HTTP/1.0 401"))
        let answer = try await ask(server, "/admin/metadata?mount=/live&mode=updinfo&song=Miles+Davis+-+So+What%21")
        #expect(answer.hasPrefix("HTTP/1.0 200 OK"))
        await sendAudio(source, Self.silentFrames(30))
        #expect(await player.waitFor { Self.silentFrameCount($0) >= 25 })
        let titles = try #require(try player.parsed(segmentBytes: 4170)).segments.compactMap { Metadata(parsing: $0.metadata).streamTitle }
        #expect(titles.contains("Miles Davis - So What!"), "\(titles)")
        // The log says who set it: not the encoder's own title, but someone through the admin API.
        #expect(log.lines.value.contains { $0.contains("source on /live: title: Miles Davis - So What! (from 127.0.0.1:") && $0.hasSuffix(", /admin/metadata)") },
                "\(log.lines.value)")

        // An empty title clears it, and the line says so rather than leave the value blank.
        #expect(try await ask(server, "/admin/metadata?mount=/live&mode=updinfo&song=").hasPrefix("HTTP/1.0 200 OK"))
        #expect(await eventually { log.lines.value.contains { $0.contains("source on /live: title: none (cleared) (from 127.0.0.1:") } },
                "\(log.lines.value.suffix(3))")

        // Icecast's other form: artist and title, joined as it joins them.
        let parts = try await ask(server, "/admin/metadata?mount=/live&mode=updinfo&artist=Nina+Simone&title=Sinnerman")
        #expect(parts.hasPrefix("HTTP/1.0 200 OK") && parts.contains(#""title":"Nina Simone - Sinnerman""#), "\(parts)")
        #expect(try await ask(server, "/admin/metadata?mount=/live&mode=updinfo&title=Sinnerman").contains(#""title":"Sinnerman""#))
        #expect(try await ask(server, "/admin/metadata?mount=/live&mode=updinfo").hasPrefix("HTTP/1.0 400"))

        // A Cyrillic encoder's code page is read as such; one Casty cannot read is refused, not made a wrong title.
        let cyrillic = try await ask(server, "/admin/metadata?mount=/live&mode=updinfo&charset=windows-1251&song=%CF%F0%E8%E2%E5%F2")
        #expect(cyrillic.hasPrefix("HTTP/1.0 200 OK") && cyrillic.contains(#""title":"Привет""#), "\(cyrillic)")
        let unknown = try await ask(server, "/admin/metadata?mount=/live&mode=updinfo&charset=Shift_JIS&song=%82%A0")
        #expect(unknown.hasPrefix("HTTP/1.0 400") && unknown.contains("charset 'Shift_JIS' is not one Casty reads"), "\(unknown)")
        // An empty charset (a script's `charset=$CHARSET`, the variable unset) is none: the title is read as UTF-8.
        let unset = try await ask(server, "/admin/metadata?mount=/live&mode=updinfo&charset=&song=Caf%C3%A9")
        #expect(unset.hasPrefix("HTTP/1.0 200 OK") && unset.contains(#""title":"Café""#), "\(unset)")
        server.close()
    }

    @Test func admin_ListsKillsMovesAndWhitelists() async throws {
        let log = Log()
        let server = try server(log: log)
        #expect(try await ask(server, "/admin/listmounts", admin: false).hasPrefix("HTTP/1.0 401"))
        let station = try Station.builtIn(segmentBytes: 4170, loop: loop)
        await station.start()
        server.attach(station, at: "/backup")
        let source = try await source(server)
        await sendAudio(source, Self.silentFrames(20))
        let player = try await listener(server)
        #expect(await player.waitFor { !$0.isEmpty })
        let mounts = try await ask(server, "/admin/listmounts")
        #expect(mounts.contains("\"mount\":\"/live\",\"listeners\":1,\"feeding\":\"source\""), "\(mounts)")
        let clients = try await ask(server, "/admin/listclients?mount=/live")
        #expect(clients.contains("\"request\":\"GET /live (no user agent)\""), "\(clients)")
        // Moved to /backup, the player stays connected.
        #expect(try await ask(server, "/admin/moveclients?mount=/live&destination=/backup").contains("\"moved\":1"))
        #expect(await eventually { try! await ask(server, "/admin/listmounts").contains("\"mount\":\"/backup\",\"listeners\":1") })
        #expect(!player.closed.value)
        #expect(try await ask(server, "/admin/killsource?mount=/live").hasPrefix("HTTP/1.0 200 OK"))
        #expect(await eventually { source.closed.value })
        // The whitelist, changed at run time.
        let refused = try await self.source(server, mount: "/extra")
        #expect(await eventually { refused.closed.value })
        #expect(refused.text.hasPrefix("HTTP/1.0 403"))
        #expect(try await ask(server, "/admin/whitelist").hasSuffix("{\"whitelist\":[\"/backup\",\"/live\"],\"accept_all\":false}\n"),
                "without an action, the list as it is")
        #expect(try await ask(server, "/admin/whitelist?action=add&mount=/extra").contains("/extra"))
        #expect(try await ask(server, "/admin/whitelist").contains("[\"/backup\",\"/extra\",\"/live\"]"))
        let admitted = try await self.source(server, mount: "/extra")
        #expect(await admitted.waitFor { String(decoding: $0, as: UTF8.self).hasPrefix("HTTP/1.1 100") })
        #expect(try await ask(server, "/admin/whitelist?action=remove&mount=/extra").hasPrefix("HTTP/1.0 200"))
        #expect(await eventually { admitted.closed.value }, "a removed mount's source is disconnected")
        // Paths the server answers itself, and names that are no path, are refused: no source could be heard there.
        for bad in ["/status.json", "/admin/x", "/", "/api/mounts", "/live/index.m3u8", "/player/x", "new"] {
            let answer = try await ask(server, "/admin/whitelist?action=add&mount=\(bad)")
            #expect(answer.hasPrefix("HTTP/1.0 400"), "\(bad): \(answer.prefix(40))")
        }
        #expect(try await ask(server, "/admin/whitelist?action=remove&mount=/never").hasPrefix("HTTP/1.0 404"))
        station.stop()
        server.close()
    }

    @Test func underAcceptAll_RemovingAMountFromTheWhitelist_IsAConflict_AndItsSourceStays() async throws {
        let server = try server(mounts: nil)
        let source = try await self.source(server, mount: "/anything")
        #expect(await source.waitFor { String(decoding: $0, as: UTF8.self).hasPrefix("HTTP/1.1 100") })
        let answer = try await ask(server, "/admin/whitelist?action=remove&mount=/anything")
        #expect(answer.hasPrefix("HTTP/1.0 409"), "\(answer)")
        #expect(answer.contains("killsource"))
        try await Task.sleep(for: .milliseconds(300))
        #expect(!source.closed.value, "nothing was removed, so nothing is disconnected")
        await source.close()
        server.close()
    }

    @Test("On a one-mount server, what browsers and crawlers fetch on their own is not the stream")
    func robotsAndTouchIcons_AreNotTheStream() async throws {
        let server = try server(mounts: ["/only"])
        let source = try await self.source(server, mount: "/only")
        let feeding = keepFeeding(source)
        let robots = try await ask(server, "/robots.txt", admin: false)
        #expect(robots.hasPrefix("HTTP/1.0 200 OK") && robots.hasSuffix("User-agent: *\nDisallow: /\n"), "\(robots)")
        for icon in ["/apple-touch-icon.png", "/apple-touch-icon-precomposed.png", "/favicon.ico"] {
            #expect(try await ask(server, icon, admin: false).hasPrefix("HTTP/1.0 404"), "\(icon)")
        }
        feeding.cancel()
        await source.close()
        server.close()
    }

    @Test func severalMounts_UnknownPathIs404_StatusListsEveryMount() async throws {
        let server = try server()
        #expect(try await ask(server, "/nothing-here", admin: false).hasPrefix("HTTP/1.0 404"))
        #expect(try await ask(server, "/", admin: false).hasPrefix("HTTP/1.0 404"), "with several mounts, / is no stream")
        let browser = try await TestPeer.connect(to: server.address, on: loop)
        await browser.send("GET / HTTP/1.1\r\nHost: x\r\nAccept: text/html\r\nConnection: close\r\n\r\n")
        #expect(await eventually { browser.closed.value })
        #expect(browser.text.contains("Content-Type: text/html"), "a browser gets the player page at / with several mounts too")
        let status = try await ask(server, "/status.json", admin: false)
        #expect(status.contains("\"source\":[{\"mount\":\"/backup\""), "\(status)")
        #expect(status.contains("{\"mount\":\"/live\""))
        server.close()
    }

    @Test("One configured mount plays at any path; under --accept-all one live broadcaster is not every path's")
    func anyPath_PlaysTheOneConfiguredMount_NotTheOneLiveMountOfAcceptAll() async throws {
        for acceptAll in [false, true] {
            let server = try server(mounts: acceptAll ? nil : ["/bob"])
            let source = try await self.source(server, mount: "/bob")
            let feeding = keepFeeding(source)
            let bob = try await listener(server, "/bob")
            #expect(await bob.waitFor { $0.count > 4170 })
            let other = try await listener(server, "/alice")
            if acceptAll {
                #expect(await eventually { other.closed.value })
                #expect(other.text.hasPrefix("HTTP/1.0 404"), "\(other.text.prefix(80))")
            } else {
                #expect(await other.waitFor { $0.count > 4170 }, "any path plays the one configured mount")
                #expect(other.text.hasPrefix("HTTP/1.0 200"))
            }
            feeding.cancel()
            await other.close()
            await bob.close()
            await source.close()
            server.close()
        }
    }

    @Test("A relay whose upstream is down is not live to pages, and admins see it connecting")
    func relayWithItsUpstreamDown_IsNotLive() async throws {
        let server = try server(mounts: [])
        let proxy = try Proxy(url: StreamURL(host: "127.0.0.1", port: 1, path: "/x"), loop: loop)  // nothing listens on port 1
        server.attach(proxy, at: "/dead")
        await proxy.startInBackground()
        #expect(await eventually { (try? await ask(server, "/api/mounts/dead", admin: false))?.contains("\"live\":false") == true })
        let mounts = try await ask(server, "/admin/listmounts")
        #expect(mounts.contains("\"feeding\":\"connecting\""), "\(mounts)")
        proxy.stop()
        server.close()
    }

    @Test("A relay whose upstream goes away plays its fallback to its listeners, on the same connection, and the relay again when it returns")
    func relayWithItsUpstreamAway_PlaysItsFallback_ThenTheRelayAgain() async throws {
        let upstream = try AwayableStation(on: loop)
        let log = Log()
        let server = try server(mounts: ["/ice", "/backup"], fallbacks: ["/ice": "/backup"], log: log) { $0.relayReturnHold = .milliseconds(300) }
        let station = try Station.builtIn(segmentBytes: 4170, loop: loop)
        await station.start()
        server.attach(station, at: "/backup")
        let (proxy, player) = try await relaying(upstream, on: server, log: log)

        await upstream.goAway()
        #expect(await eventually(timeout: .seconds(5)) { log.contains("mount /ice: its relay does not stream; its listeners hear /backup meanwhile") })
        let before = player.received.value.count
        #expect(await player.waitFor(timeout: .seconds(5)) { $0.count > before + 3 * 4170 }, "the fallback's tone comes while the relay is away")
        #expect(try await ask(server, "/admin/listmounts").contains(#""mount":"/ice","listeners":1,"feeding":"fallback""#))

        upstream.comeBack()
        #expect(await eventually(timeout: .seconds(5)) { log.contains("mount /ice: its relay streams again; its listeners hear it") })
        let silentBefore = Self.silentFrameCount(player.received.value)
        #expect(await player.waitFor(timeout: .seconds(5)) { Self.silentFrameCount($0) >= silentBefore + 20 }, "the relay plays again")
        #expect(!player.closed.value, "one connection throughout")
        proxy.stop()
        station.stop()
        server.close()
        await upstream.close()
    }

    @Test("A relay down from the start whose fallback begins to play later is heard on that fallback then")
    func relayDownFromTheStart_HearsItsFallback_OnceThatPlays() async throws {
        let upstream = try FakeUpstream(on: loop) { connection, _ in
            connection.write(Array("HTTP/1.0 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n".utf8))
            connection.close()
        }
        let log = Log()
        let server = try server(mounts: ["/ice", "/backup"], fallbacks: ["/ice": "/backup"], log: log)
        var relaying = Proxy.Configuration()
        relaying.segmentBytes = 4170
        let proxy = try Proxy(url: upstream.url, configuration: relaying, loop: loop)
        server.attach(proxy, at: "/ice")
        await proxy.startInBackground()
        let (_, feeding) = try await feedingSource(server, mount: "/backup")
        defer { feeding.cancel() }
        // Unsaid while nobody listens: a relay that never streamed is not one that stopped.
        #expect(await eventually(timeout: .seconds(5)) { (try? await ask(server, "/admin/listmounts"))?.contains(#""mount":"/ice","listeners":0,"feeding":"fallback""#) == true })
        #expect(!log.contains("its relay does not stream"), "\(log.lines.value)")
        let player = try await listener(server, "/ice", titles: false)
        #expect(await player.waitFor(timeout: .seconds(10)) { Self.silentFrameCount($0) >= 10 }, "\(player.text.prefix(200))")
        proxy.stop()
        server.close()
        await upstream.close()
    }

    @Test("A command POSTed from a page on another site is readable there (CORS), and its connection is kept", arguments: ["", "{\"a\":1}"])
    func commandPost_CarriesCORS_AndKeepsItsConnection(body: String) async throws {
        let server = try commandsServer()
        let page = try await TestPeer.connect(to: server.address, on: loop)
        // An HTTP library sending JSON sends a small body with the head: skipped, the connection kept all the same.
        let length = body.isEmpty ? "" : "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n"
        await page.send("POST /commands/close HTTP/1.1\r\nHost: x\r\nOrigin: https://dashboard.example\r\nAuthorization: Bearer tok\r\n"
            + "x-streaming-channel: live\r\nx-streaming-id: *\r\n\(length)\r\n\(body)")
        #expect(await page.waitFor { String(decoding: $0, as: UTF8.self).contains("{\"closed\":[]}") })
        #expect(page.text.hasPrefix("HTTP/1.1 404 Not Found\r\n"), "nothing to close, on a kept HTTP/1.1 connection: \(page.text)")
        #expect(page.text.contains("Access-Control-Allow-Origin: *\r\n"))
        await page.send("GET /commands/capacity HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer tok\r\n\r\n")
        #expect(await page.waitFor { String(decoding: $0, as: UTF8.self).contains("\"capacity\":-1") }, "the next command on the same connection")
        await page.close()
        server.close()
    }

    @Test("A command's body that comes after its head is skipped as it comes, and the connection is kept")
    func commandPost_BodyInALaterPacket_IsSkipped_AndTheConnectionKept() async throws {
        let server = try commandsServer()
        let page = try await TestPeer.connect(to: server.address, on: loop)
        await page.send("POST /commands/close HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer tok\r\n"
            + "x-streaming-channel: live\r\nx-streaming-id: *\r\nContent-Length: 2000\r\n\r\n")
        #expect(await page.waitFor { String(decoding: $0, as: UTF8.self).contains("{\"closed\":[]}") })
        await page.send(String(repeating: "x", count: 1500))
        try await Task.sleep(for: .milliseconds(100))
        await page.send(String(repeating: "y", count: 500) + "GET /commands/capacity HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer tok\r\n\r\n")
        #expect(await page.waitFor { String(decoding: $0, as: UTF8.self).contains("\"capacity\":-1") }, "\(page.text)")
        #expect(!page.closed.value)
        await page.close()
        server.close()
    }

    @Test("A close naming its channel with the mount's slash, or none, is 400 saying how channels are named, not a 404 as for a session gone")
    func commandClose_AChannelWithASlash_Is400() async throws {
        let server = try commandsServer()
        for channel in ["/live", ""] {
            let page = try await TestPeer.connect(to: server.address, on: loop)
            await page.send("POST /commands/close HTTP/1.0\r\nAuthorization: Bearer tok\r\nx-streaming-channel: \(channel)\r\nx-streaming-id: *\r\n\r\n")
            #expect(await eventually { page.closed.value })
            #expect(page.text.hasPrefix("HTTP/1.0 400 Bad Request\r\n") && page.text.contains("without its leading slash"), "'\(channel)': \(page.text)")
        }
        server.close()
    }

    @Test("A command with a large body gets its whole answer and an orderly close, not a reset")
    func commandPost_LargeBody_GetsTheAnswer_NotAReset() async throws {
        let server = try commandsServer()
        let page = try await TestPeer.connect(to: server.address, on: loop)
        await page.send("POST /commands/close HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer tok\r\nx-streaming-channel: live\r\n"
            + "x-streaming-id: *\r\nContent-Length: 300000\r\n\r\n" + String(repeating: "x", count: 300_000))
        #expect(await eventually(timeout: .seconds(10)) { page.closed.value })
        #expect(page.text.hasPrefix("HTTP/1.0 404 Not Found\r\n") && page.text.contains("{\"closed\":[]}"), "\(page.text)")
        #expect(page.closeError.value == nil, "\(String(describing: page.closeError.value))")
        server.close()
    }

    @Test("A source's end line says who stopped it: the application (/commands/close), the admin (/admin/killsource), the server stopping")
    func sourceStopped_ItsEndLineSaysWhoStoppedIt() async throws {
        let log = Log()
        let server = try server(log: log, configure: takesCommands)
        defer { server.close() }
        let (_, live) = try await feedingSource(server, mount: "/live")
        defer { live.cancel() }
        let (_, backup) = try await feedingSource(server, mount: "/backup")
        defer { backup.cancel() }
        #expect(await eventually { await loop.submit { server.table.all.allSatisfy { $0.source != nil } } })
        let page = try await TestPeer.connect(to: server.address, on: loop)
        await page.send("POST /commands/close HTTP/1.0\r\nAuthorization: Bearer tok\r\nx-streaming-channel: live\r\nx-streaming-id: *\r\n\r\n")
        #expect(await eventually { log.contains("on /live ended: closed by the application (/commands/close)") }, "\(log.lines.value)")
        // A channel of thousands of bytes is named shortened in its line.
        let long = try await TestPeer.connect(to: server.address, on: loop)
        await long.send("POST /commands/close HTTP/1.0\r\nAuthorization: Bearer tok\r\nx-streaming-channel: \(String(repeating: "a", count: 5000))\r\nx-streaming-id: *\r\n\r\n")
        #expect(await eventually { log.contains("(5000 characters) *: 0 sessions disconnected") }, "\(log.lines.value.suffix(2))")
        #expect(log.lines.value.allSatisfy { $0.utf8.count < 1000 })
        #expect(try await ask(server, "/admin/killsource?mount=/backup").hasPrefix("HTTP/1.0 200"))
        #expect(await eventually { log.contains("on /backup ended: disconnected by the admin (/admin/killsource)") }, "\(log.lines.value)")
        let (_, again) = try await feedingSource(server, mount: "/live")
        defer { again.cancel() }
        #expect(await eventually { await loop.submit { server.table.mount(at: "/live")?.source != nil } })
        await server.endSources()
        #expect(await eventually { log.contains("on /live ended: the server is stopping") }, "\(log.lines.value)")
        #expect(!log.contains("ended: stopped"), "\(log.lines.value)")
    }

    @Test("Closes that find no session are logged as refusals are, a few one by one, not a line per call; one that disconnects is always logged")
    func commandClose_FindingNothing_IsLoggedWithinTheRefusalBudget() async throws {
        let log = Log()
        let server = try server(log: log, configure: takesCommands)
        defer { server.close() }
        let (_, live) = try await feedingSource(server, mount: "/live")
        defer { live.cancel() }
        #expect(await eventually { await loop.submit { server.table.mount(at: "/live")?.source != nil } })
        let close = { (channel: String) in "POST /commands/close HTTP/1.0\r\nAuthorization: Bearer tok\r\nx-streaming-channel: \(channel)\r\nx-streaming-id: *\r\n\r\n" }
        for _ in 0..<30 { #expect(try await answer(server, close("nope")).hasPrefix("HTTP/1.0 404")) }
        #expect(try await answer(server, close("live")).hasPrefix("HTTP/1.0 200"))
        #expect(await eventually { log.contains("commands: close live *: 1 session disconnected") }, "\(log.lines.value.suffix(3))")
        let nothing = log.lines.value.filter { $0.contains("commands: close nope *: 0 sessions disconnected") }.count
        #expect((1...10).contains(nothing), "\(nothing) lines for 30 closes that found nothing")
    }

    @Test("A command asked with another method gets 405 whose Allow lists every method its path takes")
    func command_WrongMethod_AllowListsThePathsMethods() async throws {
        let server = try commandsServer()
        defer { server.close() }
        let report = try await answer(server, "POST /commands/report HTTP/1.0\r\nAuthorization: Bearer tok\r\n\r\n")
        #expect(report.hasPrefix("HTTP/1.0 405") && report.contains("\r\nAllow: GET, HEAD, OPTIONS\r\n"), "\(report)")
        let close = try await answer(server, "GET /commands/close HTTP/1.0\r\nAuthorization: Bearer tok\r\n\r\n")
        #expect(close.hasPrefix("HTTP/1.0 405") && close.contains("\r\nAllow: POST, OPTIONS\r\n"), "\(close)")
        let preflight = try await answer(server, "OPTIONS /commands/report HTTP/1.0\r\nOrigin: https://dashboard.example\r\n\r\n")
        #expect(preflight.contains("\r\nAllow: GET, HEAD, OPTIONS\r\n") && preflight.contains("Access-Control-Allow-Methods: GET, HEAD, OPTIONS\r\n"),
                "the report takes no POST: \(preflight)")
    }

    @Test("A server stopping ends its sources without moving their mounts to a fallback: its players and branches are told no new stream a moment before they are cut")
    func serverStopping_MountsDoNotFallBack() async throws {
        let log = Log()
        let server = try server(fallbacks: ["/live": "/backup"], log: log)
        defer { server.close() }
        // The fallback is the built-in station, which plays on as the sources end (as a relay would).
        let station = try Station.builtIn(titles: ["Song"], titleInterval: .seconds(5), segmentBytes: 4170, loop: loop)
        await station.start()
        server.attach(station, at: "/backup")
        let (_, live) = try await feedingSource(server, mount: "/live")
        defer { live.cancel() }
        let player = try await listener(server, "/live", titles: false)
        #expect(await player.waitFor(timeout: .seconds(10)) { $0.count > 8340 })
        let before = log.lines.value.count
        await server.endSources()
        #expect(await eventually { log.contains("on /live ended: the server is stopping") }, "\(log.lines.value)")
        try await Task.sleep(for: .milliseconds(500))
        let since = log.lines.value.dropFirst(before)
        #expect(!since.contains { $0.contains("mount /live: distributor: new stream") }, "\(since)")
        station.stop()
    }

    /// A server whose command API takes `Authorization: Bearer tok`.
    private func commandsServer() throws -> StationServer {
        try server(configure: takesCommands)
    }

    /// Turns on `configuration`'s command API, with `Authorization: Bearer tok`.
    func takesCommands(_ configuration: inout StationServer.Configuration) {
        var control = ControlPlane.Configuration()
        control.commandsAuth = AppAuth("bearer:tok")
        configuration.control = ControlPlane(control, loop: loop)
    }

    @Test("The admin API is user admin's: another user name with the admin password is refused, and logged; a call without credentials is not logged")
    func adminAPI_TakesUserAdminOnly() async throws {
        let log = Log()
        let server = try server(log: log)
        func status(_ credentials: String?) async throws -> String {
            let peer = try await TestPeer.connect(to: server.address, on: loop)
            let auth = credentials.map { "Authorization: Basic \(Base64.encode(Array($0.utf8)))\r\n" } ?? ""
            await peer.send("GET /admin/listmounts HTTP/1.0\r\n\(auth)\r\n")
            _ = await eventually { peer.closed.value }
            return String(peer.text.prefix(12))
        }
        #expect(try await status("admin:adminpw") == "HTTP/1.0 200")
        #expect(try await status("foo:adminpw") == "HTTP/1.0 401")
        #expect(try await status(":adminpw") == "HTTP/1.0 401")
        #expect(log.lines.value.filter { $0.contains("refused on /admin/listmounts: wrong credentials (401)") }.count == 2)
        #expect(try await status(nil) == "HTTP/1.0 401")
        #expect(log.lines.value.filter { $0.contains("refused on /admin/listmounts") }.count == 2, "no line for a call without credentials")
        server.close()
    }

    @Test func listenersPastAMountsLimit_Get503_OthersPlayOn() async throws {
        let log = Log()
        let server = try server(log: log, limits: (server: 2, mounts: ["/live": 1]))
        let station = try Station.builtIn(segmentBytes: 4170, loop: loop)
        await station.start()
        server.attach(station, at: "/backup")
        let source = try await source(server)
        await sendAudio(source, Self.silentFrames(20))
        let first = try await listener(server)
        #expect(await first.waitFor { !$0.isEmpty })
        let second = try await listener(server)
        #expect(await eventually { second.closed.value })
        #expect(second.text.hasPrefix("HTTP/1.0 503 Service Unavailable"))
        #expect(log.contains("/live has its most listeners (1) (503)"))
        let onBackup = try await listener(server, "/backup")
        #expect(await onBackup.waitFor { !$0.isEmpty })
        let third = try await listener(server, "/backup")
        #expect(await eventually { third.closed.value })
        #expect(third.text.contains("the server has its most listeners (2)"))
        #expect(!first.closed.value && !onBackup.closed.value)
        station.stop()
        server.close()
    }

    @Test("A fallback's limit counts the players of the mounts that hear it, as Icecast counts those it sends there: asking for a mount without a source does not get round it, nor does asking the fallback directly")
    func fallbacksLimit_CountsThePlayersOfTheMountsHearingIt() async throws {
        let log = Log()
        let server = try server(fallbacks: ["/live": "/backup"], log: log, limits: (server: nil, mounts: ["/backup": 1]))
        defer { server.close() }
        let (_, feeding) = try await feedingSource(server, mount: "/backup")
        defer { feeding.cancel() }
        let onLive = try await listener(server, "/live", titles: false)  // /live has no source: it hears /backup
        #expect(await onLive.waitFor(timeout: .seconds(10)) { $0.count > 4170 })
        for path in ["/live", "/backup"] {
            let refused = try await listener(server, path, titles: false)
            #expect(await eventually(timeout: .seconds(10)) { refused.closed.value })
            #expect(refused.text.hasPrefix("HTTP/1.0 503 Service Unavailable"), "\(path): \(refused.text.prefix(200))")
        }
        #expect(log.contains("/live plays its fallback /backup, which has its most listeners (1) (503)"), "\(log.lines.value.suffix(4))")
        #expect(log.contains("/backup has its most listeners (1) (503)"), "\(log.lines.value.suffix(4))")
        #expect(!onLive.closed.value)
    }

    @Test("Listeners arriving together are held to the limit: those whose requests are on their way count already", arguments: [false, true])
    func listenersArrivingTogether_AreHeldToTheLimit(onOtherLoops: Bool) async throws {
        let group = onOtherLoops ? EventLoopGroup(count: 3, first: loop) : nil
        defer { for other in group?.loops.dropFirst() ?? [] { other.shutdown() } }
        let server = try server(limits: (server: nil, mounts: ["/live": 3])) { $0.options.loops = group }
        let source = try await source(server)
        let feeding = keepFeeding(source)
        defer { feeding.cancel() }
        #expect(await eventually { await loop.submit { server.table.mount(at: "/live")?.source != nil } })
        let peers = try await withThrowingTaskGroup(of: TestPeer.self) { tasks in
            for _ in 0..<10 { tasks.addTask { try await listener(server) } }
            return try await tasks.reduce(into: []) { $0.append($1) }
        }
        #expect(await eventually(timeout: .seconds(10)) { peers.allSatisfy { $0.closed.value || $0.received.value.count > 4170 } })
        let playing = peers.filter { !$0.closed.value }.count
        let refused = peers.filter { $0.text.hasPrefix("HTTP/1.0 503") }.count
        #expect(playing == 3 && refused == 7, "\(playing) playing, \(refused) refused")
        server.close()
    }

    @Test("Players that reset their connection right after asking hold no place: the next player is served at once", arguments: [false, true])
    func playersThatResetRightAfterAsking_HoldNoPlace(onOtherLoops: Bool) async throws {
        let group = onOtherLoops ? EventLoopGroup(count: 3, first: loop) : nil
        defer { for other in group?.loops.dropFirst() ?? [] { other.shutdown() } }
        let server = try server(limits: (server: 2, mounts: [:])) { $0.options.loops = group }
        let source = try await source(server)
        let feeding = keepFeeding(source)
        defer { feeding.cancel() }
        #expect(await eventually { await loop.submit { server.table.mount(at: "/live")?.source != nil } })
        for _ in 0..<4 {  // more than the limit: each asks, then resets at once
            let peer = try await TestPeer.connect(to: server.address, on: loop)
            let connection = peer.connection
            await loop.submit {
                try? connection.socket.setResetOnClose()
                connection.write(Array("GET /live HTTP/1.0\r\nIcy-MetaData: 1\r\n\r\n".utf8))
                connection.close()
            }
        }
        try await Task.sleep(for: .milliseconds(300))
        let player = try await listener(server)
        #expect(await player.waitFor(timeout: .seconds(3)) { $0.count > 4170 }, "served, not 503: \(player.text.prefix(60))")
        #expect(player.text.hasPrefix("HTTP/1.0 200"))
        await player.close()
        server.close()
    }

    @Test("Moving listeners fills the destination up to its own limit; the rest stay where they are")
    func adminMove_KeepsToTheDestinationsLimit() async throws {
        let server = try server(limits: (server: nil, mounts: ["/backup": 1]))
        let station = try Station.builtIn(segmentBytes: 4170, loop: loop)
        await station.start()
        server.attach(station, at: "/backup")
        let source = try await source(server)
        let feeding = keepFeeding(source)
        defer { feeding.cancel() }
        let players = [try await listener(server), try await listener(server)]
        for player in players { #expect(await player.waitFor { $0.count > 4170 }) }
        let answer = try await ask(server, "/admin/moveclients?mount=/live&destination=/backup")
        #expect(answer.contains("\"moved\":1") && answer.contains("\"left\":1"), "\(answer)")
        #expect(await eventually { try! await ask(server, "/admin/listmounts").contains("\"mount\":\"/backup\",\"listeners\":1") })
        #expect(try await ask(server, "/admin/listmounts").contains("\"mount\":\"/live\",\"listeners\":1"))
        station.stop()
        server.close()
    }

    @Test func configuration_RefusesBadMountNamesAndFallbackCircles() {
        var configuration = StationServer.Configuration()
        configuration.mounts = ["live"]
        #expect(throws: ConfigurationError.mountName("live")) { try configuration.check() }
        configuration.mounts = ["/live", "/status.json"]
        #expect(throws: ConfigurationError.reservedPath("/status.json")) { try configuration.check() }
        for playlist in ["/live.m3u", "/live.pls", "/live.xspf"] {  // `/live`'s playlists: no player could reach it
            configuration.mounts = ["/live", playlist]
            #expect(throws: ConfigurationError.reservedPath(playlist)) { try configuration.check() }
            #expect(!Router.isReachableMount(playlist), "nor may a source make it under --accept-all")
        }
        #expect(Router.isReachableMount("/live.mp3"), "other dotted names are mounts")
        configuration.mounts = ["/a", "/b"]
        configuration.fallbacks = ["/a": "/b", "/b": "/a"]
        #expect(throws: ConfigurationError.fallbackLoop(["/a", "/b", "/a"])) { try configuration.check() }
        configuration.mounts = ["/a", "/b", "/c"]
        configuration.fallbacks = ["/a": "/b", "/b": "/c", "/c": "/b"]
        #expect(throws: ConfigurationError.fallbackLoop(["/b", "/c", "/b"]), "/a only leads into the circle") { try configuration.check() }
    }

    @Test("A chain of fallbacks longer than 64 mounts is refused, named by its first mounts: each hands its audio on in the same turn, and 2,000 ran the loop's stack out")
    func configuration_RefusesAFallbackChainPastItsLongest() {
        let most = StationServer.Configuration.longestFallbackChain
        var configuration = StationServer.Configuration()
        let chain = { (count: Int) in Dictionary(uniqueKeysWithValues: (0..<count - 1).map { ("/m\($0)", "/m\($0 + 1)") }) }
        configuration.mounts = (0..<most).map { "/m\($0)" }
        configuration.fallbacks = chain(most)
        #expect(throws: Never.self, "\(most) mounts in a chain are fine") { try configuration.check() }
        configuration.mounts = (0..<2000).map { "/m\($0)" }
        configuration.fallbacks = chain(2000)
        #expect(throws: ConfigurationError.fallbackChain(["/m0", "/m1", "/m2"], length: 2000, most: most)) { try configuration.check() }
    }
}
