import Icy
import Testing

@testable import Casty

/// When a relay's reader is out of step with its upstream's `icy-metaint` framing.
@Suite struct FramingWatchTests {
    let junk = Segment(audio: [UInt8](), metadata: [0x13, 0x88, 0x02], fault: .malformedText, lengthByte: 7)
    let text = Segment(audio: [UInt8](), metadata: Array("StreamTitle='A';".utf8), lengthByte: 1)

    @Test func blocksOfAudio_EachFollowedByBrokenAudio_ThreeInARow_LoseTheFraming() {
        var watch = FramingWatch()
        var lost: [Bool] = []
        for _ in 0..<4 {
            lost.append(watch.block(binary: FramingWatch.isBinary(junk), empty: false))
            watch.audioBroken()
        }
        #expect(lost == [false, false, false, true])
        #expect(watch.misframed == 0, "the count starts again")
    }

    @Test func aServersJunkInBlocksThatAreInStep_BreaksNoAudio_AndNeverLosesTheFraming() {
        var watch = FramingWatch()
        var lost = false
        for _ in 0..<50 { lost = lost || watch.block(binary: true, empty: false) }
        #expect(!lost)
    }

    @Test func aBlockOfText_OrJunkFollowedByCleanAudio_SetsTheCountBack() {
        var watch = FramingWatch()
        _ = watch.block(binary: true, empty: false)
        watch.audioBroken()
        _ = watch.block(binary: true, empty: false)
        watch.audioBroken()
        let lost0 = watch.block(binary: FramingWatch.isBinary(text), empty: false)
        #expect(!lost0)
        #expect(watch.misframed == 2)
        watch.audioBroken()  // audio after a block of text breaks: says nothing of the framing
        let lost1 = watch.block(binary: true, empty: false)
        #expect(!lost1)
        #expect(watch.misframed == 0)
        // Empty blocks (k = 0) between say nothing either way.
        watch.audioBroken()
        let lost2 = watch.block(binary: false, empty: true)
        #expect(!lost2)
        #expect(watch.misframed == 1)
    }

    @Test func framingLostRightAfterABlockReadShort_IsToldSo() {
        var watch = FramingWatch()
        var lost = false
        for index in 0..<4 {
            lost = watch.block(binary: index > 0, empty: false, corrected: index == 0)
            watch.audioBroken()
        }
        #expect(!lost)
        lost = watch.block(binary: true, empty: false)
        #expect(lost && watch.lostAfterCorrection)
        // Lost again with no correction before: not the correction's doing.
        for _ in 0..<4 {
            lost = watch.block(binary: true, empty: false)
            watch.audioBroken()
        }
        #expect(lost && !watch.lostAfterCorrection)
    }

    @Test func whatCountsAsNotText() {
        #expect(FramingWatch.isBinary(junk))
        #expect(!FramingWatch.isBinary(text))
        #expect(FramingWatch.isBinary(Segment(audio: [UInt8](), metadata: [], fault: .padding, lengthByte: 2)))
        #expect(!FramingWatch.isBinary(Segment(audio: [UInt8](), metadata: Array("StreamTitle='A';".utf8), fault: .padding, lengthByte: 2)))
    }
}
