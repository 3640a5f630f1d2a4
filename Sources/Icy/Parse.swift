/// The outcome of one parse step: the Swift form of the textbook's `{ok, Parsed, Rest}`, `{more, Cont}` and
/// `{error, E}`.
///
/// Bytes arrive from the network in pieces of any size. A parse step looks at the bytes it was given and
/// either finishes a value, or says it needs more and hands back a ``Continuation`` that remembers where
/// it stopped, or fails with a typed ``IcyError``:
///
/// ```swift
/// switch request(bytes) {
/// case .done(let request, let rest): serve(request); keep(rest)   // rest: bytes after the request
/// case .more(let next):              later: next(moreBytes)        // resumes, never rescans
/// case .failed(let error):           reply400(error)
/// }
/// ```
public enum Parse<Value: Sendable>: Sendable {
    /// A complete value, and the bytes that followed it (the start of whatever comes next).
    case done(Value, rest: ArraySlice<UInt8>)
    /// The bytes ran out before the value was complete; call the continuation with the next bytes.
    case more(Continuation<Value>)
    /// The bytes cannot be what was expected; the error says why.
    case failed(IcyError)
}

/// The rest of an unfinished parse step: call it with the next bytes that arrived.
///
/// A continuation is a value: it holds everything the step had learned so far (how far it got, the part of a
/// line it has read), so it resumes exactly where it stopped and never looks at old bytes again. Calling
/// the same continuation twice with different bytes gives two independent results.
public struct Continuation<Value: Sendable>: Sendable {
    private let step: @Sendable (ArraySlice<UInt8>) -> Parse<Value>

    /// Wraps a closure that continues a parse with the next bytes.
    public init(_ step: @escaping @Sendable (ArraySlice<UInt8>) -> Parse<Value>) {
        self.step = step
    }

    /// Continues the parse with the next bytes.
    public func callAsFunction(_ bytes: ArraySlice<UInt8>) -> Parse<Value> {
        step(bytes)
    }

    /// Continues the parse with the next bytes.
    public func callAsFunction(_ bytes: [UInt8]) -> Parse<Value> {
        step(bytes[...])
    }
}

extension Parse: CustomStringConvertible {
    /// One line saying where the step stands: `done: <value>, 3 bytes after it`, `more: waiting for the
    /// next bytes`, or `failed: <what was wrong>`.
    public var description: String {
        switch self {
        case .done(let value, let rest): "done: \(value), \(rest.count) byte\(rest.count == 1 ? "" : "s") after it"
        case .more: "more: waiting for the next bytes"
        case .failed(let error): "failed: \(error)"
        }
    }
}
