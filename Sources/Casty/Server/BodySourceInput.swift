internal import CastyNet
internal import CastyWire
internal import Icy

/// An Icecast source's connection, whose body is its audio: chunked (`Transfer-Encoding: chunked`, as `curl -T -`
/// sends a PUT of unknown length), whose framing (``ChunkedDecoder``) is taken off before the session sees the audio,
/// so it is not mistaken for broken frames; of a `Content-Length` (`curl -T song.mp3`), whose last byte ends it; or
/// neither, as encoders send it, read until the source hangs up. The body's end ends the session as a hang-up does —
/// at once, not a source timeout later, with the mount held meanwhile; a body that is not chunked as it claims ends
/// it, the session's end line saying so.
///
/// While the platform's application is asked about the source's key, its body is read all the same into a bounded
/// hold (``hold(limit:)``): its most recent bytes of audio, older ones dropped and counted (``droppedWhileHeld``). The
/// source's hang-up is so seen as it comes — behind unread audio that filled the socket's receive window, its FIN
/// could not arrive — and an admitted source's session starts with the audio held.
final class BodySourceInput: SourceInput, @unchecked Sendable {
    // @unchecked Sendable: everything but the connection is used only on the connection's loop, like the connection.

    /// How the body ends.
    enum Framing {
        /// In chunks, the last one empty.
        case chunked(ChunkedDecoder)
        /// After `remaining` bytes more, of `length` in all.
        case length(remaining: Int, of: Int)
    }

    private let connection: Connection
    /// How the body ends; `nil` for a body with no end of its own, read until the source hangs up.
    private var framing: Framing?
    /// What arrived with the request's head, read once the input is held or attached.
    private var pending: ArraySlice<UInt8>
    /// Whether a session was attached: the audio goes to it, no longer to the hold.
    private var attached = false
    /// The session the audio goes to, once attached (weak: the session holds its input).
    private weak var session: SourceSession?
    /// The audio read before the session was attached (``hold(limit:)``): its most recent ``holdLimit`` bytes.
    private var held: [UInt8] = []
    private var holdLimit = Int.max
    /// How the body ended while held, if it did (it came whole, or broke): told the session once attached.
    private var heldEnd: End?
    /// The bytes of audio dropped from the hold, the oldest first, to keep within its limit.
    private(set) var droppedWhileHeld = 0
    /// Why the body broke while held, if it did (a chunk that is none): the connection is closed then, and the source
    /// is not admitted — it could never go on.
    var brokeWhileHeld: String? {
        if case .broken(let why) = heldEnd { why } else { nil }
    }

    /// How a body came to its end, before the source hung up.
    enum End {
        /// Whole, as its framing says: `its body is over: …`, what said so.
        case over(String)
        /// Broken: a chunk that is none, what was wrong with it. Casty closes the connection.
        case broken(String)

        /// The session's end line: `its body is over: …`, or `closed by Casty: …` (the source did not hang up).
        var line: String {
            switch self {
            case .over(let text): text
            case .broken(let why): "closed by Casty: \(why)"
            }
        }
    }

    /// An input reading `connection`'s body, framed so (`nil`: not framed, read until the source hangs up), whose
    /// first bytes, read with the request, are `pending`.
    init(_ connection: Connection, framing: Framing?, pending: ArraySlice<UInt8>) {
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

    /// Reads the body before there is a session to take it — while the application is asked about the source's
    /// key —, keeping its most recent `limit` bytes of audio (``droppedWhileHeld`` counts those dropped before them),
    /// so that a source that hangs up is seen to, whatever it had sent. Its hang-up closes the connection
    /// (``Connection/peerHasHungUp`` then says so). Loop thread only, before ``attach(_:)``.
    func hold(limit: Int) {
        guard !attached else { return }
        holdLimit = max(0, limit)
        connection.onRead = { [self] bytes in feed(bytes[...]) }
        let first = pending
        pending = []
        if !first.isEmpty { feed(first) }
    }

    func attach(_ session: SourceSession) {
        attached = true
        self.session = session
        connection.onRead = { [self] bytes in feed(bytes[...]) }
        let first = pending
        pending = []
        // What was held goes first, then the end it came to, if it came to one; then the hang-up, if it came.
        let audio = held
        held = []
        if !audio.isEmpty { session.assumeIsolated { $0.take(audio[...]) } }
        if let end = heldEnd { session.assumeIsolated { $0.inputClosed(end.line) } }
        if !first.isEmpty { feed(first) }
        connection.onClose = { _ in session.assumeIsolated { $0.inputClosed() } }
    }

    func close() {
        connection.close()
    }

    /// Hands on the audio in `bytes` — to the session, or to the hold before there is one; the body's end, or a
    /// broken chunk, ends the session (or is held for it).
    private func feed(_ bytes: ArraySlice<UInt8>) {
        guard attached else {
            // Past the body's end, what comes is read (its hang-up is seen behind it) and thrown away.
            guard heldEnd == nil else { return }
            let (pieces, end) = unframed(bytes)
            for piece in pieces where !piece.isEmpty { keep(piece) }
            heldEnd = end
            if case .broken? = end { connection.close() }
            return
        }
        let (pieces, end) = unframed(bytes)
        guard let session else { return }
        for piece in pieces where !piece.isEmpty { session.assumeIsolated { $0.take(piece) } }
        if let end { session.assumeIsolated { $0.inputClosed(end.line) } }
    }

    /// Holds `piece`, dropping the oldest bytes held past the limit.
    private func keep(_ piece: ArraySlice<UInt8>) {
        held.append(contentsOf: piece)
        let excess = held.count - holdLimit
        guard excess > 0 else { return }
        held.removeFirst(excess)
        droppedWhileHeld += excess
    }

    /// The audio in `bytes`, its framing taken off, and the body's end if it came with them (whole, or a broken
    /// chunk, with what broke it).
    private func unframed(_ bytes: ArraySlice<UInt8>) -> (pieces: [ArraySlice<UInt8>], end: End?) {
        switch framing {
        case nil:
            return ([bytes], nil)
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
            if let broken {
                // One line: the session's end, naming what was wrong (Casty closed it; the source did not hang up).
                return (pieces, .broken("its chunked body is broken (\(broken))"))
            }
            // Ended as HTTP ends a body (its empty last chunk), not hung up: its line says so, as a Content-Length's does.
            return (pieces, decoder.finished ? .over("its body is over: its chunked body ended with its last chunk") : nil)
        case .length(let remaining, let length):
            guard remaining > 0 else { return ([], nil) }  // past its end: what follows is no audio of this body
            let piece = bytes.prefix(remaining)
            framing = .length(remaining: remaining - piece.count, of: length)
            return ([piece], remaining == piece.count ? .over("its body is over: the \(length) bytes of its Content-Length came") : nil)
        }
    }
}
