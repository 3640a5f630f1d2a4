@testable import CastyAudio
@testable import CastyWire
import Testing

/// FLV audio tags turned into what listeners get: MP3 frames as they are, raw AAC frames as ADTS frames whose
/// header comes from the AudioSpecificConfig of the sequence header.
struct RTMPAudioTests {
    /// AAC LC, 44.1 kHz, stereo.
    static let lcStereo: [UInt8] = [0x12, 0x10]

    @Test func config_BuildsTheADTSHeader() throws {
        let config = try AudioSpecificConfig(Self.lcStereo[...])
        #expect(config == (try AudioSpecificConfig([0x12, 0x10, 0x56, 0xE5, 0x00][...])))  // trailing extension bits ignored
        #expect((config.objectType, config.frequencyIndex, config.channels) == (2, 4, 2))
        let header = try #require(config.adtsHeader(payloadBytes: 100))
        #expect(header == [0xFF, 0xF1, 0x50, 0x80, 0x0D, 0x7F, 0xFC])
        let frame = try #require(ADTSFrame(header))
        #expect((frame.length, frame.profile, frame.sampleRate, frame.channels, frame.hasCRC) == (107, 1, 44100, 2, false))
        #expect(config.adtsHeader(payloadBytes: 8185) == nil)
    }

    @Test func config_CarriesTheCoreOfExplicitHEAAC() throws {
        let config = try AudioSpecificConfig([0x2B, 0x11, 0x88][...])  // SBR over AAC LC at 24 kHz, stereo
        #expect((config.objectType, config.frequencyIndex, config.channels) == (2, 6, 2))
    }

    @Test func config_RefusesWhatADTSCannotCarry() {
        #expect(throws: RTMPError.badAudioSpecificConfig("cut short")) { try AudioSpecificConfig([0x12][...]) }
        #expect(throws: RTMPError.unsupportedAAC("a sample rate given explicitly, sampling frequency index 15")) {
            try AudioSpecificConfig([0x17, 0x80, 0, 0, 0, 0][...])
        }
        #expect(throws: RTMPError.unsupportedAAC("audio object type 32")) { try AudioSpecificConfig([0xF8, 0, 0][...]) }  // object type 32+
        #expect(throws: RTMPError.unsupportedAAC("audio object type 0")) { try AudioSpecificConfig([0x00, 0x10][...]) }
        #expect(throws: RTMPError.badAudioSpecificConfig("reserved sampling frequency index 13")) { try AudioSpecificConfig([0x16, 0x90][...]) }
        #expect(RTMPError.unsupportedAAC("audio object type 0").isUnsupportedAudio && RTMPError.unsupportedSoundFormat(11).isUnsupportedAudio)
        #expect(!RTMPError.badAudioSpecificConfig("cut short").isUnsupportedAudio)
    }

    @Test func audio_PassesMP3AndWrapsAAC() throws {
        var audio = FLVAudio()
        let mp3 = try audio.frames([0x2F, 0xFF, 0xFB, 0x90, 0x00])
        #expect(mp3?.format == .mp3)
        #expect(mp3?.bytes == [0xFF, 0xFB, 0x90, 0x00])
        // (Mutating calls stay out of #expect: it would call them on a copy.)
        let early = try audio.frames([0xAF, 1, 1, 2, 3])  // AAC before its sequence header
        let sequenceHeader = try audio.frames([0xAF, 0] + Self.lcStereo)
        #expect(early == nil && sequenceHeader == nil)
        let frames = try audio.frames([0xAF, 1, 1, 2, 3])
        let aac = try #require(frames)
        #expect(aac.format == .aac)
        #expect(aac.bytes.count == 10)
        #expect(ADTSFrame(aac.bytes)?.length == 10)
        #expect(Array(aac.bytes.suffix(3)) == [1, 2, 3])
        let empty = try audio.frames([])
        #expect(empty == nil)
        #expect(audio.dropped == 2)
        #expect(throws: RTMPError.unsupportedSoundFormat(11)) { try audio.frames([0xB6, 1, 2]) }  // Speex
    }

    @Test func audio_MakesAChainTheFrameFollowerAccepts() throws {
        var audio = FLVAudio()
        _ = try audio.frames([0xAF, 0] + Self.lcStereo)
        var stream: [UInt8] = []
        for size in [200, 371, 150, 299, 412] {
            let frame = try audio.frames([0xAF, 1] + [UInt8](repeating: 0x21, count: size))
            stream += try #require(frame).bytes
        }
        var chain = FrameChain(format: .adts)
        var frames = 0
        var passed: [UInt8] = []
        chain.feed(stream[...]) { output in
            if case .frame(let bytes) = output { frames += 1; passed += bytes }
        }
        #expect(frames == 5)
        #expect(passed == stream)
    }
}
