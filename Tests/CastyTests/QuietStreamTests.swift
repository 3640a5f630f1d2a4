import CastyAudio
import Icy
import Testing

@testable import Casty

/// Which streams' links wait for a peer that answers (``QuietStream``): AAC always, MP3 once its frames vary.
struct QuietStreamTests {
    @Test func aacMayGoQuiet_FromTheStart() {
        #expect(QuietStream(contentType: "audio/aac").mayGoQuiet)
        #expect(QuietStream(contentType: "audio/aacp").linkAllowance == QuietStream.allowance)
    }

    @Test func constantBitrateMP3_NeverDoes_AndItsLinksKeepTheirDeadline() {
        var quiet = QuietStream(contentType: "audio/mpeg")
        let learned = relayedTone(segments: 20).map { quiet.learns(from: Segment(audio: $0.audio)) }
        #expect(!learned.contains(true))
        #expect(!quiet.mayGoQuiet && quiet.linkAllowance == .zero)
    }

    @Test func variableBitrateMP3_IsLearnedFromItsFrames_Once() {
        var quiet = QuietStream(contentType: "audio/mpeg")
        let segments = relayed(variableBitrateFrames(200), segmentBytes: 8192)
        // The first runs are 23 frames of one bitrate each: a segment that holds a change of bitrate tells.
        let learned = segments.map { quiet.learns(from: Segment(audio: $0.audio)) }
        #expect(learned.filter { $0 }.count == 1)
        #expect(quiet.mayGoQuiet)
    }

    @Test func onlyTheFirstSegments_AreLookedAt() {
        var quiet = QuietStream(contentType: "audio/mpeg")
        for segment in relayedTone(segments: QuietStream.segmentsLookedAt) { _ = quiet.learns(from: Segment(audio: segment.audio)) }
        let vbr = relayed(variableBitrateFrames(200), segmentBytes: 8192)
        let learned = quiet.learns(from: Segment(audio: vbr[0].audio))
        #expect(!learned, "a constant bitrate, seen long enough, is one")
        #expect(!quiet.mayGoQuiet)
    }

    @Test func bitratesVary_NeedsAChainOfThreeFrames() {
        let vbr = variableBitrateFrames(30)
        #expect(MP3Frame.bitratesVary(in: Array(vbr.dropFirst(50))), "found past a cut frame")
        #expect(!MP3Frame.bitratesVary(in: Array(toneFrames.joined())))
        #expect(!MP3Frame.bitratesVary(in: [UInt8](repeating: 0xFF, count: 4096)))
        #expect(!MP3Frame.bitratesVary(in: []))
    }
}
