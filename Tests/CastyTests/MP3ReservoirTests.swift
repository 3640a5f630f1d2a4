@testable import CastyAudio
import Testing

@testable import Casty

/// Where two MP3 streams are joined, the first frames of the second, whose audio begins in the frames before them
/// (the bit reservoir), are muted — their side information zeroed — until one is decodable; their data areas stay.
struct MP3ReservoirTests {
    /// A Layer III frame with the header bytes `b1 b2 b3` (after `FF`): a CRC if `b1`'s protection bit is 0 (bytes
    /// `C1 C2`, wrong on purpose), side information whose `main_data_begin` is `begin` — 9 bits in MPEG-1, 8 in
    /// MPEG-2 — and whose other bits are `0xA5`s, then a data area of `fill`.
    static func frame(_ b1: UInt8, _ b2: UInt8, _ b3: UInt8, begin: Int, fill: UInt8) -> [UInt8] {
        let header = MP3Frame(0xFF, b1, b2, b3)!
        let crc: [UInt8] = b1 & 1 == 0 ? [0xC1, 0xC2] : []
        var side = [UInt8](repeating: 0xA5, count: header.sideInformationBytes)
        if header.version == .mpeg1 {
            side[0] = UInt8(begin >> 1)
            side[1] = UInt8(begin & 1) << 7 | 0x25
        } else {
            side[0] = UInt8(begin)
        }
        let head: [UInt8] = [0xFF, b1, b2, b3] + crc + side
        return head + [UInt8](repeating: fill, count: header.length - head.count)
    }

    // 32 kbit/s, so that a frame holds little audio and a join mutes several.
    /// MPEG-1, 44.1 kHz, stereo: 104 bytes, 32 of side information, 68 of data area.
    static func mpeg1Stereo(begin: Int, fill: UInt8) -> [UInt8] { frame(0xFB, 0x10, 0x00, begin: begin, fill: fill) }
    /// MPEG-1, 44.1 kHz, mono: 104 bytes, 17 of side information, 83 of data area.
    static func mpeg1Mono(begin: Int, fill: UInt8) -> [UInt8] { frame(0xFB, 0x10, 0xC0, begin: begin, fill: fill) }
    /// MPEG-2, 22.05 kHz, stereo: 104 bytes, 17 of side information, 83 of data area.
    static func mpeg2Stereo(begin: Int, fill: UInt8) -> [UInt8] { frame(0xF3, 0x40, 0x00, begin: begin, fill: fill) }
    /// MPEG-1, 44.1 kHz, stereo, with a CRC: 104 bytes, 2 of CRC, 32 of side information, 66 of data area.
    static func mpeg1Protected(begin: Int, fill: UInt8) -> [UInt8] { frame(0xFA, 0x10, 0x00, begin: begin, fill: fill) }

    /// The CRC-16 of ISO 11172-3, worked out bit by bit as a polynomial division (x¹⁶ + x¹⁵ + x² + 1, register
    /// starting all ones), apart from the code under test.
    static func referenceCRC(_ bytes: [UInt8]) -> UInt16 {
        var register = [Bool](repeating: true, count: 16)  // register[0] is the most significant bit
        for byte in bytes {
            for bit in (0..<8).reversed() {
                let feedback = register[0] != ((byte >> bit) & 1 == 1)
                register.removeFirst()
                register.append(false)
                if feedback { for tap in [0, 13, 15] { register[tap].toggle() } }  // x¹⁵, x², x⁰ of 0x8005
            }
        }
        return register.reduce(0) { $0 << 1 | ($1 ? 1 : 0) }
    }

    /// `frames` joined after another stream, through the walk a player's entry takes.
    static func joined(_ frames: [[UInt8]]) -> [[UInt8]] {
        var bytes = Array(frames.joined())
        FrameChain.Format.mpeg.muteAfterJoin(&bytes, from: 0, end: bytes.count)
        var at = 0
        return frames.map { frame in
            defer { at += frame.count }
            return Array(bytes[at..<(at + frame.count)])
        }
    }

    /// Whether `after` is `before` muted: the same header (and CRC place), then `side` bytes of side information
    /// after `skip` bytes that are zeros but for `main_data_begin`, which is `begin` (9 bits in MPEG-1, else 8), and
    /// the same data area.
    static func isMuted(_ after: [UInt8], from before: [UInt8], skip: Int = 4, side: Int, begin: Int) -> Bool {
        let mpeg1 = before[1] & 0x18 == 0x18
        let expected = (mpeg1 ? [UInt8(begin >> 1), UInt8(begin & 1) << 7] : [UInt8(begin), 0]) + [UInt8](repeating: 0, count: side - 2)
        return after.count == before.count && after.prefix(4) == before.prefix(4)
            && Array(after[skip..<(skip + side)]) == expected && after[(skip + side)...] == before[(skip + side)...]
    }

    @Test("main_data_begin is read as 9 bits after the header in MPEG-1, 8 in MPEG-2, after the CRC where there is one")
    func mainDataBegin_IsReadForEveryVersion() {
        #expect(MP3Frame.mainDataBegin(of: Self.mpeg1Stereo(begin: 511, fill: 1)[...]) == 511)
        #expect(MP3Frame.mainDataBegin(of: Self.mpeg1Stereo(begin: 256, fill: 1)[...]) == 256)
        #expect(MP3Frame.mainDataBegin(of: Self.mpeg1Mono(begin: 3, fill: 1)[...]) == 3)
        #expect(MP3Frame.mainDataBegin(of: Self.mpeg2Stereo(begin: 200, fill: 1)[...]) == 200)
        #expect(MP3Frame.mainDataBegin(of: Self.mpeg1Protected(begin: 301, fill: 1)[...]) == 301)
        #expect(MP3Frame.mainDataBegin(of: ([0xFF, 0xFD, 0xA4, 0x00] + [UInt8](repeating: 0xFF, count: 572))[...]) == nil, "Layer II")
        #expect(MP3Frame.mainDataBegin(of: toneFrames[1][...]) == 103, "the built-in tone's second frame")
    }

    @Test("MPEG-1 stereo: frames reaching back past the data areas since the join are muted, up to the first decodable one")
    func mpeg1Stereo_MutesUntilAFrameIsDecodable() {
        // Data areas of 68 bytes: 0 < 200, 68 < 150, 136 < 140 are muted; 100 ≤ 204 is decodable, and so is what
        // follows. A muted frame's main data begin at the join: 0, 68 and 136 bytes back.
        let frames = zip([200, 150, 140, 100, 250], 1...).map { Self.mpeg1Stereo(begin: $0, fill: UInt8($1)) }
        let joined = Self.joined(frames)
        for index in 0..<3 { #expect(Self.isMuted(joined[index], from: frames[index], side: 32, begin: 68 * index), "frame \(index)") }
        #expect(Array(joined[3...]) == Array(frames[3...]), "a decodable frame, and every one after it, as it was")
        #expect(MP3Frame.mainDataBegin(of: joined[0][...]) == 0)
    }

    @Test("MPEG-1 mono: 17 bytes of side information")
    func mpeg1Mono_MutesItsSideInformation() {
        // Data areas of 83 bytes: 0 < 100 and 83 < 90 are muted; 160 ≤ 166 is decodable.
        let frames = zip([100, 90, 160, 50], 1...).map { Self.mpeg1Mono(begin: $0, fill: UInt8($1)) }
        let joined = Self.joined(frames)
        #expect(Self.isMuted(joined[0], from: frames[0], side: 17, begin: 0) && Self.isMuted(joined[1], from: frames[1], side: 17, begin: 83))
        #expect(joined[1][21] == 2, "the data area right after the side information is kept")
        #expect(Array(joined[2...]) == Array(frames[2...]))
    }

    @Test("MPEG-2: an 8-bit main_data_begin, 17 bytes of side information in stereo")
    func mpeg2_ReadsEightBits() {
        // Data areas of 83 bytes: 0 < 200 and 83 < 100 are muted; 150 ≤ 166 is decodable. (Read as 9 bits, with the
        // next bit set, 200 would be 401.)
        let frames = zip([200, 100, 150, 255], 1...).map { Self.mpeg2Stereo(begin: $0, fill: UInt8($1)) }
        let joined = Self.joined(frames)
        #expect(Self.isMuted(joined[0], from: frames[0], side: 17, begin: 0) && Self.isMuted(joined[1], from: frames[1], side: 17, begin: 83))
        #expect(Array(joined[2...]) == Array(frames[2...]))
    }

    @Test("A frame whose main data begins in its own data area (main_data_begin 0: a new encoder's first) ends the join at once")
    func aFrameOfItsOwn_EndsTheJoin() {
        let frames = zip([0, 400, 500], 1...).map { Self.mpeg1Stereo(begin: $0, fill: UInt8($1)) }
        #expect(Self.joined(frames) == frames)
    }

    @Test("A muted frame with a CRC gets the CRC of its header's last two bytes and its zeroed side information")
    func protectedFrame_GetsItsCRCComputedAnew() {
        #expect(MP3Frame.crc16(Array("123456789".utf8)) == 0xAEE7, "CRC-16 with polynomial 0x8005, from 0xFFFF: the catalogue's check value")
        #expect(Self.referenceCRC(Array("123456789".utf8)) == 0xAEE7)
        let frames = [Self.mpeg1Protected(begin: 400, fill: 1), Self.mpeg1Protected(begin: 300, fill: 2), Self.mpeg1Protected(begin: 100, fill: 3)]
        let joined = Self.joined(frames)
        #expect(Self.isMuted(joined[0], from: frames[0], skip: 6, side: 32, begin: 0))
        #expect(Self.isMuted(joined[1], from: frames[1], skip: 6, side: 32, begin: 66), "66 bytes of data area since the join")
        for index in 0..<2 {
            let crc = Self.referenceCRC([0x10, 0x00] + joined[index][6..<38])
            #expect(joined[index][4] == UInt8(crc >> 8) && joined[index][5] == UInt8(crc & 0xFF),
                    "frame \(index): CRC \(joined[index][4]) \(joined[index][5]), expected \(crc)")
        }
        let zeros = Self.referenceCRC([0x10, 0x00] + [UInt8](repeating: 0, count: 32))
        #expect(joined[0][4] == UInt8(zeros >> 8) && joined[0][5] == UInt8(zeros & 0xFF), "the first: all zeros")
        #expect(joined[2] == frames[2], "132 bytes of data area since the join: 100 back is decodable")
    }

    @Test("Frames cut by the end of what is walked are muted when their side information is there, and the walk stops")
    func aCutFrame_IsMutedIfItsSideInformationIsThere() {
        let frames = [Self.mpeg1Stereo(begin: 300, fill: 1), Self.mpeg1Stereo(begin: 300, fill: 2)]
        var bytes = Array(frames.joined()) + [0xAA, 0xBB]  // a metadata block's bytes after the audio
        FrameChain.Format.mpeg.muteAfterJoin(&bytes, from: 0, end: 104 + 40)
        #expect(Self.isMuted(Array(bytes[..<104]), from: frames[0], side: 32, begin: 0))
        #expect(Self.isMuted(Array(bytes[104..<208]), from: frames[1], side: 32, begin: 68))
        #expect(bytes.suffix(2) == [0xAA, 0xBB])
    }

    @Test("ADTS frames carry all their audio: nothing is muted")
    func adts_IsLeftAsItIs() {
        let frames = variedADTSFrames(10)
        var bytes = frames
        FrameChain.Format.adts.muteAfterJoin(&bytes, from: 0, end: bytes.count)
        #expect(bytes == frames)
    }

    @Test("A chain's first stream is passed on as it is, however it starts; after a restart its first frames are muted, unless it goes on exactly")
    func frameChain_MutesAfterARestartOnly() {
        let frames = Array(toneFrames.prefix(40))
        func run(_ streams: [[UInt8]], continuing: Bool = false) -> [UInt8] {
            var chain = FrameChain(format: .mpeg)
            var run = ChainRun()
            for (index, stream) in streams.enumerated() {
                if index > 0 {
                    chain.restart(format: .mpeg)
                    #expect(chain.isJoining)
                    if continuing { chain.continuesExactly() }
                }
                // In reads of 100 bytes: a frame that straddles two is muted all the same.
                for piece in FrameChainShapeTests.pieces(stream, 100) { run.run(&chain, piece) }
            }
            #expect(!chain.isJoining)
            return run.bytes
        }
        #expect(run([Array(frames[10...].joined())]) == Array(frames[10...].joined()), "a player that starts knows it has no reservoir")
        #expect(run([Array(frames[..<10].joined()), Array(frames[20...].joined())])
            == Array(frames[..<10].joined()) + mutedAfterJoin(Array(frames[20...]), at: 0))
        #expect(run([Array(frames[..<10].joined()), Array(frames[10...].joined())], continuing: true) == Array(frames.joined()))
    }
}
