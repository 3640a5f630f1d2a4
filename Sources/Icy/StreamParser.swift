/// Parses values one after another from a stream of reads: the loop every ICY reader needs.
///
/// After each value is done, parsing starts again from `start` on the rest of the bytes; an unfinished value
/// waits in its continuation for the next read.
///
/// ```swift
/// var parser = StreamParser(segments(metaint: 16000))
/// for read in reads {
///     try parser.feed(read) { segment in play(segment) }
/// }
/// ```
public struct StreamParser<Value: Sendable>: Sendable {
    private let start: Continuation<Value>
    private var next: Continuation<Value>

    /// A parser that repeats `start` for every value.
    public init(_ start: Continuation<Value>) {
        self.start = start
        self.next = start
    }

    /// Feeds the next read, calling `body` with each value it completes, in order.
    public mutating func feed(_ bytes: ArraySlice<UInt8>, _ body: (Value) throws(IcyError) -> Void) throws(IcyError) {
        var bytes = bytes
        while true {
            switch next(bytes) {
            case .done(let value, let rest):
                next = start
                try body(value)
                guard !rest.isEmpty else { return }
                bytes = rest
            case .more(let continuation):
                next = continuation
                return
            case .failed(let error):
                throw error
            }
        }
    }

    /// Feeds the next read, calling `body` with each value it completes, in order.
    public mutating func feed(_ bytes: [UInt8], _ body: (Value) throws(IcyError) -> Void) throws(IcyError) {
        try feed(bytes[...], body)
    }
}
