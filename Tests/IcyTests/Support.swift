import Icy

/// What a parse ended with after all pieces were fed: comparable across different splits.
enum Outcome<Value: Sendable & Equatable>: Equatable {
    case done(Value, rest: [UInt8])
    case more
    case failed(IcyError)
}

/// Feeds `pieces` one after another into a parse that starts with `start`.
func feed<Value: Sendable & Equatable>(
    _ pieces: [ArraySlice<UInt8>], start: (ArraySlice<UInt8>) -> Parse<Value>
) -> Outcome<Value> {
    var step = start(pieces.first ?? [])
    for (index, piece) in pieces.enumerated().dropFirst() {
        switch step {
        case .done(let value, let rest):
            return .done(value, rest: Array(rest) + pieces[index...].flatMap { $0 })
        case .failed(let error):
            return .failed(error)
        case .more(let next):
            step = next(piece)
        }
    }
    switch step {
    case .done(let value, let rest): return .done(value, rest: Array(rest))
    case .more: return .more
    case .failed(let error): return .failed(error)
    }
}

/// A small, seedable random generator so every failure can be replayed.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Cuts bytes into pieces at random places; `maxPiece` 1 gives one byte at a time.
func randomSplit(_ bytes: [UInt8], maxPiece: Int, using rng: inout SplitMix64) -> [ArraySlice<UInt8>] {
    var pieces: [ArraySlice<UInt8>] = []
    var index = 0
    while index < bytes.count {
        let size = Int.random(in: 1...maxPiece, using: &rng)
        let end = min(bytes.count, index + size)
        pieces.append(bytes[index..<end])
        index = end
    }
    return pieces
}

/// Collects what an encoder sends.
func encoded(_ body: (Sender) throws -> Void) rethrows -> [UInt8] {
    var bytes: [UInt8] = []
    try body { bytes.append(contentsOf: $0) }
    return bytes
}

extension Array where Element == UInt8 {
    init(_ text: String) { self = Array(text.utf8) }
}

/// Generates an ICY stream: a reply head and `count` segments, with metadata in some of them.
func generatedStream(metaint: Int, count: Int, using rng: inout SplitMix64) -> (bytes: [UInt8], segments: [Segment]) {
    var bytes = encoded { sendReply(["icy-name": "Generated", "icy-metaint": "\(metaint)"], status: .httpOK, to: $0) }
    var segments: [Segment] = []
    for number in 0..<count {
        let audio = (0..<metaint).map { _ in UInt8.random(in: 0...255, using: &rng) }
        let metadata = Bool.random(using: &rng) ? Metadata(streamTitle: "Song \(number) – 'quoted'; ok").bytes : []
        let segment = Segment(audio: audio, metadata: metadata)
        bytes += try! encoded { try sendData(segment, to: $0) }
        segments.append(segment)
    }
    return (bytes, segments)
}

/// Parses a reply and then every segment after it, feeding `pieces` in order.
func parseStream(_ pieces: [ArraySlice<UInt8>]) throws -> (headers: Headers, segments: [Segment]) {
    var reader = StreamReader()
    var headers = Headers()
    var segments: [Segment] = []
    for piece in pieces {
        try reader.feed(piece) { event in
            switch event {
            case .head(_, let replyHeaders): headers = replyHeaders
            case .redirect(let status, _, _): throw IcyError.status(code: status.code, reason: "unexpected redirect")
            case .segment(let segment): segments.append(segment)
            }
        }
    }
    return (headers, segments)
}
