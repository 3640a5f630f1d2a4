@testable import CastyNet
@testable import CastyAudio
import Testing

@testable import Casty

/// A generator of repeatable pseudo-random bytes, so a failing case can be run again.
struct SeededBytes: RandomNumberGenerator {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    static func bytes(_ count: Int, seed: UInt64) -> [UInt8] {
        var generator = SeededBytes(state: seed)
        return (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
    }
}

/// An ID3v2.4 tag of `bodyBytes` bytes (filled with `filler`), with a footer if asked.
private func id3v2Tag(body: [UInt8], footer: Bool = false) -> [UInt8] {
    let size = body.count
    let syncsafe: [UInt8] = [21, 14, 7, 0].map { UInt8((size >> $0) & 0x7F) }
    let header: [UInt8] = Array("ID3".utf8) + [4, 0, footer ? 0x10 : 0] + syncsafe
    return header + body + (footer ? Array("3DI".utf8) + [4, 0, 0x10] + syncsafe : [])
}

/// A frame with this header and a silent (zero) body.
private func frame(_ header: [UInt8]) -> [UInt8] {
    let length = MP3Frame(header)!.length
    return header + [UInt8](repeating: 0, count: length - 4)
}

struct MP3FrameTests {
    @Test func header_ReadsTheFieldsOfTheBuiltInTone() throws {
        let header = try #require(MP3Frame(BuiltInTone.mp3.prefix(4)))
        #expect(header.version == .mpeg1)
        #expect(header.layer == .layer3)
        #expect(header.bitrate == 128)
        #expect(header.sampleRate == 44100)
        #expect(header.padding == false)
        #expect(header.channelMode == .jointStereo)
        #expect(header.length == 417)
        #expect(header.samplesPerFrame == 1152)
        #expect(header.duration == .seconds(1152) / 44100)
    }

    @Test func header_GivesFrameLengths_ForEveryVersionAndLayer() throws {
        // (header, length, samples): worked out by hand from the formulas in ISO 11172-3 / 13818-3.
        let cases: [([UInt8], Int, Int)] = [
            ([0xFF, 0xFB, 0x92, 0x64], 418, 1152),  // MPEG-1 Layer III 128k 44.1 kHz, padded
            ([0xFF, 0xFB, 0xE4, 0xC0], 960, 1152),  // MPEG-1 Layer III 320k 48 kHz, mono
            ([0xFF, 0xFD, 0xA4, 0x00], 576, 1152),  // MPEG-1 Layer II 192k 48 kHz
            ([0xFF, 0xFF, 0xC4, 0x00], 384, 384),  // MPEG-1 Layer I 384k 48 kHz
            ([0xFF, 0xFF, 0xC6, 0x00], 388, 384),  // … padded: one 4-byte slot more
            ([0xFF, 0xF3, 0x80, 0x00], 208, 576),  // MPEG-2 Layer III 64k 22.05 kHz
            ([0xFF, 0xF5, 0x80, 0x00], 417, 1152),  // MPEG-2 Layer II 64k 22.05 kHz
            ([0xFF, 0xE3, 0x18, 0x00], 72, 576),  // MPEG-2.5 Layer III 8k 8 kHz
        ]
        for (bytes, length, samples) in cases {
            let header = try #require(MP3Frame(bytes), "\(bytes)")
            #expect(header.length == length, "\(bytes)")
            #expect(header.samplesPerFrame == samples, "\(bytes)")
        }
        #expect(MP3Frame([0xFF, 0xE3, 0x18, 0x00])?.duration == .milliseconds(72))
    }

    @Test func header_IsRefused_WhenAFieldIsReservedOrFree() {
        let refused: [[UInt8]] = [
            [0xFE, 0xFB, 0x90, 0x64],  // no sync
            [0xFF, 0x1B, 0x90, 0x64],  // sync cut short
            [0xFF, 0xEB, 0x90, 0x64],  // version 01 is reserved
            [0xFF, 0xF9, 0x90, 0x64],  // layer 00 is reserved
            [0xFF, 0xFB, 0x00, 0x64],  // free bitrate
            [0xFF, 0xFB, 0xF0, 0x64],  // bitrate index 15
            [0xFF, 0xFB, 0x9C, 0x64],  // sample rate 11 is reserved
            [0xFF, 0xFB, 0x90, 0x66],  // emphasis 10 is reserved
            [0xFF, 0xFB, 0x90],  // too short
            [0xFF, 0xFF, 0xFF, 0xFF],
        ]
        for bytes in refused { #expect(MP3Frame(bytes) == nil, "\(bytes)") }
    }

    @Test func sniffBitrate_Finds128_InASliceOfTheToneStartingMidFrame() {
        let tone = BuiltInTone.mp3
        #expect(MP3Frame.sniffBitrate(tone[1000..<5000]) == 128)
        #expect(MP3Frame.sniffBitrate(tone[12_345..<13_300]) == 128)  // about two frames
        #expect(MP3Frame.sniffBitrate(Array(tone[0..<421])) == 128)  // a frame and the next header
    }

    @Test func sniffBitrate_IsNil_WhenThereAreNotTwoConsecutiveFrames() {
        let tone = BuiltInTone.mp3
        #expect(MP3Frame.sniffBitrate([UInt8]()) == nil)
        #expect(MP3Frame.sniffBitrate(tone[0..<420]) == nil)  // one frame, the next header cut short
        for seed in 1...20 as ClosedRange<UInt64> {
            #expect(MP3Frame.sniffBitrate(SeededBytes.bytes(16_384, seed: seed)) == nil, "seed \(seed)")
        }
    }

    @Test func sniffBitrate_AveragesTheFrames_WhenTheBitrateVaries() {
        // 128, 256, 128 kbit/s at 44.1 kHz: 1669 bytes in 3 × 1152 samples ≈ 170.4 kbit/s.
        let vbr = frame([0xFF, 0xFB, 0x90, 0x00]) + frame([0xFF, 0xFB, 0xD0, 0x00]) + frame([0xFF, 0xFB, 0x90, 0x00])
        #expect(MP3Frame.sniffBitrate(vbr) == 170)
    }
}

struct MP3FileTests {
    @Test func builtInTone_Has155FramesAt128kbits() throws {
        let file = try MP3File(BuiltInTone.mp3)
        #expect(file.frames.count == 155)
        #expect(file.averageBitrate == 128)
        #expect(file.sampleRate == 44100)
        #expect(file.frames.allSatisfy { $0.header.layer == .layer3 && $0.header.version == .mpeg1 })
        #expect(abs(file.duration / .seconds(1) - 4.049) < 0.001)
        #expect(file.audioRange == 0..<BuiltInTone.mp3.count)
        #expect(file.audioBytes == BuiltInTone.mp3.count)
        #expect(file.isContiguous)
        #expect(file.audio(of: BuiltInTone.mp3) == BuiltInTone.mp3)
    }

    @Test func scan_SkipsAnID3v2Tag_EvenOneThatHoldsFrameLikeBytes() throws {
        let tone = BuiltInTone.mp3
        // The tag's body holds two real frames: a scan that did not skip the tag would count them.
        for footer in [false, true] {
            let tag = id3v2Tag(body: Array(tone[0..<835]) + [0, 0, 0], footer: footer)
            let bytes = tag + tone
            let file = try MP3File(bytes)
            #expect(file.frames.count == 155, "footer \(footer)")
            #expect(file.frames.first?.offset == tag.count, "footer \(footer)")
            #expect(file.audioRange == tag.count..<bytes.count, "footer \(footer)")
            #expect(file.audio(of: bytes) == tone, "footer \(footer)")
        }
    }

    @Test("An encoder's Xing/Info or VBRI frame (the file's length, no audio) is left out: played in a loop, it would tell a player joining there that the stream ends", arguments: ["Info", "Xing", "VBRI"])
    func scan_LeavesOutTheInfoFrame(tag: String) throws {
        let tone = BuiltInTone.mp3
        let first = try #require(try MP3File(tone).frames.first)
        var bytes = tone
        bytes.replaceSubrange(36..<40, with: Array(tag.utf8))  // after a stereo MPEG-1 frame's 32 bytes of side information
        let file = try MP3File(bytes)
        #expect(file.frames.count == 154)
        #expect(file.audio(of: bytes) == Array(tone[first.header.length...]))
        #expect(try MP3File(tone).frames.count == 155, "a frame of audio is kept")
    }

    @Test("A file that goes on in another channel count (or sample rate) says where: played in a loop, players meet the change")
    func shapeChange_NamesTheFirstFrameOfAnotherShape() throws {
        let stereo = frame([0xFF, 0xFB, 0x90, 0x00]), mono = frame([0xFF, 0xFB, 0x90, 0xC0])
        let file = try MP3File(stereo + stereo + stereo + mono + mono)
        let change = try #require(file.shapeChange)
        #expect(change.frame == 3)
        #expect("\(change.from)" == "44100 Hz stereo" && "\(change.to)" == "44100 Hz mono")
        #expect(try MP3File(BuiltInTone.mp3).shapeChange == nil)
    }

    @Test func scan_StopsBeforeAnID3v1Tag() throws {
        let tone = BuiltInTone.mp3
        let tag = Array("TAG".utf8) + [UInt8](repeating: 0xFF, count: 125)
        let file = try MP3File(tone + tag)
        #expect(file.frames.count == 155)
        #expect(file.audioRange == 0..<tone.count)
    }

    @Test func scan_Resyncs_OverGarbageInFrontAndInBetween() throws {
        let tone = BuiltInTone.mp3
        let whole = try MP3File(tone)
        let cut = whole.frames[50].offset
        for seed in 1...10 as ClosedRange<UInt64> {
            let garbage = SeededBytes.bytes(1000, seed: seed)
            let bytes = garbage + Array(tone[..<cut]) + garbage.prefix(333) + Array(tone[cut...])
            let file = try MP3File(bytes)
            #expect(file.frames.count == 155, "seed \(seed)")
            #expect(file.frames.first?.offset == 1000, "seed \(seed)")
            #expect(!file.isContiguous, "seed \(seed)")
            #expect(file.audio(of: bytes) == tone, "seed \(seed)")
            #expect(file.averageBitrate == 128, "seed \(seed)")
        }
    }

    @Test func scan_DropsATruncatedLastFrame() throws {
        let tone = BuiltInTone.mp3
        let file = try MP3File(Array(tone.dropLast(100)))
        #expect(file.frames.count == 154)
        #expect(file.audioRange.upperBound <= tone.count - 100)
    }

    @Test func scan_FailsWithATypedError_ForBytesWithoutFrames() {
        var inputs: [[UInt8]] = [[], [0xFF], [0xFF, 0xFB, 0x90], [UInt8](repeating: 0xFF, count: 5000)]
        inputs.append(Array("ID3".utf8) + [4, 0, 0, 0x7F, 0x7F, 0x7F, 0x7F])  // a tag far longer than the file
        inputs.append(Array("ID3".utf8) + [4, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 1, 2, 3])  // a broken size
        inputs.append(Array(BuiltInTone.mp3[0..<417]) + [1, 2, 3, 4, 5])  // one frame, followed by no header
        for seed in 1...30 as ClosedRange<UInt64> {
            inputs.append(SeededBytes.bytes(Int(seed) * 1000, seed: seed))
        }
        for bytes in inputs {
            #expect(throws: MP3Error.noFrames(byteCount: bytes.count)) { try MP3File(bytes) }
        }
        #expect(MP3Error.noFrames(byteCount: 1024).description == "no MPEG audio frames found in 1024 bytes")
        // Audio of another kind is named, with what the station plays: a file to convert, not a broken one.
        let wav = Array("RIFF".utf8) + [0x24, 0, 0, 0] + Array("WAVEfmt ".utf8) + [UInt8](repeating: 0, count: 2000)
        #expect(throws: MP3Error.notMP3(byteCount: wav.count, lookedLike: "WAV")) { try MP3File(wav) }
        let aac = adtsFrames(20)
        #expect(throws: MP3Error.notMP3(byteCount: aac.count, lookedLike: "AAC in ADTS")) { try MP3File(aac) }
        #expect(MP3Error.notMP3(byteCount: 9, lookedLike: "Ogg").description.hasPrefix(
            "no MPEG audio frames found in 9 bytes: it looks like Ogg, and the station plays MP3 only"))
    }

    @Test func averageBitrate_IsBytesOverSeconds_ForAVBRFile() throws {
        let bytes = frame([0xFF, 0xFB, 0x90, 0x00]) + frame([0xFF, 0xFB, 0xD0, 0x00]) + frame([0xFF, 0xFB, 0x90, 0x00])
        let file = try MP3File(bytes)
        #expect(file.frames.map(\.header.bitrate) == [128, 256, 128])
        #expect(file.averageBitrate == 170)
        #expect(abs(file.duration / .seconds(1) - 3.0 * 1152 / 44100) < 1e-9)
    }
}
