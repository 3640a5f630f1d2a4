import Encoding
import Testing
// Only the parts of Icy that read bytes back, so that `padding` and `sendData` below are yours.
import func Icy.reply
import struct Icy.Metadata
import struct Icy.Segment
import struct Icy.StatusLine
import struct Icy.StreamParser

/// The CR and LF bytes of `bytes`, in order, written `\r` and `\n`. A head of a first line and `n` headers holds
/// `n + 2` CR LF pairs, one at the end of each line; any other CR or LF is a line break smuggled inside a line.
func lineBreaks(_ bytes: [UInt8]) -> String {
    bytes.compactMap { $0 == UInt8(ascii: "\r") ? #"\r"# : $0 == UInt8(ascii: "\n") ? #"\n"# : nil }.joined()
}

/// An expectation's message: the hole it checks, where that is, and what it expects of it — so that a hole still
/// returning its placeholder (no bytes) is named when it fails.
func hole(_ function: String, _ what: String) -> Comment {
    "\(function) (Chapter 1, Starter/Encoding.swift): \(what)"
}

/// Chapter 1: the bytes a station writes. The last checks read your bytes back with Casty's own parser.
struct EncodingChecks {
    @Test func headerLines_endEveryLineWithCRLF_andTheHeadWithAnEmptyLine() {
        let bytes = headerLines("ICY 200 OK", [("icy-name", "Casty FM"), ("icy-metaint", "8192")])
        #expect(String(decoding: bytes, as: UTF8.self) == "ICY 200 OK\r\nicy-name: Casty FM\r\nicy-metaint: 8192\r\n\r\n",
                hole("headerLines(_:_:)", "the first line, a `name: value` line per header and an empty line, each ending in CR LF"))
    }

    @Test func headerLines_withNoHeaders_areTheFirstLineAndAnEmptyLine() {
        #expect(headerLines("GET / HTTP/1.0", []) == Array("GET / HTTP/1.0\r\n\r\n".utf8),
                hole("headerLines(_:_:)", "with no headers, the first line and the empty line"))
    }

    @Test func headerLines_cannotBeSmuggledInsideAValue() {
        for lineBreak in ["\r\n", "\n", "\r"] {
            let bytes = headerLines("ICY 200 OK", [("icy-name", "Evil\(lineBreak)icy-metaint: 1")])
            let shown = String(decoding: bytes, as: UTF8.self).debugDescription
            #expect(lineBreaks(bytes) == #"\r\n\r\n\r\n"#,
                    hole("headerLines(_:_:)", "\(lineBreak.debugDescription) in a value must become a space: \(shown)"))
            guard case .done(.ok(_, let headers, _), _) = reply(bytes) else {
                Issue.record(hole("headerLines(_:_:)", "Icy could not read a reply from \(shown)"))
                continue
            }
            #expect(headers.count == 1, hole("headerLines(_:_:)", "one header line, with the line break gone from its value: \(shown)"))
            #expect(headers["icy-metaint"] == nil, hole("headerLines(_:_:)", "no icy-metaint smuggled in: \(shown)"))
            // A CR LF is one line break, or a CR and an LF: one space or two.
            let spaced = lineBreak == "\r\n" ? ["Evil icy-metaint: 1", "Evil  icy-metaint: 1"] : ["Evil icy-metaint: 1"]
            #expect(headers["icy-name"].map(spaced.contains) == true,
                    hole("headerLines(_:_:)", "the value kept, with a space for the line break, not the line break deleted: \(spaced[0].debugDescription) expected in \(shown)"))
        }
    }

    @Test func headerLines_cannotBeBrokenByTheFirstLineOrAName() {
        for lineBreak in ["\r\n", "\n", "\r"] {
            let bytes = headerLines("ICY 200 OK\(lineBreak)icy-metaint: 1", [("icy-name\(lineBreak)icy-br", "128")])
            #expect(lineBreaks(bytes) == #"\r\n\r\n\r\n"#, hole("headerLines(_:_:)",
                    "\(lineBreak.debugDescription) in the first line or a name must become a space: \(String(decoding: bytes, as: UTF8.self).debugDescription)"))
        }
    }

    @Test func headerLines_areReadBackByIcy() throws {
        let bytes = headerLines("ICY 200 OK", [("icy-name", "Casty FM"), ("icy-br", "128"), ("icy-metaint", "16000")])
        guard case .done(.ok(let status, let headers, _), let rest) = reply(bytes) else {
            Issue.record(hole("headerLines(_:_:)", "Icy could not read a reply from \(String(decoding: bytes, as: UTF8.self).debugDescription)"))
            return
        }
        #expect(status == .icyOK, hole("headerLines(_:_:)", "the first line as given"))
        #expect(headers["icy-name"] == "Casty FM", hole("headerLines(_:_:)", "each header read back as given"))
        #expect(try headers.metaint() == 16000, hole("headerLines(_:_:)", "each header read back as given"))
        #expect(rest.isEmpty, hole("headerLines(_:_:)", "nothing after the empty line"))
    }

    @Test func streamTitle_quotesTheTitleAndEndsWithASemicolon() {
        #expect(streamTitle("Artist - Song") == Array("StreamTitle='Artist - Song';".utf8),
                hole("streamTitle(_:)", "the title between `StreamTitle='` and `';`"))
    }

    @Test func padding_ofNothing_isZeroUnits() throws {
        let (k, padded) = try padding([])
        #expect(k == 0, hole("padding(_:)", "no metadata is 0 units: the single length byte 0 means \"nothing changed\""))
        #expect(padded.isEmpty, hole("padding(_:)", "no metadata pads to no bytes"))
    }

    @Test func padding_roundsUpToWhole16ByteUnitsWithNULs() throws {
        let text = Array("StreamTitle='Hi';".utf8)  // 17 bytes
        let (k, padded) = try padding(text)
        #expect(k == 2, hole("padding(_:)", "17 bytes round up to 2 units of 16"))
        #expect(padded.count == 32, hole("padding(_:)", "2 units are 32 bytes"))
        #expect(Array(padded.prefix(17)) == text, hole("padding(_:)", "the text first, unchanged"))
        #expect(padded.dropFirst(17).allSatisfy { $0 == 0 }, hole("padding(_:)", "then NUL bytes (0), nothing else"))
    }

    @Test func padding_ofAWholeNumberOfUnits_addsNothing() throws {
        let text = [UInt8](repeating: UInt8(ascii: "x"), count: 48)
        let (k, padded) = try padding(text)
        #expect(k == 3, hole("padding(_:)", "48 bytes are exactly 3 units: no unit added"))
        #expect(padded == text, hole("padding(_:)", "a whole number of units gets no padding"))
    }

    @Test func padding_allows4080Bytes_andRefuses4081() async throws {
        // A k one too high here is 256, which no UInt8 holds: UInt8(256) stops the program. Tried first in a
        // process of its own, so that a crash fails this check alone instead of ending the whole run.
        try await #require(processExitsWith: .success,
                           hole("padding(_:)", "4080, 4081 and 5000 bytes must not crash it: check the limit first, and 4080 bytes are 255 units, the most a UInt8 holds (computed in Int, a k of 256 crashes UInt8(k))")) {
            for count in [4080, 4081, 5000] { _ = try? padding([UInt8](repeating: 65, count: count)) }
        }
        let (k, padded) = try padding([UInt8](repeating: 65, count: 4080))
        #expect(k == 255, hole("padding(_:)", "4080 bytes are 255 units, the most one length byte can say"))
        #expect(padded.count == 4080, hole("padding(_:)", "4080 bytes need no padding"))
        #expect(throws: EncodingError.metadataTooLong(bytes: 4081), hole("padding(_:)", "4081 bytes are more than 255 units: metadataTooLong(bytes: 4081)")) {
            try padding([UInt8](repeating: 65, count: 4081))
        }
    }

    @Test func sendData_sendsTheAudioThenTheLengthByteThenThePaddedText() throws {
        var wire: [UInt8] = []
        try sendData(audio: [1, 2, 3], metadata: Array("StreamTitle='';".utf8)) { wire += $0 }
        #expect(wire == [1, 2, 3, 1] + Array("StreamTitle='';".utf8) + [0],
                hole("sendData(audio:metadata:to:)", "the audio, the length byte k (1), then the text padded to 16 bytes"))
    }

    @Test func sendData_withoutATitleChange_endsWithASingleZero() throws {
        var wire: [UInt8] = []
        try sendData(audio: [9, 9], metadata: []) { wire += $0 }
        #expect(wire == [9, 9, 0], hole("sendData(audio:metadata:to:)", "no metadata: the audio, then the single length byte 0"))
    }

    @Test func sendData_withTooLongMetadata_sendsNothing() async throws {
        try await #require(processExitsWith: .success,
                           hole("sendData(audio:metadata:to:)", "5000 bytes of metadata must not crash it: padding(_:) checks the limit before UInt8(k)")) {
            _ = try? sendData(audio: [1], metadata: [UInt8](repeating: 65, count: 5000)) { _ in }
        }
        var wire: [UInt8] = []
        #expect(throws: EncodingError.metadataTooLong(bytes: 5000), hole("sendData(audio:metadata:to:)", "5000 bytes of metadata: padding(_:)'s metadataTooLong(bytes: 5000)")) {
            try sendData(audio: [1], metadata: [UInt8](repeating: 65, count: 5000)) { wire += $0 }
        }
        #expect(wire.isEmpty, hole("sendData(audio:metadata:to:)", "nothing sent when the metadata is too long: a half-sent segment breaks the framing"))
    }

    @Test func aWholeStream_isReadBackByIcy_segmentBySegment() throws {
        let metaint = 5
        let titles: [String?] = ["One", nil, "Two — ünïcode", nil]
        var wire = headerLines("ICY 200 OK", [("icy-metaint", String(metaint))])
        for (index, title) in titles.enumerated() {
            let audio = [UInt8](repeating: UInt8(index), count: metaint)
            try sendData(audio: audio, metadata: title.map(streamTitle) ?? []) { wire += $0 }
        }
        guard case .done(.ok(_, _, let data), let rest) = reply(wire) else {
            Issue.record(hole("headerLines(_:_:)", "Icy could not read the reply"))
            return
        }
        var parser = StreamParser(data)
        var read: [Icy.Segment] = []
        try parser.feed(rest) { read.append($0) }
        #expect(read.count == titles.count, hole("sendData(audio:metadata:to:)", "one segment read back per segment sent"))
        for (index, segment) in read.enumerated() where index < titles.count {
            #expect(segment.audioBytes == [UInt8](repeating: UInt8(index), count: metaint),
                    hole("sendData(audio:metadata:to:)", "segment \(index)'s audio read back"))
            #expect(Metadata(parsing: segment.metadata).streamTitle == titles[index],
                    hole("streamTitle(_:)", "segment \(index)'s title read back by Icy"))
        }
    }
}
