internal import CastyNet
internal import Icy

/// The routes of the stream itself: a player or a branch asks for a mount; a source would publish one.
enum StreamRoutes {
    /// `GET`/`HEAD` of a mount: checks a branch's tree key, then hands the connection to a ``Client`` that
    /// streams to it.
    static func play(_ exchange: Exchange) {
        if PlayerPage.wanted(exchange) { return PlayerPage.serve(exchange) }
        let port = exchange.port
        let request = exchange.request
        guard let distributor = port.mount(at: exchange.path) else { return noMount(exchange) }
        let branch = port.options.acceptsBranches ? request.headers["x-casty-branch"] : nil
        if let branch, let key = port.options.treeKey, !key.admits(request.headers["x-casty-key"]) {
            port.refused()
            port.logger("tree: branch \(branch) from \(exchange.peer) refused: wrong or missing tree key (403)")
            return exchange.answer(403, "Forbidden", body: "This tree takes branches with its key only (X-Casty-Key).")
        }
        if branch == nil, let mounts = port.mounts, let mount = mounts.mount(at: exchange.path) ?? mounts.all.first,
           let limit = mounts.limitReached(for: mount) {
            port.refused()
            port.logger("listener \(exchange.peer) refused on \(mount.path): \(limit) (503)")
            return exchange.answer(503, "Service Unavailable", body: "Too many listeners: \(limit).", headers: ["Retry-After": "30"])
        }
        if let branch, let lost = request.headers["x-casty-lost"] {
            distributor.assumeIsolated { $0.suspect(lost, reportedBy: branch) }
        }
        guard branch == nil, let control = port.control, control.authorizesListeners else {
            return serve(exchange, distributor: distributor, branch: branch, onLeave: nil)
        }
        // Icecast's URL authorization: the application decides, over HTTP, while the loop serves everyone else.
        let call = ControlPlane.ListenerCall(
            mount: exchange.path, ip: exchange.clientIP,
            agent: request.headers["User-Agent"] ?? "", auth: BasicAuth(header: request.headers["Authorization"]))
        let loop = exchange.connection.loop
        Task {
            let admitted = await control.authorize(call)
            loop.execute {
                guard !exchange.connection.isClosed else { return }
                guard admitted else {
                    port.refused()
                    port.logger("listener \(exchange.peer) refused on \(exchange.path) by the listener authorization (\(call.auth == nil ? 401 : 403))")
                    if call.auth == nil {
                        return exchange.answer(401, "Unauthorized", body: "This stream needs a login.", headers: ["WWW-Authenticate": "Basic realm=\"Casty\""])
                    }
                    return exchange.answer(403, "Forbidden", body: "This login may not listen to \(exchange.path).")
                }
                serve(exchange, distributor: distributor, branch: nil) { control.listenerLeft(call) }
            }
        }
    }

    /// A request for a path with nothing to play here: `404` with a short body (``noMountBody(_:)``), and one log
    /// line — but a branch of the tree asking a station server for a mount it has, whose source is not live
    /// yet, is told `503` with `Retry-After`: the branch keeps its relay and asks again, while a branch told
    /// `404` drops it and answers its own players `404` too, as this node answers them.
    static func noMount(_ exchange: Exchange) {
        let port = exchange.port
        if port.options.acceptsBranches, exchange.request.headers["x-casty-branch"] != nil, port.mounts?.mount(at: exchange.path) != nil {
            return exchange.answer(503, "Service Unavailable", body: "\(exchange.path) has no stream yet; try again later.",
                                   headers: ["Retry-After": "2"])
        }
        port.logger("listener \(exchange.peer) refused: no mount at \(exchange.path) (404)")
        exchange.answer(404, "Not Found", body: noMountBody(exchange.path))
    }

    /// The body of the `404` a player gets for a path with no mount.
    static func noMountBody(_ path: String) -> String { "No mount here: \(path)" }

    /// Hands the connection to a ``Client`` that streams `distributor` to it. With an event-loop group
    /// (``ClientOptions/loops``), a player's connection first moves to the listener loop with the fewest
    /// connections, and its client runs there; a branch's tree link stays on the distributor's loop.
    ///
    /// A player moving to another loop gets its reply head here and now, from the distributor's promise of
    /// the number it starts at: its client then asks to resume there. The head waits for no other loop — a
    /// listener loop in the middle of a fan-out, the distributor's answer on its way back — only the burst does.
    private static func serve(_ exchange: Exchange, distributor: Distributor, branch: String?, onLeave: (@Sendable () -> Void)?) {
        var listening = Listening(exchange.request, branch: branch, stream: distributor.assumeIsolated { $0.stream })
        let port = exchange.port
        let peer = exchange.peer
        guard branch == nil, let group = port.options.loops, case let target = group.next(), target !== exchange.connection.loop else {
            return start(Client(connection: exchange.connection, port: port, distributor: distributor, listening: listening, peer: peer, onLeave: onLeave))
        }
        var headWritten = false
        if !listening.headOnly, let promise = distributor.assumeIsolated({ $0.promise(resume: listening.resume) }) {
            listening.resume = promise.next
            headWritten = exchange.connection.write(listening.replyHead(next: promise.next, context: promise.context, port: port))
        }
        exchange.connection.handOver(to: target) { [listening, headWritten] connection in
            start(Client(
                connection: connection, port: port, distributor: distributor, listening: listening, peer: peer,
                headWritten: headWritten, onLeave: onLeave))
        }
    }

    private static func start(_ client: Client) {
        client.assumeIsolated { $0.start() }
    }

    /// `SOURCE`/`PUT`: a relay takes no sources (yet).
    static func sourceNotTaken(_ exchange: Exchange) {
        exchange.port.refused()
        exchange.port.logger("source \(exchange.peer) refused: \(exchange.request.method.rawValue) \(exchange.path): this node takes no sources (405)")
        exchange.answer(405, "Method Not Allowed", body: "Casty relays streams here; it does not take sources.",
                        headers: ["Allow": Router.allowedMethods])
    }
}
