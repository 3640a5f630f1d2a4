@testable import Casty
@testable import CastyAudio
import Testing

/// What a payload reader hands on for `bytes`, fed in pieces of `pieces` bytes.
struct ReaderRun {
    var format: FrameChain.Format?
    var ts: Bool?
    var audio: [UInt8] = []
    var incidents: [MPEGTSError] = []
    var unrecognized: Int?

    init(_ bytes: [UInt8], pieces: Int = 1316) {
        var reader = PayloadReader()
        var index = 0
        while index < bytes.count {
            let end = min(index + pieces, bytes.count)
            reader.feed(bytes[index..<end]) { output in
                switch output {
                case .format(let found, let transportStream):
                    format = found
                    ts = transportStream
                case .audio(let bytes): audio += bytes
                case .incident(let error): incidents.append(error)
                case .unrecognized(let after): unrecognized = after
                }
            }
            index = end
        }
    }
}

/// How a payload reader finds where a stream starts: a transport stream whose first packet is cut short or comes
/// after garbage, and raw MP3 or ADTS whose bytes hold 0x47 here and there.
@Suite struct PayloadReaderStartTests {
    let mp3 = Array(toneFrames.prefix(40).joined())

    /// A transport stream of `mp3` that repeats its PAT and PMT, as muxers do: the first ones may be lost.
    func transportStream() -> [UInt8] {
        var builder = TSBuilder()
        return builder.pat() + builder.pmt() + builder.stream(mp3)
    }

    /// Bytes that are neither packets nor frames, with 0x47 among them (and first).
    func garbage(_ count: Int) -> [UInt8] {
        (0..<count).map { $0 == 0 ? 0x47 : UInt8(truncatingIfNeeded: $0 * 7 + $0 / 3) & 0x7F }
    }

    @Test("A transport stream whose first packet lost its first 50 bytes is read from its second packet; the rest of the first is skipped and told")
    func payloadReader_ReadsATransportStreamWhoseFirstPacketIsCutShort() {
        let cut = Array(transportStream().dropFirst(50))
        for pieces in [1, 100, 1316, 100_000] {
            let run = ReaderRun(cut, pieces: pieces)
            #expect(run.ts == true && run.format == .mpeg, "pieces of \(pieces)")
            #expect(run.audio == mp3, "pieces of \(pieces)")
            #expect(run.incidents == [.lostSync(dropped: 188 - 50)], "pieces of \(pieces)")
            #expect(run.unrecognized == nil)
        }
    }

    @Test("Garbage before a transport stream's first packet, even garbage that begins with 0x47, is skipped and told")
    func payloadReader_SkipsGarbageBeforeTheFirstPacket() {
        for count in [1, 187, 1000, 5000] {
            let run = ReaderRun(garbage(count) + transportStream())
            #expect(run.ts == true && run.format == .mpeg, "\(count) bytes of garbage")
            #expect(run.audio == mp3, "\(count) bytes of garbage")
            #expect(run.incidents == [.lostSync(dropped: count)], "\(count) bytes of garbage")
        }
    }

    @Test("Raw MP3 (the built-in tone, whole or cut at any byte) and raw ADTS are still raw audio, never a transport stream")
    func payloadReader_StillTakesRawMP3AndADTSForRawAudio() {
        let tone = BuiltInTone.mp3
        #expect(tone.count(where: { $0 == TSDemuxer.syncByte }) > 100, "the tone holds 0x47 bytes")
        for start in stride(from: 0, to: 3000, by: 7) {
            let run = ReaderRun(Array(tone.dropFirst(start)))
            #expect(run.ts == false && run.format == .mpeg, "the tone from byte \(start)")
            #expect(run.audio.count == tone.count - start, "the tone from byte \(start)")
        }
        let aac = adtsFrames(100)  // frame 71's body is 293 bytes of 0x47
        for start in stride(from: 0, to: aac.count - 600, by: 97) {  // two whole frames left to link
            let run = ReaderRun(Array(aac.dropFirst(start)), pieces: 100)
            #expect(run.ts == false && run.format == .adts, "ADTS from byte \(start)")
            #expect(run.audio.count == aac.count - start, "ADTS from byte \(start)")
        }
    }

    @Test("Three 0x47 bytes 188 apart before raw MP3 do not make it a transport stream: four are needed when they may start anywhere")
    func payloadReader_TakesRawMP3_AfterThreeSyncBytesByChance() {
        var junk = [UInt8](repeating: 0, count: 600)
        for index in [0, 188, 376] { junk[index] = TSDemuxer.syncByte }
        let run = ReaderRun(junk + mp3, pieces: 100)
        #expect(run.ts == false && run.format == .mpeg)
        #expect(run.audio == junk + mp3)
    }
}
