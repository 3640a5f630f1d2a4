@testable import CastyAudio
import Testing

/// Builds MPEG transport streams for the demuxer's tests: PAT, PMT and PES packets, with the continuity counters
/// a muxer would write (or others, to test what happens when they are wrong).
struct TSBuilder {
    var pmtPID: UInt16 = 0x1000
    var audioPID: UInt16 = 0x100
    var streamType: UInt8 = 0x03
    var counters: [UInt16: UInt8] = [:]

    /// One 188-byte packet of `pid` carrying `payload` (at most 184 bytes; stuffed with an adaptation field).
    mutating func packet(pid: UInt16, start: Bool, payload: ArraySlice<UInt8>, counter: UInt8? = nil) -> [UInt8] {
        precondition(payload.count <= 184)
        let cc = counter ?? counters[pid, default: 0]
        counters[pid] = (cc + 1) & 0x0F
        var packet: [UInt8] = [0x47, (start ? 0x40 : 0) | UInt8(pid >> 8), UInt8(pid & 0xFF)]
        let stuffing = 184 - payload.count
        if stuffing == 0 {
            packet.append(0x10 | cc)
        } else {
            packet.append(0x30 | cc)
            packet.append(UInt8(stuffing - 1))
            if stuffing > 1 { packet += [0x00] + [UInt8](repeating: 0xFF, count: stuffing - 2) }
        }
        packet += payload
        return packet
    }

    /// A PSI section with its CRC.
    static func section(table: UInt8, _ body: [UInt8]) -> [UInt8] {
        let length = body.count + 4
        var section: [UInt8] = [table, 0xB0 | UInt8(length >> 8), UInt8(length & 0xFF)] + body
        let crc = CRC32MPEG.checksum(section)
        section += [UInt8(crc >> 24), UInt8((crc >> 16) & 0xFF), UInt8((crc >> 8) & 0xFF), UInt8(crc & 0xFF)]
        return section
    }

    mutating func pat() -> [UInt8] {
        let body: [UInt8] = [0x00, 0x01, 0xC1, 0x00, 0x00, 0x00, 0x01, 0xE0 | UInt8(pmtPID >> 8), UInt8(pmtPID & 0xFF)]
        return packet(pid: 0, start: true, payload: ([0x00] + Self.section(table: 0x00, body))[...])
    }

    mutating func pmt() -> [UInt8] {
        let body: [UInt8] = [0x00, 0x01, 0xC1, 0x00, 0x00, 0xE0 | UInt8(audioPID >> 8), UInt8(audioPID & 0xFF), 0xF0, 0x00,
                             0x1B, 0xE1, 0x11, 0xF0, 0x00,  // a video stream first, which is skipped
                             streamType, 0xE0 | UInt8(audioPID >> 8), UInt8(audioPID & 0xFF), 0xF0, 0x00]
        return packet(pid: pmtPID, start: true, payload: ([0x00] + Self.section(table: 0x02, body))[...])
    }

    /// One PES of `audio` in packets; `declaredLength` overrides PES_packet_length (0: unbounded).
    mutating func pes(_ audio: [UInt8], declaredLength: Int? = nil) -> [[UInt8]] {
        let length = declaredLength ?? min(0xFFFF, 3 + 5 + audio.count)
        let bytes: [UInt8] = [0, 0, 1, 0xC0, UInt8(length >> 8), UInt8(length & 0xFF), 0x80, 0x80, 5, 0x21, 0, 1, 0, 1] + audio
        var packets: [[UInt8]] = []
        var index = 0
        while index < bytes.count {
            let end = min(index + 184, bytes.count)
            packets.append(packet(pid: audioPID, start: index == 0, payload: bytes[index..<end]))
            index = end
        }
        return packets
    }

    /// PAT, PMT and one PES per chunk of `audio`.
    mutating func stream(_ audio: [UInt8], chunk: Int = 1500, declaredLength: Int? = nil) -> [UInt8] {
        var out = pat() + pmt()
        var index = 0
        while index < audio.count {
            let end = min(index + chunk, audio.count)
            out += pes(Array(audio[index..<end]), declaredLength: declaredLength).joined()
            index = end
        }
        return out
    }
}

/// Synthetic ADTS frames (AAC LC, 44.1 kHz stereo), `length` bytes each, header included.
func adtsFrames(_ count: Int, length: Int = 300) -> [UInt8] {
    let header: [UInt8] = [0xFF, 0xF1, 0x50, 0x80 | UInt8((length >> 11) & 0x03), UInt8((length >> 3) & 0xFF), UInt8((length & 0x07) << 5) | 0x1F, 0xFC]
    return (0..<count).flatMap { index in header + [UInt8](repeating: UInt8(truncatingIfNeeded: index), count: length - 7) }
}

/// What a demuxer hands on for `pieces`.
struct DemuxRun {
    var audio: [UInt8] = []
    var formats: Set<String> = []
    var incidents: [MPEGTSError] = []
    var demuxer = TSDemuxer()
    var maxHeld = 0

    init(_ bytes: [UInt8], pieces: Int = 1316) {
        var index = 0
        var step = 0
        while index < bytes.count {
            // Varying piece sizes, so that packets, sections and PES headers straddle feeds.
            let size = pieces == 0 ? [1, 7, 188, 200, 1316, 3][step % 6] : pieces
            let end = min(index + size, bytes.count)
            demuxer.feed(bytes[index..<end]) { output in
                switch output {
                case .audio(let bytes, let format):
                    audio += bytes
                    formats.insert("\(format)")
                case .incident(let error):
                    incidents.append(error)
                }
            }
            maxHeld = max(maxHeld, demuxer.heldBytes)
            index = end
            step += 1
        }
    }
}

@Suite struct TSDemuxerTests {
    let mp3 = Array(toneFrames.prefix(40).joined())

    @Test func tsDemuxer_PassesTheMP3ElementaryStream_WhateverThePieceSizes() {
        for pieces in [0, 1, 188, 1316, 100_000] {
            var builder = TSBuilder()
            let run = DemuxRun(builder.stream(mp3), pieces: pieces)
            #expect(run.audio == mp3, "pieces of \(pieces)")
            #expect(run.formats == ["mpeg"])
            #expect(run.incidents.isEmpty)
            #expect(run.demuxer.counters.lostPackets == 0)
            #expect(run.demuxer.counters.audioBytes == mp3.count)
            #expect(cleanMP3Chain(run.audio) == 40)
        }
    }

    @Test func tsDemuxer_PassesADTS_WhenTheStreamTypeIs0x0F() {
        var builder = TSBuilder()
        builder.streamType = 0x0F
        let aac = adtsFrames(30)
        let run = DemuxRun(builder.stream(aac), pieces: 0)
        #expect(run.audio == aac)
        #expect(run.formats == ["adts"])
        #expect(run.demuxer.format == .adts)
    }

    @Test("A program whose only stream is of a kind Casty does not serve (AAC in LATM) passes nothing on, and names it, for the line that drops its publisher")
    func tsDemuxer_NamesTheStreamsItDoesNotServe() {
        var builder = TSBuilder()
        builder.streamType = 0x11
        let run = DemuxRun(builder.stream(adtsFrames(30)), pieces: 0)
        #expect(run.audio.isEmpty && run.demuxer.format == nil)
        // The builder's program map names an H.264 video stream first, as ffmpeg's and OBS's do.
        #expect(run.demuxer.counters.unservedStreamTypes.map(TSDemuxer.streamTypeName) == ["H.264 video", "AAC in LATM"])
        #expect(TSDemuxer.streamTypeName(0x86) == "stream type 0x86")
        var served = TSBuilder()
        #expect(DemuxRun(served.stream(mp3), pieces: 0).demuxer.counters.unservedStreamTypes.isEmpty)
    }

    @Test func tsDemuxer_FollowsUnboundedPES_WhenTheLengthIsZero() {
        var builder = TSBuilder()
        let run = DemuxRun(builder.stream(mp3, chunk: 5000, declaredLength: 0), pieces: 0)
        #expect(run.audio == mp3)
        #expect(run.incidents.isEmpty)
    }

    @Test func tsDemuxer_CountsLostPackets_WhenTheContinuityCounterJumps() {
        var builder = TSBuilder()
        var packets = [builder.pat(), builder.pmt()]
        packets += builder.pes(mp3)
        let removed = packets.remove(at: 5)  // an audio packet in the middle of the PES
        let run = DemuxRun(Array(packets.joined()))
        #expect(run.demuxer.counters.lostPackets == 1)
        #expect(run.demuxer.counters.continuityErrors == 1)
        #expect(run.incidents.contains { if case .continuity(pid: 0x100, _, _, lost: 1) = $0 { true } else { false } })
        #expect(run.audio.count == mp3.count - (removed.count - 4))
        // The damaged PES's length proves nothing: no PES length incident on top.
        #expect(run.demuxer.counters.pesErrors == 0)
    }

    @Test func tsDemuxer_DropsOneDuplicatePacket() {
        var builder = TSBuilder()
        var packets = [builder.pat(), builder.pmt()]
        packets += builder.pes(mp3)
        packets.insert(packets[4], at: 5)
        let run = DemuxRun(Array(packets.joined()))
        #expect(run.audio == mp3)
        #expect(run.demuxer.counters.droppedPackets == 1)
        #expect(run.demuxer.counters.lostPackets == 0)
    }

    @Test func tsDemuxer_DropsTheExcess_WhenAPESIsLongerThanItsLength() {
        var builder = TSBuilder()
        let first = Array(mp3.prefix(1000)), second = Array(mp3.dropFirst(1000).prefix(1000))
        // The first PES says 400 bytes of payload but carries 1000.
        let bytes = builder.pat() + builder.pmt() + builder.pes(first, declaredLength: 3 + 5 + 400).joined()
            + builder.pes(second).joined()
        let run = DemuxRun(bytes)
        #expect(run.audio == Array(first.prefix(400)) + second)
        #expect(run.incidents.count == 1)
        #expect(run.incidents.allSatisfy { if case .pesLength(pid: 0x100, declared: 400, _) = $0 { true } else { false } })
        #expect(run.demuxer.counters.pesErrors == 1)
    }

    @Test func tsDemuxer_ReportsAShortPES_WhenTheNextStartsEarly() {
        var builder = TSBuilder()
        let first = Array(mp3.prefix(1000)), second = Array(mp3.dropFirst(1000).prefix(1000))
        let bytes = builder.pat() + builder.pmt() + builder.pes(first, declaredLength: 3 + 5 + 5000).joined()
            + builder.pes(second).joined()
        let run = DemuxRun(bytes)
        #expect(run.audio == first + second)
        #expect(run.incidents == [.pesLength(pid: 0x100, declared: 5000, received: 1000)])
    }

    @Test func tsDemuxer_DropsAPES_WhoseHeaderIsNotAPESHeader() {
        var builder = TSBuilder()
        let first = Array(mp3.prefix(1000)), second = Array(mp3.dropFirst(1000).prefix(1000))
        var bad = builder.pes(first)
        bad[0][6] = 0x07  // 00 00 07: not a start code
        let bytes = builder.pat() + builder.pmt() + bad.joined() + builder.pes(second).joined()
        let run = DemuxRun(bytes)
        #expect(run.audio == second)
        #expect(run.incidents == [.badPESHeader(pid: 0x100)])
    }

    @Test func tsDemuxer_SkipsGarbageBetweenPackets_AndCountsIt() {
        var builder = TSBuilder()
        var packets = [builder.pat(), builder.pmt()]
        packets += builder.pes(mp3)
        var bytes: [UInt8] = []
        for (index, packet) in packets.enumerated() {
            bytes += packet
            // Garbage, some of it with the sync byte in it, every seventh packet.
            if index % 7 == 3 { bytes += [0x47, 0x00, 0x12] + junk(50, seed: index) + [0x47] }
        }
        // Seen whole, the garbage costs no audio.
        let run = DemuxRun(bytes, pieces: bytes.count)
        #expect(run.audio.count == mp3.count)
        let same = run.audio == mp3
        #expect(same, "the audio differs")
        #expect(run.demuxer.counters.skippedBytes == packets.count / 7 * 54)
        #expect(run.incidents.allSatisfy { if case .lostSync = $0 { true } else { false } }, "\(run.incidents)")
        // In small pieces a sync byte in the garbage cannot always be told from a packet's start: a packet may
        // be lost with it, never more, and the stream goes on.
        for pieces in [0, 1316] {
            let run = DemuxRun(bytes, pieces: pieces)
            #expect(run.audio.count >= mp3.count - (packets.count / 7 + 1) * 2 * 184, "pieces \(pieces)")
            #expect(run.audio.count <= mp3.count, "pieces \(pieces)")
        }
    }

    @Test func tsDemuxer_IgnoresAPAT_WithABadCRC() {
        var builder = TSBuilder()
        var pat = builder.pat()
        pat[187] ^= 0x01  // the CRC's last byte
        let bytes = pat + builder.pmt() + builder.pes(mp3).joined()
        let run = DemuxRun(bytes)
        #expect(run.audio.isEmpty)
        #expect(run.incidents.contains(.badSection(pid: 0, table: 0)))
        // The next PAT (muxers repeat them) is read.
        let again = builder.pat() + builder.pmt() + builder.pes(mp3).joined()
        var demuxer = run.demuxer
        var audio: [UInt8] = []
        demuxer.feed(again[...]) { if case .audio(let bytes, _) = $0 { audio += bytes } }
        #expect(audio == mp3)
    }

    @Test func tsDemuxer_NeverCrashesAndHoldsLittle_WhateverArrives() {
        // Packets with random headers, random adaptation lengths, random PES lengths and counters; random bytes.
        var generator = SeededBytes(state: 15)
        var builder = TSBuilder()
        var bytes = builder.pat() + builder.pmt()
        for round in 0..<3000 {
            switch generator.next() % 4 {
            case 0:
                var packet = [UInt8](repeating: 0, count: 188).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
                packet[0] = 0x47
                packet[1] = (packet[1] & 0xE0) | 0x01  // the audio PID, any flags
                packet[2] = 0x00
                bytes += packet
            case 1:
                bytes += (0..<Int(generator.next() % 300)).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
            case 2:
                let length = Int(generator.next() % 0x10000)
                bytes += builder.pes(Array(mp3.prefix(Int(generator.next() % 2000))), declaredLength: length).joined()
            default:
                if round % 50 == 0 {
                    bytes += builder.pat() + builder.pmt()
                } else {
                    bytes += Array(builder.pes(Array(mp3.prefix(500))).joined())
                }
            }
        }
        let run = DemuxRun(bytes, pieces: 0)
        #expect(run.maxHeld <= 188 + 2 * 1024 + 264)
        #expect(run.demuxer.counters.packets > 1000)
        #expect(!run.audio.isEmpty)
    }

    // MARK: What arrives: TS or raw

    @Test func payloadReader_TellsTSFromRawMP3AndRawADTS() {
        var builder = TSBuilder()
        let ts = ReaderRun(builder.stream(mp3))
        #expect(ts.format == .mpeg && ts.ts == true && ts.audio == mp3)
        let raw = ReaderRun(mp3, pieces: 100)
        #expect(raw.format == .mpeg && raw.ts == false && raw.audio == mp3)
        let aac = adtsFrames(20)
        let rawAAC = ReaderRun(aac)
        #expect(rawAAC.format == .adts && rawAAC.ts == false && rawAAC.audio == aac)
    }

    @Test("MPEG audio is named by its layer, found past bytes that are none: MP3, or MP2 with a word that many browsers do not play it")
    func mpegAudioLayer_IsFoundAndNamed() throws {
        let layerII = (0..<3).flatMap { _ in [0xFF, 0xFD, 0x80, 0x04] + [UInt8](repeating: 0, count: 413) }
        #expect(MP3Frame.Layer(ofAudio: ([0x00, 0xFF, 0x12] + layerII)[...]) == .layer2, "its first frame followed by another")
        #expect(MP3Frame.Layer(ofAudio: mp3[...]) == .layer3)
        #expect(MP3Frame.Layer(ofAudio: Array(layerII.prefix(417))[...]) == .layer2, "one frame alone, at the start")
        #expect(MP3Frame.Layer(ofAudio: [0x00, 0x01][...]) == nil)
        #expect(MP3Frame.Layer.layer3.named == "MP3")
        #expect(MP3Frame.Layer.layer2.named == "MP2 (MPEG audio Layer II, which many browsers do not play: publish MP3 or AAC for them "
            + "(ffmpeg: -c:a libmp3lame or -c:a aac))")
    }

    @Test func payloadReader_GivesUp_WhenNeitherTSNorAudioArrives() {
        let garbage = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 * 7 + $0 / 3) & 0x7F }
        let result = ReaderRun(garbage)
        #expect(result.format == nil)
        #expect(result.audio.isEmpty)
        #expect((result.unrecognized ?? 0) >= PayloadReader.decisionLimit)
    }

    @Test("A continuity gap of one packet is told in the singular: '1 packet lost', not '1 packets'")
    func mpegTSError_CountsLostPacketsInTheSingularForOne() {
        #expect("\(MPEGTSError.continuity(pid: 256, expected: 3, got: 4, lost: 1))" == "PID 256: continuity counter 4 where 3 was due (1 packet lost)")
        #expect("\(MPEGTSError.continuity(pid: 256, expected: 3, got: 5, lost: 2))" == "PID 256: continuity counter 5 where 3 was due (2 packets lost)")
    }
}
