@testable import CastyAudio
import Icy
import Testing

@testable import Casty

/// A stream sent under the wrong label: AAC in ADTS frames announced as `audio/mpeg` (ffmpeg's `icecast://`
/// default content type), or a container Casty does not cut at all.
struct FrameChainFormatTests {
    @Test func adtsAnnouncedAsMP3_IsFollowedAsADTS_WhenTheChainIdentifies() {
        let stream = adtsFrames(80)
        let run = ChainRun([stream[...]], format: .mpeg, identifies: true)
        #expect(run.reformatted == [.adts])
        #expect(run.gaveUp.isEmpty && run.resyncs.isEmpty)
        #expect(run.frames == 80)
        #expect(run.bytes.count == stream.count && run.bytes == stream, "the stream, whole")
    }

    @Test func adtsAnnouncedAsMP3_SplitInSmallPieces_IsFollowedAsADTS() {
        let stream = adtsFrames(80)
        let pieces = stride(from: 0, to: stream.count, by: 97).map { stream[$0..<min($0 + 97, stream.count)] }
        let run = ChainRun(pieces, format: .mpeg, identifies: true)
        #expect(run.reformatted == [.adts], "\(run.reformatted)")
        #expect(run.frames == 80 && run.bytes.count == stream.count, "\(run.frames) frames, \(run.bytes.count) bytes")
    }

    @Test func mp3AnnouncedAsAAC_IsFollowedAsMP3() {
        let stream = Array(toneFrames.prefix(40).joined())
        let run = ChainRun([stream[...]], format: .adts, identifies: true)
        #expect(run.reformatted == [.mpeg], "\(run.reformatted)")
        #expect(run.frames == 40 && run.gaveUp.isEmpty, "\(run.frames) frames, gave up \(run.gaveUp)")
    }

    @Test func aChainThatDoesNotIdentify_GivesUpOnADTSAnnouncedAsMP3() {
        let run = ChainRun([adtsFrames(80)[...]], format: .mpeg)
        #expect(run.reformatted.isEmpty && run.gaveUp.count == 1 && run.frames == 0)
    }

    @Test(arguments: [
        ("OggS\u{0}\u{2}", "Ogg"), ("fLaC\u{0}\u{0}\u{0}\u{22}", "FLAC"), ("RIFF\u{24}\u{0}\u{0}\u{0}WAVEfmt ", "WAV"),
        ("\u{0}\u{0}\u{0}\u{20}ftypisom", "MP4"), ("FLV\u{1}\u{5}", "FLV"), ("\r\n<!DOCTYPE html>", "text (a web page or JSON)"),
    ])
    func aStreamWithoutFrames_IsNamedFromItsSignature(start: String, name: String) {
        let stream = Array(start.utf8) + junk(20_000, seed: 5).map { $0 & 0x7F }
        let run = ChainRun([stream[...]], format: .mpeg, identifies: true)
        #expect(run.gaveUp.count == 1 && run.reformatted.isEmpty)
        #expect(run.lookedLike == name)
    }

    @Test("MP3 under any of its names is taken, and told to listeners as audio/mpeg; other types in lower case")
    func mp3sNames_AreTaken_AndToldAsAudioMpeg() {
        for type in ["audio/mpeg", "AUDIO/MPEG", "audio/x-mp3", "audio/mp3", "audio/mpg", "audio/x-mpeg-3", "audio/mpeg; charset=x"] {
            #expect(FrameChain.Format(contentType: type) == .mpeg, "\(type)")
            #expect(SourceSession.stationHeaders(from: ["Content-Type": type])["Content-Type"] == "audio/mpeg", "\(type)")
        }
        #expect(SourceSession.stationHeaders(from: ["Content-Type": "Audio/AACP"])["Content-Type"] == "audio/aacp")
        #expect(SourceSession.stationHeaders(from: [:])["Content-Type"] == nil)
        #expect(FrameChain.Format(contentType: "application/octet-stream") == nil, "no type to cut on: 415, as before")
    }

    @Test func unknownBytes_AreNamedNothing() {
        let run = ChainRun([junk(20_000, seed: 9).map { $0 & 0x7F }[...]], format: .mpeg, identifies: true)
        #expect(run.gaveUp.count == 1 && run.lookedLike == nil)
    }
}

/// A relay's chain (``FrameChain/followsOtherFormat``) whose stream goes on in the other codec after a break.
struct FrameChainOtherFormatTests {
    @Test("A chain that follows the other format goes on in MP3 after ADTS, and back, every frame whole; one that does not gives up")
    func adtsThenMP3_IsFollowed_WhenTheChainFollowsTheOtherFormat() {
        let mp3 = Array(toneFrames.prefix(40).joined())
        let stream = adtsFrames(40) + mp3 + adtsFrames(40)
        var chain = FrameChain(format: .adts)
        chain.followsOtherFormat = true
        var run = ChainRun()
        run.run(&chain, stream[...])
        #expect(run.reformatted == [.mpeg, .adts], "\(run.reformatted)")
        #expect(run.gaveUp.isEmpty && run.resyncs.isEmpty, "\(run.gaveUp) \(run.resyncs)")
        #expect(run.frames < 120 && run.frames > 80, "the first frames of each codec are dropped while the old one is looked for: \(run.frames)")
        #expect(ChainRun([stream[...]], format: .adts).reformatted.isEmpty, "a source's chain does not follow: it gives up")
    }

    @Test("Garbage shorter than the bytes after which the other format is looked for is a break, not a change of codec")
    func shortGarbage_IsABreak_NotAnotherFormat() {
        let stream = adtsFrames(40) + Array(toneFrames.prefix(3).joined()) + adtsFrames(40)
        var chain = FrameChain(format: .adts)
        chain.followsOtherFormat = true
        var run = ChainRun()
        run.run(&chain, stream[...])
        #expect(run.reformatted.isEmpty && run.resyncs.count == 1 && run.frames == 80, "\(run.reformatted) \(run.resyncs) \(run.frames)")
    }
}
