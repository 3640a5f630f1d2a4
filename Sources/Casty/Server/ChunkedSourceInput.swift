internal import CastyNet
internal import CastyWire

/// An Icecast source's connection whose body comes chunked (`Transfer-Encoding: chunked`, as `curl -T -` sends a
/// PUT of unknown length): the chunks' framing (``ChunkedDecoder``) is taken off before the session sees the
/// audio, so it is not mistaken for broken frames. The last chunk ends the session as a hang-up does; a body that
/// is not chunked as it claims ends it, the session's end line saying so.
final class ChunkedSourceInput: SourceInput, @unchecked Sendable {
    // @unchecked Sendable: `decoder` and `pending` are used only on the connection's loop, like the connection.

    private let connection: Connection
    private var decoder = ChunkedDecoder()
    /// What arrived with the request's head, decoded once the session is attached.
    private var pending: ArraySlice<UInt8>

    /// An input reading `connection`, whose first body bytes, read with the request, are `pending`.
    init(_ connection: Connection, pending: ArraySlice<UInt8>) {
        self.connection = connection
        self.pending = pending
    }

    var loop: EventLoop { connection.loop }

    func attach(_ session: SourceSession) {
        connection.onRead = { [self] bytes in feed(bytes[...], to: session) }
        connection.onClose = { _ in session.assumeIsolated { $0.inputClosed() } }
        let first = pending
        pending = []
        if !first.isEmpty { feed(first, to: session) }
    }

    func close() {
        connection.close()
    }

    /// Hands the session the audio in `bytes`; the body's end, or a broken chunk, ends it.
    private func feed(_ bytes: ArraySlice<UInt8>, to session: SourceSession) {
        do {
            for piece in try decoder.decode(bytes) where !piece.isEmpty {
                session.assumeIsolated { $0.take(piece) }
            }
            if decoder.finished { session.assumeIsolated { $0.inputClosed() } }
        } catch {
            // One line: the session's end, naming what was wrong (Casty closed it; the source did not hang up).
            session.assumeIsolated { $0.inputClosed("closed by Casty: its chunked body is broken (\(error))") }
        }
    }
}
