import Icy
import Testing

/// What `print` and string interpolation show: text a person reads in a log or a failed expectation.
struct DescriptionTests {
    @Test func statusLine_ReadsAsOnTheWire() {
        #expect("\(StatusLine.icyOK)" == "ICY 200 OK")
        #expect("\(StatusLine(version: .http10, code: 302, reason: "Found"))" == "HTTP/1.0 302 Found")
        #expect("\(StatusLine(version: .http11, code: 500, reason: ""))" == "HTTP/1.1 500")
    }

    @Test func headers_ReadOneLinePerHeader_WithControlsEscaped() {
        #expect("\(["icy-name": "Casty FM", "icy-metaint": "8192"] as Headers)" == "icy-name: Casty FM\nicy-metaint: 8192")
        #expect("\(["icy-name": "Évil\r\nLocation: x"] as Headers)" == "icy-name: Évil\\r\\nLocation: x")
        #expect("\(Headers())" == "(no headers)")
    }

    @Test func segment_SaysHowMuchAudio_AndWhatItsBlockSaid() {
        #expect("\(Segment(audio: [[1, 2, 3][...], [4, 5][...]], metadata: Array("StreamTitle='Hi';"), lengthByte: 2))"
            == "5 audio bytes in 2 chunks, k = 2: \"StreamTitle='Hi';\"")
        #expect("\(Segment(audio: [1, 2], lengthByte: 0))" == "2 audio bytes, k = 0 (no change)")
        #expect("\(Segment(audio: [1, 2], lengthByte: 3))" == "2 audio bytes, k = 3: only NUL bytes")
        #expect("\(Segment(audio: [1, 2]))" == "2 audio bytes, no metadata block")
        #expect("\(Segment(audio: [1], metadata: Array("StreamTitle='x';")))" == "1 audio byte, metadata \"StreamTitle='x';\"")
        #expect("\(Segment(audio: [1], metadata: [0xFF, 0x1B], fault: .malformedText, lengthByte: 1))"
            == "1 audio byte, k = 1: \"ÿ\\e\" (metadata text is not Key='value'; fields)")
    }

    @Test func parse_SaysWhereTheStepStands() {
        #expect("\(request(Array("GET / HTTP/1.0\r\n")))" == "more: waiting for the next bytes")
        #expect("\(reply(Array("ICY 200 OK\r\nicy-metaint: 5\r\n\r\n123")))" == "done: ICY 200 OK with 1 header, 3 bytes after it")
        #expect("\(reply(Array("HTTP/1.0 404 Not Found\r\n")))" == "failed: server answered 404 Not Found")
        #expect("\(segments(metaint: 1)([7, 0]))" == "done: 1 audio byte, k = 0 (no change), 0 bytes after it")
    }

    @Test("A quote of what a stranger sent is cut to 80 characters as written, escapes counted, not 80 bytes escaped")
    func errorQuote_IsCutTo80CharactersAsWritten() {
        let garbage = String(repeating: "\u{1}", count: 100)
        let line = IcyError.malformedStatusLine(garbage).description
        #expect(line == "not an ICY or HTTP status line: \"" + String(repeating: "\\x01", count: 20) + "…\"", "\(line)")
        #expect(IcyError.malformedStatusLine("short").description == "not an ICY or HTTP status line: \"short\"")
    }

    @Test("A server's reason phrase is escaped as every other stranger's text: no ESC, BEL or bidirectional override reaches a log")
    func statusError_EscapesTheServersReasonPhrase() {
        let line = IcyError.status(code: 404, reason: "Not\u{1B}[31mFound\u{7}\u{202E} gone").description
        #expect(line == "server answered 404 Not\\e[31mFound\\x07\\u{202e} gone", "\(line)")
        #expect(IcyError.status(code: 503, reason: "Service Unavailable — ça").description == "server answered 503 Service Unavailable — ça")
    }

    @Test func errorKind_LeavesOutTheBytesThatShowIt() {
        #expect(IcyError.malformedStatusLine("abc").kind == IcyError.malformedStatusLine("xyz").kind)
        #expect(IcyError.status(code: 404, reason: "Not Found").kind == "server answered 404")
    }

    @Test func conflictingHeaderError_NamesBothValues() {
        #expect(IcyError.conflictingHeader(name: "icy-metaint", first: "8192", second: "16000").description
            == "conflicting icy-metaint headers: \"8192\" and \"16000\"")
    }
}
