import Icy
import Testing

struct ReplyTests {
    @Test(arguments: [
        ("ICY 200 OK", StatusLine.icyOK),
        ("HTTP/1.0 200 OK", .httpOK),
        ("HTTP/1.1 200 OK", StatusLine(version: .http11, code: 200, reason: "OK")),
    ])
    func successStatusLines_GiveHeadersAndData(line: String, status: StatusLine) throws {
        let bytes = Array("\(line)\r\nContent-Type: audio/mpeg\r\nicy-name: Test FM\r\nicy-metaint: 4\r\n\r\nabcd\0efgh")
        guard case .done(.ok(let got, let headers, let data), let rest) = reply(bytes) else {
            Issue.record("expected a stream reply")
            return
        }
        #expect(got == status)
        #expect(headers["content-type"] == "audio/mpeg")
        #expect(headers["ICY-NAME"] == "Test FM")
        guard case .done(let segment, let after) = data(rest) else { Issue.record("a whole segment"); return }
        #expect(segment == Segment(audio: Array("abcd")))
        #expect(Array(after) == Array("efgh"))
    }

    @Test(arguments: [301, 302, 303, 307, 308])
    func redirects_ComeBackWithTheirLocation(code: Int) {
        let bytes = Array("HTTP/1.0 \(code) Moved\r\nLocation: http://10.0.0.2:8001/live\r\n\r\n")
        guard case .done(.redirect(let status, let location, _), _) = reply(bytes) else {
            Issue.record("expected a redirect")
            return
        }
        #expect(status.code == code)
        #expect(location == "http://10.0.0.2:8001/live")
    }

    @Test func redirectWithoutLocation_Fails() {
        #expect(feed([Array("HTTP/1.0 302 Found\r\n\r\n")[...]], start: { reply($0).asStatus }) == .failed(.redirectWithoutLocation(code: 302)))
    }

    @Test(arguments: [
        ("HTTP/1.0 401 Unauthorized", 401, "Unauthorized"),
        ("HTTP/1.1 403 Forbidden", 403, "Forbidden"),
        ("HTTP/1.0 404 File Not Found", 404, "File Not Found"),
        ("ICY 401 Service Unavailable", 401, "Service Unavailable"),
        ("HTTP/1.0 503 Service Unavailable", 503, "Service Unavailable"),
        ("HTTP/1.1 500", 500, ""),
    ])
    func otherStatuses_FailWithCodeAndReason(line: String, code: Int, reason: String) {
        // The error comes as soon as the status line is read: no need to wait for headers.
        #expect(feed([Array("\(line)\r\n")[...]], start: { reply($0).asStatus }) == .failed(.status(code: code, reason: reason)))
    }

    @Test(arguments: [
        ("<html><body>Hello</body></html>\n", IcyError.malformedStatusLine("<html><body>Hello</body></html>")),
        ("HTTP/2 200 OK\r\n", .unsupportedVersion("HTTP/2")),
        ("ICY 2000 OK\r\n", .malformedStatusLine("ICY 2000 OK")),
        ("HTTP/1.0 200 OK\r\nicy-metaint: 0\r\n\r\n", .invalidMetaint("0")),
        ("HTTP/1.0 200 OK\r\nicy-metaint: 1048577\r\n\r\n", .invalidMetaint("1048577")),
        ("HTTP/1.0 200 OK\r\nicy-metaint: 16k\r\n\r\n", .invalidMetaint("16k")),
        ("HTTP/1.0 200 OK\r\nicy-metaint: -5\r\n\r\n", .invalidMetaint("-5")),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", .unsupportedTransferEncoding("chunked")),
    ])
    func nonIcyReplies_FailWithTheirProblem(text: String, error: IcyError) {
        #expect(feed([Array(text)[...]], start: { reply($0).asStatus }) == .failed(error))
    }

    @Test(arguments: [
        ("HTTP/1.1 204 No Content", 204, "No Content"),
        ("HTTP/1.1 206 Partial Content", 206, "Partial Content"),
        ("HTTP/1.0 300 Multiple Choices", 300, "Multiple Choices"),
        ("HTTP/1.1 304 Not Modified", 304, "Not Modified"),
    ])
    func statusesThatAreNeitherAStreamNorARedirect_Fail(line: String, code: Int, reason: String) {
        // Even with a Location, 300 and 304 are not redirects a listener can follow.
        let text = "\(line)\r\nLocation: http://elsewhere/\r\nicy-metaint: 8\r\n\r\n"
        #expect(feed([Array(text)[...]], start: { reply($0).asStatus }) == .failed(.status(code: code, reason: reason)))
    }

    @Test func sameMetaintTwice_IsAccepted() throws {
        guard case .done(.ok(_, let headers, _), _) = reply(Array("ICY 200 OK\r\nicy-metaint: 8192\r\nIcy-MetaInt: 8192\r\n\r\n")) else {
            Issue.record("the same value twice is no conflict")
            return
        }
        #expect(try headers.metaint() == 8192)
    }

    @Test func twoDifferentMetaints_AreAConflict_NotFirstWins() {
        let text = "ICY 200 OK\r\nicy-metaint: 8192\r\nicy-name: x\r\nICY-METAINT: 16000\r\n\r\n"
        #expect(feed([Array(text)[...]], start: { reply($0).asStatus })
            == .failed(.conflictingHeader(name: "icy-metaint", first: "8192", second: "16000")))
        let headers = Headers([HeaderField(name: "icy-metaint", value: "1"), HeaderField(name: "icy-metaint", value: "2")])
        #expect(throws: IcyError.conflictingHeader(name: "icy-metaint", first: "1", second: "2")) { try headers.metaint() }
        let invalidSecond = Headers([HeaderField(name: "icy-metaint", value: "1"), HeaderField(name: "icy-metaint", value: "lots")])
        #expect(throws: IcyError.invalidMetaint("lots")) { try invalidSecond.metaint() }
    }

    @Test(arguments: [
        (["chunked"], "chunked"),
        (["Chunked"], "Chunked"),
        (["gzip, chunked"], "gzip, chunked"),
        (["identity", "chunked"], "chunked"),
        (["identity, chunked"], "identity, chunked"),
        ([""], ""),
    ])
    func transferEncodingOtherThanIdentity_AnywhereInTheHead_Fails(codings: [String], refused: String) {
        let lines = codings.map { "Transfer-Encoding: \($0)\r\n" }.joined()
        let text = "HTTP/1.1 200 OK\r\nicy-metaint: 4\r\n\(lines)\r\n5\r\nabcd\0\r\n"
        #expect(feed([Array(text)[...]], start: { reply($0).asStatus }) == .failed(.unsupportedTransferEncoding(refused)))
    }

    @Test(arguments: [["identity"], ["Identity", "IDENTITY"]])
    func transferEncodingIdentity_IsAccepted(codings: [String]) {
        let lines = codings.map { "Transfer-Encoding: \($0)\r\n" }.joined()
        let outcome = feed([Array("HTTP/1.1 200 OK\r\n\(lines)\r\n")[...]], start: { reply($0).asStatus })
        #expect(outcome == .done(StatusLine(version: .http11, code: 200, reason: "OK"), rest: []))
    }

    @Test func metaintAtTheLimits_IsAccepted() throws {
        for metaint in [1, 1_048_576] {
            guard case .done(.ok(_, let headers, _), _) = reply(Array("ICY 200 OK\r\nicy-metaint:\(metaint)\r\n\r\n")) else {
                Issue.record("metaint \(metaint) is within limits")
                continue
            }
            #expect(try headers.metaint() == metaint)
        }
    }

    @Test func streamWithoutMetaint_IsCutIntoSegmentsOfTheChosenSize() throws {
        let audio = (0..<10).map { UInt8($0) }
        guard case .done(.ok(_, _, let data), let rest) = reply(Array("HTTP/1.0 200 OK\r\n\r\n") + audio, segmentBytes: 4) else {
            Issue.record("expected a stream reply")
            return
        }
        var parser = StreamParser(data)
        var segments: [Segment] = []
        try parser.feed(rest) { segments.append($0) }
        #expect(segments == [Segment(audio: [0, 1, 2, 3]), Segment(audio: [4, 5, 6, 7])])
    }

    @Test func streamWithoutMetaint_InSplitReads_KeepsEveryChunkAsItArrived() throws {
        var reader = StreamReader(segmentBytes: 4)
        var segments: [Segment] = []
        for read: [UInt8] in [Array("HTTP/1.0 200 OK\r\n\r\n") + [0, 1], [2, 3, 4], [5], [6, 7, 8, 9]] {
            try reader.feed(read) { event in if case .segment(let segment) = event { segments.append(segment) } }
        }
        #expect(segments.map { $0.audio.map(Array.init) } == [[[0, 1], [2, 3]], [[4], [5], [6, 7]]])
        #expect(segments.allSatisfy { $0.lengthByte == nil && $0.metadata.isEmpty })
        #expect(Array(reader.unread).isEmpty)
    }
}

/// A reply reduced to its status line, so outcomes can be compared.
extension Parse where Value == Reply {
    var asStatus: Parse<StatusLine> {
        switch self {
        case .done(let reply, let rest): .done(reply.status, rest: rest)
        case .more(let next): .more(Continuation { next($0).asStatus })
        case .failed(let error): .failed(error)
        }
    }
}
