internal import CastyNet
internal import CastyWire
internal import Icy

/// The routes of the stream itself: a player or a branch asks for a mount; a source would publish one.
enum StreamRoutes {
    /// `GET`/`HEAD` of a mount: a player, or a branch of the tree, is handed to a ``Client`` that streams to it.
    ///
    /// A request is a branch only where this node places branches of the mount's tree (a root, a branch's tree
    /// port) and it names where it serves (`X-Casty-Branch`); anywhere else the header is ignored, and the peer
    /// is a player like any other. On a closed tree a branch must bring the key (`403` otherwise), and with it
    /// is the tree's own: the application is not asked about it. A branch is never counted against the
    /// listener limits — its places are bounded by the fanout, and a full node must still feed its subtrees —
    /// but on an open tree nothing tells a branch from a stranger, so with listener authorization the
    /// application decides about it as about a player.
    static func play(_ exchange: Exchange) {
        if PlayerPage.wanted(exchange) { return PlayerPage.serve(exchange) }
        let port = exchange.port
        let request = exchange.request
        // Under --no-hls a playlist's or a segment's path is no stream, though a port of one stream plays it at
        // every other path.
        if !port.hls.enabled, HLSRoutes.parse(exchange.path) != nil { return noMount(exchange) }
        guard let distributor = port.mount(at: exchange.path) else { return noMount(exchange) }
        let branch = takesBranches(exchange, distributor) ? request.headers["x-casty-branch"] : nil
        if let branch, !StreamURL.isNodeAddress(branch) {
            port.refused()
            port.refusalLog("branch from \(exchange.peer) refused: X-Casty-Branch '\(SafeText.shortened(branch, to: 60))' is not host:port (400)")
            return exchange.answer(400, "Bad Request", body: "X-Casty-Branch must be the host:port this branch serves at.")
        }
        if let branch, let key = port.options.treeKey, !key.admits(request.headers["x-casty-key"]) {
            port.refused()
            // On a root of mounts, named as the mount's other tree lines are (`mount /live: tree: …`).
            let mount = port.mounts?.mount(asked: exchange.path).map { "mount \($0.path): " } ?? ""
            port.treeKeyRefusals.refused(branch, from: exchange.peer, mount: mount)
            return exchange.answer(403, "Forbidden", body: "This tree takes branches with its key only (X-Casty-Key).")
        }
        guard let withdraw = admit(exchange, branch: branch) else { return }
        if let branch, let lost = request.headers["x-casty-lost"] {
            distributor.assumeIsolated { $0.suspect(lost, reportedBy: branch) }
        }
        let keyed = branch != nil && port.options.treeKey != nil
        guard !keyed, let control = port.control, control.authorizesListeners else {
            return serve(exchange, distributor: distributor, branch: branch, withdraw: withdraw, onLeave: nil)
        }
        // The mount that plays (a server of one mount plays it at every path), not the path the player typed: an
        // application that guards /live must be asked about /live.
        let mount = port.mounts?.mount(asked: exchange.path)?.path ?? exchange.path
        let call = ListenerAuthorization.call(exchange, mount: mount)
        let oneShot = exchange.connection.peerHasHungUp
        ListenerAuthorization.ask(control, call, loop: exchange.connection.loop) { refusal in
            // A player that left while the application was asked (nothing reads its connection meanwhile: the
            // kernel is asked): said in one line, not served; if it was admitted, the application, which counted
            // it, hears it left — having listened 0 s.
            guard !ListenerAuthorization.playerLeft(exchange, oneShot: oneShot) else {
                ListenerAuthorization.left(exchange, call, what: mount, refusal: refusal)
                if refusal == nil { control.listenerLeft(call) }
                return withdraw()
            }
            if let refusal {
                withdraw()
                return ListenerAuthorization.refuse(exchange, call, what: exchange.path, why: refusal)
            }
            serve(exchange, distributor: distributor, branch: branch, withdraw: withdraw, clientID: Int(call.client)) {
                control.listenerLeft(call)
            }
        }
    }

    /// Admits a player to its mount under the listener limits, holding its place until its request reaches the
    /// mount; returns what frees the place should it not come after all — or `nil` when a limit refused it
    /// (answered `503` here). A branch, and a port of one stream, have nothing to hold.
    private static func admit(_ exchange: Exchange, branch: String?) -> (@Sendable () -> Void)? {
        let port = exchange.port
        guard branch == nil, let mounts = port.mounts, let mount = mounts.mount(asked: exchange.path) else {
            return {}
        }
        if let limit = mounts.admitListener(to: mount) {
            port.refused()
            port.refusalLog("listener \(exchange.peer) refused on \(mount.path): \(limit) (503)")
            exchange.answer(503, "Service Unavailable", body: "Too many listeners: \(limit).", headers: ["Retry-After": "30"])
            return nil
        }
        return { mounts.withdrawListener(from: mount) }
    }

    /// Whether this port takes a request with `X-Casty-Branch` for `distributor`'s stream as a branch: the port
    /// takes branches (a player-only port does not) and the stream is a node of a tree. On the loop.
    private static func takesBranches(_ exchange: Exchange, _ distributor: Distributor) -> Bool {
        exchange.port.options.acceptsBranches && distributor.assumeIsolated { $0.placesBranches }
    }

    /// A request for a path with nothing to play here: `404` with a short body (``noMountBody(_:)``), and one log
    /// line — but a branch of the tree asking a station server that is a tree root for a mount it has, whose
    /// source is not live yet or is waited for, is told `503` with `Retry-After`: the branch keeps its relay and
    /// asks again, while a branch told `404` (no such mount, or one whose listeners were let go past the source
    /// timeout) lets its own players go and answers them `404` too, as this node answers them.
    static func noMount(_ exchange: Exchange) {
        let port = exchange.port
        // The one mount of a server whose mounts are configured is every path's (`/` too, which branches ask).
        if exchange.request.headers["x-casty-branch"] != nil, let mount = port.mounts?.mount(asked: exchange.path),
           !mount.letGo, takesBranches(exchange, mount.distributor) {
            return exchange.answer(503, "Service Unavailable", body: "\(exchange.path) has no stream yet; try again later.",
                                   headers: ["Retry-After": "2"])
        }
        // An HLS playlist or segment names its mount: off air is not the same as no such mount.
        let hls = HLSRoutes.parse(exchange.path)
        let mount = hls.map { $0.mount.isEmpty ? "/" : $0.mount } ?? exchange.path
        let known = port.mounts?.mount(at: mount) != nil
        if hls != nil, !port.hls.enabled {
            // Not "try again later": no playlist will ever be here, however live the mount is. (A port of one
            // stream plays it at every path: its `/index.m3u8` is heard at `/`.)
            port.refusalLog("listener \(exchange.peer) refused: \(exchange.path): HLS is off on this server (--no-hls) (404)")
            return exchange.answer(404, "Not Found", body: "This server publishes no HLS (--no-hls)"
                                   + (known || port.mount(at: mount) != nil ? ": listen at \(URLQuery.encodePath(mount))." : "."))
        }
        // A branch by the address it serves at, as the tree names it (its connection's port changes at every ask).
        let who = exchange.request.headers["x-casty-branch"].map { "branch \(SafeText.shortened($0, to: 60)) from" } ?? "listener"
        // A path of kilobytes (a scanner's) is cut in the line, as a malformed request line is quoted.
        port.refusalLog("\(who) \(exchange.peer) refused: \(known ? "nothing to play at" : "no mount at") \(SafeText.shortened(exchange.path, to: 120)) (404)")
        // Not kept by a CDN, which would go on answering 404 once the mount is on air.
        // At `/`, a browser's page load gets the player page instead: a cache keeps the two apart (``PlayerPage/varying(_:_:)``).
        exchange.answer(404, "Not Found", body: known ? "Nothing plays at \(mount) now: try again later." : noMountBody(exchange.path),
                        headers: PlayerPage.varying(["Cache-Control": "no-cache"], exchange))
    }

    /// The body of the `404` a player gets for a path with no mount.
    static func noMountBody(_ path: String) -> String { "No mount here: \(SafeText.logLine(path))" }

    /// Hands the connection to a ``Client`` that streams `distributor` to it. With an event-loop group
    /// (``ClientOptions/loops``), a player's connection first moves to the listener loop with the fewest
    /// connections, and its client runs there; a branch's tree link stays on the distributor's loop.
    ///
    /// A player moving to another loop gets its reply head here and now, from the distributor's promise of
    /// the number it starts at: its client then asks to resume there. The head waits for no other loop — a
    /// listener loop in the middle of a fan-out, the distributor's answer on its way back — only the burst does.
    /// `withdraw` frees the place held for the player should its connection close before its client can ask.
    private static func serve(
        _ exchange: Exchange, distributor: Distributor, branch: String?, withdraw: @escaping @Sendable () -> Void,
        clientID: Int? = nil, onLeave: (@Sendable () -> Void)?
    ) {
        var listening = Listening(exchange.request, branch: branch, stream: distributor.assumeIsolated { $0.stream })
        listening.address = exchange.clientIP
        listening.clientID = clientID
        let port = exchange.port
        // A closed tree's links are for branches with its key: where this port places no branches (a branch's
        // player port), a branch without it is served as a player like any other — the plain stream, which any
        // relay may take, not a numbered link of the tree. (A dummy asking for numbers, to measure, gets them.)
        if branch == nil, exchange.request.headers["x-casty-branch"] != nil, let key = port.options.treeKey,
           !key.admits(exchange.request.headers["x-casty-key"]) {
            listening.form = exchange.request.wantsMetadata ? .icy : .audio
        }
        // A browser starts further back: it plays only once it holds seconds of audio (ClientOptions.browserBurst).
        if listening.isBrowser, listening.resume == nil, port.options.browserBurst > .zero {
            listening.resume = distributor.assumeIsolated { $0.browserBurstStart(port.options) }
        }
        // A HEAD asks what a player would be told: the head, from the stream playing now, and no place among the
        // listeners (nor in their peak). Before the stream's first audio, its client waits for it as a player would.
        if listening.headOnly, branch == nil, let promise = distributor.assumeIsolated({ $0.promise(resume: listening.resume) }) {
            withdraw()
            exchange.connection.write(listening.replyHead(next: promise.next, context: promise.context, port: port))
            exchange.connection.closeWhenSent(timeout: port.options.headerTimeout)
            port.options.accessLog?.answered(
                address: listening.address, user: listening.user, request: listening.requestLine, status: 200, bytes: 0, referer: listening.referer,
                agent: listening.userAgent)
            onLeave?()
            return
        }
        let peer = exchange.peer
        guard branch == nil, let group = port.options.loops, case let target = group.next(), target !== exchange.connection.loop else {
            return start(Client(connection: exchange.connection, port: port, distributor: distributor, listening: listening, peer: peer, onLeave: onLeave))
        }
        var headWritten = false
        if !listening.headOnly, let promise = distributor.assumeIsolated({ $0.promise(resume: listening.resume) }) {
            listening.resume = promise.next
            listening.toldType = promise.context.contentType
            headWritten = exchange.connection.write(listening.replyHead(next: promise.next, context: promise.context, port: port))
        }
        // A player that reset its connection right after asking (its head could not be written) never comes.
        guard !exchange.connection.isClosed else { return withdraw() }
        exchange.connection.handOver(to: target) { [listening, headWritten] connection in
            start(Client(
                connection: connection, port: port, distributor: distributor, listening: listening, peer: peer,
                headWritten: headWritten, onLeave: onLeave))
        } failed: { [listening, headWritten] why in
            lostOnTheWay(listening, peer: peer, port: port, headWritten: headWritten, why: why, withdraw: withdraw, onLeave: onLeave)
        }
    }

    /// A player whose connection could not move to its listener loop (``Connection/handOver(to:_:failed:)``: the
    /// loop stopped, or could not register it) is gone before its client started, and is counted gone as any
    /// player that leaves: its place under the listener limits is freed, the application hears it left (having
    /// listened 0 s), the access log has its line — `200` with no bytes, its head having gone out, else `503` —
    /// and one line in the server's log says why. On the port's loop.
    private static func lostOnTheWay(
        _ listening: Listening, peer: String, port: PortContext, headWritten: Bool, why: String,
        withdraw: @Sendable () -> Void, onLeave: (@Sendable () -> Void)?
    ) {
        withdraw()
        onLeave?()
        port.options.accessLog?.answered(
            address: listening.address, user: listening.user, request: listening.requestLine, status: headWritten ? 200 : 503, bytes: 0,
            referer: listening.referer, agent: listening.userAgent)
        port.joinsAndLeaves("listener \(peer) let go before its stream: its connection could not move to a listener loop (\(why))")
    }

    private static func start(_ client: Client) {
        client.assumeIsolated { $0.start() }
    }

    /// A request from one of the port's own relays: `508 Loop Detected`, with a body that says why. The relay says
    /// so in its log at each attempt (``UpstreamNode/refusalHint(_:)``); here it is counted as refused, and
    /// neither served nor counted as a listener.
    static func ownRelay(_ exchange: Exchange) {
        exchange.port.refused()
        exchange.answer(508, "Loop Detected", body: "This is the relay's own server: a relay of its own mount would feed itself.")
    }

    /// A request from another server's relay for a mount whose own relay, `feeding`, that request's stream comes
    /// from (``RelayChain``): `508 Loop Detected`, and one line — the relay asking says it too, in its own log.
    static func relayLoop(_ exchange: Exchange, feeding: Proxy) {
        let port = exchange.port
        port.refused()
        let mount = port.mounts?.mount(asked: exchange.path)?.path ?? "this port's stream"
        // Once a minute at most: the relays of a loop ask every few seconds, for as long as it is one.
        if let times = feeding.relayedFor.refused() {
            let since = times == 1 ? "" : "; \(times) requests of the loop refused since it was last said"
            port.logger("relay \(exchange.peer) refused: \(mount) is relayed from \(feeding.url.shown), which relays it back from here"
                + " (through the relays between): a relay loop no source feeds (508\(since))")
        }
        exchange.answer(508, Self.relayLoopReason,
                        body: "A relay loop: \(mount) is relayed from \(feeding.url.shown), whose stream is relayed from \(mount) itself.")
    }

    /// The reason phrase of a relay loop's `508`, which the relay refused reads to say what it is.
    static let relayLoopReason = "Loop Detected (relay loop)"

    /// `SOURCE`/`PUT`: a relay takes no sources (yet).
    static func sourceNotTaken(_ exchange: Exchange) {
        exchange.port.refused()
        exchange.port.refusalLog("source \(exchange.peer) refused: \(exchange.request.method.rawValue) \(exchange.path): this node takes no sources (405)")
        exchange.answer(405, "Method Not Allowed", body: "Casty relays streams here; it does not take sources.",
                        headers: ["Allow": Router.allowedMethods])
    }
}
