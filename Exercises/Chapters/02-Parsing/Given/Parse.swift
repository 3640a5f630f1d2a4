// Chapter 2 — Parsing with continuations. Given: the shape of a parse step, the values it produces, and the
// loop that drives it. Read it first; your parsers (in Starter/) return these types.
//
// The names are Casty's own (`Parse`, `Continuation`, `IcyError`, `StreamParser` in Sources/Icy), so what you
// write here reads like the real parser, and the real one like yours.

/// Everything a parser can object to: the cases of Casty's `Icy.IcyError` that these parsers meet, plus one
/// for the exercise.
public enum IcyError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A line longer than `limit` (``maxLineBytes``), noticed before its end arrives.
    case lineTooLong(limit: Int)
    /// A request line that is not `METHOD path version`, or whose version is no HTTP at all.
    case malformedRequestLine(String)
    /// A status line that is not `version code reason` (`ICY 200 OK`, `HTTP/1.0 200 OK`), or whose version is
    /// neither `ICY` nor an HTTP.
    case malformedStatusLine(String)
    /// A request whose method these parsers do not serve: anything but `GET` and `HEAD`, such as `FETCH`.
    case unsupportedMethod(String)
    /// A request or reply in an HTTP other than `HTTP/1.0` and `HTTP/1.1`, such as `HTTP/2.0`.
    case unsupportedVersion(String)
    /// A header line without a `:` or with an empty name.
    case malformedHeader(String)
    /// An `icy-metaint` that is not a whole number in 1…1,048,576.
    case invalidMetaint(String)
    /// A reply with a status other than 200, such as 404.
    case status(code: Int, reason: String)
    /// A hole of the exercise that is still empty, named: `notImplemented("head(_:)")`.
    case notImplemented(String)

    /// One line that names the problem (as Casty's `IcyError` does) — for a hole, which function to write and
    /// where, so that a check that fails on it says so.
    public var description: String {
        switch self {
        case .lineTooLong(let limit): "line longer than \(limit) bytes"
        case .malformedRequestLine(let line): "malformed request line: \(line.debugDescription)"
        case .malformedStatusLine(let line): "not an ICY or HTTP status line: \(line.debugDescription)"
        case .malformedHeader(let line): "malformed header line: \(line.debugDescription)"
        case .unsupportedMethod(let method): "unsupported method \(method.debugDescription)"
        case .unsupportedVersion(let version): "unsupported protocol version \(version.debugDescription)"
        case .invalidMetaint(let value): "icy-metaint must be a whole number from 1 to 1048576, got \(value.debugDescription)"
        case .status(let code, let reason): "server answered \(code) \(reason)"
        case .notImplemented(let hole): "\(hole) is still empty: write it (Chapter 2, Starter/Parsers.swift)"
        }
    }
}

/// The longest line a parser keeps, in bytes (without its line ending). A peer that sends more without a
/// line break is refused, so it cannot make us store bytes without bound.
public let maxLineBytes = 8192

/// The outcome of one parse step.
///
/// Bytes come from the network in pieces of any size: a request can arrive one byte at a time, or together
/// with the audio after it. So a parser never says "give me a line"; it looks at the bytes it has and says
/// one of three things:
///
/// - ``done(_:rest:)``: here is the value, and here are the bytes after it (they belong to whatever comes next);
/// - ``more(_:)``: I need more bytes — call this continuation with them, I will carry on where I stopped;
/// - ``failed(_:)``: these bytes can never become the value.
public enum Parse<Value: Sendable>: Sendable {
    /// A complete value, and the bytes that came after it.
    case done(Value, rest: ArraySlice<UInt8>)
    /// Not enough bytes yet: call the continuation with the next ones.
    case more(Continuation<Value>)
    /// The bytes are wrong.
    case failed(IcyError)
}

/// The rest of an unfinished parse: a closure that remembers everything the parse had learned so far.
///
/// It is a value like any other: store it in an actor's property until the next read arrives, call it
/// then, and drop it if the connection closes. Calling the same continuation twice with different bytes
/// gives two independent results, because it captured a copy of the parser's state, not a reference to it.
public struct Continuation<Value: Sendable>: Sendable {
    private let resume: @Sendable (ArraySlice<UInt8>) -> Parse<Value>

    /// Wraps the closure that continues the parse.
    public init(_ resume: @escaping @Sendable (ArraySlice<UInt8>) -> Parse<Value>) {
        self.resume = resume
    }

    /// Continues the parse with the next bytes.
    public func callAsFunction(_ bytes: ArraySlice<UInt8>) -> Parse<Value> {
        resume(bytes)
    }

    /// Continues the parse with the next bytes.
    public func callAsFunction(_ bytes: [UInt8]) -> Parse<Value> {
        resume(bytes[...])
    }
}

extension Parse {
    /// Turns the finished value into another one (or into a failure), and passes `more` and `failed` through.
    ///
    /// When the step is `more`, the result is `more` too, with a continuation that applies the same
    /// transformation once the value is finally done: this is how `request` and `reply` are built on `head`.
    public func map<Other>(_ transform: @escaping @Sendable (Value) -> Result<Other, IcyError>) -> Parse<Other> {
        switch self {
        case .done(let value, let rest):
            switch transform(value) {
            case .success(let other): .done(other, rest: rest)
            case .failure(let error): .failed(error)
            }
        case .more(let next):
            .more(Continuation { bytes in next(bytes).map(transform) })
        case .failed(let error):
            .failed(error)
        }
    }
}

/// One `name: value` header line.
public struct Header: Sendable, Equatable {
    /// The name as written.
    public var name: String
    /// The value, without the spaces around it.
    public var value: String

    /// Makes a header line.
    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

/// A head: the first line of a request or reply, and the header lines after it.
public struct Head: Sendable, Equatable {
    /// The first line, without its line ending.
    public var first: String
    /// The header lines, in order.
    public var headers: [Header]

    /// Makes a head.
    public init(first: String, headers: [Header]) {
        self.first = first
        self.headers = headers
    }

    /// The value of the first header with this name, ignoring case (`Icy-MetaData` = `icy-metadata`).
    public subscript(name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }
}

/// What a listener asks for: `GET /live HTTP/1.0` and its headers.
public struct Request: Sendable, Equatable {
    /// `GET` or `HEAD`.
    public var method: String
    /// The path, such as `/live`.
    public var path: String
    /// `HTTP/1.0` or `HTTP/1.1`.
    public var version: String
    /// Whether the listener sent `Icy-MetaData: 1`, asking for titles.
    public var wantsMetadata: Bool

    /// Makes a request.
    public init(method: String, path: String, version: String, wantsMetadata: Bool) {
        self.method = method
        self.path = path
        self.version = version
        self.wantsMetadata = wantsMetadata
    }
}

/// What a server answers: a 200 with the station's headers.
public struct Reply: Sendable, Equatable {
    /// The head as it came.
    public var head: Head
    /// `icy-metaint`: audio bytes between two metadata blocks, or `nil` for a stream without titles.
    public var metaint: Int?

    /// Makes a reply.
    public init(head: Head, metaint: Int?) {
        self.head = head
        self.metaint = metaint
    }
}

/// One segment of a stream with `icy-metaint`: the audio, then the metadata text without its NUL padding.
public struct Segment: Sendable, Equatable {
    /// `icy-metaint` bytes of audio.
    public var audio: [UInt8]
    /// The metadata text (`StreamTitle='…';`), or empty when the block said "no change".
    public var metadata: [UInt8]

    /// Makes a segment.
    public init(audio: [UInt8], metadata: [UInt8]) {
        self.audio = audio
        self.metadata = metadata
    }
}

/// The loop every reader of a stream needs: feed it each read; it finishes as many values as the bytes hold,
/// and keeps the continuation of the unfinished one for the next read.
public struct StreamParser<Value: Sendable>: Sendable {
    private let start: Continuation<Value>
    private var next: Continuation<Value>

    /// A parser that starts `start` again after each value.
    public init(_ start: Continuation<Value>) {
        self.start = start
        self.next = start
    }

    /// Feeds one read; returns the values it completed, in order.
    public mutating func feed(_ bytes: [UInt8]) throws(IcyError) -> [Value] {
        var values: [Value] = []
        var bytes = bytes[...]
        while true {
            switch next(bytes) {
            case .done(let value, let rest):
                values.append(value)
                next = start
                if rest.isEmpty { return values }
                bytes = rest
            case .more(let continuation):
                next = continuation
                return values
            case .failed(let error):
                throw error
            }
        }
    }
}
