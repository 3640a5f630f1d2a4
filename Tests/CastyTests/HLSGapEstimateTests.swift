@testable import CastyAudio
import Icy
import Testing

@testable import Casty

/// A gap whose estimate lands behind the groups already started: the stream played at another bitrate than the
/// one its context says (an upstream that came back from an outage encoded at 64 kbit/s, and again at 128).
@Suite("HLS: a gap whose estimate falls behind")
struct HLSGapEstimateTests {
    /// A segmenter whose stream says twice the bitrate its frames have: after a gap, the estimate from a position
    /// is half the samples really counted.
    func overstatedSegmenter() -> HLSSegmenter {
        var segmenter = HLSSegmenter(targetDuration: 6)
        _ = segmenter.start(Context(station: ["Content-Type": "audio/mpeg"], segmentBytes: 8192, bitrate: 256, stream: 0xC0FFEE))
        return segmenter
    }

    @Test("After such a gap the next group starts at once, after the last one: no segment lasts minutes, the numbers jump")
    func gapBehind_StartsTheNextGroup_NotOneLongSegment() {
        let stream = relayedTone(segments: 300)
        var segmenter = overstatedSegmenter()
        var made = cut(stream.prefix(150), into: &segmenter)
        let before = made.count
        made += cut(stream.dropFirst(160).prefix(60), into: &segmenter)
        let after = made.dropFirst(before)
        // 60 relay segments of 8 KiB at 128 kbit/s are 30 s of audio: four whole groups of 6 s at least.
        #expect(after.count >= 4, "\(after.map(\.duration))")
        #expect(after.allSatisfy { $0.duration <= 6.1 }, "\(after.map(\.duration))")
        #expect(after.first.map { $0.sequence > made[before - 1].sequence + 1 } == true, "the numbers jump over the gap")
        let timestamps = after.map(\.timestamp)
        #expect(zip(timestamps, timestamps.dropFirst()).allSatisfy { $0 < $1 }, "\(timestamps)")
        #expect(timestamps.first.map { $0 > made[before - 1].timestamp } == true, "timestamps go on rising across the gap")
    }

    @Test("A relay back from an outage at a lower bitrate: its timestamps go on by the time the gap's bytes take, not the whole stream's again")
    func gapAfterABitrateDrop_IsEstimatedFromTheLastFrame_NotFromTheStart() {
        let stream = relayedTone(segments: 200)
        var segmenter = toneSegmenter()
        var made = cut(stream.prefix(150), into: &segmenter)  // 76.8 s at 128 kbit/s
        let before = made.count
        let last = made[before - 1]
        // The upstream is back at 64 kbit/s (the proxy's context says so now), ten relay segments later: 10 × 8 KiB
        // at 64 kbit/s is 10.24 s.
        _ = segmenter.start(Context(station: ["Content-Type": "audio/mpeg"], segmentBytes: 8192, bitrate: 64, stream: 0xC0FFEE))
        made += cut(stream.dropFirst(160).prefix(30), into: &segmenter)
        let first = try! #require(made.dropFirst(before).first)
        let lastEnd = Double(last.timestamp) / 90_000 + last.duration
        let resumed = Double(first.timestamp) / 90_000
        // The group the gap cut short (up to 6 s), the gap (10.24 s), then the next group's start (up to 6 s): some
        // 22 s at most. Estimated from byte 0 at 64 kbit/s, the first 76.8 s at 128 counted twice: about 164 s.
        #expect(resumed > lastEnd && resumed < lastEnd + 22.3, "went on at \(resumed) s after \(lastEnd) s")
    }

}

/// A stream that goes on at another sample rate without losing a frame (a relay's upstream back with other
/// settings, numbered on): its HLS segments keep to the target, and go on at once.
@Suite("HLS: a change of sample rate")
struct HLSSampleRateChangeTests {
    /// Silent MPEG-1 layer III frames at 128 kbit/s: 417 bytes at 44.1 kHz, 384 at 48 kHz; and MPEG-2 layer III at
    /// 64 kbit/s and 22.05 kHz, mono: 208 bytes of 576 samples.
    static func frames(_ count: Int, rate: Int) -> [UInt8] {
        let frame: [UInt8] = switch rate {
        case 48_000: [0xFF, 0xFB, 0x94, 0x64] + [UInt8](repeating: 0, count: 380)
        case 22_050: [0xFF, 0xF3, 0x80, 0xC4] + [UInt8](repeating: 0, count: 204)
        default: [0xFF, 0xFB, 0x90, 0x64] + [UInt8](repeating: 0, count: 413)
        }
        return (0..<count).flatMap { _ in frame }
    }

    @Test("Segments after the change last the target and come at once; the one it cut short is published shorter",
          arguments: [[44_100, 48_000], [48_000, 22_050, 48_000], [44_100, 22_050, 44_100]])
    func sampleRateChange_KeepsSegmentsToTheTarget(rates: [Int]) {
        let stream = rates.flatMap { Self.frames($0 == 22_050 ? 1500 : 900, rate: $0) }  // about 24 s or 39 s each
        let segments = stride(from: 0, to: stream.count - 8192, by: 8192).enumerated().map { number, start in
            StreamSegment(number: number, time: 1_800_000_000_000 + Int64(number) * 512, audio: Array(stream[start..<start + 8192]),
                          title: nil, titleVersion: 0, titleChanged: false)
        }
        var segmenter = HLSSegmenter(targetDuration: 6)
        _ = segmenter.start(Context(station: ["Content-Type": "audio/mpeg"], segmentBytes: 8192, bitrate: 128, stream: 0xC0FFEE))
        let made = cut(segments, into: &segmenter)
        #expect(made.allSatisfy { $0.duration <= 6.1 }, "\(made.map(\.duration))")
        let seconds = rates.reduce(0.0) { $0 + ($1 == 22_050 ? 1500 * 576 / 22_050.0 : 900 * 1152 / Double($1)) }
        #expect(Double(made.count) >= seconds / 6 - 2, "\(Int(seconds)) s of audio: \(made.count) segments, \(made.map(\.duration))")
        let timestamps = made.map(\.timestamp)
        #expect(zip(timestamps, timestamps.dropFirst()).allSatisfy { $0 < $1 }, "\(timestamps)")
        let sequences = made.map(\.sequence)
        #expect(zip(sequences, sequences.dropFirst()).allSatisfy { $1 == $0 + 1 }, "no frame lost, no number skipped: \(sequences)")
    }
}

/// A node whose count is not the tree's names its segments its own way: a CDN pulling from several nodes caches
/// each name for a year, and must never get two nodes' different audio under one.
@Suite("HLS: names of a count that is not the tree's")
struct HLSOwnNamesTests {
    /// The segments a root (its own count) and a branch told no clock (an estimate) make of the tone, whose stream
    /// says `bitrate` kbit/s (the tone's frames are 128).
    func rootAndBranch(bitrate: Int) -> (root: [HLSSegment], branch: [HLSSegment]) {
        let stream = relayedTone(segments: 120)
        func segmenter() -> HLSSegmenter {
            var segmenter = HLSSegmenter(targetDuration: 6)
            _ = segmenter.start(Context(station: ["Content-Type": "audio/mpeg"], segmentBytes: 8192, bitrate: bitrate, stream: 0xC0FFEE))
            return segmenter
        }
        var root = segmenter(), branch = segmenter()
        let rootMade = cut(stream, into: &root)
        var branchMade: [HLSSegment] = []
        for segment in stream.dropFirst(10) { branchMade += branch.add(segment.number, segment, stream: 0xC0FFEE, clock: .told(nil)) }
        return (rootMade, branchMade)
    }

    @Test func aBranchCountingOnItsOwn_NamesItsSegmentsApart_FromTheRoots() {
        let (rootMade, branchMade) = rootAndBranch(bitrate: 160)  // the estimate is not the tree's count
        #expect(!rootMade.isEmpty && !branchMade.isEmpty)
        let rootNames = Set(rootMade.map(\.name))
        #expect(branchMade.allSatisfy { !rootNames.contains($0.name) }, "\(branchMade.map(\.name)) vs \(rootNames)")
        #expect(branchMade.allSatisfy { HLSRoutes.isSegmentName($0.name) }, "still served: \(branchMade.map(\.name))")
        #expect(rootMade.allSatisfy { $0.name.hasPrefix(String(Context.streamText(0xC0FFEE).prefix(8))) })
    }

    @Test func aBranchWhoseEstimateIsTheTrees_BearsTheRootsNames_WithTheSameBytes() {
        let (rootMade, branchMade) = rootAndBranch(bitrate: 128)  // constant bitrate, the one declared
        let root = Dictionary(uniqueKeysWithValues: rootMade.map { ($0.name, $0.bytes) })
        #expect(!branchMade.isEmpty && branchMade.allSatisfy { root[$0.name] == $0.bytes }, "\(branchMade.map(\.name))")
    }
}
