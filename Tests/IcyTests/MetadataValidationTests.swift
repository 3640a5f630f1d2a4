import Icy
import Testing

/// Strict checks of metadata blocks: well-formed text, NUL padding, and a length byte that lied.
struct MetadataValidationTests {
    /// Parses a whole stream in one read and returns its segments.
    func parse(_ bytes: [UInt8], metaint: Int) throws -> [Segment] {
        var parser = StreamParser(segments(metaint: metaint))
        var got: [Segment] = []
        try parser.feed(bytes) { got.append($0) }
        return got
    }

    /// `count` bytes that look like compressed audio: binary, with control bytes, never text.
    func audio(_ count: Int, seed: UInt8) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ Int(seed) &* 7 &+ 1) | 0x01 }
    }

    @Test(arguments: [
        "StreamTitle='Artist - Song';",
        "StreamTitle='Don't Stop';StreamUrl='http://example.org/';",
        "StreamTitle='a;b';c';",
        "CastySeq='12';CastyTime='1700000000000';",
        "StreamTitle='';",
        "StreamTitle='No semicolon at the end'",
        "",
        "StreamTitle='Song';\r\n",
        "StreamTitle='Song'; StreamUrl='http://example.org/';\n",
        "StreamTitle='Song'\r\n",
        " \t",
    ])
    func wellFormedText_IsAccepted(text: String) {
        #expect(Metadata.isWellFormed(Array(text.utf8)))
    }

    @Test(arguments: [
        "StreamTitle",
        "StreamTitle=Song;",
        "StreamTitle='unterminated",
        "='no key';",
        "StreamTitle='a'x",
        "StreamTitle='a';\r\n\u{1}",
        "StreamTitle='a'\u{0}",
        "\u{ff}\u{fb}\u{90}\u{64}",
    ])
    func malformedText_IsRefused(text: String) {
        #expect(!Metadata.isWellFormed(Array(text.utf8)))
    }

    @Test func wellFormedBlock_HasNoFault() throws {
        let stream = [1, 2] + (try metadataBlock(Array("StreamTitle='Song';"))) + [3, 4, 0]
        let got = try parse(stream, metaint: 2)
        #expect(got.map(\.fault) == [nil, nil])
        #expect(got.first?.metadata == Array("StreamTitle='Song';"))
    }

    @Test func blockWhoseTextEndsWithALineBreak_HasNoFault_AndGivesItsTitle() throws {
        let stream = [1, 2] + (try metadataBlock(Array("StreamTitle='Song';\r\n"))) + [3, 4, 0]
        let got = try parse(stream, metaint: 2)
        #expect(got.map(\.fault) == [nil, nil])
        #expect(Metadata(parsing: got[0].metadata).streamTitle == "Song")
    }

    @Test func binaryBlock_IsMalformed() throws {
        let block: [UInt8] = [2] + audio(32, seed: 3)
        let got = try parse([9] + block + [8, 0], metaint: 1)
        #expect(got.map(\.fault) == [.malformedText, nil])
        #expect(got.map(\.audioBytes) == [[9], [8]])
    }

    @Test func unquotedFields_AreAnUnquotedTextFault_WhoseTitleIsRead() throws {
        let block = try metadataBlock(Array("StreamTitle=Artist - Song;StreamUrl=http://x/;"))
        let got = try parse([1] + block + [2, 0], metaint: 1)
        #expect(got.map(\.fault) == [.unquotedText, nil])
        #expect(got.map(\.audioBytes) == [[1], [2]])
        #expect(Metadata(parsing: got[0].metadata).streamTitle == "Artist - Song")
    }

    @Test(arguments: ["StreamTitle=Song\u{1};", "Song;", "=x;", "StreamTitle Song;"])
    func textThatIsNotFields_IsNotReadAsUnquoted(text: String) throws {
        let got = try parse([1] + (try metadataBlock(Array(text.utf8))) + [2, 0], metaint: 1)
        #expect(got.first?.fault == .malformedText)
    }

    @Test func stalePaddingAfterTheText_IsAPaddingFault_AndTheFramingIsKept() throws {
        // A server that leaves an old title in its buffer after the NUL: text, not audio.
        let block: [UInt8] = [2] + Array("StreamTitle='x';") + [0] + Array("old title\0\0\0\0\0\0")
        let got = try parse([1] + block + [2, 0], metaint: 1)
        #expect(got.map(\.fault) == [.padding, nil])
        #expect(got.map(\.audioBytes) == [[1], [2]])
        #expect(got.first?.metadata == Array("StreamTitle='x';"))
    }

    @Test func lengthByteThatLied_IsCaught_AndTheRestIsReadAsAudio() throws {
        // k = 255 but only 16 bytes of text: the 4064 bytes after them are the next segments' audio.
        let metaint = 1000
        let first = audio(metaint, seed: 1), second = audio(metaint, seed: 2), third = audio(metaint, seed: 3)
        let text = Array("StreamTitle='A';")
        #expect(text.count == 16)
        var stream = first + [255] + text + second + [0] + third + (try metadataBlock(Array("StreamTitle='B';")))
        for seed in 4..<7 { stream += audio(metaint, seed: UInt8(seed)) + [0] }
        let got = try parse(stream, metaint: metaint)
        #expect(got.first?.fault == .lengthLied(declared: 4080, actual: 16))
        #expect(got.first.map { Metadata(parsing: $0.metadata).streamTitle } == "A")
        #expect(got.dropFirst().allSatisfy { $0.fault == nil })
        #expect(got.map(\.audioBytes).prefix(3) == [first, second, third])
        #expect(Metadata(parsing: got[2].metadata).streamTitle == "B")
        #expect(got.count == 6)
    }

    /// 50 segments of `metaint` audio bytes; the fourth block says k = 255 but holds 32 bytes.
    func streamWithALyingBlock(metaint: Int) -> (stream: [UInt8], sent: [[UInt8]]) {
        let sent = (0..<50).map { audio(metaint, seed: UInt8($0)) }
        var stream: [UInt8] = []
        for (index, audio) in sent.enumerated() {
            stream += audio
            stream += index == 3 ? [255] + Array("StreamTitle='Lie';\0\0\0\0\0\0\0\0\0\0\0\0\0\0") : [0]
        }
        return (stream, sent)
    }

    @Test func lengthByteThatLied_IsCaught_WhateverTheReads() throws {
        let metaint = 100
        let (stream, sent) = streamWithALyingBlock(metaint: metaint)
        var rng = SplitMix64(seed: 7)
        for _ in 0..<20 {
            var parser = StreamParser(segments(metaint: metaint))
            var got: [Segment] = []
            for piece in randomSplit(stream, maxPiece: 300, using: &rng) { try parser.feed(piece) { got.append($0) } }
            #expect(got.map(\.audioBytes) == sent)
            #expect(got.compactMap(\.fault) == [.lengthLied(declared: 4080, actual: 32)])
        }
    }

    @Test func lengthByteThatLied_IsCaught_WhenAudioIsHandedOnAsItArrives() throws {
        let metaint = 100
        let (stream, sent) = streamWithALyingBlock(metaint: metaint)
        var rng = SplitMix64(seed: 11)
        for _ in 0..<20 {
            var reader = StreamReader(metaint: metaint, audioAsItArrives: true)
            var audio: [UInt8] = []
            var faults: [MetadataFault] = []
            for piece in randomSplit(stream, maxPiece: 300, using: &rng) {
                try reader.feed(piece) { event in
                    guard case .segment(let segment) = event else { return }
                    audio += segment.audioBytes
                    if let fault = segment.fault { faults.append(fault) }
                }
            }
            #expect(audio == sent.flatMap { $0 })
            #expect(faults == [.lengthLied(declared: 4080, actual: 32)])
        }
    }

    @Test func icecastCapture_HasOnlyWellFormedBlocks() throws {
        let bytes = fixture("icecast-capture.bin")
        let parsed = try parseStream([bytes[...]])
        #expect(!parsed.segments.isEmpty)
        #expect(parsed.segments.allSatisfy { $0.fault == nil })
    }
}
