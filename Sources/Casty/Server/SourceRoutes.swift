internal import CastyAudio
internal import CastyNet
internal import Icy

/// The route of a source that publishes (`PUT /live`, `SOURCE /live`), as Icecast 2 answers it.
///
/// In order: credentials (`401` with `WWW-Authenticate`), the whitelist (`403`), the audio type (`415`: Casty
/// cuts MP3 and AAC/ADTS streams on their frames), a mount already live (`403 Mountpoint in use`). An admitted
/// `PUT` with `Expect: 100-continue` is answered `HTTP/1.1 100 Continue` before its body, any other source
/// `200 OK`; then a ``SourceSession`` reads the audio and the mount's listeners hear it. Each refusal is one log
/// line naming the peer and the status; a password never is.
enum SourceRoutes {
    static func publish(_ exchange: Exchange) {
        let port = exchange.port
        guard let mounts = port.mounts else { return StreamRoutes.sourceNotTaken(exchange) }
        let request = exchange.request
        let path = exchange.path
        let auth = BasicAuth(header: request.headers["Authorization"])
        let verifying = port.control?.verifiesKeys == true
        // The rules Casty checks itself first: no need to ask the application about a mount that is not allowed.
        switch mounts.admit(path: path, auth: auth, contentType: request.headers["Content-Type"], checkPassword: !verifying) {
        case .failure(let refusal):
            refuse(exchange, refusal)
        case .success(let mount):
            guard let control = port.control, verifying else { return start(exchange, mount: mount, record: nil) }
            // The application decides, over HTTP: the loop goes on serving everyone while it answers.
            let channel = String(path.dropFirst())
            let key = exchange.query("key") ?? auth?.password ?? ""
            let ip = exchange.clientIP
            let loop = exchange.connection.loop
            Task {
                let verdict = await control.verify(channel: channel, key: key, ip: ip)
                loop.execute { decided(exchange, verdict: verdict) }
            }
        }
    }

    /// The application's answer is in (on the loop): the source starts, or is refused with `403`.
    private static func decided(_ exchange: Exchange, verdict: ControlPlane.Verdict) {
        guard let mounts = exchange.port.mounts, !exchange.connection.isClosed else { return }
        switch verdict {
        case .refused(let reason):
            exchange.port.refused()
            exchange.port.logger("source \(exchange.peer) refused on \(exchange.path): key not accepted, \(reason) (403)")
            exchange.answer(403, "Forbidden", body: "The stream key was not accepted for \(exchange.path).")
        case .accepted(let record):
            // The mount may have been taken while the application answered: the rules are checked again.
            switch mounts.admit(path: exchange.path, auth: nil, contentType: exchange.request.headers["Content-Type"], checkPassword: false) {
            case .failure(let refusal): refuse(exchange, refusal)
            case .success(let mount): start(exchange, mount: mount, record: record)
            }
        }
    }

    /// Admits the source: answers it, makes its session, and its mount's listeners hear it.
    private static func start(_ exchange: Exchange, mount: Mount, record: Bool?) {
        let port = exchange.port
        guard let mounts = port.mounts else { return }
        let request = exchange.request
        let path = exchange.path
        let contentType = request.headers["Content-Type"]
        let control = port.control
        let streamID = ControlPlane.newStreamID()
        let announced = port.sourceStarted(path, distributor: mount.distributor, streamID: streamID, record: record)
        let session: SourceSession
        do {
            session = try SourceSession(
                connection: exchange.connection, request: request, mount: path,
                format: FrameChain.Format(contentType: contentType) ?? .mpeg, segmentBytes: mounts.rules.segmentBytes,
                timeout: mounts.rules.sourceTimeout, peer: exchange.peer, streamID: streamID, record: record,
                logger: port.logger
            ) { session, _ in
                mounts.ended(session)
                announced()
                control?.post(StreamEvent(channel: String(path.dropFirst()), streamID: session.streamID, kind: .closed))
            }
        } catch {
            port.logger("source \(exchange.peer) refused on \(path): \(error) (500)")
            return exchange.answer(500, "Internal Server Error", body: "\(error)")
        }
        let expectsContinue = request.headers["Expect"]?.lowercased() == "100-continue"
        exchange.connection.write(Array((expectsContinue ? "HTTP/1.1 100 Continue\r\n\r\n" : "HTTP/1.0 200 OK\r\n\r\n").utf8))
        port.logger("source \(exchange.peer) publishing \(path) (\(request.method.rawValue), \(contentType ?? "audio/mpeg")"
            + "\(request.headers["User-Agent"].map { ", \($0)" } ?? ""); stream \(streamID))")
        mounts.publish(session, on: mount)
        session.assumeIsolated { $0.start(leftover: exchange.rest) }
        if let control {
            control.post(StreamEvent(channel: String(path.dropFirst()), streamID: streamID, kind: .available,
                                     streamType: "ICY-LIVE", indexFile: control.configuration.publicURL + path))
            port.announceHLS(path, streamID: streamID)
        }
    }

    private static func refuse(_ exchange: Exchange, _ refusal: MountTable.Refusal) {
        exchange.port.refused()
        exchange.port.logger("source \(exchange.peer) refused on \(exchange.path): \(refusal)")
        switch refusal {
        case .unauthorized:
            exchange.answer(401, "Unauthorized", body: "You need to authenticate.",
                            headers: ["WWW-Authenticate": "Basic realm=\"Casty\""])
        case .notAllowed:
            exchange.answer(403, "Forbidden", body: "This mount is not on the server's list: \(exchange.path)")
        case .inUse:
            exchange.answer(403, "Mountpoint in use", body: "Mountpoint in use: \(exchange.path)")
        case .unsupportedType(let type):
            exchange.answer(415, "Unsupported Media Type",
                            body: "Casty takes MP3 (audio/mpeg) and AAC in ADTS (audio/aac, audio/aacp), not \(type).")
        }
    }
}
