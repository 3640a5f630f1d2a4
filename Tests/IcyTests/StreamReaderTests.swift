import Icy
import Testing

/// `StreamReader`: one reader from the reply's first byte to the last segment.
struct StreamReaderTests {
    /// Everything a reader reports for `pieces`, as lines of text.
    func events(_ pieces: [[UInt8]], segmentBytes: Int = 8192) throws(IcyError) -> [String] {
        var reader = StreamReader(segmentBytes: segmentBytes)
        var seen: [String] = []
        for piece in pieces {
            try reader.feed(piece) { seen.append("\($0)") }
        }
        return seen
    }

    @Test func replyThenSegments_InOneRead_GiveTheHeadThenEachSegment() throws {
        let bytes = Array("ICY 200 OK\r\nicy-metaint: 2\r\n\r\nab\0cd\u{1}StreamTitle='x';\0ef")
        #expect(try events([bytes]) == [
            "head: ICY 200 OK with 1 header",
            "segment: 2 audio bytes, k = 0 (no change)",
            "segment: 2 audio bytes, k = 1: \"StreamTitle='x';\"",
        ])
    }

    @Test func streamSplitAnywhere_GivesTheSameEvents() throws {
        var rng = SplitMix64(seed: 31)
        let (bytes, expected) = generatedStream(metaint: 50, count: 12, using: &rng)
        for maxPiece in [1, 2, 7, 64, 5000] {
            var reader = StreamReader()
            var heads: [Headers] = []
            var segments: [Segment] = []
            for piece in randomSplit(bytes, maxPiece: maxPiece, using: &rng) {
                try reader.feed(piece) { event in
                    switch event {
                    case .head(let status, let headers): #expect(status == .httpOK); heads.append(headers)
                    case .redirect: Issue.record("not a redirect")
                    case .segment(let segment): segments.append(segment)
                    }
                }
            }
            #expect(heads.map { $0["icy-name"] } == ["Generated"])
            #expect(segments == expected)
        }
    }

    @Test func redirect_IsOneEvent_AndLaterBytesAreIgnored() throws {
        var reader = StreamReader()
        var seen: [StreamReader.Event] = []
        try reader.feed(Array("HTTP/1.0 302 Found\r\nLocation: http://b:8000/live\r\n\r\n<html>")) { seen.append($0) }
        try reader.feed(Array("moved</html>\r\nHTTP/1.0 200 OK\r\n\r\n")) { seen.append($0) }
        #expect(seen.count == 1)
        guard case .redirect(let status, let location, _) = seen.first else { Issue.record("expected a redirect"); return }
        #expect(status.code == 302)
        #expect(location == "http://b:8000/live")
        #expect(reader.unread.isEmpty)
    }

    @Test func notAStream_ThrowsTheIcyError_AndStaysFailed() {
        var reader = StreamReader()
        #expect(throws: IcyError.status(code: 404, reason: "Not Found")) {
            try reader.feed(Array("HTTP/1.0 404 Not Found\r\n")) { _ in }
        }
        #expect(throws: IcyError.status(code: 404, reason: "Not Found")) { try reader.next() }
    }

    @Test("A failed reader keeps none of what it is fed afterwards: a caller that reads on holds no more memory")
    func failedReader_KeepsNothingFedAfterwards() {
        var reader = StreamReader()
        #expect(throws: IcyError.self) { try reader.feed(Array("HTTP/1.0 404 Not Found\r\n\r\n")) { _ in } }
        let held = reader.unread.count
        for _ in 0..<100 {
            #expect(throws: IcyError.status(code: 404, reason: "Not Found")) { try reader.feed(Array(repeating: 0x41, count: 4096)) { _ in } }
        }
        #expect(reader.unread.count == held)
    }

    @Test("A metaint out of IcyLimits.metaintRange is the caller's mistake: the reader stops the program, never reads out of bounds")
    func metaintOutOfRange_StopsTheProgram() async {
        await #expect(processExitsWith: .failure) { _ = StreamReader(metaint: -1) }
        await #expect(processExitsWith: .failure) { _ = segments(metaint: 0) }
        _ = StreamReader(metaint: IcyLimits.metaintRange.upperBound)
    }

    enum PlayerError: Error, Equatable {
        case notICY(IcyError)
        case tooManySegments
    }

    @Test func callback_ThrowsTheCallersOwnErrors() {
        var reader = StreamReader()
        var count = 0
        let bytes = Array("ICY 200 OK\r\nicy-metaint: 1\r\n\r\na\0b\0c\0")
        #expect(throws: PlayerError.tooManySegments) {
            try reader.feed(bytes, failing: PlayerError.notICY) { event throws(PlayerError) in
                guard case .segment = event else { return }
                count += 1
                if count == 2 { throw .tooManySegments }
            }
        }
        // The reader resumes after the event whose callback threw.
        #expect(throws: Never.self) {
            try reader.feed([], failing: PlayerError.notICY) { _ throws(PlayerError) in count += 1 }
        }
        #expect(count == 3)
        var broken = StreamReader()
        #expect(throws: PlayerError.notICY(.malformedStatusLine("SSH-2.0-OpenSSH"))) {
            try broken.feed(Array("SSH-2.0-OpenSSH\r\n"), failing: PlayerError.notICY) { _ throws(PlayerError) in }
        }
    }

    @Test func pullingEvents_StopsAfterTheHead_WithTheStreamsFirstBytesUnread() throws {
        var reader = StreamReader()
        reader.append(Array("ICY 200 OK\r\nicy-metaint: 3\r\n"))
        #expect(try reader.next() == nil)
        #expect(!reader.isReadingSegments)
        reader.append(Array("\r\nabc\0de"))
        guard case .head(_, let headers) = try reader.next() else { Issue.record("expected the head"); return }
        #expect(try headers.metaint() == 3)
        #expect(reader.isReadingSegments)
        #expect(Array(reader.unread) == Array("abc\0de"))

        // Handed on, the reader goes on from there.
        var handedOn = reader
        guard case .segment(let segment) = try handedOn.next() else { Issue.record("expected a segment"); return }
        #expect(segment == Segment(audio: Array("abc")))
        #expect(try handedOn.next() == nil)
        #expect(Array(reader.unread) == Array("abc\0de"), "the copy left the original as it was")
    }

    @Test func audioOnlyStream_IsCutIntoSegmentsOfTheChosenSize() throws {
        #expect(try events([Array("HTTP/1.0 200 OK\r\n\r\n0123456789")], segmentBytes: 4) == [
            "head: HTTP/1.0 200 OK with 0 headers",
            "segment: 4 audio bytes, no metadata block",
            "segment: 4 audio bytes, no metadata block",
        ])
    }

    @Test func readerForAHeadlessStream_StartsWithSegments() throws {
        var reader = StreamReader(metaint: 2)
        var segments: [Segment] = []
        try reader.feed([1, 2, 0, 3]) { event in if case .segment(let segment) = event { segments.append(segment) } }
        try reader.feed([4, 0]) { event in if case .segment(let segment) = event { segments.append(segment) } }
        #expect(segments == [Segment(audio: [1, 2]), Segment(audio: [3, 4])])
    }

    @Test func bytesAddedBeforeBeingRead_AreJoined() throws {
        var reader = StreamReader(metaint: 2)
        reader.append([1])
        reader.append([2, 0])
        guard case .segment(let segment) = try reader.next() else { Issue.record("expected a segment"); return }
        #expect(segment.audioBytes == [1, 2])
    }

    @Test func audioAsItArrives_HandsEachReadsAudioOnAtOnce_AndEachBlockOnItsOwn() throws {
        var reader = StreamReader(audioAsItArrives: true)
        var seen: [String] = []
        for read in ["ICY 200 OK\r\nicy-metaint: 6\r\n\r\nab", "cd", "ef\u{1}StreamTitle='x';\0gh"] {
            try reader.feed(Array(read.utf8)) { seen.append("\($0)") }
        }
        #expect(seen == [
            "head: ICY 200 OK with 1 header",
            "segment: 2 audio bytes, no metadata block",
            "segment: 2 audio bytes, no metadata block",
            "segment: 2 audio bytes, no metadata block",
            "segment: 0 audio bytes, k = 1: \"StreamTitle='x';\"",
            "segment: 3 audio bytes, no metadata block",
        ])
    }

    @Test func audioAsItArrives_SplitAnywhere_GivesTheSameAudioAndBlocks() throws {
        var rng = SplitMix64(seed: 47)
        let (bytes, expected) = generatedStream(metaint: 50, count: 12, using: &rng)
        for maxPiece in [1, 2, 7, 64, 5000] {
            var reader = StreamReader(audioAsItArrives: true)
            var audio: [UInt8] = []
            var blocks: [[UInt8]] = []
            for piece in randomSplit(bytes, maxPiece: maxPiece, using: &rng) {
                try reader.feed(piece) { event in
                    guard case .segment(let segment) = event else { return }
                    audio += segment.audioBytes
                    if segment.lengthByte != nil { blocks.append(segment.metadata) }
                }
            }
            #expect(audio == expected.flatMap(\.audioBytes))
            #expect(blocks == expected.map(\.metadata))
        }
    }

    @Test func audioOnlyStream_SplitAnywhere_KeepsEveryByteInOrder_InSegmentsOfTheChosenSize() throws {
        var rng = SplitMix64(seed: 53)
        let audio = (0..<10_000).map { _ in UInt8.random(in: 0...255, using: &rng) }
        for maxPiece in [1, 3, 100, 4096, 20_000] {
            var reader = StreamReader(metaint: nil, segmentBytes: 1000)
            var segments: [Segment] = []
            for piece in randomSplit(audio, maxPiece: maxPiece, using: &rng) {
                try reader.feed(piece) { event in if case .segment(let segment) = event { segments.append(segment) } }
            }
            #expect(segments.map(\.audioCount) == Array(repeating: 1000, count: 10), "reads of up to \(maxPiece) bytes")
            #expect(segments.flatMap(\.audioBytes) == audio, "reads of up to \(maxPiece) bytes")
            #expect(segments.allSatisfy { $0.lengthByte == nil })
        }
    }

    @Test func audioAsItArrives_AudioOnlyStream_GivesEachReadAsItCame() throws {
        var reader = StreamReader(metaint: nil, audioAsItArrives: true)
        var sizes: [Int] = []
        for read in [[UInt8](repeating: 1, count: 3), [UInt8](repeating: 2, count: 9000)] {
            try reader.feed(read) { event in if case .segment(let segment) = event { sizes.append(segment.audioCount) } }
        }
        #expect(sizes == [3, 9000])
    }
}
