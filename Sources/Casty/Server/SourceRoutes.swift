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
        let contentType = request.headers["Content-Type"]
        switch mounts.admit(path: path, auth: BasicAuth(header: request.headers["Authorization"]), contentType: contentType) {
        case .failure(let refusal):
            port.refused()
            port.logger("source \(exchange.peer) refused on \(path): \(refusal)")
            refuse(exchange, refusal)
        case .success(let mount):
            let session: SourceSession
            do {
                session = try SourceSession(
                    connection: exchange.connection, request: request, mount: path,
                    format: FrameChain.Format(contentType: contentType) ?? .mpeg, segmentBytes: mounts.rules.segmentBytes,
                    timeout: mounts.rules.sourceTimeout, peer: exchange.peer, logger: port.logger
                ) { session, _ in mounts.ended(session) }
            } catch {
                port.logger("source \(exchange.peer) refused on \(path): \(error) (500)")
                return exchange.answer(500, "Internal Server Error", body: "\(error)")
            }
            let expectsContinue = request.headers["Expect"]?.lowercased() == "100-continue"
            exchange.connection.write(Array((expectsContinue ? "HTTP/1.1 100 Continue\r\n\r\n" : "HTTP/1.0 200 OK\r\n\r\n").utf8))
            port.logger("source \(exchange.peer) publishing \(path) (\(request.method.rawValue), \(contentType ?? "audio/mpeg")"
                + "\(request.headers["User-Agent"].map { ", \($0)" } ?? ""))")
            mounts.publish(session, on: mount)
            session.assumeIsolated { $0.start(leftover: exchange.rest) }
        }
    }

    private static func refuse(_ exchange: Exchange, _ refusal: MountTable.Refusal) {
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
