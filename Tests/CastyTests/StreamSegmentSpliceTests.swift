import Testing

@testable import Casty
@testable import CastyAudio

/// A player's stream joined to another (a source returning after its fallback, listeners moved, segments skipped):
/// the frame its last segment ended inside is completed before the new stream's first frame.
struct StreamSegmentSpliceTests {
    /// MP3 frames of 418 bytes (128 kbit/s, 44.1 kHz, padded) filled with `fill`.
    static func frames(_ count: Int, fill: UInt8) -> [UInt8] {
        (0..<count).flatMap { _ in [0xFF, 0xFB, 0x92, 0x64] + [UInt8](repeating: fill, count: 414) }
    }

    static func segment(_ audio: ArraySlice<UInt8>, entry: Int?) -> StreamSegment {
        StreamSegment(number: 0, time: 0, audio: Array(audio), title: nil, titleVersion: 0, titleChanged: false, entryOffset: entry)
    }

    @Test func aFrameCutInItsBody_IsCompletedWithZeros() {
        let cut = Self.segment(Self.frames(12, fill: 0x55)[..<4170], entry: 0)  // 9 frames and 408 bytes of a tenth
        #expect(cut.tailCompletion(.mpeg) == [UInt8](repeating: 0, count: 10))
        #expect(Self.segment(Self.frames(10, fill: 0x55)[...], entry: 0).tailCompletion(.mpeg) == [], "ends on a frame")
        #expect(Self.segment([UInt8](repeating: 0x55, count: 4170)[...], entry: 0).tailCompletion(.mpeg) == nil, "no frames")
    }

    @Test func aFrameCutInItsHeader_IsCompletedFromTheHeaderBeforeIt() {
        let cut = Self.segment(Self.frames(12, fill: 0x55)[..<(418 * 9 + 2)], entry: 0)  // FF FB, then nothing
        let completion = cut.tailCompletion(.mpeg)
        #expect(completion?.prefix(2) == [0x92, 0x64] && completion?.count == 416, "\(String(describing: completion?.prefix(4)))")
    }

    @Test func theNextStream_BeginsWithTheCompletion_ThenATag_ThenItsOwnFrame() {
        // The next stream's segment starts 100 bytes into a frame; the completion is 10 bytes: a tag covers 90.
        let next = Self.segment(Self.frames(12, fill: 0x77)[318..<(318 + 4170)], entry: 100)
        let joined = next.entering(next.audio, completing: [UInt8](repeating: 0, count: 10), format: .mpeg)
        #expect(joined.count == 4170)
        #expect(joined[..<10].allSatisfy { $0 == 0 })
        #expect(Array(joined[10..<13]) == Array("ID3".utf8))
        #expect(Array(joined[100..<102]) == [0xFF, 0xFB], "its own first frame where it was")

        // A completion longer than the bytes before its first frame: that frame is skipped too, for the next.
        let long = next.entering(next.audio, completing: [UInt8](repeating: 0, count: 200), format: .mpeg)
        #expect(long.count == 4170 && Array(long[200..<203]) == Array("ID3".utf8) && Array(long[518..<520]) == [0xFF, 0xFB])
    }
}
