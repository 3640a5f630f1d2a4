internal import CastyNet
internal import Icy

/// Icecast's URL authorization as the routes ask it: who the player is, the application's answer brought back to
/// the loop, and the refusal a player is told.
///
/// The application is asked over HTTP (``ControlPlane/authorize(_:)``) in a task of its own: the loop goes on
/// serving every other listener meanwhile, and the answer — a yes; a no on any other status but a `3xx` or
/// `5xx`, or without `icecast-auth-user: 1`; or an outage: a timeout, an unreachable application, a `3xx` or `5xx`
/// — comes back onto the connection's loop. A player that hung up meanwhile is let go with a line, not answered.
enum ListenerAuthorization {
    /// How the application is told of the player behind `exchange` listening to `mount`: the server and port it
    /// reached, a number of its own, the mount with the query it asked with (a token in the URL), its address
    /// (behind a trusted proxy, the real one), its user agent and the login it sent, if any (Basic auth).
    static func call(_ exchange: Exchange, mount: String) -> ControlPlane.ListenerCall {
        let path = exchange.request.path
        let query = path.firstIndex(of: "?").map { String(path[$0...]) } ?? ""
        let host = exchange.request.headers["Host"].map(hostName) ?? exchange.connection.localAddress?.host ?? ""
        return ControlPlane.ListenerCall(
            server: host, port: Int(exchange.connection.localAddress?.port ?? 0), client: UInt64(Client.newID()),
            mount: mount + query, ip: exchange.clientIP, agent: exchange.request.headers["User-Agent"] ?? "",
            auth: BasicAuth(header: exchange.request.headers["Authorization"]), started: .now)
    }

    /// The host of a `Host` header: `radio.example` of `radio.example:8000`, `::1` of `[::1]:8000`.
    static func hostName(_ header: String) -> String {
        if header.hasPrefix("["), let close = header.firstIndex(of: "]") { return String(header[header.index(after: header.startIndex)..<close]) }
        return String(header.prefix { $0 != ":" })
    }

    /// Asks `control` about `call` off the loop, then runs `answered` with the verdict on `loop`: `nil` when the
    /// player is admitted, else why not.
    static func ask(
        _ control: ControlPlane, _ call: ControlPlane.ListenerCall, loop: EventLoop,
        answered: @escaping @Sendable (_ refusal: ControlPlane.ListenerRefusal?) -> Void
    ) {
        Task {
            let refusal = await control.authorize(call)
            loop.execute { answered(refusal) }
        }
    }

    /// Whether the player behind `exchange` hung up while the application was asked about it. Its connection is
    /// not read meanwhile, so only the kernel knows (``Connection/peerHasHungUp``) — but a peer that had shut its
    /// sending side with its request already (`nc -N`: `oneShot`, asked as the question went out) still wants its
    /// answer, as it gets one without authorization. On the loop.
    static func playerLeft(_ exchange: Exchange, oneShot: Bool) -> Bool {
        exchange.connection.isClosed || (!oneShot && exchange.connection.peerHasHungUp)
    }

    /// Lets go a player that hung up while the application was asked about `what` (`/live`, `HLS /live`): its
    /// connection is closed, not answered (`499` in the access log), and it is said in one line of the listener joins and leaves — what the
    /// application's answer, `refusal` (`nil`: admitted), would have been, and when it came — or when the application's
    /// time ran out, or the call failed, without one: the connection is not watched meanwhile, so when the player left
    /// is known only to have been before that.
    static func left(_ exchange: Exchange, _ call: ControlPlane.ListenerCall, what: String, refusal: ControlPlane.ListenerRefusal?) {
        exchange.connection.close()
        // A request the player gave up on, as one that gave up waiting for its stream: `499`, as nginx writes it.
        exchange.logAccess(status: 499, bytes: 0, seconds: AccessLog.wholeSeconds(ContinuousClock.now - call.started))
        let verdict = refusal == nil ? "admitted" : refusal?.unanswered == true ? "told to try again" : "refused"
        let when = switch refusal?.ending ?? .answered {
        case .answered: "the application answered"
        case .ranOut(let limit): "the application's \(formatted(seconds(limit))) s ran out without an answer"
        case .failed: "the call to the application failed"
        }
        exchange.port.joinsAndLeaves("listener \(exchange.peer) left while the listener authorization of \(what) was asked, before it was"
            + " \(verdict) (gone when \(when), \(formatted(seconds(ContinuousClock.now - call.started))) s after the request)")
    }

    /// Answers a refused player, with one log line naming it and the status: `401` with `WWW-Authenticate`
    /// when it sent no login (a browser then asks for one), `403` when the application refused its login — and
    /// `503` with `Retry-After` when the application could not be asked (an outage: a browser asking for a login
    /// then would be wrong). `what` names the refused resource in the log (`/live`, `HLS /live`), `why` the
    /// application's answer when known; a refusal told before is not `logged`.
    static func refuse(
        _ exchange: Exchange, _ call: ControlPlane.ListenerCall, what: String, why: ControlPlane.ListenerRefusal? = nil,
        headers: Headers = [:], logged: Bool = true
    ) {
        exchange.port.refused()
        let status = why?.unanswered == true ? 503 : call.auth == nil ? 401 : 403
        if logged {
            exchange.port.refusalLog("listener \(exchange.peer) refused on \(what) by the listener authorization"
                + "\(why.map { ": \($0.reason)" } ?? "") (\(status))")
        }
        var headers = headers
        if status == 503 {
            headers["Retry-After"] = "5"
            return exchange.answer(503, "Service Unavailable", body: "Listening here cannot be authorized now: try again shortly.",
                                   headers: headers)
        }
        guard call.auth != nil else {
            headers["WWW-Authenticate"] = "Basic realm=\"Casty\""
            return exchange.answer(401, "Unauthorized", body: "This stream needs a login.", headers: headers)
        }
        exchange.answer(403, "Forbidden", body: "This login may not listen to \(exchange.path).", headers: headers)
    }
}
