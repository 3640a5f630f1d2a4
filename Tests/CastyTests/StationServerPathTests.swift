import Glibc
import Icy
import Testing

@testable import Casty
@testable import CastyNet
import CastyWire

/// Paths and mount names as sources, players and admins send them: ffmpeg, libshout (ezstream) and browsers send a
/// mount whose name is not ASCII as `%XX` bytes, and the station server must know it by its name; a name that is
/// no mount gets an answer that says so.
extension StationServerTests {
    @Test func escapedMountName_IsPublishedPlayedAndListed_ByItsName() async throws {
        let log = Log()
        let server = try server(mounts: ["/músic", "/backup"], log: log)
        let source = try await source(server, mount: "/m%C3%BAsic")
        #expect(await source.waitFor(timeout: .seconds(10)) { String(decoding: $0, as: UTF8.self).hasPrefix("HTTP/1.1 100") },
                "\(source.text) \(log.lines.value)")
        await sendAudio(source, Self.silentFrames(20))
        let player = try await listener(server, "/m%C3%BAsic")
        #expect(await player.waitFor(timeout: .seconds(10)) { Self.silentFrameCount($0) >= 5 }, "\(player.text.prefix(200))")
        let api = try await ask(server, "/api/mounts/m%C3%BAsic", admin: false)
        #expect(api.hasPrefix("HTTP/1.0 200") && api.contains("\"mount\":\"/músic\""), "\(api)")
        #expect(log.contains("publishing /músic (PUT"), "\(log.lines.value)")

        // Its playlist files name its URL escaped, as a player must ask for it; a mount with none is 404.
        let m3u = try await ask(server, "/m%C3%BAsic.m3u", admin: false)
        #expect(m3u.hasPrefix("HTTP/1.0 200") && m3u.contains("audio/x-mpegurl") && m3u.hasSuffix("/m%C3%BAsic\n"), "\(m3u)")
        let xspf = try await ask(server, "/m%C3%BAsic.xspf", admin: false)
        #expect(xspf.contains("<location>http://") && xspf.contains("/m%C3%BAsic</location>"), "\(xspf)")
        #expect(try await ask(server, "/m%C3%BAsic.pls", admin: false).contains("File1=http://"))
        #expect(try await ask(server, "/nowhere.m3u", admin: false).hasPrefix("HTTP/1.0 404"))
        server.close()
    }

    @Test func escapedMountName_IsTheSameChannel_AndPlaylistURL_InTheReportAsInEvents() async throws {
        let server = try server(mounts: ["/músic"], configure: takesCommands)
        defer { server.close() }
        let (_, feeding) = try await feedingSource(server, mount: "/m%C3%BAsic")
        defer { feeding.cancel() }
        let report = try await TestPeer.connect(to: server.address, on: loop)
        await report.send("GET /commands/report HTTP/1.0\r\nAuthorization: Bearer tok\r\n\r\n")
        #expect(await report.waitFor(timeout: .seconds(10)) { String(decoding: $0, as: UTF8.self).contains("\"channel\":\"m%C3%BAsic\"") },
                "named as events and key verification name it: \(report.text)")
        // Its packager's playlist is a URL, escaped as the events' x-index-file and /status.json's listenurl write it.
        #expect(await eventually(timeout: .seconds(10)) { report.closed.value }, "the whole report")
        #expect(report.text.contains("/m%C3%BAsic/index.m3u8\""), "\(report.text)")
        // HEAD goes with GET: the same head, no body.
        let head = try await TestPeer.connect(to: server.address, on: loop)
        await head.send("HEAD /commands/report HTTP/1.0\r\nAuthorization: Bearer tok\r\n\r\n")
        #expect(await eventually { head.closed.value })
        #expect(head.text.hasPrefix("HTTP/1.0 200 OK\r\n") && head.text.hasSuffix("\r\n\r\n"), "\(head.text)")
    }

    @Test("The report lists a source admitted before its audio proved to be frames as not available (no stream-available went out for it), and as available once it is")
    func report_TellsWhetherASessionWasAnnounced() async throws {
        let server = try server(mounts: ["/live"], configure: takesCommands)
        defer { server.close() }
        let source = try await source(server)
        #expect(await source.waitFor(timeout: .seconds(10)) { String(decoding: $0, as: UTF8.self).hasPrefix("HTTP/1.1 100") })
        @Sendable func report() async throws -> String {
            let asked = try await TestPeer.connect(to: server.address, on: loop)
            await asked.send("GET /commands/report HTTP/1.0\r\nAuthorization: Bearer tok\r\n\r\n")
            _ = await eventually(timeout: .seconds(10)) { asked.closed.value }
            return asked.text
        }
        let before = try await report()
        #expect(before.contains("\"channel\":\"live\"") && before.contains("\"available\":false"), "\(before)")
        let feeding = keepFeeding(source)
        defer { feeding.cancel() }
        #expect(await eventually(timeout: .seconds(10)) { (try? await report())?.contains("\"available\":true") == true })
    }

    @Test(arguments: ["/", "/status.json", "/admin/stats", "/api/mounts", "/x/index.m3u8", "/" + String(repeating: "a", count: 300),
                      "/../../escaped", "/%2E%2E/escaped", "/a/./b", "/news/events", "/news/ws",
                      // Escapes that decode to no name (an encoded `/`, NUL, a line end, no UTF-8), kept in a path as they came,
                      // or an escape escaped twice; empty names between slashes: none is the one name of one path.
                      "/a%2Fb", "/a%2fb", "/a%00b", "/a%0Ab", "/%FF", "/a%252Fb", "//double", "/a/", "/a//b"])
    func acceptAll_RefusesSourcesOnPathsListenersCannotReach(path: String) async throws {
        let log = Log()
        let server = try server(mounts: nil, log: log)
        let source = try await source(server, mount: path)
        #expect(await eventually(timeout: .seconds(10)) { source.closed.value })
        #expect(source.text.hasPrefix("HTTP/1.0 403 Forbidden"), "\(source.text)")
        #expect(log.lines.value.filter { $0.contains("refused") && $0.contains("not a mount") }.count == 1, "\(log.lines.value)")
        let fine = try await self.source(server, mount: "/show")
        #expect(await fine.waitFor(timeout: .seconds(10)) { String(decoding: $0, as: UTF8.self).hasPrefix("HTTP/1.1 100") })
        server.close()
    }

    @Test("A mount with its own source user name takes a source that logs in as it only; other mounts, any name")
    func mountUser_IsTheOnlyNameItsSourcesMayLogInAs() async throws {
        let server = try server { $0.mountUsers = ["/live": "dj"] }
        defer { server.close() }
        let wrong = try await source(server, user: "source")
        #expect(await eventually(timeout: .seconds(10)) { wrong.closed.value })
        #expect(wrong.text.hasPrefix("HTTP/1.0 401"), "\(wrong.text.prefix(60))")
        let right = try await source(server, user: "dj")
        #expect(await right.waitFor(timeout: .seconds(10)) { String(decoding: $0, as: UTF8.self).hasPrefix("HTTP/1.1 100") })
        let other = try await source(server, mount: "/backup", user: "anyone")
        #expect(await other.waitFor(timeout: .seconds(10)) { String(decoding: $0, as: UTF8.self).hasPrefix("HTTP/1.1 100") })
    }

    @Test("A source refused on a mount with a password of its own (the common one given, say) is logged so; the source is not told, nor is the password")
    func mountPassword_Refusal_IsLoggedAsTheMountsOwn() async throws {
        let log = Log()
        let server = try server(log: log, rtmp: true) { $0.mountPasswords = ["/live": "livepw"] }
        defer { server.close() }
        let common = try await source(server)
        #expect(await eventually(timeout: .seconds(10)) { common.closed.value })
        #expect(common.text.hasPrefix("HTTP/1.0 401") && !common.text.contains("of its own"), "\(common.text)")
        #expect(await eventually {
            log.contains("refused on /live: wrong or missing credentials (this mount has a password of its own: --mount-password) (401)")
        }, "\(log.lines.value)")
        #expect(!log.lines.value.contains { $0.contains("livepw") || $0.contains("hackme") }, "\(log.lines.value)")
        let rtmp = try await RTMPPeer.publish(server, app: "live", key: "hackme")
        #expect(await eventually { rtmp.peer.closed.value })
        #expect(!rtmp.peer.text.contains("of its own"), "the RTMP publisher is not told either")
        #expect(log.contains("refused on /live (RTMP): wrong or missing credentials (this mount has a password of its own"), "\(log.lines.value)")
    }

    @Test("A source with the right password and another user name than its mount's own is logged so, with the name it gave (never the password), whether the mount has a password of its own or not; the source is told only that its credentials are wrong", arguments: [false, true])
    func mountUser_Refusal_IsLoggedAsTheUserName(ownPassword: Bool) async throws {
        let log = Log()
        let server = try server(log: log) {
            $0.mountUsers = ["/live": "dj"]
            if ownPassword { $0.mountPasswords = ["/live": "djpass2"] }
        }
        defer { server.close() }
        let password = ownPassword ? "djpass2" : "hackme"
        let wrong = try await source(server, user: "source", password: password)
        #expect(await eventually(timeout: .seconds(10)) { wrong.closed.value })
        #expect(wrong.text.hasPrefix("HTTP/1.0 401") && !wrong.text.contains("user name"), "\(wrong.text)")
        #expect(await eventually {
            log.contains("refused on /live: wrong or missing credentials (its user name 'source' is not the one of /live: --mount-user) (401)")
        }, "\(log.lines.value)")
        // A wrong password is the password's mistake, whatever the name.
        let both = try await source(server, user: "source", password: "nope")
        #expect(await eventually(timeout: .seconds(10)) { both.closed.value })
        #expect(await eventually {
            log.lines.value.filter { $0.contains("refused on /live: wrong or missing credentials") }.count == 2
        }, "\(log.lines.value)")
        #expect(log.lines.value.filter { $0.contains("user name") }.count == 1, "\(log.lines.value)")
        #expect(!log.lines.value.contains { $0.contains(password) || $0.contains("nope") || $0.contains("'dj'") }, "\(log.lines.value)")
    }

    @Test("A mount with its own source user name takes titles from that user (or the admin) only, as it takes sources")
    func mountUser_IsTheOnlyNameThatSetsItsTitle() async throws {
        let server = try server { $0.mountUsers = ["/live": "dj"] }
        defer { server.close() }
        let source = try await source(server, user: "dj")
        #expect(await source.waitFor(timeout: .seconds(10)) { String(decoding: $0, as: UTF8.self).hasPrefix("HTTP/1.1 100") })
        await sendAudio(source, Self.silentFrames(20))
        func title(_ user: String, _ password: String, mount: String = "/live") async throws -> String {
            let peer = try await TestPeer.connect(to: server.address, on: loop)
            let credentials = Base64.encode(Array("\(user):\(password)".utf8))
            await peer.send("GET /admin/metadata?mount=\(mount)&mode=updinfo&song=by+\(user) HTTP/1.0\r\nAuthorization: Basic \(credentials)\r\n\r\n")
            _ = await eventually { peer.closed.value }
            return peer.text
        }
        for user in ["x", "source", ""] {
            let refused = try await title(user, "hackme")
            #expect(refused.hasPrefix("HTTP/1.0 401"), "\(user):hackme: \(refused.prefix(60))")
        }
        #expect(try await title("dj", "hackme").hasPrefix("HTTP/1.0 200"))
        #expect(try await title("admin", "adminpw").hasPrefix("HTTP/1.0 200"))
        // The mount's own user name is its alone: another mount's titles take any user name still.
        let other = try await self.source(server, mount: "/backup")
        #expect(await other.waitFor(timeout: .seconds(10)) { String(decoding: $0, as: UTF8.self).hasPrefix("HTTP/1.1 100") })
        #expect(try await title("anyone", "hackme", mount: "/backup").hasPrefix("HTTP/1.0 200"))
    }

    @Test func whitelistAdd_RefusesWhatIsNoMountName_AndTellsAnAddThatChangesNothingNot() async throws {
        let log = Log()
        let server = try server(log: log)
        #expect(try await ask(server, "/admin/whitelist?action=add&mount=/a%20b").hasPrefix("HTTP/1.0 400"))
        // The names a path cannot give are no mounts here either: bytes that are not UTF-8 (not `/ÿ` read as
        // Windows-1252, as a title would be), an empty name between slashes, a trailing slash.
        for name in ["/%FF", "/a%2F", "%2F%2Fa", "/a%00b"] {
            let refused = try await ask(server, "/admin/whitelist?action=add&mount=\(name)")
            #expect(refused.hasPrefix("HTTP/1.0 400") && refused.contains("is not a mount name"), "\(name): \(refused)")
        }
        #expect(try await ask(server, "/admin/whitelist?action=add&mount=%2Fm%C3%BAsic").contains("\"/músic\""))
        #expect(try await ask(server, "/admin/whitelist?action=add&mount=/ok").hasPrefix("HTTP/1.0 200"))
        #expect(try await ask(server, "/admin/whitelist?action=add&mount=/ok").hasPrefix("HTTP/1.0 200"))
        #expect(log.lines.value.filter { $0.contains("whitelist add: /ok") }.count == 1, "\(log.lines.value)")
        server.close()
    }

    @Test("A path of kilobytes that names no mount is 404, and its line is cut, not the whole path")
    func hugePathWithNoMount_Is404_ItsLineCut() async throws {
        let log = Log()
        let server = try server(log: log)
        defer { server.close() }
        let path = "/" + String(repeating: "a", count: 6_000)
        #expect(try await ask(server, path, admin: false).hasPrefix("HTTP/1.0 404"))
        let line = try #require(log.lines.value.first { $0.contains("refused: no mount at /aaa") }, "\(log.lines.value.suffix(3))")
        #expect(line.count < 300 && line.hasSuffix("… (6001 characters) (404)"), "\(line.count) characters")
    }

    @Test func adminMove_ToAMountThatDoesNotExist_Is404_NamingIt() async throws {
        let server = try server()
        let source = try await source(server)
        await sendAudio(source, Self.silentFrames(20))
        let moved = try await ask(server, "/admin/moveclients?mount=/live&destination=/nowhere")
        #expect(moved.hasPrefix("HTTP/1.0 404") && moved.contains("no mount /nowhere"), "\(moved)")
        #expect(try await ask(server, "/admin/moveclients?mount=/live&destination=/live").hasPrefix("HTTP/1.0 400"))
        #expect(try await ask(server, "/admin/moveclients?mount=/live").hasPrefix("HTTP/1.0 400"))
        let noID = try await ask(server, "/admin/killclient?mount=/live")
        #expect(noID.hasPrefix("HTTP/1.0 400") && noID.contains("id=N"), "a missing id is the caller's mistake: \(noID)")
        #expect(try await ask(server, "/admin/killclient?mount=/live&id=99").hasPrefix("HTTP/1.0 404"))
        server.close()
    }

    @Test func adminCalls_WithoutAMount_Are400_WithAMountThatDoesNotExist_404() async throws {
        let server = try server()
        for call in ["listclients", "killsource", "killclient", "moveclients"] {
            let missing = try await ask(server, "/admin/\(call)")
            #expect(missing.hasPrefix("HTTP/1.0 400") && missing.contains("no mount given"), "\(call): \(missing)")
            let unknown = try await ask(server, "/admin/\(call)?mount=/nowhere&id=1&destination=/live")
            #expect(unknown.hasPrefix("HTTP/1.0 404") && unknown.contains("no mount /nowhere"), "\(call): \(unknown)")
        }
        server.close()
    }

    @Test func aKnownPath_AskedWithAnotherMethod_Is405_NamingTheMethodsItTakes() async throws {
        let server = try server()
        let source = try await source(server)
        await sendAudio(source, Self.silentFrames(20))
        #expect(await eventually { ((try? await ask(server, "/status.json")) ?? "").contains("\"title\"") })
        let post = try await answer(server, "POST /live HTTP/1.0\r\nContent-Length: 0\r\n\r\n")
        // A mount takes its sources' methods too; every path a page's preflight.
        #expect(post.hasPrefix("HTTP/1.0 405") && post.contains("Allow: GET, HEAD, SOURCE, PUT, OPTIONS\r\n"), "\(post)")
        // OPTIONS names the same (a page's script may use GET and HEAD of them).
        let options = try await answer(server, "OPTIONS /live HTTP/1.0\r\nOrigin: https://a.example\r\n\r\n")
        #expect(options.hasPrefix("HTTP/1.0 204") && options.contains("Allow: GET, HEAD, SOURCE, PUT, OPTIONS\r\n"), "\(options)")
        #expect(options.contains("Access-Control-Allow-Methods: GET, HEAD, OPTIONS\r\n"), "\(options)")
        let status = try await answer(server, "POST /status.json HTTP/1.0\r\nContent-Length: 0\r\n\r\n")
        #expect(status.hasPrefix("HTTP/1.0 405") && status.contains("Allow: GET, HEAD, OPTIONS\r\n"), "\(status)")
        let admin = try await answer(server, "POST /admin/listmounts HTTP/1.0\r\nContent-Length: 0\r\n\r\n")
        #expect(admin.hasPrefix("HTTP/1.0 405") && admin.contains("Allow: GET, OPTIONS\r\n"), "\(admin)")
        #expect(admin.hasSuffix("\r\n\r\n{\"error\":\"/admin/listmounts takes GET, OPTIONS.\"}\n"), "an API's refusal is JSON too: \(admin)")
        #expect(status.hasSuffix("\r\n\r\n/status.json takes GET, HEAD, OPTIONS.\n"))
        let commands = try await answer(server, "GET /commands/report HTTP/1.0\r\n\r\n")
        #expect(commands.hasPrefix("HTTP/1.0 404") && commands.contains("{\"error\":\"the command API is off"), "\(commands)")
        // A path nothing answers stays 404, whatever the method.
        let nowhere = try await answer(server, "POST /nowhere HTTP/1.0\r\nContent-Length: 0\r\n\r\n")
        #expect(nowhere.hasPrefix("HTTP/1.0 404"), "\(nowhere)")
        #expect(try await answer(server, "GET /nowhere HTTP/1.0\r\n\r\n").hasPrefix("HTTP/1.0 404"))
        server.close()
    }

    /// libshout (ezstream, Mixxx, butt) publishes with `PUT` only where the `Allow` of its first answers lists it:
    /// `OPTIONS *` (RFC 9110: about the server) and its unauthenticated `SOURCE` probe's `401`.
    @Test func libshoutsQuestions_OptionsStarAndTheUnauthenticatedProbe_AreAnsweredWithPutAllowed() async throws {
        let server = try server()
        let star = try await answer(server, "OPTIONS * HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: TLS/1.0, HTTP/1.1\r\nConnection: Upgrade\r\n\r\n")
        #expect(star.hasPrefix("HTTP/1.0 204") && star.contains("Allow: GET, HEAD, SOURCE, PUT, OPTIONS\r\n"), "\(star)")
        let probe = try await answer(server, "SOURCE /live HTTP/1.0\r\nContent-Type: audio/mpeg\r\nContent-Length: 0\r\nConnection: Keep-Alive\r\n\r\n")
        #expect(probe.hasPrefix("HTTP/1.0 401") && probe.contains("WWW-Authenticate: Basic"), "\(probe)")
        #expect(probe.contains("Allow: GET, HEAD, SOURCE, PUT, OPTIONS\r\n"), "\(probe)")
        server.close()
    }

    /// libshout 2.4 sends its titles as a form in `POST /admin/metadata` where `OPTIONS *` lists `POST`, which
    /// `/admin/metadata` does not take: the command API's `POST` (under `/commands/` only) is not listed, so
    /// ezstream, Mixxx and butt keep setting titles with `GET` where the command API is on.
    @Test func withTheCommandAPIOn_OptionsStar_ListsNoPost_SoLibshoutSetsTitlesWithGet() async throws {
        let server = try server(configure: takesCommands)
        let star = try await answer(server, "OPTIONS * HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        #expect(star.hasPrefix("HTTP/1.0 204") && star.contains("Allow: GET, HEAD, SOURCE, PUT, OPTIONS\r\n"), "\(star)")
        let probe = try await answer(server, "SOURCE /live HTTP/1.0\r\nContent-Type: audio/mpeg\r\nContent-Length: 0\r\n\r\n")
        #expect(probe.hasPrefix("HTTP/1.0 401") && probe.contains("Allow: GET, HEAD, SOURCE, PUT, OPTIONS\r\n"), "\(probe)")
        let command = try await answer(server, "GET /commands/capacity HTTP/1.0\r\nAuthorization: Bearer tok\r\n\r\n")
        #expect(command.hasPrefix("HTTP/1.0 200"), "the command API is on: \(command)")
        server.close()
    }

    @Test func aMountNameHoldingAnEscape_IsRefused_ForNoRequestCouldNameIt() {
        var configuration = StationServer.Configuration()
        configuration.mounts = ["/a%20b"]
        #expect(throws: ConfigurationError.mountName("/a%20b")) { try configuration.check() }
        #expect(StationServer.Configuration.isMountName("/50%off"), "a % that escapes nothing is asked for as it is")
        #expect(StationServer.Configuration.isMountName("/músic"))
        #expect(StationServer.Configuration.isMountName("/"), "the root")
        #expect(StationServer.Configuration.isMountName("/a/b"))
        for name in ["/a%2Fb", "/a%2fb", "/a%00b", "/%FF", "//a", "/a/", "/a//b", "/a/./b", "/.."] {
            #expect(!StationServer.Configuration.isMountName(name), "\(name)")
        }
    }

    @Test("Why a name is no mount name is said: a space, ?, #, a control character, an escape, //, a trailing /, . or .., no leading /, too long")
    func whyNotMountName_NamesTheRuleTheNameBreaks() {
        let cases = [
            ("/sp ace", "it holds a space"), ("/a?b", "it holds a ?, where a URL's query starts"), ("/a#b", "it holds a #, where a URL's fragment starts"),
            ("/a\u{1B}b", "it holds a control character"), ("/a%2Fb", "it holds a %XX escape"), ("/a//b", "it holds //"), ("//a", "it holds //"),
            ("/a/", "it ends with /"), ("/a/./b", "it holds . between slashes"), ("/..", "it holds .. between slashes"),
            ("live", "it does not start with /"), ("/" + String(repeating: "a", count: 256), "it is longer than 256 bytes"),
        ]
        for (name, why) in cases {
            #expect(StationServer.Configuration.whyNotMountName(name) == why, "\(name)")
        }
        #expect(StationServer.Configuration.whyNotMountName("/músic/a.b") == nil)
        #expect("\(ConfigurationError.mountName("/my show"))" == "'/my show' is not a mount name: it holds a space")
    }

    @Test("Under --accept-all, a source of /sp%20ace (Icecast or RTMP) is refused saying the name holds a space")
    func acceptAll_RefusesAMountNameWithASpace_SayingSo() async throws {
        let log = Log()
        let server = try server(mounts: nil, log: log, rtmp: true)
        defer { server.close() }
        let source = try await source(server, mount: "/sp%20ace")
        #expect(await eventually { source.closed.value })
        #expect(source.text.hasPrefix("HTTP/1.0 403") && source.text.contains("Not a mount name (it holds a space): /sp ace"), "\(source.text)")
        #expect(await eventually { log.contains("refused on /sp ace: not a mount name: it holds a space (403)") }, "\(log.lines.value)")
        let rtmp = try await RTMPPeer.publish(server, app: "sp ace")
        #expect(await eventually { rtmp.peer.closed.value })
        #expect(rtmp.statuses() == ["NetStream.Publish.BadName"])
        #expect(log.contains("refused on /sp ace (RTMP): not a mount name: it holds a space"), "\(log.lines.value)")
    }

    @Test("Under --accept-all, /a/b and /a//b are not two mounts sharing one --hls-dir folder: /a//b is no mount, and a player's /a//b finds none")
    func anEmptyNameBetweenSlashes_IsNoMount_SoNoTwoMountsShareAFolder() async throws {
        let log = Log()
        let server = try server(mounts: nil, log: log)
        defer { server.close() }
        let (_, feeding) = try await feedingSource(server, mount: "/a/b")
        defer { feeding.cancel() }
        let twin = try await source(server, mount: "/a//b")
        #expect(await eventually(timeout: .seconds(10)) { twin.closed.value })
        #expect(twin.text.hasPrefix("HTTP/1.0 403"), "\(twin.text)")
        for path in ["/a//b", "/a/b/", "/a%2Fb"] {
            #expect(try await ask(server, path, admin: false).hasPrefix("HTTP/1.0 404"), "\(path)")
        }
    }

    @Test func aSourceOnADotDotMount_WritesNothingOutsideTheHLSDirectory() async throws {
        let root = "/tmp/casty-traversal-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { _ = system("rm -rf '\(root)'") }
        let log = Log()
        let server = try server(mounts: nil, log: log) { $0.options.hls.directory = root + "/hls" }
        let source = try await source(server, mount: "/../escaped")
        #expect(await eventually(timeout: .seconds(10)) { source.closed.value })
        #expect(source.text.hasPrefix("HTTP/1.0 403"), "\(source.text)")
        #expect(access(root + "/escaped", F_OK) != 0, "nothing was made beside the HLS directory")
        var configuration = StationServer.Configuration()
        configuration.mounts = ["/a/../b"]
        #expect(throws: ConfigurationError.mountName("/a/../b")) { try configuration.check() }
        server.close()
    }
}

/// A raw byte that is not UTF-8 in a request's path (`PUT /li\xffve`) means its `%XX` escape, as in a URL: no mount,
/// and a log line that shows the byte as sent, not as a Windows-1252 character (`/liÿve`, the name of another mount).
extension StationServerTests {
    @Test("A source whose path holds a raw 0xFF byte is refused as no mount name, and logged with %FF, never as ÿ; the mount /liÿve is not it")
    func rawByteThatIsNotUTF8_InAPath_IsNoMount_AndLoggedAsItsEscape() async throws {
        let log = Log()
        let server = try server(mounts: nil, log: log)
        defer { server.close() }
        let peer = try await TestPeer.connect(to: server.address, on: loop)
        let credentials = Base64.encode(Array("source:hackme".utf8))
        await sendAudio(peer, Array("PUT /li".utf8) + [0xFF] + Array("ve HTTP/1.1\r\nHost: x\r\nAuthorization: Basic \(credentials)\r\n".utf8)
            + Array("Content-Type: audio/mpeg\r\n\r\n".utf8))
        #expect(await eventually { peer.closed.value })
        #expect(peer.text.hasPrefix("HTTP/1.0 403"), "\(peer.text)")
        #expect(await eventually { log.contains("refused on /li%FFve: not a mount name: it holds a %XX escape (403)") }, "\(log.lines.value)")
        #expect(!log.lines.value.contains { $0.contains("ÿ") }, "\(log.lines.value)")
        #expect(await loop.submit { server.table.all.count } == 0)
    }
}
