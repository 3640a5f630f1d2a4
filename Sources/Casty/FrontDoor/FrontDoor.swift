internal import CastyNet
internal import Icy

/// The front door of one accepted connection: it reads the request with `Icy` — within the limits of the
/// parser and the header deadline — and hands it to the ``Router``, which picks what answers it.
///
/// Every port Casty listens on has the same front door, so a player, a branch, a browser asking for the status
/// and (later) a source that publishes all arrive the same way. A peer that sends too much, sends garbage or
/// sends nothing gets a clear answer (`400`, `501`, `505`) or is dropped at the deadline, with one log line — a few per
/// window (``PortContext/malformedRequests``, ``PortContext/silentConnections``), the rest summed up. Until its
/// request head is read, the connection may be shed for a new peer when descriptors are short (``WaitingDoors``).
///
/// Loop-confined (`@unchecked Sendable` so that its callbacks may capture it): made, used and let go of on the
/// connection's loop thread. It lives until the request is read or the connection closes: its callbacks are
/// cleared then, so nothing keeps it (or the connection) alive after.
final class FrontDoor: @unchecked Sendable {
    private let connection: Connection
    private let port: PortContext
    private let peer: String
    /// Requests answered on this connection before (a kept-alive connection's next request).
    private let served: Int
    private var continuation: Continuation<Request>?
    private var deadline: Scheduled?
    private var done = false
    /// Bytes still to throw away before the request: the rest of the previous request's body, which no route read.
    private var skipping: Int
    /// Bytes read so far, and where the first line (the request line) ended: a line too long before is its.
    private var received = 0
    private var requestLineEnd: Int?
    /// Whether a byte of the request line came (not only the empty lines that may come before it).
    private var requestLineStarted = false
    /// The waiting doors of the connection's loop, and what names this one there while it waits for its head.
    private let waiting: WaitingDoors
    private var waitID: Int?

    /// Listens on `address` and gives every connection a front door to `port`: a small send buffer (about one
    /// segment, so a slow listener shows at once) and, when the process is out of descriptors, a connection still
    /// waiting for its request shed in the new one's place (``WaitingDoors``) or, when none waits, a clean refusal,
    /// counted and logged.
    static func listen(on address: SocketAddress, loop: EventLoop, port: PortContext) throws(SocketError) -> Listener {
        let sendBuffer = port.options.sendBuffer
        let listener = try Listener(address: address, on: loop, sendBuffer: sendBuffer) { connection in
            do {
                try connection.configure(sendBuffer: nil, maxQueuedBytes: sendBuffer)
            } catch {
                return connection.close()
            }
            FrontDoor(connection: connection, port: port).open()
        }
        let refusals = LogBudget.refusedPeers(loop: loop, logger: port.logger)
        let waiting = WaitingDoors.on(loop)
        loop.execute {
            listener.onRefuse = { error in
                port.refused()
                refusals("port \(listener.localAddress): refused a peer: \(error)")
            }
            listener.onShortage = { waiting.shed() }
        }
        return listener
    }

    /// A front door for a freshly accepted connection of `port`, or for the next request of a kept-alive one that
    /// has had `served` answers and whose last request's body has `skipping` bytes still to come. Call
    /// ``open(pending:)`` to start reading.
    init(connection: Connection, port: PortContext, served: Int = 0, skipping: Int = 0) {
        self.connection = connection
        self.port = port
        self.served = served
        self.skipping = skipping
        self.peer = connection.remoteAddress?.description ?? "unknown peer"
        self.waiting = WaitingDoors.on(connection.loop)
    }

    /// Starts reading the request, with the header deadline running; `pending` holds bytes already received
    /// (what a client pipelined after its previous request).
    func open(pending: ArraySlice<UInt8> = []) {
        connection.onRead = { [self] bytes in read(bytes) }
        connection.onClose = { [self] _ in finish() }
        deadline = connection.loop.schedule(after: port.options.headerTimeout) { [self] in timedOut() }
        waitID = waiting.add(self, from: connection.remoteAddress?.host ?? peer)
        if !pending.isEmpty { read(Array(pending)) }
    }

    private func read(_ bytes: [UInt8]) {
        guard !done else { return }
        guard skipping == 0 else {
            let skipped = min(skipping, bytes.count)
            skipping -= skipped
            return skipped < bytes.count ? read(Array(bytes[skipped...])) : ()
        }
        // A TLS handshake record (0x16 0x03 …) first: a client asking https:// of this plain HTTP port. Said as
        // such, not as a request line of binary escapes; an HTTP answer would mean nothing to it.
        if received == 0, bytes.count >= 2, bytes[0] == 0x16, bytes[1] == 0x03 {
            finish()
            port.refused()
            port.malformedRequests("request from \(peer) refused: it opened with a TLS handshake (https:// asked of a plain HTTP port;"
                + " for HTTPS, put a TLS terminator such as nginx in front: README, \"HTTPS\")")
            return connection.close()
        }
        if requestLineEnd == nil { findRequestLineEnd(bytes) }
        received += bytes.count
        switch continuation.map({ $0(bytes) }) ?? Icy.request(bytes) {
        case .more(let next):
            continuation = next
        case .failed(let error):
            finish()
            refuse(error)
        case .done(let request, let rest):
            finish()
            if let conflict = Self.conflict(in: request) { return refuse(conflict) }
            var exchange = Exchange(request: request, connection: connection, peer: peer, port: port, rest: rest, served: served)
            // Behind a trusted reverse proxy, log lines and admin lists name the real client (with the proxy's port).
            if port.options.trustedProxies != nil, let host = connection.remoteAddress?.host, exchange.clientIP != host {
                exchange.peer = "\(exchange.clientIP) (via \(peer))"
            }
            port.router.dispatch(exchange)
        }
    }

    /// Notes where the request line ends in `bytes` (which follow the `received` ones), if it does there: at the
    /// first line end after a byte of it — empty lines before it are skipped by the parser (RFC 9112 §2.2).
    private func findRequestLineEnd(_ bytes: [UInt8]) {
        for (offset, byte) in bytes.enumerated() {
            if byte == UInt8(ascii: "\n") {
                if requestLineStarted { requestLineEnd = received + offset; return }
            } else if byte != UInt8(ascii: "\r") {
                requestLineStarted = true
            }
        }
    }

    /// What makes a request's head ambiguous, which no route may see: two `Content-Length`s that disagree — where its
    /// body ends, and so where the next request on the connection begins, is unknown (a front proxy reading the other
    /// one would pass a request hidden in the body: RFC 9112 §6.3 has it refused) — or two `Host` lines (§3.2), or
    /// two `Authorization`s that disagree (one credential a field, RFC 9110 §11.6.2: which of two is checked would
    /// decide, by their order, whether the request is let in; their values are never logged).
    /// Answered `400` (``refuse(_:)``), and the connection closes. A source's lengths are its route's to judge (its
    /// line names the mount: ``BodySourceInput/lengthProblem(of:)``).
    static func conflict(in request: Request) -> IcyError? {
        let headers = request.headers
        let lengths = request.method == .source || request.method == .put ? [] : headers.values("Content-Length")
        if let other = lengths.first(where: { $0 != lengths[0] }) {
            return .conflictingHeader(name: "Content-Length", first: lengths[0], second: other)
        }
        let credentials = headers.values("Authorization")
        if credentials.contains(where: { $0 != credentials[0] }) {
            return .conflictingHeader(name: "Authorization", first: "(not logged)", second: "(not logged)")
        }
        let hosts = headers.values("Host")
        return hosts.count > 1 ? .conflictingHeader(name: "Host", first: hosts[0], second: hosts[1]) : nil
    }

    /// Lets go of the connection's callbacks and the deadline: from here the handler owns the connection.
    private func finish() {
        done = true
        continuation = nil
        deadline?.cancel()
        deadline = nil
        if let waitID { waiting.remove(waitID) }
        waitID = nil
        connection.onRead = nil
        connection.onClose = nil
    }

    private func refuse(_ error: IcyError) {
        port.refused()
        port.malformedRequests("request from \(peer) refused: \(error)")
        let timeout = port.options.headerTimeout
        let status: (code: Int, reason: String)
        var headers = Headers()
        switch error {
        case .unsupportedMethod:
            // A method the server does not know at all (RFC 9110 §15.6.2); one it knows, which a path does not take,
            // is the router's `405`.
            status = (501, "Not Implemented")
            headers["Allow"] = Router.allowedMethods
        case .unsupportedVersion:
            // `HTTP/2.0`: the HTTP/2 preface (`PRI * HTTP/2.0`) of a client with prior knowledge, too (RFC 9110 §15.6.6).
            status = (505, "HTTP Version Not Supported")
        case .lineTooLong(let limit) where requestLineEnd.map { $0 > limit } ?? true:
            // The target is longer than the server reads (RFC 9110 §15.5.15), as nginx answers it.
            status = (414, "URI Too Long")
        case .lineTooLong, .tooManyHeaders, .headersTooLarge:
            status = (431, "Request Header Fields Too Large")
        default:
            status = (400, "Bad Request")
        }
        // No request was read: the access log has its address and status, and `-` for the request (fail2ban's due).
        port.options.accessLog?.answered(
            address: connection.remoteAddress?.host ?? peer, user: nil, request: "-", status: status.code, bytes: error.description.utf8.count + 1,
            referer: nil, agent: nil)
        connection.answer(status.code, status.reason, body: error.description, headers: headers, headOnly: false, timeout: timeout)
    }

    /// Closes the connection, which has not finished its request head, to make room for a new peer when
    /// descriptors are short: it is the oldest of the `waiting` connections from `address`, the address with the
    /// most (``WaitingDoors/shed()``).
    func shed(oldestOf waiting: Int, from address: String) {
        guard !done else { return }
        let sent = received > 0 ? "part of a request" : served > 0 ? "no next request" : "no request"
        finish()
        port.refused()
        port.shedConnections("connection from \(peer) shed for a new peer (out of file descriptors): it had sent \(sent),"
            + " the oldest of \(waiting) waiting from \(address)")
        connection.close()
    }

    private func timedOut() {
        guard !done else { return }
        // A kept-alive connection that asks nothing more (no byte of a request: nothing to continue) is simply done with.
        let idle = served > 0 && continuation == nil && skipping == 0
        finish()
        guard !idle else { return connection.close() }
        port.refused()
        port.silentConnections("connection from \(peer) dropped: no request within \(port.options.headerTimeout)")
        connection.close()
    }
}
