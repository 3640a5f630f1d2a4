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

}
