internal import CastyNet
internal import Icy

/// A station server's admin API: Icecast's calls where they exist (answered in JSON, not Icecast's XML), and
/// the whitelist changes of an SRT server.
///
/// Every call needs the admin's credentials (`admin:<password>`, Basic auth; `401` otherwise) — or, for a call about
/// one mount (``mountCalls``, with `mount=`), the credentials a source may publish that mount with, as Icecast 2.4
/// takes a mount's source password for its mount's calls (ffmpeg, ezstream, liquidsoap and butt set titles this way,
/// and broadcasters' scripts list and move their own listeners): the mount's source password, or the password or key
/// the source live on it now published with (on a platform, a key only the application knew), and the mount's own
/// user name if it has one (`--mount-user`), as publishing asks (``MountTable/acceptsSource(path:user:password:live:)``).
/// `moveclients` asks them of `mount=` only, as Icecast does; the server-wide calls (`listmounts`, `stats` without
/// `mount=`, `whitelist`) stay the admin's.
///
/// | call | does |
/// |------|------|
/// | `/admin/metadata?mount=/m&mode=updinfo&song=T` | sets the title of `/m`'s source (or `artist=A&title=T`: `A - T`) |
/// | `/admin/listmounts` | the mounts, their listeners and what feeds them |
/// | `/admin/listclients?mount=/m` | `/m`'s listeners (with those of mounts hearing it as their fallback, and those waiting for its stream): id, address, request, user agent, seconds connected, skipped |
/// | `/admin/killclient?mount=/m&id=N` | disconnects listener `N` |
/// | `/admin/killsource?mount=/m` | disconnects `/m`'s source (its listeners fall back) |
/// | `/admin/moveclients?mount=/m&destination=/n` | moves `/m`'s listeners to `/n`, without disconnecting them (`409` if `/n` plays another codec) |
/// | `/admin/fallbacks?mount=/m&fallback=/n` | gives `/m` the fallback `/n` (`fallback=` empty: none), as `--fallback` would (``fallbacks(_:_:)``) |
/// | `/admin/whitelist?action=add\|remove&mount=/m` | lets sources publish `/m`, or no longer (a live one is disconnected; `409` under `--accept-all`, which has no list) |
enum AdminRoutes {
    /// One listener in `/admin/listclients`: id, address (`peer` as the log says it, `ip` alone), request, user agent (empty if none), seconds connected,
    /// segments and skipped segments.
    static func clientJSON(_ info: ListenerInfo) -> JSONValue {
        .object([
            ("id", .number(info.id)), ("peer", .text(info.peer)), ("ip", .text(info.ip)), ("request", .text(info.request)),
            ("user_agent", .text(info.userAgent ?? "")), ("branch", .bool(info.isBranch)),
            ("connected_seconds", .number(Int(info.connectedSeconds))), ("segments", .number(info.segments)),
            ("skipped", .number(info.skipped)),
        ])
    }

    /// `/admin/metadata`: a new title for a mount.
    static func metadata(_ exchange: Exchange) {
        guard let mounts = exchange.port.mounts else { return noAdminAPI(exchange) }
        guard let path = exchange.mountQuery() else {
            return answer(exchange, 400, "Bad Request", ["error": .text("give ?mount=/…&mode=updinfo&song=…")])
        }
        // The same credentials as publishing the mount asks (its own user name included), or the admin's.
        guard mayCall(exchange, about: path, mounts) else { return unauthorized(exchange, about: path) }
        let live = mounts.mount(at: path)?.source
        // `charset=ISO-8859-1` (libshout's older tools), `windows-1251`, … says what the title's bytes are (``Charset``);
        // otherwise UTF-8 is read — with an empty one too (a script's `charset=$CHARSET`, the variable unset). A charset
        // Casty cannot read is refused rather than turned into a wrong title.
        // Without `song`, Icecast's `artist` and `title` make it: `Artist - Title`, or whichever is given.
        let label = exchange.query("charset").flatMap { $0.isEmpty ? nil : $0 }
        guard let charset = label.map(Charset.init(label:)) ?? .utf8 else {
            let shown = SafeText.shortened(SafeText.printable(label ?? ""), to: 40)
            exchange.port.refusalLog("admin: title for \(path) from \(exchange.peer) refused: charset '\(shown)' is not one Casty reads (400)")
            return answer(exchange, 400, "Bad Request", ["error": .text("charset '\(shown)' is not one Casty reads (\(Charset.known)): send the title in UTF-8")])
        }
        let parts = ["artist", "title"].compactMap { exchange.query($0, charset: charset) }.filter { !$0.isEmpty }
        let song = exchange.query("song", charset: charset) ?? (parts.isEmpty ? nil : parts.joined(separator: " - "))
        guard exchange.query("mode") == "updinfo", let song else {
            return answer(exchange, 400, "Bad Request", ["error": .text("mode=updinfo and song= (or artist= and title=) are needed")])
        }
        guard let source = live else {
            // A mount fed by no source of its own, but playing: its titles are not this call's to set.
            if let feed = mounts.mount(at: path).flatMap(permanentFeed) {
                return answer(exchange, 409, "Conflict", ["error": .text("\(path) \(feed.what): its titles come from \(feed.titles)")])
            }
            return answer(exchange, 404, "Not Found", ["error": .text("no source on \(SafeText.logLine(path))\(slashHint(path, mounts))")])
        }
        // Said with who set it: an admin, or a tool with the source's credentials — not the encoder's own metadata.
        let peer = exchange.peer
        source.assumeIsolated { $0.setTitle(song, from: "\(peer), /admin/metadata") }
        answer(exchange, 200, "OK", ["mount": .text(path), "title": .text(SafeText.printable(song))])
    }

    /// The admin calls other than `metadata`, by their path; and a `HEAD` of any: answered as `GET` is (`404`) where
    /// there is no admin API, refused (`405`, ``Router/refuseMethod(_:allow:)``) where there is one — a call acts (sets a
    /// title, disconnects a listener), which a `HEAD` must not.
    static func call(_ exchange: Exchange) {
        guard let mounts = exchange.port.mounts else { return noAdminAPI(exchange) }
        if exchange.headOnly {
            let router = exchange.port.router
            return router.refuseMethod(exchange, allow: router.allowed(exchange) ?? "GET, OPTIONS")
        }
        let mount = exchange.mountQuery()
        // A call about one mount: the admin's credentials, or those a source may publish it with.
        let about = mountCalls.contains(exchange.path) ? mount : nil
        guard mayCall(exchange, about: about, mounts) else { return unauthorized(exchange, about: about) }
        if statsPaths.contains(exchange.path) {
            // The one admin call answered in XML answers its refusal in XML too, as Icecast's `<iceresponse>`.
            if let mount, mounts.mount(at: mount) == nil {
                return exchange.answer(404, "Not Found", body: AdminStats.response("no mount \(SafeText.logLine(mount))\(slashHint(mount, mounts))"),
                                       headers: ["Content-Type": "text/xml; charset=utf-8", "Cache-Control": "no-cache"])
            }
            return exchange.answer(200, "OK", body: AdminStats.xml(exchange, mounts),
                                   headers: ["Content-Type": "text/xml; charset=utf-8", "Cache-Control": "no-cache"])
        }
        switch exchange.path {
        case "/admin/listmounts":
            answer(exchange, 200, "OK", ["mounts": .list(mounts.all.map { mount in
                let stat = mount.distributor.assumeIsolated { $0.stat() }
                return .object([
                    ("mount", .text(mount.path)), ("listeners", .number(stat.listeners)), ("feeding", .text(mounts.state(of: mount))),
                    ("title", .text(stat.context?.title?.streamTitle ?? "")),
                ])
            })])
        case "/admin/listclients":
            guard let found = mount.flatMap(mounts.mount(at:)) else { return noMount(exchange, mount) }
            // Listeners may run on other loops of the group: each is asked on its own, the answer sent back here.
            let clients = clients(of: found, in: mounts)
            let loop = exchange.connection.loop
            // The list of a mount of thousands is megabytes of JSON: encoded here, off the loop, which only sends it.
            Task {
                var infos: [ListenerInfo] = []
                for client in clients { infos.append(await client.info()) }
                let encoded = JSONValue.object([("mount", .text(found.path)), ("clients", .list(infos.map(clientJSON)))]).encoded
                loop.execute { answer(exchange, 200, "OK", encoded: encoded) }
            }
        case "/admin/killclient":
            guard let found = mount.flatMap(mounts.mount(at:)) else { return noMount(exchange, mount) }
            guard let id = exchange.query("id").flatMap({ Int($0) }) else {
                return answer(exchange, 400, "Bad Request", ["error": .text("give ?mount=/…&id=N (a listener's id, from listclients)")])
            }
            guard let (own, client) = listeners(of: found, in: mounts).first(where: { $0.client.id == id }) else {
                return answer(exchange, 404, "Not Found", ["error": .text("no listener with that id on \(found.path)")])
            }
            // Its own mount, and the one asked if it heard that one as a fallback.
            let hearing = own === found ? "" : " (hearing \(found.path) as its fallback)"
            exchange.port.logger("admin: listener \(id) on \(own.path)\(hearing) disconnected")
            client.stop(because: "disconnected by the admin (/admin/killclient)")
            answer(exchange, 200, "OK", ["killed": .number(id)])
        case "/admin/killsource":
            guard let found = mount.flatMap(mounts.mount(at:)) else { return noMount(exchange, mount) }
            guard let source = found.source else {
                if let feed = permanentFeed(found) {
                    return answer(exchange, 409, "Conflict", ["error": .text("\(found.path) \(feed.what), no source: there is none to disconnect")])
                }
                return answer(exchange, 404, "Not Found", ["error": .text("no source on \(found.path)")])
            }
            exchange.port.logger("admin: source on \(found.path) disconnected")
            source.disconnect("disconnected by the admin (/admin/killsource)")
            answer(exchange, 200, "OK", ["mount": .text(found.path), "source": .text("disconnected")])
        case "/admin/moveclients":
            guard let found = mount.flatMap(mounts.mount(at:)) else { return noMount(exchange, mount) }
            guard let named = exchange.mountQuery("destination"), named != found.path else {
                return answer(exchange, 400, "Bad Request", ["error": .text("give &destination= another mount")])
            }
            guard let destination = mounts.mount(at: named) else { return noMount(exchange, named) }
            // Something to play, as a player asking for it is told (a mount whose fallback chain is gone may keep
            // its last stream's context), and a stream going on to play from its next segment.
            guard mounts.isServing(destination), mounts.contentType(of: destination) != nil else {
                return answer(exchange, 409, "Conflict", ["error": .text("\(destination.path) has no stream to move listeners to")])
            }
            if let mismatch = mounts.codecMismatch(moving: found, to: destination) {
                return answer(exchange, 409, "Conflict", ["error": .text("\(mismatch): players cannot change codec")])
            }
            // As many as the destination's own limit leaves room for (the server's total does not change).
            // Not those of the destination itself, hearing `found` as its fallback: they are where they are asked to go.
            let players = listeners(of: found, in: mounts).filter { $0.mount !== destination && !$0.client.isBranch }.map(\.client)
            let room = mounts.room(on: destination)
            let moving = players.prefix(room ?? players.count)
            for client in moving { client.moveLater(to: destination.distributor) }
            let left = players.count - moving.count
            exchange.port.logger("admin: \(moving.count) listener\(moving.count == 1 ? "" : "s") moved from \(found.path) to \(destination.path)"
                + (left > 0 ? "; \(left) stay, \(destination.path) has its most listeners" : "")
                + (moving.isEmpty ? "" : mounts.shapeChange(moving: found, to: destination)))
            answer(exchange, 200, "OK", ["moved": .number(moving.count), "destination": .text(destination.path), "left": .number(left)])
        case "/admin/fallbacks":
            fallbacks(exchange, mounts)
        case "/admin/whitelist":
            func listed() -> KeyValuePairs<String, JSONValue> {
                ["whitelist": .list((mounts.rules.whitelist?.sorted() ?? []).map { .text($0) }), "accept_all": .bool(mounts.rules.whitelist == nil)]
            }
            // Without an action, the list as it is: what an operator checks before changing it.
            guard let action = exchange.query("action") else { return answer(exchange, 200, "OK", listed()) }
            guard let path = mount else { return answer(exchange, 400, "Bad Request", ["error": .text("give &mount=/name")]) }
            switch action {
            case "add":
                do throws(ConfigurationError) { try StationServer.Configuration.checkMount(path) } catch {
                    return answer(exchange, 400, "Bad Request", ["error": .text(error.description)])
                }
                // Already on the list: nothing changes, and the log does not say it did.
                if mounts.rules.whitelist?.contains(path) == true { return answer(exchange, 200, "OK", listed()) }
                mounts.allow(path)
            case "remove":
                // Under --accept-all there is no list to take the mount off: its source would come straight back.
                guard mounts.rules.whitelist != nil else {
                    return answer(exchange, 409, "Conflict", ["error": .text(
                        "--accept-all takes every mount: there is no whitelist to remove \(path) from (/admin/killsource disconnects its source)")])
                }
                guard mounts.rules.whitelist?.contains(path) == true else {
                    return answer(exchange, 404, "Not Found", ["error": .text("\(SafeText.logLine(path)) is not on the whitelist")])
                }
                mounts.disallow(path)
            default: return answer(exchange, 400, "Bad Request", ["error": .text("action=add or action=remove")])
            }
            // A relay or the built-in station is no source: off the list, the mount still plays it (sources may no
            // longer publish over it); the line says so, for an operator who expected the mount to go.
            let goesOn = action == "remove" ? mounts.mount(at: path).flatMap(permanentFeed).map { " (no source may publish it now; it still \($0.what))" } : nil
            exchange.port.logger("admin: whitelist \(action): \(path)\(goesOn ?? "")")
            answer(exchange, 200, "OK", listed())
        default:
            answer(exchange, 404, "Not Found", ["error": .text("no admin call \(exchange.path)")])
        }
    }

    // MARK: Helpers

    /// The calls about one mount, named by `mount=`: with it, a source's credentials for that mount are taken too
    /// (``mayCall(_:about:_:)``), as Icecast takes them for every call with `mount=`. `/admin/metadata` has its own route.
    static let mountCalls: Set<String> = [
        "/admin/listclients", "/admin/killclient", "/admin/killsource", "/admin/moveclients", "/admin/fallbacks",
        "/admin/stats", "/admin/stats.xml",
    ]

    /// Whether the request's credentials may make a call: the admin's, or — for a call `about` one mount — those a
    /// source may publish that mount with (``MountTable/acceptsSource(path:user:password:live:)``: its password or the
    /// common one, compared in constant time, or the password or key its live source published with; and its own user
    /// name, if it has one). Neither is ever logged.
    static func mayCall(_ exchange: Exchange, about path: String?, _ mounts: MountTable) -> Bool {
        let auth = BasicAuth(header: exchange.request.headers["Authorization"])
        if isAdmin(exchange, auth) { return true }
        guard let path, let auth else { return false }
        return mounts.acceptsSource(path: path, user: auth.user, password: auth.password, live: mounts.mount(at: path)?.source)
    }

    /// Whether `auth` is the admin's: user `admin` (as Icecast's admin user) and the admin password, compared in
    /// constant time.
    private static func isAdmin(_ exchange: Exchange, _ auth: BasicAuth?) -> Bool {
        guard let secret = exchange.port.adminPassword else { return false }
        return secret.matches(auth?.password) && auth?.user == "admin"
    }

    private static func clients(of mount: Mount) -> [Client] {
        mount.distributor.assumeIsolated { $0.listenerNodes() }.compactMap { $0 as? Client }
    }

    /// The listeners of `mount` as Icecast has them, and `/admin/stats` counts them: its own, and — while it streams
    /// of its own — the players of the mounts that hear it as their fallback (``MountTable/hearingAsFallback(_:)``),
    /// whom Icecast moves there. `listclients`, `killclient` and `moveclients` of the fallback see them all.
    private static func clients(of mount: Mount, in mounts: MountTable) -> [Client] {
        listeners(of: mount, in: mounts).map(\.client)
    }

    /// ``clients(of:in:)``, each with the mount it is a listener of: `mount`, or one hearing it as its fallback.
    private static func listeners(of mount: Mount, in mounts: MountTable) -> [(mount: Mount, client: Client)] {
        let hearing = mounts.feeds(mount) ? mounts.hearingAsFallback(mount).compactMap(mounts.mount(at:)) : []
        return ([mount] + hearing).flatMap { own in clients(of: own).map { (own, $0) } }
    }

    /// `404` at `/admin/…` of a node without the admin API (a relay, a branch): to `GET` and `HEAD` alike.
    private static func noAdminAPI(_ exchange: Exchange) {
        answer(exchange, 404, "Not Found", ["error": .text("this node has no admin API")])
    }

    /// `401`, with one log line when credentials were sent and are wrong. A call without any is not logged:
    /// libshout's tools (ezstream, ices) send each title first without credentials, then with them once challenged,
    /// and a browser asks first without them too. A call `about` one mount says its source's credentials would do.
    private static func unauthorized(_ exchange: Exchange, about path: String? = nil) {
        exchange.port.refused()
        if exchange.request.headers["Authorization"] != nil {
            exchange.port.refusalLog("admin: \(exchange.peer) refused on \(exchange.path): wrong credentials (401)")
        }
        let challenge = "Basic realm=\"Casty admin\""
        let needed = path.map { "admin credentials, or those of \(SafeText.shortened(SafeText.logLine($0), to: 80))'s source, needed" }
            ?? "admin credentials needed"
        // The one admin call answered in XML (a monitoring tool that reads Icecast's stats) is refused in XML too.
        if statsPaths.contains(exchange.path) {
            return exchange.answer(401, "Unauthorized", body: AdminStats.response(needed),
                                   headers: ["WWW-Authenticate": challenge, "Content-Type": "text/xml; charset=utf-8"])
        }
        exchange.answer(401, "Unauthorized", body: JSONValue.object([("error", .text(needed))]).encoded,
                        headers: ["WWW-Authenticate": challenge, "Content-Type": "application/json"])
    }

    /// Icecast's stats call, the one answered in XML (``AdminStats``).
    private static let statsPaths: Set<String> = ["/admin/stats", "/admin/stats.xml"]

    /// `404` for a mount that does not exist; `400` when the call names none (a mistake in the call itself).
    static func noMount(_ exchange: Exchange, _ mount: String?) {
        guard let mount else { return answer(exchange, 400, "Bad Request", ["error": .text("no mount given: add ?mount=/…")]) }
        let hint = exchange.port.mounts.map { slashHint(mount, $0) } ?? ""
        answer(exchange, 404, "Not Found", ["error": .text("no mount \(SafeText.logLine(mount))\(hint)")])
    }

    /// What feeds a mount that plays with no source of its own — a relay, the built-in station —, and where its titles
    /// come from; `nil` for any other mount. Such a mount's source is no admin call's to disconnect or title.
    static func permanentFeed(_ mount: Mount) -> (what: String, titles: String)? {
        switch mount.permanent {
        case is Proxy: ("relays another server's stream", "there")
        case is Station: ("plays the built-in station", "its own list")
        default: nil
        }
    }

    /// For `mount=live`, when `/live` is a mount: Icecast's mount names start with a slash, and a tool's
    /// configuration may have lost it.
    static func slashHint(_ name: String, _ mounts: MountTable) -> String {
        !name.hasPrefix("/") && mounts.mount(at: "/" + name) != nil ? " (mount names start with /: mount=/\(SafeText.logLine(name)))" : ""
    }

    static func answer(_ exchange: Exchange, _ code: Int, _ reason: String, _ fields: KeyValuePairs<String, JSONValue>) {
        answer(exchange, code, reason, encoded: JSONValue.object(fields.map { ($0.key, $0.value) }).encoded)
    }

    /// Answers JSON already `encoded` (`Content-Type: application/json`, not cached).
    static func answer(_ exchange: Exchange, _ code: Int, _ reason: String, encoded: String) {
        exchange.answer(code, reason, body: encoded, headers: ["Content-Type": "application/json", "Cache-Control": "no-cache"])
    }
}
