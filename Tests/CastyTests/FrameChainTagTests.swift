@testable import CastyAudio
import Testing

/// An ID3v2.3 tag whose body is `count` bytes of ``junk(_:seed:)``: cover art, with `0xFF` bytes and things that
/// look like frame headers in it.
func id3Tag(body count: Int, seed: Int) -> [UInt8] {
    let size = (0..<4).map { UInt8((count >> (21 - 7 * $0)) & 0x7F) }
    return [0x49, 0x44, 0x33, 3, 0, 0] + size + junk(count, seed: seed)
}

/// ID3v2 tags — what an MP3 file holds before its frames (cover art and all), and what a source streaming files
/// as they are (`ffmpeg -c copy`, `curl -T song.mp3`, a playlist) sends before each one — are skipped whole,
/// as decoders skip them: neither garbage that ends a source nor an incident.
struct FrameChainTagTests {
    let frames = Array(toneFrames.prefix(40))

    @Test func tagBeforeTheFirstFrame_IsSkipped_EvenLongerThanTheFirstSearch() {
        let stream = id3Tag(body: 20_000, seed: 3) + Array(frames.joined())
        for size in [stream.count, 1000, 7] {
            let run = ChainRun(stride(from: 0, to: stream.count, by: size).map { stream[$0..<min($0 + size, stream.count)] })
            #expect(run.bytes == Array(frames.joined()), "in pieces of \(size)")
            #expect(run.gaveUp.isEmpty && run.resyncs.isEmpty, "in pieces of \(size)")
        }
    }

    @Test func tagBetweenTwoFiles_IsSkipped_WithoutAnIncident_EvenLongerThanTheGiveUpLength() {
        let tag = id3Tag(body: FrameChain.giveUpBytes + 5000, seed: 4)
        let stream = Array(frames.prefix(20).joined()) + tag + Array(frames.dropFirst(20).joined())
        let run = ChainRun([stream[..<30_000], stream[30_000...]])
        #expect(run.bytes == Array(frames.joined()))
        #expect(run.resyncs.isEmpty && run.gaveUp.isEmpty, "\(run.resyncs) \(run.gaveUp)")
    }

    @Test func tagAfterGarbage_OnlyTheGarbageIsAnIncident_AtEverySplit() {
        let stream = Array(frames.prefix(6).joined()) + junk(300, seed: 7) + id3Tag(body: 900, seed: 8)
            + Array(frames.dropFirst(6).prefix(6).joined())
        let whole = ChainRun([stream[...]])
        #expect(whole.bytes == mutedAfterJoin(Array(frames.prefix(12)), at: 6))
        #expect(whole.resyncs == [300])
        for split in 1..<stream.count {
            let run = ChainRun([stream[..<split], stream[split...]])
            #expect(run == whole, "split at \(split)")
            if run != whole { return }
        }
    }

    @Test func id3v2Header_ReadsTheSyncsafeSize_AndTheFooter() {
        #expect(ID3v2Header.tagLength([0x49, 0x44, 0x33, 4, 0, 0, 0, 0, 0x02, 0x01][...], at: 0) == 10 + 257)
        #expect(ID3v2Header.tagLength([0x49, 0x44, 0x33, 4, 0, 0x10, 0, 0, 0, 5][...], at: 0) == 10 + 5 + 10)
        #expect(ID3v2Header.tagLength([0x49, 0x44, 0x33, 4, 0, 0, 0x80, 0, 0, 5][...], at: 0) == nil, "not syncsafe")
        #expect(ID3v2Header.tagLength([0x49, 0x44, 0x33, 0xFF, 0, 0, 0, 0, 0, 5][...], at: 0) == nil)
        #expect(ID3v2Header.mayBegin([0xFF, 0x49, 0x44][...], at: 1))
        #expect(!ID3v2Header.mayBegin([0xFF, 0x49, 0x45][...], at: 1))
    }
}
