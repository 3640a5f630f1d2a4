import Icy
import Testing

@testable import Casty

struct CutterTests {
    @Test func audioInPiecesOfAnySize_IsCutIntoSegmentsOfTheFixedSize() throws {
        var cutter = try Cutter(segmentBytes: 100, first: 7)
        var segments: [StreamSegment] = []
        let audio = (0..<1000).map { UInt8($0 % 256) }
        var offset = 0
        for size in [1, 33, 250, 99, 617] {
            cutter.add(audio[offset..<(offset + size)]) { segments.append($0) }
            offset += size
        }
        #expect(segments.map(\.number) == Array(7..<17))
        #expect(segments.allSatisfy { $0.audio.count == 100 })
        #expect(segments.flatMap(\.audio) == audio)
        #expect(cutter.next == 17)
    }

    @Test func titleChange_IsCarriedByTheNextSegmentOnly() throws {
        var cutter = try Cutter(segmentBytes: 10)
        var segments: [StreamSegment] = []
        cutter.setTitle(Metadata(streamTitle: "A"))
        cutter.add([UInt8](repeating: 1, count: 20)[...]) { segments.append($0) }
        cutter.setTitle(Metadata(streamTitle: "A"))  // the same title again: no change
        cutter.add([UInt8](repeating: 2, count: 10)[...]) { segments.append($0) }
        cutter.setTitle(Metadata(streamTitle: "B"))
        cutter.add([UInt8](repeating: 3, count: 10)[...]) { segments.append($0) }
        #expect(segments.map(\.titleChanged) == [true, false, false, true])
        #expect(segments.map(\.titleVersion) == [1, 1, 1, 2])
        #expect(segments.map { $0.title?.streamTitle } == ["A", "A", "A", "B"])
        // The ICY form carries the block only where the title changed; otherwise the single byte 0.
        #expect(Array(segments[1].icy.dropFirst(10)) == [0])
        #expect(Metadata(parsing: segments[3].icy.dropFirst(11)).streamTitle == "B")
    }

    @Test func numberedForm_CarriesTheNumberAndTime_InEverySegment() {
        let segments = testSegments(3, first: 40, bytes: 10, titleAt: [41])
        for segment in segments {
            let block = segment.numbered.dropFirst(10)
            #expect(Int(block.first!) * 16 == block.count - 1)
            let metadata = Metadata(parsing: block.dropFirst())
            #expect(metadata[StreamSegment.sequenceKey] == String(segment.number))
            #expect(metadata[StreamSegment.timeKey] == String(segment.time))
            #expect(metadata.streamTitle == (segment.number == 41 ? "Song 41" : nil))
        }
    }

    @Test func skip_DropsTheUnfinishedSegment_AndJumpsTheNumbering() throws {
        var cutter = try Cutter(segmentBytes: 10)
        var segments: [StreamSegment] = []
        cutter.add([UInt8](repeating: 1, count: 15)[...]) { segments.append($0) }
        cutter.skip(3)
        cutter.add([UInt8](repeating: 2, count: 10)[...]) { segments.append($0) }
        #expect(segments.map(\.number) == [0, 4])
        #expect(segments[1].audio == [UInt8](repeating: 2, count: 10))
    }
}
