internal import CastyNet
internal import CastyWire
internal import Icy

/// An Icecast source's connection whose body says where it ends: chunked (`Transfer-Encoding: chunked`, as
/// `curl -T -` sends a PUT of unknown length), whose framing (``ChunkedDecoder``) is taken off before the session
/// sees the audio, so it is not mistaken for broken frames; or of a `Content-Length` (`curl -T song.mp3`), whose
/// last byte ends it. The body's end ends the session as a hang-up does — at once, not a source timeout later,
/// with the mount held meanwhile; a body that is not chunked as it claims ends it, the session's end line saying so.
/// (A source that sends neither, as encoders do, is read until it hangs up: the connection itself is its input.)
final class BodySourceInput: SourceInput, @unchecked Sendable {
    // @unchecked Sendable: `framing` and `pending` are used only on the connection's loop, like the connection.

    /// How the body ends.
    enum Framing {
        /// In chunks, the last one empty.
        case chunked(ChunkedDecoder)
        /// After `remaining` bytes more, of `length` in all.
        case length(remaining: Int, of: Int)
    }

    private let connection: Connection
    private var framing: Framing
    /// What arrived with the request's head, read once the session is attached.
    private var pending: ArraySlice<UInt8>

    /// An input reading `connection`'s body, framed so, whose first bytes, read with the request, are `pending`.
    init(_ connection: Connection, framing: Framing, pending: ArraySlice<UInt8>) {
        self.connection = connection
        self.framing = framing
        self.pending = pending
    }

    /// The input a source's request asks for: `nil` when its body has no end of its own (neither chunked nor of a
    /// positive `Content-Length`: `0`, which some encoders send, says nothing about a live body). Call it once
    /// ``codingProblem(of:)`` has found none: a body is chunked when `chunked` is its one transfer coding.
    static func framing(of headers: Headers) -> Framing? {
        if transferCodings(of: headers) == ["chunked"] { return .chunked(ChunkedDecoder()) }
        if let length = headers["Content-Length"].flatMap(ContentLength.value), length > 0 { return .length(remaining: length, of: length) }
        return nil
    }

    /// What is wrong with a request's `Content-Length`, if anything: one that is no length (`-5`, `12ab`), or two that
    /// disagree — a body whose end cannot be known (RFC 9112 §6.3 has such a request refused).
    static func lengthProblem(of headers: Headers) -> String? {
        let given = headers.fields.filter { $0.name.lowercased() == "content-length" }.map(\.value)
        if given.contains(where: { ContentLength.value($0) == nil }) { return "a Content-Length that is no length" }
        if Set(given.compactMap(ContentLength.value)).count > 1 { return "two Content-Length headers that disagree" }
        return nil
    }

    /// The transfer codings a request's body was sent in, in the order they were applied (every
    /// `Transfer-Encoding` line, its comma-separated list), lowercased, without blanks around them; `identity`,
    /// which some clients send for "none", is left out.
    static func transferCodings(of headers: Headers) -> [String] {
        headers.values("Transfer-Encoding").flatMap { $0.split(separator: ",") }
            .map { $0.trimmingSpaces.lowercased() }.filter { !$0.isEmpty && $0 != "identity" }
    }

    /// What is wrong with a request's `Transfer-Encoding`, if anything: a body in a coding Casty does not take off
    /// (`gzip, chunked`: taking off the chunks would leave compressed bytes read as audio), which a server answers
    /// `501` (RFC 9112 §6.1). Casty takes off `chunked`, as the body's one coding, and nothing else.
    static func codingProblem(of headers: Headers) -> String? {
        let codings = transferCodings(of: headers)
        guard !codings.isEmpty, codings != ["chunked"] else { return nil }
        let sent = headers.values("Transfer-Encoding").joined(separator: ", ")
        return "its body is in the transfer coding '\(SafeText.shortened(sent, to: 80))', and Casty takes off chunked alone: have it sent uncompressed"
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
        switch framing {
        case .chunked(var decoder):
            var pieces: [ArraySlice<UInt8>] = []
            let broken: ChunkedDecoder.Failure?
            do throws(ChunkedDecoder.Failure) {
                try decoder.decode(bytes, into: &pieces)
                broken = nil
            } catch {
                broken = error
            }
            framing = .chunked(decoder)
            // The audio of the chunks that came whole goes to the mount, and counts, even when a later one broke.
            for piece in pieces where !piece.isEmpty { session.assumeIsolated { $0.take(piece) } }
            if let broken {
                // One line: the session's end, naming what was wrong (Casty closed it; the source did not hang up).
                session.assumeIsolated { $0.inputClosed("closed by Casty: its chunked body is broken (\(broken))") }
            } else if decoder.finished {
                // Ended as HTTP ends a body (its empty last chunk), not hung up: its line says so, as a Content-Length's does.
                session.assumeIsolated { $0.inputClosed("its body is over: its chunked body ended with its last chunk") }
            }
        case .length(let remaining, let length):
            guard remaining > 0 else { return }  // past its end: what follows is no audio of this body
            let piece = bytes.prefix(remaining)
            framing = .length(remaining: remaining - piece.count, of: length)
            if !piece.isEmpty { session.assumeIsolated { $0.take(piece) } }
            if remaining == piece.count {
                session.assumeIsolated { $0.inputClosed("its body is over: the \(length) bytes of its Content-Length came") }
            }
        }
    }
}
