public import CastyNet
public import Icy

/// One HTTP call to an application — a key check, an event — on the event loop, awaited without blocking it.
///
/// `POST` with the given headers and body, `Connection: close`, then the answer read until the server closes
/// or its `Content-Length` is in: the status code, the headers and a body of at most `limit` bytes. Everything
/// is bounded — the time (`timeout`, for connecting and answering together), the head (16 KiB) and the body — so
/// an application that answers garbage, sends a huge body or never closes costs a refusal, not memory. A caller
/// that needs only the status and the headers (an event's delivery) passes a `bodyGrace`: once the head is in, the
/// body is waited for that long at most and taken as it came — cut at `limit`, cut short, late or never ending —,
/// for an application whose `200` carries a page, or flushes its head and then holds its body, is not wrong.
/// A caller for which some heads decide on their own (a refusal's status: ``post(_:headers:body:loop:timeout:limit:bodyGrace:decidedByHead:)``)
/// is answered as soon as such a head is in, whatever becomes of its body.
public enum HTTPCall {
    /// What the application answered.
    public struct Answer: Sendable, Equatable {
        /// The status code: `200`, `403`, ….
        public let status: Int
        /// The answer's headers.
        public let headers: Headers
        /// The body (at most the call's limit: with a `bodyGrace`, its first `limit` bytes, or what came in time).
        public let body: [UInt8]
    }

    /// The most bytes of an answer's head (its blank line included), however it arrives: in one read or in pieces.
    public static let headLimit = 16 * 1024

    /// Posts `body` to `url` with `headers` and returns the answer.
    /// - Throws: ``CastyError`` when the application cannot be reached, answers too late, or answers something
    ///   that is not HTTP (or too long: a body past `limit`, unless `bodyGrace` is given); it names `url` without
    ///   its query (``StreamURL/shown``), which may hold a token.
    /// - Parameter bodyGrace: `nil` to read the whole body (within `limit` and `timeout`, or fail); else only the
    ///   head counts, and the body is read for at most this long after it (and the call's `timeout`), its first
    ///   `limit` bytes kept — whatever becomes of the rest, the answer stands.
    /// - Parameter decidedByHead: whether an answer's status and headers decide it alone (a refusal, whose status
    ///   says all): such an answer is returned as soon as its head is in, with what came of its body by then (at
    ///   most `limit` bytes) — a body that is slow, never ends, is too long or cut short changes nothing. Any
    ///   other answer is read as `bodyGrace` says.
    public static func post(
        _ url: StreamURL, headers: Headers = [:], body: [UInt8] = [], loop: EventLoop = .shared,
        timeout: Duration = .seconds(5), limit: Int = 64 * 1024, bodyGrace: Duration? = nil,
        decidedByHead: @escaping @Sendable (_ status: Int, _ headers: Headers) -> Bool = { _, _ in false }
    ) async throws(CastyError) -> Answer {
        let started = ContinuousClock.now
        let connection: Connection
        do {
            connection = try await Upstream.connect(url, loop: loop, timeout: timeout)
        } catch .network(_, let cause) {
            throw .network(url.shown, cause)
        }
        var head = "POST \(url.path) HTTP/1.1\r\nHost: \(url.authority)\r\nUser-Agent: Casty\r\nConnection: close\r\n"
            + "Content-Length: \(body.count)\r\n"
        var headers = headers
        if let authorization = url.authorization, headers["Authorization"] == nil { headers["Authorization"] = authorization }
        // A value holds what strangers sent (a source's key): a line break in it would start a header, or a request,
        // of theirs. Control characters go (a line break becomes a space), as in the headers passed on to listeners.
        for field in headers.fields { head += "\(field.name): \(SafeText.printable(field.value))\r\n" }
        let request = Array((head + "\r\n").utf8) + body
        let remaining = timeout - (ContinuousClock.now - started)
        let result: Result<Answer, CastyError> = await withCheckedContinuation { continuation in
            loop.execute {
                AnswerReader(connection: connection, url: url.shown, limit: limit, grace: bodyGrace, decidedByHead: decidedByHead) { continuation.resume(returning: $0) }
                    .start(request: request, timeout: timeout, remaining: max(remaining, .milliseconds(1)))
            }
        }
        return try result.get()
    }
}

/// Reads one answer on the loop. Loop-confined.
///
/// Each read is looked at once: the head's end is searched for only in the bytes not searched yet, the head is
/// read once, and a chunked body is decoded as it comes — an application that answers a byte at a time costs
/// as little as one that answers at once.
private final class AnswerReader: @unchecked Sendable {
    private let connection: Connection
    private let url: StreamURL
    private let limit: Int
    /// How long the body is waited for once the head is in, when only the head counts (`nil`: the whole body is
    /// needed). With it, a body longer than `limit` is taken cut at `limit`, and one cut short or late as it came.
    private let grace: Duration?
    /// Whether a head decides its answer alone: the answer is then taken as soon as its head is in.
    private let decidedByHead: @Sendable (Int, Headers) -> Bool
    /// When the call's time is over (the timer's instant).
    private var deadline = ContinuousClock.now
    private var bytes: [UInt8] = []
    /// Where the search for the head's end stopped.
    private var searched = 0
    /// The head, once read: where the body starts (after its blank line), the status and the headers.
    private var head: (bodyStart: Int, status: Int, headers: Headers)?
    /// A chunked body's decoder, where it stopped, and the payload so far.
    private var chunks: (decoder: ChunkedDecoder, decoded: Int, payload: [UInt8])?
    private var timer: Scheduled?
    private var done: ((Result<HTTPCall.Answer, CastyError>) -> Void)?

    init(
        connection: Connection, url: StreamURL, limit: Int, grace: Duration?, decidedByHead: @escaping @Sendable (Int, Headers) -> Bool,
        done: @escaping (Result<HTTPCall.Answer, CastyError>) -> Void
    ) {
        self.connection = connection
        self.url = url
        self.limit = limit
        self.grace = grace
        self.decidedByHead = decidedByHead
        self.done = done
    }

    /// Sends `request` and reads the answer; without one when `remaining` (of the call's `timeout`, which the
    /// connect used the rest of) is over, the call fails, saying `timeout` — and, if the head came, that the body
    /// is what did not end.
    func start(request: [UInt8], timeout: Duration, remaining: Duration) {
        deadline = ContinuousClock.now + remaining
        timer = connection.loop.schedule(after: remaining) { [self] in
            finish(.failure(head.map { .bodyUnended(url, status: $0.status, after: timeout) } ?? .noReply(url, after: timeout)))
        }
        connection.onRead = { [self] more in received(more) }
        connection.onClose = { [self] error in
            // A reset after the head, when only the head counts, ends the body, not the answer.
            if grace != nil, error != nil, let answer = bodySoFar() { return finish(.success(answer)) }
            if let error { return finish(.failure(.network(url, error))) }
            finish(parse(complete: true) ?? .failure(.cutInHead(url, received: bytes.count)))
        }
        connection.write(request)
    }

    /// Each read is parsed at once: past the head's bound or the body's, the answer is over (refused, or cut), so
    /// what is held never passes both bounds by more than a read.
    private func received(_ more: [UInt8]) {
        let waited = head != nil
        bytes += more
        if let answer = parse(complete: false) { return finish(answer) }
        if !waited, head != nil { headArrived() }
    }

    /// When only the head counts: the call's timer becomes the body's grace (never past the call's time), at whose
    /// end the answer is what came.
    private func headArrived() {
        guard let grace, head != nil else { return }
        timer?.cancel()
        let left = deadline - ContinuousClock.now
        timer = connection.loop.schedule(after: max(.zero, min(grace, left))) { [self] in
            if let answer = bodySoFar() { finish(.success(answer)) }
        }
    }

    /// The answer with the body read so far (a chunked body's payload), its first `limit` bytes; `nil` before the head.
    private func bodySoFar() -> HTTPCall.Answer? {
        guard let (bodyStart, status, headers) = head else { return nil }
        let body = headers["Transfer-Encoding"] == nil ? Array(bytes[bodyStart...]) : chunks?.payload ?? []
        return .init(status: status, headers: headers, body: Array(body.prefix(limit)))
    }

    /// The answer for a body found longer than the limit: a refusal (which a call that needs only the head turns
    /// into the answer cut at `limit`, in ``parse(complete:)``).
    private func tooLong() -> Result<HTTPCall.Answer, CastyError> {
        .failure(.answerTooLarge(url, limit: limit))
    }

    /// The answer once its head and whole body (per `Content-Length`, or the close) are in; `nil` while more is
    /// to come. When only the head counts (`grace`), a body that fails — too long, cut short, badly framed —
    /// leaves the answer with what came of it; when the head decides alone (`decidedByHead`), the answer is what
    /// came as soon as the head is in.
    private func parse(complete: Bool) -> Result<HTTPCall.Answer, CastyError>? {
        let result = parseWhole(complete: complete)
        if case .success = result { return result }
        guard let (_, status, headers) = head else { return result }
        let failed = if case .failure = result { true } else { false }
        if decidedByHead(status, headers) || (grace != nil && failed), let answer = bodySoFar() { return .success(answer) }
        return result
    }

    /// The answer once its head and whole body are in, or why there is none; `nil` while more is to come.
    private func parseWhole(complete: Bool) -> Result<HTTPCall.Answer, CastyError>? {
        // One head per turn: interim answers are dropped until the final one, however many came in one read (a
        // loop, not a call per interim answer: thousands of them in 64 KiB would exhaust the stack).
        while head == nil {
            // The bound holds however the head arrives: in pieces (no blank line yet, and already past it), or
            // whole in one read (its blank line found past it). Each interim answer's head is bounded alike.
            let found = headEnd()
            guard let (end, bodyStart) = found, bodyStart <= HTTPCall.headLimit else {
                if found != nil || bytes.count > HTTPCall.headLimit {
                    return .failure(.notAStream(url, .headersTooLarge(limit: HTTPCall.headLimit)))
                }
                return complete ? .failure(.cutInHead(url, received: bytes.count)) : nil
            }
            // Lines end with CRLF, or a bare LF, which RFC 9112 §2.2 lets a recipient take (hand-written applications send it).
            let lines = bytes[..<end].split(separator: 10, omittingEmptySubsequences: false).map { line in
                String(decoding: line.last == 13 ? line.dropLast() : line, as: UTF8.self)
            }
            let statusWords = lines.first?.split(separator: " ", maxSplits: 2) ?? []
            // `ICY 200 OK` is taken as HTTP/1.0, as libcurl (Icecast's URL auth) takes it.
            guard statusWords.count >= 2, statusWords[0].hasPrefix("HTTP/1.") || statusWords[0] == "ICY",
                  let status = StatusLine.code(statusWords[1].utf8),
                  (100...599).contains(status) else {
                return .failure(.notAStream(url, .malformedStatusLine(SafeText.logLine(String((lines.first ?? "").prefix(80))))))
            }
            // Every line kept, in order: a header the application sent twice is read as a whole (`icecast-auth-user`:
            // any line of `1` admits, as in Icecast), and two lengths that disagree frame no answer.
            var headers = Headers()
            for line in lines.dropFirst() where !line.isEmpty {
                guard let colon = line.firstIndex(of: ":") else { continue }
                headers.add(name: String(line[..<colon]), value: String(line[line.index(after: colon)...].withoutBlanks))
            }
            // An interim answer (`100 Continue`, `103 Early Hints`) comes before the final one (RFC 9110 §15.2).
            if status < 200 {
                bytes.removeSubrange(..<bodyStart)
                searched = 0
                continue
            }
            head = (bodyStart, status, headers)
        }
        guard let (bodyStart, status, headers) = head else { return nil }
        let body = bytes[bodyStart...]
        if headers["Transfer-Encoding"] != nil {
            // Its codings in the order applied, over as many lines as they came in (RFC 9110 §5.3).
            return chunked(body, coding: headers.values("Transfer-Encoding").joined(separator: ","), status: status, headers: headers, complete: complete)
        }
        if let text = headers["Content-Length"] {
            let texts = headers.values("Content-Length")
            guard let length = ContentLength.value(text), texts.allSatisfy({ ContentLength.value($0) == length }) else {
                return .failure(.badLength(url, texts.joined(separator: ", ")))
            }
            if length > limit {
                if grace == nil || body.count >= limit { return tooLong() }
                return complete ? .failure(.cutShort(url, length: length, received: body.count)) : nil
            }
            if body.count >= length { return .success(.init(status: status, headers: headers, body: Array(body.prefix(length)))) }
            // Closed before the length it announced: a cut answer is not the application's word.
            if complete { return .failure(.cutShort(url, length: length, received: body.count)) }
        }
        if body.count > limit { return tooLong() }
        return complete ? .success(.init(status: status, headers: headers, body: Array(body))) : nil
    }

    /// The answer of a body sent with `Transfer-Encoding: chunked` (an application that wrote it before knowing its
    /// length — Node's `res.write`, Go's `Flush` — answers an HTTP/1.1 call so even with `Connection: close`): once
    /// its last chunk is in, the payload, bounded by the call's limit; `nil` while more is to come. Any other coding
    /// (gzip, which Casty never asks for) is refused.
    private func chunked(
        _ body: ArraySlice<UInt8>, coding: String, status: Int, headers: Headers, complete: Bool
    ) -> Result<HTTPCall.Answer, CastyError>? {
        guard coding.lowercased().split(separator: ",").map(\.withoutBlanks) == ["chunked"] else {
            return .failure(.notAStream(url, .unsupportedTransferEncoding(SafeText.logLine(String(coding.prefix(80))))))
        }
        var (decoder, decoded, payload) = chunks ?? (ChunkedDecoder(), body.startIndex, [])
        do {
            for piece in try decoder.decode(bytes[decoded...]) { payload += piece }
        } catch {
            return .failure(.badChunks(url, error.description))
        }
        chunks = (decoder, bytes.endIndex, payload)
        if payload.count > limit { return tooLong() }
        if decoder.finished { return .success(.init(status: status, headers: headers, body: payload)) }
        return complete ? .failure(.badChunks(url, "closed before its last chunk")) : nil
    }

    /// Where the head ends and its body starts, around its blank line (`CRLF CRLF`, or bare LFs), searching only the
    /// bytes not searched before (and the three before them, where a blank line cut by a read began).
    /// Asked again with no new bytes (the close after the last read), it finds nothing new.
    private func headEnd() -> (end: Int, bodyStart: Int)? {
        let first = max(0, searched - 3)
        guard bytes.count >= 2, first <= bytes.count - 2 else { return nil }
        defer { searched = bytes.count }
        // The blank line: an LF, then an LF (or CR LF); the head ends before the first LF (and its CR, if any).
        for index in first...(bytes.count - 2) where bytes[index] == 10 {
            let next = bytes[index + 1] == 10 ? index + 2 : bytes[index + 1] == 13 && index + 2 < bytes.count && bytes[index + 2] == 10 ? index + 3 : nil
            guard let bodyStart = next else { continue }
            return (index > 0 && bytes[index - 1] == 13 ? index - 1 : index, bodyStart)
        }
        return nil
    }

    private func finish(_ result: Result<HTTPCall.Answer, CastyError>) {
        guard let done else { return }
        self.done = nil
        timer?.cancel()
        connection.onRead = nil
        connection.onClose = nil
        connection.close()
        done(result)
    }
}
