internal import CastyNet
internal import CastyWire
internal import Icy

/// Persistent connections (HTTP/1.1 keep-alive) for short answers.
///
/// A playlist, a segment, the status or a page is a short answer with a `Content-Length`, and the clients that
/// fetch them — an HLS player reloading its playlist every few seconds, a CDN or nginx pulling segments, a browser
/// loading a page — ask again and again. Opening a TCP connection per request costs them a round trip each time
/// and costs the server a descriptor in `TIME_WAIT`; so the connection stays open for the next request when the
/// client wants it (`HTTP/1.1`, or `Connection: keep-alive` from an `HTTP/1.0` client) and nothing in the request
/// could be mistaken for the next one (`GET`, `HEAD`, `OPTIONS`, or a command's `POST`, without a body — or with a
/// small one of known length, as an HTTP library sends JSON: no route reads it, so it is skipped as it comes).
///
/// The next request is read only once the answer is out, so a client that pipelines requests without reading
/// holds at most one answer in memory; one that does not read it within the header timeout is closed. An idle
/// connection is closed quietly after the header timeout, and one connection carries at most
/// ``requestsPerConnection`` requests. Streams, sources, refusals at the door and upgrades are never kept.
extension Exchange {
    /// The most requests one connection carries; the last is answered with `Connection: close`.
    static let requestsPerConnection = 1000

    /// Whether the connection stays open after this request's answer.
    var keepsAlive: Bool {
        let method = request.method
        guard method == .get || method == .head || method == .options || method == .post,
              served + 1 < Self.requestsPerConnection else { return false }
        // A body no route reads would be taken for the next request: kept only when it has a length (a command's
        // small `POST`), to be skipped, and not held back for a `100 Continue` that never comes.
        guard request.headers["Transfer-Encoding"] == nil, request.headers["Expect"] == nil, let length = bodyLength,
              length == 0 || (method == .post && length <= Self.largestSkippedBody) else { return false }
        let tokens = (request.headers["Connection"] ?? "").lowercased().split(separator: ",").map(\.trimmingSpaces)
        if tokens.contains("close") || tokens.contains("upgrade") { return false }
        return request.version == .http11 || tokens.contains("keep-alive")
    }

    /// The largest request body skipped to keep the connection: past it, the connection closes (lingering).
    static let largestSkippedBody = 64 * 1024

    /// The length of the request's body (`0` without a `Content-Length`), or `nil` when it is not a length.
    var bodyLength: Int? {
        guard let text = request.headers["Content-Length"] else { return 0 }
        return ContentLength.value(text)
    }

    /// The largest send buffer asked for a short answer: a 6 s segment at 256 kbit/s (Linux caps it at `wmem_max`).
    static let largestAnswerBuffer = 256 * 1024

    /// Makes the connection's send buffer — about one relay segment, so that a slow listener shows at once — large
    /// enough for an answer of `count` bytes (an HLS segment is 100 KB and more), if it is not: the kernel then
    /// takes the answer in one `send`. Otherwise the answer's tail waits for the client to acknowledge the first
    /// part, and a client on a kept connection delays that acknowledgement (Linux's delayed ACK: 40 ms a segment,
    /// measured with `casty-bench hls --keep-alive`). Returns whether it changed the buffer.
    func widenSendBuffer(for count: Int) -> Bool {
        let wanted = min(count + 1024, Self.largestAnswerBuffer)
        guard wanted > port.options.sendBuffer else { return false }
        return (try? connection.socket.setSendBufferSize(wanted)) != nil
    }

    /// Reads the next request on the connection once the answer is out: a new ``FrontDoor``, fed at once with any
    /// bytes that came after this request (a pipelined request), on the next turn of the loop so that a client that
    /// pipelines many does not hold the loop. A send buffer widened for the answer (`narrowing`) is set back first:
    /// the next request may be a stream's.
    func readNext(narrowing: Bool = false) {
        let connection = connection, port = port, served = served + 1, body = bodyLength ?? 0
        let rest = rest.dropFirst(body), skipping = max(0, body - self.rest.count)
        connection.whenSent(timeout: port.options.headerTimeout) {
            if narrowing { try? connection.socket.setSendBufferSize(port.options.sendBuffer) }
            let door = FrontDoor(connection: connection, port: port, served: served, skipping: skipping)
            if rest.isEmpty { return door.open() }
            connection.loop.execute { door.open(pending: rest) }
        }
    }
}
