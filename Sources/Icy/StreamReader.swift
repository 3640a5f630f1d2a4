/// Reads everything a server sends a listener: the reply's head, then the audio as segments.
///
/// A listener's connection carries, in order, the reply (`ICY 200 OK` and headers, or a redirect) and then
/// the stream, cut by `icy-metaint` into audio and metadata blocks. Reads from the socket split all of that
/// anywhere. Give the reader each read as it arrives, and it hands back *events*, in order:
///
/// 1. ``Event/head(_:_:)`` once, when the reply says `200` and its headers are complete;
/// 2. ``Event/segment(_:)`` for every segment after it — or, instead of both, one ``Event/redirect(_:location:_:)``,
///    after which the reader ignores whatever else comes.
///
/// ```swift
/// var reader = StreamReader()
/// for read in reads {
///     try reader.feed(read) { event in
///         switch event {
///         case .head(let status, let headers): print(status, headers["icy-name"] ?? "")
///         case .redirect(_, let location, _):  print("moved to", location)
///         case .segment(let segment):          play(segment.audio)
///         }
///     }
/// }
/// ```
///
/// The callback may throw: with `try` inside, `feed` throws whatever it threw or the reader's ``IcyError``;
/// to keep typed errors, pass `failing:` to turn the reader's ``IcyError`` into yours.
/// Or pull the events one at a time, which lets you stop after the head and hand the reader — with the bytes
/// that came after the head still in it — to whatever reads the audio:
///
/// ```swift
/// reader.append(read)
/// while let event = try reader.next() { … }
/// ```
///
/// **Audio as it arrives.** By default a segment is handed on once its whole `icy-metaint` block and metadata are in:
/// with Icecast's default of 16,000 bytes, one event a second at 128 kbit/s. A relay that wants to pass audio on
/// as it comes makes the reader with `audioAsItArrives: true`: then each read's audio is handed on at once, as a
/// ``Segment`` with audio only and no block (``Segment/lengthByte`` `nil`), and each metadata block as a segment
/// with no audio and its block. The bytes, in order, are the same either way.
///
/// A reader is a value: copy it and both copies go on independently. It never copies audio (segments hold
/// slices of the reads) and never buffers more than ``IcyLimits`` allow. Once it has failed, it stays failed
/// and throws the same error again.
public struct StreamReader: Sendable {
    /// What the reader found in the bytes. Two events are equal when they say the same (segments compare as
    /// ``Segment``'s `==` does).
    public enum Event: Sendable, Equatable {
        /// The reply said `200` (as `ICY 200 OK` or `HTTP/1.x 200 OK`): its status line and headers.
        /// Segments follow.
        case head(StatusLine, Headers)
        /// The reply is a redirect (`301`, `302`, `303`, `307` or `308`): ask again at `location`. Nothing
        /// follows; the reader ignores any further bytes.
        case redirect(StatusLine, location: String, Headers)
        /// One segment of the stream: `icy-metaint` audio bytes and the metadata block after them (or, without
        /// `icy-metaint`, a piece of audio of the chosen size).
        case segment(Segment)
    }

    /// Where the reader stands.
    private enum State: Sendable {
        /// Reading the reply's head; `nil` until the first bytes arrived.
        case head(Continuation<Reply>?)
        /// Reading segments: `start` begins each segment, `next` continues the current one.
        case segments(start: Continuation<Segment>, next: Continuation<Segment>)
        /// Handing audio on as it arrives: `audioLeft` bytes of audio before the next metadata block (of a stream
        /// with `metaint`), or the block being read (`block`).
        case pieces(metaint: Int?, audioLeft: Int, block: Continuation<Segment>?)
        /// After a redirect: nothing more to read.
        case finished
        /// The bytes broke the protocol.
        case failed(IcyError)
    }

    private var state: State
    /// Whether a metadata block's length byte is taken as true even when the bytes after its text and NUL padding
    /// look like audio (``MetadataFault/lengthLied(declared:actual:)`` is then never found), for a reader that
    /// hands audio on as it arrives. A server that pads its blocks with stale binary bytes after the NULs looks
    /// like one whose length byte lied; a relay that found a block so read put it out of step sets this, and
    /// reads that server's blocks whole.
    public var trustsLengthBytes = false
    private let segmentBytes: Int
    private let audioAsItArrives: Bool
    /// Bytes given to the reader that it has not looked at yet: after ``next()`` returned
    /// ``Event/head(_:_:)``, the first bytes of the stream (or of the body, for a reply that is not audio).
    public private(set) var unread: ArraySlice<UInt8> = []

    /// A reader for a server's reply and the stream after it.
    ///
    /// - Parameters:
    ///   - segmentBytes: the size of the segments a stream without `icy-metaint` is cut into.
    ///   - audioAsItArrives: hand each read's audio on at once, and each metadata block on its own, rather than
    ///     whole segments.
    public init(segmentBytes: Int = 8192, audioAsItArrives: Bool = false) {
        self.state = .head(nil)
        self.segmentBytes = segmentBytes
        self.audioAsItArrives = audioAsItArrives
    }

    /// A reader for a stream whose reply was read already (or that has none): segments from the first byte.
    ///
    /// - Parameters:
    ///   - metaint: the reply's `icy-metaint`, or `nil` for audio only.
    ///   - segmentBytes: the size of the segments a stream without `icy-metaint` is cut into.
    ///   - audioAsItArrives: hand each read's audio on at once, and each metadata block on its own.
    /// - Precondition: `metaint` is in ``IcyLimits/metaintRange``, as ``Headers/metaint()`` checks a reply's.
    public init(metaint: Int?, segmentBytes: Int = 8192, audioAsItArrives: Bool = false) {
        checkMetaint(metaint)
        self.segmentBytes = segmentBytes
        self.audioAsItArrives = audioAsItArrives
        self.state = .head(nil)
        self.state = streamState(metaint: metaint)
    }

    /// Whether the head has been read and the reader is cutting the stream into segments.
    public var isReadingSegments: Bool {
        switch state {
        case .segments, .pieces: true
        case .head, .finished, .failed: false
        }
    }

    /// Where reading the stream starts, once the head is known.
    private func streamState(metaint: Int?) -> State {
        if audioAsItArrives { return .pieces(metaint: metaint, audioLeft: metaint ?? 0, block: nil) }
        let start = segments(metaint: metaint, segmentBytes: segmentBytes)
        return .segments(start: start, next: start)
    }

    /// Adds a read, to be taken apart by ``next()``. Adding to bytes not read yet copies them into one buffer;
    /// ``feed(_:_:)`` never needs to.
    public mutating func append(_ bytes: ArraySlice<UInt8>) {
        switch state {
        case .finished, .failed: return  // nothing more is read: kept, they would only pile up
        case .head, .segments, .pieces: break
        }
        if unread.isEmpty { unread = bytes } else { unread = (Array(unread) + bytes)[...] }
    }

    /// Adds a read, to be taken apart by ``next()``.
    public mutating func append(_ bytes: [UInt8]) {
        append(bytes[...])
    }

    /// The next event in the bytes added so far, or `nil` when they hold no complete one (add the next read).
    ///
    /// - Throws: ``IcyError`` when the bytes are not an ICY stream: a status other than `200` or a redirect,
    ///   a malformed head, conflicting `icy-metaint` headers, a `Transfer-Encoding`, or input over the
    ///   ``IcyLimits``. The reader stays failed.
    public mutating func next() throws(IcyError) -> Event? {
        switch state {
        case .failed(let error):
            throw error
        case .finished:
            unread = []
            return nil
        case .head(let step):
            guard !unread.isEmpty else { return nil }
            let bytes = take()
            switch step.map({ $0(bytes) }) ?? reply(bytes, segmentBytes: segmentBytes) {
            case .more(let continuation):
                state = .head(continuation)
                return nil
            case .failed(let error):
                state = .failed(error)
                throw error
            case .done(.ok(let status, let headers, let data), let rest):
                // The reply's metaint was read and checked by `reply`: asking again cannot fail.
                state = audioAsItArrives ? streamState(metaint: (try? headers.metaint()) ?? nil) : .segments(start: data, next: data)
                unread = rest
                return .head(status, headers)
            case .done(.redirect(let status, let location, let headers), _):
                state = .finished
                return .redirect(status, location: location, headers)
            }
        case .segments(let start, let next):
            guard !unread.isEmpty else { return nil }
            switch next(take()) {
            case .more(let continuation):
                state = .segments(start: start, next: continuation)
                return nil
            case .failed(let error):
                state = .failed(error)
                throw error
            case .done(let segment, let rest):
                state = .segments(start: start, next: start)
                if !rest.isEmpty { unread = rest }
                return .segment(segment)
            }
        case .pieces(let metaint, let audioLeft, let block):
            guard !unread.isEmpty else { return nil }
            // Audio only: each read as it came.
            guard let metaint else { return .segment(Segment(audio: [take()])) }
            if audioLeft > 0 {
                let piece = unread.prefix(audioLeft)
                unread = unread.dropFirst(piece.count)
                state = .pieces(metaint: metaint, audioLeft: audioLeft - piece.count, block: nil)
                return .segment(Segment(audio: [piece]))
            }
            switch (block ?? metadataBlock(metaint: metaint, trustingLength: trustsLengthBytes))(take()) {
            case .more(let continuation):
                state = .pieces(metaint: metaint, audioLeft: 0, block: continuation)
                return nil
            case .failed(let error):
                state = .failed(error)
                throw error
            case .done(let segment, let rest):
                state = .pieces(metaint: metaint, audioLeft: metaint, block: nil)
                if !rest.isEmpty { unread = rest }
                return .segment(segment)
            }
        }
    }

    /// Feeds a read: calls `body` with every event it completes, in order.
    ///
    /// - Throws: the ``IcyError`` that stopped the reader, or the error `body` threw (the reader then
    ///   resumes after that event on the next call).
    public mutating func feed(_ bytes: ArraySlice<UInt8>, _ body: (Event) throws(IcyError) -> Void) throws(IcyError) {
        try feed(bytes, failing: { $0 }, body)
    }

    /// Feeds a read: calls `body` with every event it completes, in order.
    public mutating func feed(_ bytes: [UInt8], _ body: (Event) throws(IcyError) -> Void) throws(IcyError) {
        try feed(bytes[...], failing: { $0 }, body)
    }

    /// Feeds a read: calls `body`, which may throw any error, with every event it completes, in order.
    ///
    /// Swift gives a closure with `try` in it the type `throws(any Error)`, so such a callback lands here; to
    /// keep typed errors, write `{ event throws(IcyError) in … }`, or pass `failing:`.
    ///
    /// - Throws: the ``IcyError`` that stopped the reader, or the error `body` threw (the reader then resumes
    ///   after that event on the next call).
    public mutating func feed(_ bytes: ArraySlice<UInt8>, _ body: (Event) throws -> Void) throws {
        try feed(bytes, failing: { $0 as any Error }, body)
    }

    /// Feeds a read: calls `body`, which may throw any error, with every event it completes, in order.
    public mutating func feed(_ bytes: [UInt8], _ body: (Event) throws -> Void) throws {
        try feed(bytes[...], failing: { $0 as any Error }, body)
    }

    /// Feeds a read: calls `body`, which may throw your own `Failure`, with every event it completes, in order.
    ///
    /// ```swift
    /// try reader.feed(read, failing: { MyError.notAStream($0) }) { event throws(MyError) in … }
    /// ```
    ///
    /// - Parameter wrap: turns the reader's ``IcyError`` into a `Failure`.
    /// - Throws: the wrapped ``IcyError`` that stopped the reader, or the error `body` threw (the reader then
    ///   resumes after that event on the next call).
    public mutating func feed<Failure: Error>(
        _ bytes: ArraySlice<UInt8>, failing wrap: (IcyError) -> Failure, _ body: (Event) throws(Failure) -> Void
    ) throws(Failure) {
        append(bytes)
        while true {
            let event: Event?
            do {
                event = try next()
            } catch {
                throw wrap(error)
            }
            guard let event else { return }
            try body(event)
        }
    }

    /// Feeds a read: calls `body`, which may throw your own `Failure`, with every event it completes, in order.
    public mutating func feed<Failure: Error>(
        _ bytes: [UInt8], failing wrap: (IcyError) -> Failure, _ body: (Event) throws(Failure) -> Void
    ) throws(Failure) {
        try feed(bytes[...], failing: wrap, body)
    }

    /// Takes the unread bytes, leaving none.
    private mutating func take() -> ArraySlice<UInt8> {
        defer { unread = [] }
        return unread
    }
}

extension StreamReader.Event: CustomStringConvertible {
    /// One line for a log: `head: ICY 200 OK with 3 headers`, `redirect: … to "http://…"`, `segment: …`.
    public var description: String {
        switch self {
        case .head(let status, let headers): "head: \(status) with \(headers.count) header\(headers.count == 1 ? "" : "s")"
        case .redirect(let status, let location, _): "redirect: \(status) to \(quoted(location, limit: 200))"
        case .segment(let segment): "segment: \(segment)"
        }
    }
}
