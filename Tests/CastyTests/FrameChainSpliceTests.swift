@testable import CastyAudio
import Testing

@testable import Casty

/// A source's chain waits for the header after each frame (``FrameChain/waitsForNextHeader``): a frame that lost
/// bytes inside it — an SRT uplink past its latency, a cut read — would reach decoders spliced with the start of
/// the next one, which the chain would then drop as the break.
struct FrameChainSpliceTests {
    let frames = Array(toneFrames.prefix(40))

    /// The stream cut in two at every byte from frame 18's start to frame 23's end, and in one piece.
    private func splits(_ stream: [UInt8]) -> [[ArraySlice<UInt8>]] {
        let from = frames.prefix(18).reduce(0) { $0 + $1.count }, to = frames.prefix(23).reduce(0) { $0 + $1.count }
        return [[stream[...]]] + (from...min(to, stream.count)).map { [stream[..<$0], stream[$0...]] }
    }

    @Test("A source's frame that lost bytes inside it reaches no player, and the whole frame after it does, however the reads cut the stream")
    func frameThatLostBytes_IsDropped_TheOneAfterItKept_AtEverySplit() {
        var damaged = frames
        damaged[20].removeSubrange(100..<200)
        let stream = Array(damaged.joined())
        var kept = frames
        kept.remove(at: 20)
        // The frames after the break, whose audio began in bytes before it, muted as after any break.
        let expected = mutedAfterJoin(kept, at: 20)
        for pieces in splits(stream) {
            let run = ChainRun(pieces, waits: true)
            #expect(run.bytes == expected, "split at \(pieces.first?.endIndex ?? 0): \(run.frames) frames, resyncs \(run.resyncs)")
            #expect(run.resyncs == [damaged[20].count], "split at \(pieces.first?.endIndex ?? 0)")
        }
        // A relay's chain passes the damaged frame on, spliced, and drops the whole one after it: what a source's avoids.
        let relayed = ChainRun([stream[...]])
        #expect(relayed.bytes != expected && cleanMP3Chain(relayed.bytes) != nil)
    }

    @Test("A source's clean stream goes on whole: each frame once the header after it has come, the last when the stream ends")
    func cleanStream_PassesEveryFrame_TheLastAtTheEnd() {
        let stream = Array(frames.joined())
        for pieces in splits(stream) {
            #expect(ChainRun(pieces, waits: true).bytes == stream, "split at \(pieces.first?.endIndex ?? 0)")
        }
        var chain = FrameChain(format: .mpeg)
        chain.waitsForNextHeader = true
        var before = ChainRun()
        before.run(&chain, stream[...])
        #expect(before.frames == frames.count - 1, "the last frame waits for what follows it")
        before.run(&chain, [], ending: true)
        #expect(before.frames == frames.count && before.bytes == stream)
    }

    @Test("A tag after a source's frame (the next file of a playlist) lets the frame before it go on")
    func frameBeforeATag_GoesOn() {
        let tag: [UInt8] = [0x49, 0x44, 0x33, 4, 0, 0, 0, 0, 0, 10] + [UInt8](repeating: 0, count: 10)
        let stream = Array(frames.prefix(20).joined()) + tag + Array(frames.dropFirst(20).joined())
        let run = ChainRun([stream[...]], waits: true)
        #expect(run.bytes == Array(frames.joined()) && run.resyncs.isEmpty, "\(run.frames) frames, resyncs \(run.resyncs)")
    }
}
