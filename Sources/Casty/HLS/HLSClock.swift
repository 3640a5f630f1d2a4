/// The sample clock of a stream (MP3 or AAC) at one frame: how many samples the stream's count holds before the
/// frame that starts at byte `offset` of relay segment `segment`. A tree node whose count is exact tells it to a
/// numbered peer, for the first frame of the first segment the peer gets, in its reply head
/// (`X-Casty-HLS-Clock: <segment>:<offset>:<samples>`); the peer's ``HLSSegmenter`` counts on from there instead
/// of estimating, so its segments' ID3 timestamps — and so their bytes — are the teller's.
///
/// A teller that has counted no frame of the stream yet, and will begin with the first frame of the peer's first
/// segment, tells that instead (`X-Casty-HLS-Clock: <segment>:start`, ``startsCount``): its count will be anchored
/// there at the estimate every node makes alike from the frame's position (``HLSSampleCount/estimate(_:bitrate:after:)``),
/// so the peer's count, anchored there too, is the teller's — an AAC stream's branch that joined at its very start
/// would otherwise count on its own, and name its segments apart from the root's.
public struct HLSClock: Sendable, Equatable {
    /// The relay segment the frame starts in.
    public var segment: Int
    /// Where the frame starts in it, in bytes (below ``Context/segmentBytes``).
    public var offset: Int
    /// The samples (per channel) counted before the frame.
    public var samples: Int
    /// Whether the count starts at the first frame of ``segment`` (at its estimate), rather than holding
    /// ``samples`` before the frame at ``offset``.
    public var startsCount = false

    /// The largest count taken from a peer: 2⁵² samples, some 3,000 years at 48 kHz, far inside `Int` and exact in a
    /// `Double`.
    static let maxSamples = 1 << 52

    /// A clock of `samples` before the frame at byte `offset` of relay segment `segment`.
    public init(segment: Int, offset: Int, samples: Int) {
        self.segment = segment
        self.offset = offset
        self.samples = samples
    }

    /// The clock of a count that starts at the first frame of relay segment `segment` (``startsCount``).
    public static func start(at segment: Int) -> HLSClock {
        var clock = HLSClock(segment: segment, offset: 0, samples: 0)
        clock.startsCount = true
        return clock
    }

    /// The frame's position in the stream, for segments of `segmentBytes` bytes.
    func position(segmentBytes: Int) -> Int { segment * segmentBytes + offset }

    /// The header's value: `<segment>:<offset>:<samples>`, in decimal; `<segment>:start` for a count that starts there.
    var headerValue: String { startsCount ? "\(segment):start" : "\(segment):\(offset):\(samples)" }

    /// Reads a header's value (``headerValue``) strictly: three fields of 1 to 18 decimal digits, an offset within a
    /// segment of `segmentBytes` bytes and at most ``maxSamples``; anything else (signs, spaces, more fields, a
    /// peer's garbage) is `nil`, and the peer counts as one that told nothing.
    init?(header value: String, segmentBytes: Int) {
        let fields = value.utf8.split(separator: UInt8(ascii: ":"), omittingEmptySubsequences: false)
        if fields.count == 2, fields[1].elementsEqual("start".utf8), let segment = Self.decimal(fields[0]),
           segment <= Int.max / max(1, segmentBytes) - 1 {
            self = .start(at: segment)
            return
        }
        guard fields.count == 3 else { return nil }
        let numbers = fields.compactMap(Self.decimal)
        guard numbers.count == 3, numbers[1] < segmentBytes, numbers[2] <= Self.maxSamples,
              numbers[0] <= Int.max / max(1, segmentBytes) - 1 else { return nil }
        self.init(segment: numbers[0], offset: numbers[1], samples: numbers[2])
    }

    /// A field of 1 to 18 decimal digits, or `nil`.
    private static func decimal(_ field: Substring.UTF8View) -> Int? {
        guard (1...18).contains(field.count), field.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }) else {
            return nil
        }
        return field.reduce(0) { $0 * 10 + Int($1 - UInt8(ascii: "0")) }
    }
}
