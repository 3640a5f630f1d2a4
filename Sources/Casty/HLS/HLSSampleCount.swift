/// The count of samples a stream's HLS timestamps come from, on one node (``HLSSegmenter``): anchored at
/// the first frame followed after a start or a gap, then growing by each frame's samples.
///
/// **Exact.** A count is *exact* when it is the tree's: every exact node gives the same frame the same count, so
/// their segments carry the same timestamps and are byte-identical. Two kinds of node are exact:
/// - a node whose count is its own (``Authority/own``: a root, a node outside a tree): the tree's count is by
///   definition the root's, wherever it anchored — and a gap in the stream's own numbers re-anchors every node
///   that follows through it at the same estimate;
/// - a node that anchored at a clock its parent told (``Authority/told(_:)``, `X-Casty-HLS-Clock`), until it
///   loses segments: its parent's count was exact, and it counted the same frames since — and so a mount playing
///   its fallback, anchored at the fallback's count (``Distributor/clockAuthority(at:)``).
///
/// Anything else — a branch whose parent told nothing (an old root, a parent not exact itself), or one that lost
/// segments since it was told — counts on from an estimate (the frame's position at the stream's bitrate):
/// continuous, but not the tree's. An exact count keeps the clock of the first frame counted in each of the last
/// ``kept`` relay segments, to tell its own numbered peers (``clock(from:)``).
package struct HLSSampleCount {
    /// Who decides the count of the stream followed.
    package enum Authority: Equatable, Sendable {
        /// This node: it numbers the stream's HLS segments itself, so its count is exact.
        case own
        /// The tree's root, through this node's parent, which told the clock at a frame (`nil`: it told none).
        case told(HLSClock?)
    }

    /// How many relay segments' clocks are kept: a peer starts at most a burst back, well within them.
    static let kept = 64

    private var authority = Authority.own
    /// The samples before the anchoring frame, those counted since, and whether the anchor was a told clock.
    private var anchor: (samples: Int, since: Int, told: Bool)?
    /// The sample rate the count is in: the last frame's.
    private var rate: Int?
    /// The clock at the first frame counted in each recent relay segment, oldest first, while exact.
    private var marks: [HLSClock] = []
    /// Where the last frame counted in this stream ended, and the count there (in `rate`): after a gap, the next
    /// frame is estimated from it, by the bytes missing between them only.
    private var lastEnd: (position: Int, samples: Int)?
    /// The samples of the last frame counted.
    private var lastFrameSamples = 0

    /// An empty count, this node's own until told otherwise.
    init() {}

    /// Whether the count is the tree's (see the type's notes): anchored, and either this node's own or anchored at
    /// a told clock.
    var isExact: Bool {
        guard let anchor else { return false }
        return anchor.told || authority == .own
    }

    /// Whether the count gives each frame the tree's count: exact, or anchored at an estimate that is the tree's
    /// (an MP3 frame at the constant bitrate the stream declares, not raised to a floor) — the segments it cuts then
    /// hold the same frames as the root's, and may bear their names.
    var isTheTrees: Bool { isExact || (anchor != nil && estimateIsTheTrees) }
    /// Whether the estimate the count was anchored at is the tree's count (see ``isTheTrees``).
    private var estimateIsTheTrees = false

    /// Who decides the count from now on (the packager says so with each relay segment).
    mutating func follow(_ authority: Authority) {
        self.authority = authority
    }

    /// The samples before `frame` (of a stream cut in relay segments of `segmentBytes`, at `bitrate` kbit/s), and
    /// counts its samples in. The first frame after a start or a gap anchors the count — at the told clock when
    /// the frame is the one it names, else at the estimate, but not below `floor` — and a count that is not exact
    /// takes the told clock at the frame it names, wherever that comes.
    ///
    /// The `floor` (the start of the group after the last one begun, ``HLSSegmenter``) keeps an estimate from
    /// landing behind what was counted before the gap: a stream that played at another bitrate than its context
    /// says (an upstream back from an outage encoded at 64 kbit/s) covered more time than its bytes say at that
    /// bitrate. Every node that follows through the gap counted the same groups before it, so it takes the same floor.
    mutating func count(_ frame: FrameWalker.Frame, segmentBytes: Int, bitrate: Int, floor: Int? = nil) -> Int {
        if case .told(let clock?) = authority, clock.startsCount, anchor == nil, lastEnd == nil,
           frame.position / max(1, segmentBytes) == clock.segment {
            // The teller's count starts at this very frame, the stream's first it counts, at the estimate every node
            // makes alike: this one's is the tree's.
            anchor = (Self.estimate(frame, bitrate: bitrate), 0, true)
            estimateIsTheTrees = false
            rate = frame.sampleRate
        } else if case .told(let clock?) = authority, !clock.startsCount, anchor?.told != true,
                  frame.position == clock.position(segmentBytes: segmentBytes) {
            anchor = (clock.samples, 0, true)
            estimateIsTheTrees = false
            rate = frame.sampleRate  // a clock told in the frame's rate
        } else if anchor == nil {
            // After a gap in a stream already counted, from where its last frame ended — the bytes before it were
            // counted frame by frame, and may have played at another bitrate (an upstream back from an outage at 64
            // kbit/s, whose first 128 kbit/s hour would otherwise be read as two); from the stream's start otherwise.
            let base = lastEnd.map { end in
                (position: end.position, samples: rate.map { old in end.samples * frame.sampleRate / max(1, old) } ?? end.samples)
            }
            let estimate = Self.estimate(frame, bitrate: bitrate, after: base)
            anchor = (max(estimate, floor ?? 0), 0, false)
            rate = frame.sampleRate  // the estimate is in the frame's rate
            // At a constant bitrate, the one the stream declares, an MP3 frame's estimate is the tree's count; raised
            // to the floor, or of a frame of another bitrate (VBR) or none (AAC), it is this node's own.
            estimateIsTheTrees = estimate >= (floor ?? 0) && frame.bitrate == bitrate
        }
        // The stream went on at another sample rate (an upstream back with other settings, no frame lost): the
        // count goes on in the new rate, from the same instant — so timestamps and groups keep to the clock.
        if let old = rate, old != frame.sampleRate, old > 0, anchor != nil {
            let scaled = (anchor!.samples + anchor!.since) * frame.sampleRate / old
            anchor = (scaled, 0, anchor!.told)
        }
        rate = frame.sampleRate
        let before = anchor!.samples + anchor!.since
        if isExact {
            let segment = frame.position / max(1, segmentBytes)
            if marks.last?.segment != segment {
                if marks.count >= Self.kept { marks.removeFirst() }
                marks.append(HLSClock(segment: segment, offset: frame.position - segment * segmentBytes, samples: before))
            }
        }
        anchor!.since += frame.samples
        lastEnd = (frame.position + frame.bytes.count, before + frame.samples)
        lastFrameSamples = frame.samples
        return before
    }

    /// The count before the first frame that starts in relay segment `segment` (of `segmentBytes`), its samples
    /// and sample rate, while the count is exact: kept (``clock(from:)``) once that segment was counted; foreseen
    /// before it comes — the frame after the last one counted, or the one after that where the last frame counted
    /// goes on past the segment's start, frames of the same length. `nil` otherwise.
    func first(in segment: Int, segmentBytes: Int) -> (samples: Int, frameSamples: Int, rate: Int)? {
        guard isExact, let rate, let lastEnd, lastFrameSamples > 0 else { return nil }
        if let mark = marks.first(where: { $0.segment == segment }) { return (mark.samples, lastFrameSamples, rate) }
        let start = segment * max(1, segmentBytes)
        guard lastEnd.position <= start, lastEnd.position > start - max(1, segmentBytes),
              marks.last.map({ $0.segment < segment }) ?? true else { return nil }
        return (lastEnd.samples + (lastEnd.position < start ? lastFrameSamples : 0), lastFrameSamples, rate)
    }

    /// Whether a frame of the stream has been counted (since its start: a gap keeps it so).
    var hasCounted: Bool { lastEnd != nil }

    /// Segments were lost (or cutting starts again): the next frame anchors anew, and a told anchor no longer
    /// holds. The clocks kept stay true of their frames, unless `newStream`.
    mutating func restart(newStream: Bool) {
        anchor = nil
        if newStream {
            marks = []
            lastEnd = nil
        }
    }

    /// The clock to tell a numbered peer whose first relay segment is `segment`: the one kept for the first frame
    /// counted at or after that segment's start, if any — a peer that gets the segments from there meets that
    /// frame. `nil` when the count was not exact there, or has not reached it yet.
    func clock(from segment: Int) -> HLSClock? {
        marks.first { $0.segment >= segment }
    }

    /// The samples before `frame`, from its position at `bitrate` kbit/s: where a count that was told nothing starts
    /// — from the stream's start, or from `base`, a place in it whose count is known (where the last frame counted
    /// before a gap ended). An MP3 frame's (its header says a bitrate) is rounded to whole frames, which all hold the
    /// same samples: at a constant bitrate a frame starts within a byte of where that many frames end, so every node
    /// that joins anywhere finds the count a node that followed from the start has.
    static func estimate(_ frame: FrameWalker.Frame, bitrate: Int, after base: (position: Int, samples: Int)? = nil) -> Int {
        let start = base ?? (0, 0)
        let samples = Double(max(0, frame.position - start.position)) * 8 * Double(frame.sampleRate) / Double(max(8, bitrate) * 1_000)
        guard frame.bitrate != nil, frame.samples > 0 else { return start.samples + Int(samples.rounded(.down)) }
        return start.samples + Int((samples / Double(frame.samples)).rounded()) * frame.samples
    }
}
