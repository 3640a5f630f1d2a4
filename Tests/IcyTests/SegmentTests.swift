import Icy
import Testing

struct SegmentTests {
    @Test func audioArrivingInPieces_IsKeptAsThosePieces_WithoutCopying() throws {
        let first: [UInt8] = [1, 2, 3]
        let second: [UInt8] = [4, 5, 6, 0]
        guard case .more(let next) = segments(metaint: 6)(first) else { Issue.record("needs more"); return }
        guard case .done(let segment, let rest) = next(second) else { Issue.record("done"); return }
        #expect(segment.audio.map(Array.init) == [[1, 2, 3], [4, 5, 6]])
        #expect(segment.metadata.isEmpty)
        #expect(rest.isEmpty)
        // The second chunk is a slice of the very array that was fed, not a copy of it.
        second.withUnsafeBufferPointer { fed in
            segment.audio[1].withUnsafeBufferPointer { kept in
                #expect(kept.baseAddress == fed.baseAddress)
            }
        }
    }

    @Test func lengthByteZero_MeansNoChange() {
        let outcome = feed([([9, 9, 0, 7] as [UInt8])[...]], start: { segments(metaint: 2)($0) })
        #expect(outcome == .done(Segment(audio: [9, 9]), rest: [7]))
    }

    @Test func lengthByte_TellsNoChangeFromABlockOfOnlyNULs() throws {
        var parser = StreamParser(segments(metaint: 1))
        var got: [Segment] = []
        try parser.feed([7, 0, 8, 1] + [UInt8](repeating: 0, count: 16) + [9, 2] + (try padding(Array("StreamTitle='Hi';"))).padded) {
            got.append($0)
        }
        #expect(got.map(\.lengthByte) == [0, 1, 2])
        #expect(got.map(\.metadata.isEmpty) == [true, true, false])
        #expect(got.map { $0.parsedMetadata?.streamTitle } == [nil, nil, "Hi"])
        #expect(Segment(audio: [1]).lengthByte == nil)
    }

    @Test func parsedMetadata_ReadsTheFields() {
        let segment = Segment(audio: [1], metadata: Array("StreamTitle='Artist - Song';StreamUrl='http://x/';"))
        #expect(segment.parsedMetadata == Metadata(streamTitle: "Artist - Song", streamURL: "http://x/"))
        #expect(Segment(audio: [1]).parsedMetadata == nil)
    }

    @Test func metadataPadding_IsRemoved_EvenWithGarbageAfterTheFirstNul() {
        let block: [UInt8] = [2] + Array("StreamTitle='x';") + [0] + Array("garbage\0\0\0\0\0\0\0\0")
        let outcome = feed([([1] + block)[...]], start: { segments(metaint: 1)($0) })
        #expect(outcome == .done(Segment(audio: [1], metadata: Array("StreamTitle='x';")), rest: []))
    }

    @Test func fullMetadataBlock_Of4080Bytes_IsRead() {
        let text = [UInt8](repeating: UInt8(ascii: "a"), count: 4080)
        let outcome = feed([([5, 255] + text + [6])[...]], start: { segments(metaint: 1)($0) })
        #expect(outcome == .done(Segment(audio: [5], metadata: text), rest: [6]))
    }

    @Test func streamParser_DeliversEverySegmentOfARead_InOrder() throws {
        var parser = StreamParser(segments(metaint: 2))
        var got: [Segment] = []
        try parser.feed([1, 2, 0, 3, 4, 1] + Array("title") + [UInt8](repeating: 0, count: 11) + [5]) { got.append($0) }
        try parser.feed([6, 0]) { got.append($0) }
        #expect(got == [Segment(audio: [1, 2]), Segment(audio: [3, 4], metadata: Array("title")), Segment(audio: [5, 6])])
    }

    @Test func continuation_IsAValue_ThatCanBeResumedTwiceIndependently() {
        guard case .more(let next) = segments(metaint: 4)([1, 2]) else { Issue.record("needs more"); return }
        let a = feed([[3, 4, 0][...]], start: { next($0) })
        let b = feed([[7, 8, 0][...]], start: { next($0) })
        #expect(a == .done(Segment(audio: [1, 2, 3, 4]), rest: []))
        #expect(b == .done(Segment(audio: [1, 2, 7, 8]), rest: []))
    }

    @Test func equality_IgnoresHowAudioWasChunked() {
        #expect(Segment(audio: [[1, 2][...], [3][...]]) == Segment(audio: [1, 2, 3]))
        #expect(Segment(audio: [1, 2, 3]) != Segment(audio: [1, 2, 4]))
        #expect(Segment(audio: [1], metadata: [1]) != Segment(audio: [1]))
    }
}
