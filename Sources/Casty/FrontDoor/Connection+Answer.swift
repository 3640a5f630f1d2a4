internal import CastyNet
internal import Icy

extension Connection {
    /// Sends a short, complete HTTP answer — a status page, a refusal, a redirect — and closes the connection
    /// once it is out.
    ///
    /// The answer is `HTTP/1.0` with `Content-Type` (plain text unless given), `Content-Length`, `Date` and
    /// `Connection: close`; its body is left out for a `HEAD` request (`headOnly`). A peer that does not take
    /// the answer within `timeout` is closed anyway. Loop thread only.
    ///
    /// With `keepAlive`, the answer is `HTTP/1.1` with `Connection: keep-alive` (and `Keep-Alive: timeout=` the idle
    /// time allowed, which is `timeout`) instead, and the connection stays open: the caller waits for it to be sent
    /// (``whenSent(timeout:_:)``) and reads the next request.
    func answer(
        _ code: Int, _ reason: String, body: String, headers: Headers = [:], headOnly: Bool, timeout: Duration
    ) {
        answer(code, reason, bytes: Self.answerBody(body), headers: headers, headOnly: headOnly, timeout: timeout)
    }

    /// The bytes a text answer's body goes out as: `body`, ended by a newline if it has none (what an access log counts).
    static func answerBody(_ body: String) -> [UInt8] {
        Array((body.hasSuffix("\n") ? body : body + "\n").utf8)
    }

    /// Sends a complete HTTP answer whose body is `bytes` (a playlist, an HLS segment), as
    /// ``answer(_:_:body:headers:headOnly:timeout:)`` does for text.
    func answer(
        _ code: Int, _ reason: String, bytes body: [UInt8], headers: Headers = [:], headOnly: Bool, timeout: Duration,
        keepAlive: Bool = false
    ) {
        var all = headers
        // 204 and 304 have no body, by definition.
        let bodyless = code == 204 || code == 304
        if all["Content-Type"] == nil, !bodyless { all["Content-Type"] = "text/plain; charset=utf-8" }
        let text = bodyless ? [] : body
        if !bodyless { all["Content-Length"] = String(text.count) }
        all["Server"] = "Casty"
        // What a cache reckons an answer's age from (an HTTP/1.1 server with a clock must send it).
        all["Date"] = CivilTime.now.httpDate
        all["Connection"] = keepAlive ? "keep-alive" : "close"
        // How long the connection stays open idle, so that a client does not send its next request into a close.
        if keepAlive { all["Keep-Alive"] = "timeout=\(timeout.components.seconds)" }
        var bytes: [UInt8] = []
        sendReply(all, status: StatusLine(version: keepAlive ? .http11 : .http10, code: code, reason: reason)) { bytes += $0 }
        if !headOnly { bytes += text }
        write(bytes)
        if !keepAlive { closeWhenSent(timeout: timeout) }
    }

    /// Calls `then` once everything written is out — at once if it is — and closes the connection if that takes
    /// longer than `timeout` (a peer that asks and does not read). Loop thread only.
    func whenSent(timeout: Duration, _ then: @escaping @Sendable () -> Void) {
        guard pendingBytes > 0 else { return then() }
        let timer = loop.schedule(after: timeout) { [weak self] in self?.close() }
        onClose = { _ in timer.cancel() }
        onWritable = { [weak self] in
            timer.cancel()
            self?.onWritable = nil
            self?.onClose = nil
            then()
        }
    }

    /// Closes the connection as soon as everything written is out, or after `timeout`. Loop thread only.
    ///
    /// The close lingers (``Connection/closeLingering(timeout:limit:)``): a peer still sending — a request body
    /// no route reads, a large `POST` — reads the whole answer instead of a reset.
    func closeWhenSent(timeout: Duration) {
        guard pendingBytes > 0 else { return linger(timeout) }
        // The loop holds a registered connection, so these need not: nothing outlives the close.
        onWritable = { [weak self] in self?.linger(timeout) }
        let timer = loop.schedule(after: timeout) { [weak self] in self?.close() }
        let previous = onClose
        onClose = { error in
            timer.cancel()
            previous?(error)
        }
    }

    /// The most a lingering close waits for the peer to close too, and the most it reads and throws away meanwhile.
    static let lingerTime: Duration = .seconds(2)
    static let lingerBytes = 1 << 20

    private func linger(_ timeout: Duration) {
        closeLingering(timeout: min(timeout, Self.lingerTime), limit: Self.lingerBytes)
    }
}
