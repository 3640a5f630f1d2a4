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

    @Test("Two title changes within one segment are both carried, the second by the segment after: neither is lost to listeners, title events or the history")
    func twoTitleChangesInOneSegment_AreCarriedOneSegmentApart() throws {
        var cutter = try Cutter(segmentBytes: 10)
        var segments: [StreamSegment] = []
        let fill = { (cutter: inout Cutter) in cutter.add([UInt8](repeating: 1, count: 10)[...]) { segments.append($0) } }
        cutter.setTitle(Metadata(streamTitle: "A"))
        cutter.setTitle(Metadata(streamTitle: "B"))
        #expect(cutter.title?.streamTitle == "B", "what plays now is the last title set")
        fill(&cutter)
        fill(&cutter)
        // Three within one segment: the last of those that wait is carried next (one waits at most).
        cutter.setTitle(Metadata(streamTitle: "C"))
        cutter.setTitle(Metadata(streamTitle: "D"))
        cutter.setTitle(Metadata(streamTitle: "E"))
        fill(&cutter)
        fill(&cutter)
        // A change back to the title carried: nothing waits.
        cutter.setTitle(Metadata(streamTitle: "F"))
        cutter.setTitle(Metadata(streamTitle: "G"))
        cutter.setTitle(Metadata(streamTitle: "F"))
        fill(&cutter)
        fill(&cutter)
        #expect(segments.map { $0.titleChanged ? $0.title?.streamTitle ?? "" : "-" } == ["A", "B", "C", "E", "F", "-"])
        #expect(segments.map(\.titleVersion) == [1, 2, 3, 4, 5, 5])
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
