internal import CastyAudio
internal import CastyNet
internal import Icy

/// The route of a source that publishes (`PUT /live`, `SOURCE /live`), as Icecast 2 answers it.
///
/// In order: a body that cannot be read (a transfer coding Casty does not take off `501`, a `Content-Length` that is
/// no length `400`); then (``SourceAdmission``) credentials (`401` with `WWW-Authenticate`), the whitelist (`403`), the audio
/// type (`415`: Casty cuts MP3 and AAC/ADTS streams on their frames), a mount already live (`403 Mountpoint in
/// use`), the application's key verification (`403`). An admitted source is answered `200 OK` — a `PUT` with
/// `Expect: 100-continue` `HTTP/1.1 100 Continue` first, before its body; then a ``SourceSession`` reads the audio
/// (its body, chunked, of a `Content-Length` or neither, through a ``BodySourceInput``) and the mount's listeners
/// hear it. While the application is asked, the body is read into a bounded hold (``BodySourceInput/hold(limit:)``):
/// a source that hangs up meanwhile is seen to, and gets no session. Each refusal is one log
/// line naming the peer and the status; a password never is.
enum SourceRoutes {
    static func publish(_ exchange: Exchange) {
        let port = exchange.port
        guard port.mounts != nil else { return StreamRoutes.sourceNotTaken(exchange) }
        let request = exchange.request
        if let refusal = bodyRefusal(request.headers) {
            port.refused()
            port.refusalLog("source \(exchange.peer) refused on \(exchange.path): \(refusal.problem) (\(refusal.code))")
            return exchange.answer(refusal.code, refusal.reason, body: refusal.told)
        }
        let login = BasicAuth(header: request.headers["Authorization"])
        let password = login?.password
        let publication = SourcePublication(
            path: exchange.path, password: password, user: login?.user, key: exchange.query("key", plusIsSpace: false) ?? password ?? "",
            ip: exchange.clientIP, peer: exchange.peer, request: request.accessLine, referer: request.headers["Referer"],
            agent: request.headers["User-Agent"], contentType: request.headers["Content-Type"])
        // A body of unknown length may come chunked (curl -T -): its framing is taken off before the audio is read;
        // one of a Content-Length (curl -T song.mp3) ends with its last byte; an encoder's is read until it hangs up.
        let input = BodySourceInput(exchange.connection, framing: BodySourceInput.framing(of: request.headers), pending: exchange.rest)
        // While the application is asked, the body is read into a bounded hold, so that a hang-up is seen as it comes.
        if port.control?.verifiesKeys == true {
            input.hold(limit: BodySourceInput.holdLimit(catchUp: port.mounts?.rules.sourceCatchUp,
                                                        bitrate: SourceSession.declaredBitrate(request.headers)))
        }
        SourceAdmission.check(publication, port: port) { verdict in
            // A body that broke while held could never go on: the source is not admitted, in one line.
            if let broken = input.brokeWhileHeld {
                return port.refusalLog("source \(exchange.peer) on \(exchange.path) not admitted: \(broken) while its key was verified; closed")
            }
            switch verdict {
            // Refused, whether or not it is still there: the refusal's own line (none for a source challenged for
            // credentials it did not send, as libshout's tools ask first, and may hang up before the answer).
            case .failure(let refusal): refuse(exchange, refusal)
            // A source that hung up while its key was being verified gets no session: nothing to publish, and the
            // application must not hear stream-available then stream-closed for a stream that never was.
            case .success where exchange.connection.peerHasHungUp:
                exchange.connection.close()
                SourceAdmission.left(publication, port: port)
            case .success(let record): start(exchange, publication, record: record, input: input)
            }
        }
    }

    /// Why a source's body could not be read, if it could not — before its credentials, its `100 Continue` or its
    /// `200`: a transfer coding Casty does not take off `501 Not Implemented` (RFC 9112 §6.1), a `Content-Length`
    /// that is no length, or two that disagree, `400` (§6.3). `problem` is for the log, `told` for the source.
    private static func bodyRefusal(_ headers: Headers) -> (code: Int, reason: String, problem: String, told: String)? {
        if let problem = BodySourceInput.codingProblem(of: headers) {
            return (501, "Not Implemented", problem,
                    "A source's body comes as it is or chunked, in no other transfer coding: send it uncompressed.")
        }
        if let problem = BodySourceInput.lengthProblem(of: headers) {
            return (400, "Bad Request", problem, "A source's body has one Content-Length, a number, or none: \(problem).")
        }
        return nil
    }

    /// Admits the source: its session publishes the mount, the source is answered, and the session reads its body
    /// from `input` — beginning with the audio held while the application was asked, if any.
    private static func start(_ exchange: Exchange, _ publication: SourcePublication, record: Bool?, input: BodySourceInput) {
        let request = exchange.request
        let session: SourceSession
        switch SourceAdmission.start(
            publication, record: record, port: exchange.port, input: input,
            station: SourceSession.stationHeaders(from: request.headers), bitrate: SourceSession.declaredBitrate(request.headers),
            format: FrameChain.Format(contentType: publication.contentType) ?? .mpeg)
        {
        case .failure(let refusal): return refuse(exchange, refusal)
        case .success(let started): session = started
        }
        // As Icecast answers: the final 200 follows the 100 at once, so that a client that waits for a final status
        // once its body is sent (curl -T) gets one; an encoder reads neither.
        let expectsContinue = request.headers["Expect"]?.lowercased() == "100-continue"
        exchange.connection.write(Array(((expectsContinue ? "HTTP/1.1 100 Continue\r\n\r\n" : "") + "HTTP/1.0 200 OK\r\n\r\n").utf8))
        exchange.port.logger("source \(exchange.peer) publishing \(exchange.path) (\(request.method.rawValue), "
            + "\(publication.contentType ?? "audio/mpeg")\(request.headers["User-Agent"].map { ", \($0)" } ?? ""); stream \(session.streamID))")
        if input.droppedWhileHeld > 0 { exchange.port.logger(BodySourceInput.heldAudioDropped(input.droppedWhileHeld, on: exchange.path)) }
        session.assumeIsolated { $0.start() }
    }

    private static func refuse(_ exchange: Exchange, _ refusal: SourceAdmission.Refusal) {
        // A source that sent no credentials is asked for them: libshout (ezstream, liquidsoap…) asks without them
        // first, every time, and then publishes — not a refusal worth a line.
        let challenge = if case .rules(.unauthorized) = refusal { exchange.request.headers["Authorization"] == nil } else { false }
        if !challenge {
            exchange.port.refused()
            exchange.port.refusalLog("source \(exchange.peer) refused on \(exchange.path): \(refusal) (\(refusal.status))")
        }
        switch refusal {
        case .rules(.unauthorized):
            // With the methods the server takes: libshout publishes with `PUT` (and `Expect: 100-continue`) where
            // the answer to its first, unauthenticated ask lists it, else with the legacy `SOURCE`.
            exchange.answer(401, "Unauthorized", body: "You need to authenticate.",
                            headers: ["WWW-Authenticate": "Basic realm=\"Casty\"", "Allow": Router.serverMethods(exchange.port)])
        case .rules(.notAllowed):
            exchange.answer(403, "Forbidden", body: "This mount is not on the server's list: \(exchange.path)")
        case .rules(.notMountName(let why)):
            exchange.answer(403, "Forbidden", body: "Not a mount name (\(why)): \(exchange.path)")
        case .rules(.serverPath(let route)):
            exchange.answer(403, "Forbidden", body: "Not a mount listeners could reach: the server answers \(route) itself, not \(exchange.path)'s.")
        case .rules(.inUse):
            exchange.answer(403, "Mountpoint in use", body: "Mountpoint in use: \(exchange.path)")
        case .rules(.full(let limit)):
            exchange.answer(503, "Service Unavailable", body: "This server takes at most \(counted(limit, "source")) at once, and is full: publish elsewhere.")
        case .rules(.unsupportedType(let type)):
            exchange.answer(415, "Unsupported Media Type",
                            body: "Casty takes MP3 (audio/mpeg) and AAC in ADTS (audio/aac, audio/aacp), not \(type).")
        case .keyRefused, .keyUnverified:
            exchange.answer(403, "Forbidden", body: refusal.told(exchange.path))
        case .failed:
            exchange.answer(500, "Internal Server Error", body: refusal.told(exchange.path))
        }
    }
}
