// Chapter 2 — Parsing with continuations. A reference solution.

/// Starts reading a head — a first line, header lines, an empty line — from its first bytes.
///
/// Lines end with CR LF or a bare LF. The step is `done` at the empty line, with the bytes after it as `rest`;
/// `more` when the bytes end before that (the continuation keeps the unfinished line and resumes with the
/// next bytes without looking at old ones again); `failed` on a header line without a name and colon, or a
/// line longer than ``maxLineBytes`` — noticed as soon as more bytes are waiting without a line break than such
/// a line and its CR (a line of exactly ``maxLineBytes`` is fine, even when its CR and its LF come in two reads).
public func head(_ bytes: ArraySlice<UInt8>) -> Parse<Head> {
    HeadState().read(bytes)
}

/// What a head parse has learned between two reads.
struct HeadState: Sendable {
    /// The bytes of the line that has not ended yet.
    var pending: [UInt8] = []
    /// The first line, once read.
    var first: String?
    /// The header lines read so far.
    var headers: [Header] = []

    func read(_ input: ArraySlice<UInt8>) -> Parse<Head> {
        var state = self
        var bytes = input
        // Only the new bytes are searched for a line break: the pending part is known to have none.
        while let newline = bytes.firstIndex(of: UInt8(ascii: "\n")) {
            var line = state.pending + bytes[..<newline]
            state.pending = []
            bytes = bytes[(newline + 1)...]
            if line.last == UInt8(ascii: "\r") { line.removeLast() }
            guard line.count <= maxLineBytes else { return .failed(.lineTooLong(limit: maxLineBytes)) }
            let text = String(decoding: line, as: UTF8.self)
            guard let first = state.first else {
                state.first = text
                continue
            }
            if line.isEmpty { return .done(Head(first: first, headers: state.headers), rest: bytes) }
            guard let colon = text.firstIndex(of: ":"), colon != text.startIndex else {
                return .failed(.malformedHeader(text))
            }
            let value = text[text.index(after: colon)...].trimmingBlanks()
            state.headers.append(Header(name: String(text[..<colon]), value: value))
        }
        // +1: a CR at the very end may be waiting for its LF.
        guard state.pending.count + bytes.count <= maxLineBytes + 1 else { return .failed(.lineTooLong(limit: maxLineBytes)) }
        state.pending += bytes
        return .more(Continuation { [state] next in state.read(next) })
    }
}

/// Starts reading a request: `GET /path HTTP/1.0` (or `HEAD`, or `HTTP/1.1`) and headers.
///
/// The first line is checked in this order, as Icy checks it: not three words (a method, a path, a version):
/// ``IcyError/malformedRequestLine(_:)``; a version other than `HTTP/1.0` and `HTTP/1.1`:
/// ``IcyError/unsupportedVersion(_:)`` when it is another HTTP (`HTTP/2.0`), ``IcyError/malformedRequestLine(_:)``
/// when it is no HTTP at all; a method other than `GET` and `HEAD`: ``IcyError/unsupportedMethod(_:)``.
public func request(_ bytes: ArraySlice<UInt8>) -> Parse<Request> {
    head(bytes).map { head in
        let words = head.first.split(separator: " ", omittingEmptySubsequences: false)
        guard words.count == 3, !words[0].isEmpty, !words[1].isEmpty else {
            return .failure(.malformedRequestLine(head.first))
        }
        guard ["HTTP/1.0", "HTTP/1.1"].contains(words[2]) else {
            return .failure(versionError(words[2], otherwise: .malformedRequestLine(head.first)))
        }
        guard ["GET", "HEAD"].contains(words[0]) else { return .failure(.unsupportedMethod(String(words[0]))) }
        let wantsMetadata = head["icy-metadata"].flatMap { Int($0) }.map { $0 >= 1 } ?? false
        return .success(Request(
            method: String(words[0]), path: String(words[1]), version: String(words[2]), wantsMetadata: wantsMetadata))
    }
}

/// Starts reading a reply: `ICY 200 OK` (Shoutcast) or `HTTP/1.x 200 OK` (Icecast), headers, and `icy-metaint`.
///
/// Fails with ``IcyError/malformedStatusLine(_:)`` when the first line is not `version code reason` with a
/// three-digit code and a version of `ICY` or an HTTP; with ``IcyError/unsupportedVersion(_:)`` when the version is
/// an HTTP other than `HTTP/1.0` and `HTTP/1.1` (`HTTP/2`); with ``IcyError/status(code:reason:)`` for any code
/// other than 200; and with ``IcyError/invalidMetaint(_:)`` when `icy-metaint` is present but not a whole number
/// in 1…1,048,576.
public func reply(_ bytes: ArraySlice<UInt8>) -> Parse<Reply> {
    head(bytes).map { head in
        let words = head.first.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
        guard words.count >= 2, words[1].count == 3, let code = Int(words[1]) else {
            return .failure(.malformedStatusLine(head.first))
        }
        guard ["ICY", "HTTP/1.0", "HTTP/1.1"].contains(words[0]) else {
            return .failure(versionError(words[0], otherwise: .malformedStatusLine(head.first)))
        }
        guard code == 200 else { return .failure(.status(code: code, reason: words.count > 2 ? String(words[2]) : "")) }
        guard let text = head["icy-metaint"] else { return .success(Reply(head: head, metaint: nil)) }
        guard let metaint = Int(text), (1...1_048_576).contains(metaint) else {
            return .failure(.invalidMetaint(text))
        }
        return .success(Reply(head: head, metaint: metaint))
    }
}

/// Why a version word that these parsers do not read is refused: another HTTP (`HTTP/2.0`) is a version they do
/// not speak; anything else (`FOO/9`) means the line is not the line it should be.
func versionError(_ version: Substring, otherwise malformed: IcyError) -> IcyError {
    version.hasPrefix("HTTP/") ? .unsupportedVersion(String(version)) : malformed
}

/// The continuation that reads one segment of a stream with this `icy-metaint`: `metaint` audio bytes, a
/// length byte `k`, and `16·k` bytes of metadata whose NUL padding is removed.
///
/// It is a continuation, not a step, because a segment starts with whatever bytes come next: give it to a
/// ``StreamParser`` to read segment after segment.
public func segment(metaint: Int) -> Continuation<Segment> {
    let start = SegmentState(audioNeeded: metaint)
    return Continuation { bytes in start.read(bytes) }
}

/// What a segment parse has learned between two reads.
struct SegmentState: Sendable {
    var audioNeeded: Int
    var audio: [UInt8] = []
    /// Metadata bytes still to come; `nil` until the length byte has been read.
    var metadataNeeded: Int?
    var metadata: [UInt8] = []

    func read(_ input: ArraySlice<UInt8>) -> Parse<Segment> {
        var state = self
        var bytes = input
        let audio = bytes.prefix(state.audioNeeded)
        state.audio += audio
        state.audioNeeded -= audio.count
        bytes = bytes.dropFirst(audio.count)
        if state.audioNeeded > 0 { return state.more }
        if state.metadataNeeded == nil {
            guard let k = bytes.first else { return state.more }
            state.metadataNeeded = Int(k) * 16
            bytes = bytes.dropFirst()
        }
        let text = bytes.prefix(state.metadataNeeded!)
        state.metadata += text
        state.metadataNeeded! -= text.count
        bytes = bytes.dropFirst(text.count)
        if state.metadataNeeded! > 0 { return state.more }
        if let end = state.metadata.firstIndex(of: 0) { state.metadata.removeSubrange(end...) }
        return .done(Segment(audio: state.audio, metadata: state.metadata), rest: bytes)
    }

    private var more: Parse<Segment> {
        .more(Continuation { [self] next in read(next) })
    }
}

extension Substring {
    /// Without the spaces and tabs at both ends.
    func trimmingBlanks() -> String {
        let blank: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let start = firstIndex(where: { !blank($0) }), let end = lastIndex(where: { !blank($0) }) else { return "" }
        return String(self[start...end])
    }
}
