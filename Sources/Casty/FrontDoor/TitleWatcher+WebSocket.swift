internal import CastyNet

extension TitleWatcher {
    /// How long a close frame may take to go out before the connection is closed anyway.
    static let closeTimeout: Duration = .seconds(5)

    /// Reads a WebSocket page's bytes (``WebSocketReader``) and answers its frames: a ping gets a pong with the
    /// same payload, a pong counts as the page being there, a close frame gets a close frame back (the same
    /// status code) and the connection is closed once it is out; messages are thrown away. Bytes that break the
    /// protocol get a close frame with 1002 (1009 for a message too big, 1007 for text that is not UTF-8), one log
    /// line, and the close.
    func read(_ bytes: [UInt8]) {
        guard !closing else { return }
        do {
            try reader.feed(bytes) { frame in
                switch frame {
                case .ping(let payload): _ = send(WebSocket.pong(payload))
                case .pong: health.answered()
                case .close(let code): finish(WebSocket.close(code))
                case .data: break
                }
            }
        } catch {
            dropped("sent \(error) (WebSocket)")
            finish(WebSocket.close(error.closeCode))
        }
    }

    /// Says goodbye: a WebSocket page gets a close frame with 1001 ("going away": the server stops, or does not hear
    /// the page any more), so that its browser reports a clean close, not 1006; an event stream is closed (its
    /// `EventSource` comes back by itself). Either page's leaving is said now, as the close of an event stream says
    /// it: a WebSocket's connection closes only once its frame is out, and a stopping process may be gone by then.
    func goodbye() {
        guard kind == .webSocket else { return connection.close() }
        left()
        finish(WebSocket.close(1001))
    }

    /// Ends the conversation: writes the close frame (the watcher gets nothing after it), stops reading, and
    /// closes the connection once the frame is out — the server closes the TCP connection first (RFC 6455,
    /// section 7.1.1) — or after ``closeTimeout``.
    private func finish(_ closeFrame: [UInt8]) {
        guard !closing, !connection.isClosed else { return }
        closing = true
        connection.onRead = nil
        connection.write(closeFrame)
        connection.closeWhenSent(timeout: Self.closeTimeout)
    }
}
