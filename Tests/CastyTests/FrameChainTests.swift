@testable import CastyAudio
import Icy
import Testing

@testable import Casty

/// The built-in tone's frames: real MP3 audio, whose bodies hold bytes that look like headers now and then.
let toneFrames: [[UInt8]] = {
    let file = try! MP3File(BuiltInTone.mp3)
    return file.frames.map { Array(BuiltInTone.mp3[$0.range]) }
}()

/// `frames` as a chain passes them on after a join before `frames[first]` (``ReservoirJoin``): the built-in tone's
/// `count` frames there, whose audio begins in the frames before them, with their 32 bytes of side information
/// (MPEG-1 stereo, no CRC) zeroed but for `main_data_begin`, which points back at the join: 0, then the bytes of
/// data area of the frames muted before. The tone's frames reach back about 400 bytes, where a frame holds 381 or
/// 382 of audio: two frames after a join at most of those tested (worked out from the tone's `main_data_begin` values).
func mutedAfterJoin(_ frames: [[UInt8]], at first: Int, count: Int = 2) -> [UInt8] {
    var available = 0
    return frames.enumerated().flatMap { index, frame in
        guard (first..<(first + count)).contains(index) else { return frame }
        defer { available += frame.count - 36 }
        return Array(frame.prefix(4)) + [UInt8(available >> 1), UInt8(available & 1) << 7] + [UInt8](repeating: 0, count: 30) + frame.dropFirst(36)
    }
}

/// Whether `bytes` are MPEG audio frames back to back, each header where the previous frame's length says,
/// the last one whole. Returns the number of frames, or `nil` at the first break.
func cleanMP3Chain(_ bytes: some Collection<UInt8>) -> Int? {
    let bytes = Array(bytes)
    var index = 0, count = 0
    while index < bytes.count {
        guard let frame = MP3Frame(bytes[index...]), index + frame.length <= bytes.count else { return nil }
        index += frame.length
        count += 1
    }
    return count
}

/// Bytes that are not audio (with `0xFF` now and then, to tempt the search).
func junk(_ count: Int, seed: Int) -> [UInt8] {
    (0..<count).map { UInt8(truncatingIfNeeded: ($0 &+ seed) &* 2_654_435_761 >> 13) }
}

/// Everything a chain passes on for `pieces`, and its reports.
struct ChainRun: Equatable {
    var bytes: [UInt8] = []
    var frames = 0
    var resyncs: [Int] = []
    var gaveUp: [Int] = []
    var reformatted: [FrameChain.Format] = []
    var reshaped: [String] = []
    var lookedLike: String?

    /// `waits`: a source's chain (``FrameChain/waitsForNextHeader``), told the stream ends after the last piece.
    init(_ pieces: [ArraySlice<UInt8>], format: FrameChain.Format? = .mpeg, identifies: Bool = false, waits: Bool = false) {
        var chain = FrameChain(format: format)
        chain.identifies = identifies
        chain.waitsForNextHeader = waits
        for piece in pieces { run(&chain, piece) }
        if waits { run(&chain, [], ending: true) }
    }

    init() {}

    mutating func run(_ chain: inout FrameChain, _ piece: ArraySlice<UInt8>, ending: Bool = false) {
        chain.feed(piece, ending: ending) { output in
            switch output {
            case .frame(let frame): bytes += frame; frames += 1
            case .audio(let audio): bytes += audio
            case .resynced(let dropped): resyncs.append(dropped)
            case .gaveUp(let after, let kind):
                gaveUp.append(after)
                lookedLike = kind
            case .text(let after):
                gaveUp.append(after)
                lookedLike = AudioSignature.text
            case .reformatted(let format): reformatted.append(format)
            case .reshaped(let from, let to): reshaped.append("\(from) → \(to)")
            }
        }
    }
}

struct FrameChainTests {
    let frames = Array(toneFrames.prefix(40))

    @Test func cleanStream_JoinedMidFrame_StartsAtTheFirstFrame_AndPassesWholeFrames() throws {
        let stream = Array(frames.joined())
        let run = ChainRun([stream.dropFirst(100)])
        #expect(run.bytes == Array(frames.dropFirst().joined()))
        #expect(run.resyncs.isEmpty && run.gaveUp.isEmpty)
        #expect(cleanMP3Chain(run.bytes) == frames.count - 1)
    }

    @Test func garbageInTheMiddle_IsDropped_AndReportedOnce() {
        let garbage = junk(1234, seed: 5)
        let stream = Array(frames.prefix(20).joined()) + garbage + Array(frames.dropFirst(20).joined())
        let run = ChainRun([stream[...]])
        // The first frames after it, whose audio began in bytes before it, muted (the bytes dropped may have held it).
        #expect(run.bytes == mutedAfterJoin(frames, at: 20))
        #expect(run.resyncs == [1234])
        #expect(cleanMP3Chain(run.bytes) == frames.count)
    }

    @Test("A run of garbage past the give-up limit gives up however the reads cut it: in one read with the frames after it, or in reads of 1 and 16 KiB")
    func longGarbageInTheMiddle_GivesUp_WhateverTheReads() {
        let garbage = junk(FrameChain.giveUpBytes + 4_464, seed: 9)
        let stream = Array(frames.prefix(20).joined()) + garbage + Array(frames.dropFirst(20).joined())
        for size in [stream.count, 1_024, 16_384] {
            let pieces = stride(from: 0, to: stream.count, by: size).map { stream[$0..<min($0 + size, stream.count)] }
            let run = ChainRun(pieces)
            #expect(run.gaveUp.count == 1 && run.resyncs.isEmpty, "reads of \(size): gave up \(run.gaveUp), resynced \(run.resyncs)")
        }
    }

    @Test func audioEatenByALyingMetadataLength_IsResynchronised() {
        // k = 255 with 16 bytes of text: a parser that trusts it eats 4064 bytes of audio, mid-frame.
        let whole = Array(frames.joined())
        let cut = 20 * 417 + 100
        let stream = Array(whole[..<cut] + whole[(cut + 4064)...])
        let run = ChainRun([stream[...]])
        #expect(run.resyncs.count == 1)
        #expect(cleanMP3Chain(run.bytes) != nil)
        #expect(run.bytes.count > whole.count - 4064 - 2 * 418)
    }

    @Test func splitAtEveryBytePosition_GivesTheSameOutput() async {
        let stream = Array(frames.prefix(6).joined().dropFirst(50)) + junk(700, seed: 9) + Array(frames.dropFirst(6).prefix(6).joined())
        let whole = ChainRun([stream[...]])
        #expect(whole.resyncs.count == 1)
        #expect(cleanMP3Chain(whole.bytes) == 11)
        for split in 1..<stream.count {
            // Some 18 s of work in a debug build: it lets the other tests' tasks run between its runs, rather than
            // hold one of the pool's threads (two on this machine) the whole time.
            if split % 32 == 0 { await Task.yield() }
            let run = ChainRun([stream[..<split], stream[split...]])
            #expect(run == whole, "split at \(split)")
            if run != whole { return }
        }
        // And byte by byte.
        #expect(ChainRun(stream.indices.map { stream[$0...$0] }) == whole)
    }

    @Test func reconnect_DropsTheOldStreamsPartialFrame_AndStartsTheNewAtItsFirstFrame() {
        var chain = FrameChain(format: .mpeg)
        var run = ChainRun()
        let old = Array(frames.prefix(10).joined().dropLast(200))  // cut mid-frame when the link dropped
        let new = Array(frames.dropFirst(10).joined().dropFirst(300))  // joined mid-frame
        run.run(&chain, old[...])
        let dropped = chain.restart(format: .mpeg)
        #expect(dropped == frames[9].count - 200)
        run.run(&chain, new[...])
        // The new stream's first frames, whose audio begins in bytes the listeners have of the old one, muted.
        #expect(run.bytes == Array(frames.prefix(9).joined()) + mutedAfterJoin(Array(frames.dropFirst(11)), at: 0))
        #expect(cleanMP3Chain(run.bytes) == frames.count - 2)
        #expect(run.resyncs.isEmpty)
    }

    @Test func streamWithoutFrames_IsPassedOnUnchecked_WithNothingLost() {
        let bytes = (0..<20_000).map { UInt8($0 % 251) }
        let run = ChainRun(stride(from: 0, to: bytes.count, by: 1000).map { bytes[$0..<min($0 + 1000, bytes.count)] })
        #expect(run.bytes == bytes)
        #expect(run.gaveUp.count == 1)
    }

    @Test func streamWithoutFrames_InOneLargeRead_GivesUpNamingTheBytesSearched_NotTheRead() {
        let bytes = (0..<65_536).map { UInt8($0 % 251) }
        let run = ChainRun([bytes[...]])
        #expect(run.bytes == bytes)
        #expect(run.gaveUp == [2 * (MP3Frame.maxLength + MP3Frame.headerBytes)], "only the start is searched: \(run.gaveUp)")
    }

    @Test func otherTypes_AreNotChecked() {
        #expect(FrameChain.Format(contentType: "audio/mpeg") == .mpeg)
        #expect(FrameChain.Format(contentType: "audio/aacp") == .adts)
        #expect(FrameChain.Format(contentType: "audio/AAC; charset=x") == .adts)
        #expect(FrameChain.Format(contentType: "application/ogg") == nil)
        let bytes = junk(5000, seed: 1)
        #expect(ChainRun([bytes[...]], format: nil).bytes == bytes)
    }

    @Test func adtsStream_IsFollowed_AndGarbageDropped() {
        // AAC LC, 44.1 kHz, stereo, no CRC; frames of assorted lengths with bodies of zeros.
        func adts(_ length: Int) -> [UInt8] {
            [0xFF, 0xF1, 0x50, 0x80 | UInt8(length >> 11), UInt8((length >> 3) & 0xFF), UInt8((length & 7) << 5) | 0x1F, 0xFC]
                + [UInt8](repeating: 0, count: length - 7)
        }
        let adtsFrames = (0..<30).map { adts(300 + $0 * 7) }
        #expect(ADTSFrame(adtsFrames[0])?.length == 300)
        #expect(ADTSFrame(adtsFrames[0])?.sampleRate == 44100)
        #expect(ADTSFrame(adtsFrames[0])?.channels == 2)
        let stream = Array(adtsFrames.prefix(15).joined()) + junk(333, seed: 3) + Array(adtsFrames.dropFirst(15).joined())
        let run = ChainRun([stream.dropFirst(10)], format: .adts)
        #expect(run.bytes == Array(adtsFrames.dropFirst().joined()))
        #expect(run.resyncs == [333])
    }

    @Test func cutter_NotesWhereAPlayerCanStart_AndTheEntryFormIsATagThenAFrame() throws {
        var cutter = try Cutter(segmentBytes: 1000)
        var segments: [StreamSegment] = []
        for frame in frames { cutter.addFrame(frame[...]) { segments.append($0) } }
        #expect(segments.count == Array(frames.joined()).count / 1000)
        for segment in segments {
            let offset = try #require(segment.entryOffset)
            #expect(offset == 0 || offset >= 20)
            #expect(MP3Frame(segment.audio[offset...]) != nil)
            let entry = segment.entering(segment.audio + [0])
            #expect(entry.count == segment.audio.count + 1)
            #expect(Array(entry[offset...].dropLast()) == Array(segment.audio[offset...]))
            if offset > 0 {
                #expect(Array(entry.prefix(6)) == [0x49, 0x44, 0x33, 4, 0, 0])
                let size = entry[6..<10].reduce(0) { $0 << 7 | Int($1) }
                #expect(size == offset - 10)
                #expect(entry[10..<offset].allSatisfy { $0 == 0 })
            }
        }
        // A frame starting 1…19 bytes in leaves no room for a tag that mpg123 takes without a warning (it warns of
        // one under 20 bytes): the next frame is the entry.
        for before in [5, 15, 19] {
            var tight = try Cutter(segmentBytes: 1000)
            var cut: [StreamSegment] = []
            tight.add(Array(repeating: 1, count: before)[...]) { cut.append($0) }
            for frame in frames.prefix(4) { tight.addFrame(frame[...]) { cut.append($0) } }
            #expect(cut[0].entryOffset == before + frames[0].count, "a frame \(before) bytes in")
        }
    }

    @Test func reconnectJoin_ThroughTheCutter_IsOneCleanChain() throws {
        var chain = FrameChain(format: .mpeg)
        var cutter = try Cutter(segmentBytes: 1000)
        var segments: [StreamSegment] = []
        func feed(_ bytes: [UInt8]) {
            chain.feed(bytes[...]) { output in
                if case .frame(let frame) = output { cutter.addFrame(frame) { segments.append($0) } }
            }
        }
        feed(Array(frames.prefix(13).joined().dropLast(100)))
        let aligned = chain.isAligned
        chain.restart(format: .mpeg)
        cutter.skip(5, keepingUnfinished: aligned)
        feed(Array(frames.dropFirst(20).joined().dropFirst(77)))
        let audio = segments.flatMap(\.audio)
        let first = segments[0].entryOffset ?? 0
        #expect(cleanMP3Chain(audio[first...].dropLast(audio.count - lastFrameEnd(audio, from: first))) != nil)
        #expect(segments.map(\.number).contains { $0 > 5 })
    }
}

/// Where the last whole frame of a chain starting at `start` ends.
func lastFrameEnd(_ bytes: [UInt8], from start: Int) -> Int {
    var index = start
    while let frame = MP3Frame(bytes[index...]), index + frame.length <= bytes.count { index += frame.length }
    return index
}
