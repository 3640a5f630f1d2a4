@testable import CastyAudio
import Testing

/// A stream whose frames go on in another sample rate or channel count within one connection: an encoder that
/// restarted behind an Icecast mount, a playlist source moving to a file of another rate. The chain follows the
/// new frames without dropping a byte, and says so, so that the stream's nodes can take it for another stream.
struct FrameChainShapeTests {
    /// `count` MPEG-1 layer III frames at 128 kbit/s filled with `0x55` after a `main_data_begin` of 0 (each one's
    /// audio its own, as an encoder's first frames: a new shape is often a new encoder, whose frames are not muted
    /// as reaching back across the change): 44.1 kHz (417 bytes), 48 kHz (384 bytes) or 32 kHz (576 bytes), in
    /// joint stereo, stereo or mono (the top two bits of the fourth header byte).
    static func frames(_ count: Int, rate: Int = 44_100, mode: UInt8 = 0x40) -> [UInt8] {
        let (index, length): (UInt8, Int) = switch rate {
        case 48_000: (0x04, 384)
        case 32_000: (0x08, 576)
        default: (0x00, 417)
        }
        return (0..<count).flatMap { _ in [0xFF, 0xFB, 0x90 | index, mode | 0x04, 0, 0] + [UInt8](repeating: 0x55, count: length - 6) }
    }

    /// `stream` in reads of `size` bytes.
    static func pieces(_ stream: [UInt8], _ size: Int) -> [ArraySlice<UInt8>] {
        stride(from: 0, to: stream.count, by: size).map { stream[$0..<min($0 + size, stream.count)] }
    }

    @Test("Frames that go on in another sample rate are all passed on, without a resync, and the change is told once")
    func anotherSampleRate_IsFollowed_AndTold() {
        let stream = Self.frames(20) + Self.frames(20, rate: 48_000)
        for size in [stream.count, 1_000, 7] {
            let run = ChainRun(Self.pieces(stream, size))
            #expect(run.bytes == stream, "reads of \(size)")
            #expect(run.frames == 40 && run.resyncs.isEmpty, "reads of \(size): \(run.frames) frames, resynced \(run.resyncs)")
            #expect(run.reshaped == ["44100 Hz stereo → 48000 Hz stereo"], "reads of \(size)")
        }
    }

    @Test("A shape is told as a listener reads it: mono, stereo, a count of channels, or AAC's configuration 0 as channels set in the stream, never '0 channels'")
    func shapes_AreToldInWords() {
        #expect(AudioShape(sampleRate: 22_050, channels: 1).description == "22050 Hz mono")
        #expect(AudioShape(sampleRate: 44_100, channels: 2).description == "44100 Hz stereo")
        #expect(AudioShape(sampleRate: 48_000, channels: 6).description == "48000 Hz 6 channels")
        #expect(AudioShape(sampleRate: 44_100, channels: 0).description == "44100 Hz, channels set in the stream")
    }

    @Test("Stereo frames that go on in mono at the same rate are a change of shape too")
    func stereoToMono_IsTold() {
        let stream = Self.frames(10) + Self.frames(10, mode: 0xC0) + Self.frames(10)
        let run = ChainRun([stream[...]])
        #expect(run.bytes == stream && run.resyncs.isEmpty)
        #expect(run.reshaped == ["44100 Hz stereo → 44100 Hz mono", "44100 Hz mono → 44100 Hz stereo"])
    }

    @Test("Stereo and joint stereo frames mixed, as an encoder chooses frame by frame, are one shape: nothing is told")
    func jointAndPlainStereo_AreOneShape() {
        let stream = (0..<20).flatMap { Self.frames(1, mode: $0 % 3 == 0 ? 0x00 : 0x40) }
        let run = ChainRun([stream[...]])
        #expect(run.bytes == stream && run.reshaped.isEmpty && run.resyncs.isEmpty)
    }

    @Test("Garbage between frames of two shapes is dropped and told, then the change of shape")
    func garbageThenAnotherShape_IsResyncedThenTold() {
        let stream = Self.frames(10) + junk(500, seed: 3) + Self.frames(10, rate: 32_000)
        let run = ChainRun([stream[...]])
        #expect(run.resyncs == [500])
        #expect(run.reshaped == ["44100 Hz stereo → 32000 Hz stereo"])
        #expect(run.bytes == Self.frames(10) + Self.frames(10, rate: 32_000))
    }

    @Test("An encoder's Info and Xing frames — a source streaming MP3 files as they are sends one at each file's start — are dropped, without a resync")
    func infoFrames_AreDropped() {
        func info(_ tag: String) -> [UInt8] {
            var frame = Self.frames(1)
            // As LAME writes it: 32 bytes of side information, all zeros, after the header, then the tag.
            frame.replaceSubrange(4..<40, with: [UInt8](repeating: 0, count: 32) + Array(tag.utf8))
            return frame
        }
        let stream = info("Info") + Self.frames(10) + info("Xing") + Self.frames(10)
        let run = ChainRun([stream[...]])
        #expect(run.bytes == Self.frames(20) && run.frames == 20, "\(run.frames) frames")
        #expect(run.resyncs.isEmpty && run.reshaped.isEmpty)
    }

    @Test("A restarted chain (a new link) tells no change of shape: the proxy compares shapes across links itself")
    func restart_ForgetsTheShape() {
        var chain = FrameChain(format: .mpeg)
        var run = ChainRun()
        run.run(&chain, Self.frames(5)[...])
        chain.restart(format: .mpeg)
        run.run(&chain, Self.frames(5, rate: 48_000)[...])
        #expect(run.reshaped.isEmpty && chain.shape == AudioShape(sampleRate: 48_000, channels: 2))
    }
}
