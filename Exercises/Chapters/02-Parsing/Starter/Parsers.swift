// Chapter 2 — Parsing with continuations. Fill in the four functions marked EXERCISE; README.md explains.
// Run the checks with:  swift test --filter Chapter02Checks
//
// Hint: keep what a parse has learned (the unfinished line, the headers so far) in a small Sendable struct
// with a `read(_:)` method; when the bytes run out, return `.more(Continuation { [state] next in state.read(next) })`.

/// Starts reading a head — a first line, header lines, an empty line — from its first bytes.
///
/// Lines end with CR LF or a bare LF. The step is `done` at the empty line, with the bytes after it as `rest`;
/// `more` when the bytes end before that (the continuation keeps the unfinished line and resumes with the
/// next bytes without looking at old ones again); `failed` on a header line without a name and colon, or a
/// line longer than ``maxLineBytes`` — noticed as soon as more bytes are waiting without a line break than such
/// a line and its CR (a line of exactly ``maxLineBytes`` is fine, even when its CR and its LF come in two reads).
/// A header's value is kept without the spaces and tabs around it: `icy-name:   Casty FM  ` is `Casty FM`.
public func head(_ bytes: ArraySlice<UInt8>) -> Parse<Head> {
    // EXERCISE
    .failed(.notImplemented("head(_:)"))
}

/// Starts reading a request: `GET /path HTTP/1.0` (or `HEAD`, or `HTTP/1.1`) and headers.
///
/// The first line is checked in this order, as Icy checks it: not three words (a method, a path, a version):
/// ``IcyError/malformedRequestLine(_:)``; a version other than `HTTP/1.0` and `HTTP/1.1`:
/// ``IcyError/unsupportedVersion(_:)`` when it is another HTTP (`HTTP/2.0`), ``IcyError/malformedRequestLine(_:)``
/// when it is no HTTP at all; a method other than `GET` and `HEAD`: ``IcyError/unsupportedMethod(_:)``.
public func request(_ bytes: ArraySlice<UInt8>) -> Parse<Request> {
    // EXERCISE: head(bytes).map { head in … }
    .failed(.notImplemented("request(_:)"))
}

/// Starts reading a reply: `ICY 200 OK` (Shoutcast) or `HTTP/1.x 200 OK` (Icecast), headers, and `icy-metaint`.
///
/// Fails with ``IcyError/malformedStatusLine(_:)`` when the first line is not `version code reason` with a
/// three-digit code and a version of `ICY` or an HTTP; with ``IcyError/unsupportedVersion(_:)`` when the version is
/// an HTTP other than `HTTP/1.0` and `HTTP/1.1` (`HTTP/2`); with ``IcyError/status(code:reason:)`` for any code
/// other than 200; and with ``IcyError/invalidMetaint(_:)`` when `icy-metaint` is present but not a whole number
/// in 1…1,048,576.
public func reply(_ bytes: ArraySlice<UInt8>) -> Parse<Reply> {
    // EXERCISE
    .failed(.notImplemented("reply(_:)"))
}

/// The continuation that reads one segment of a stream with this `icy-metaint`: `metaint` audio bytes, a
/// length byte `k`, and `16·k` bytes of metadata whose NUL padding is removed.
///
/// It is a continuation, not a step, because a segment starts with whatever bytes come next: give it to a
/// ``StreamParser`` to read segment after segment.
public func segment(metaint: Int) -> Continuation<Segment> {
    // EXERCISE
    Continuation { _ in .failed(.notImplemented("segment(metaint:)")) }
}
