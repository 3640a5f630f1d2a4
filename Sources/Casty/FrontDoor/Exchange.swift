internal import CastyNet
internal import Icy

/// One request that came in through a ``FrontDoor``, with what a route needs to answer it.
struct Exchange {
    /// The request, as parsed.
    let request: Request
    /// The connection it came on. The route owns it from now on: it answers and closes it, or hands it on.
    let connection: Connection
    /// The peer's address, for log lines.
    let peer: String
    /// The port it came to.
    let port: PortContext

    /// The request's path without its query: `/live` for `GET /live?type=.mp3`.
    var path: String {
        request.path.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? request.path
    }

    /// Whether only the headers were asked for (`HEAD`).
    var headOnly: Bool { request.method == .head }

    /// Sends a short answer and closes the connection once it is out (see ``Connection/answer(_:_:body:headers:headOnly:timeout:)``).
    func answer(_ code: Int, _ reason: String, body: String, headers: Headers = [:]) {
        connection.answer(code, reason, body: body, headers: headers, headOnly: headOnly, timeout: port.options.headerTimeout)
    }
}
