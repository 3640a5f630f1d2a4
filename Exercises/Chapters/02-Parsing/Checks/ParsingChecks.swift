import Parsing
import Testing

/// Feeds `pieces` to a parse one after another: the first starts it, the others go to its continuations.
/// Returns the last step, or `nil` when the parse finished or failed before the pieces ran out.
func feed<Value>(_ pieces: [[UInt8]], start: (ArraySlice<UInt8>) -> Parse<Value>) -> Parse<Value>? {
    guard let first = pieces.first else { return nil }
    var step = start(first[...])
    for piece in pieces.dropFirst() {
        guard case .more(let next) = step else { return nil }
        step = next(piece)
    }
    return step
}

/// The value and the rest, when the step is done.
func finished<Value>(_ step: Parse<Value>?) -> (value: Value, rest: [UInt8])? {
    guard case .done(let value, let rest)? = step else { return nil }
    return (value, Array(rest))
}

/// The error, when the step failed.
func failure<Value>(_ step: Parse<Value>?) -> IcyError? {
    guard case .failed(let error)? = step else { return nil }
    return error
}

let playerRequest = Array("GET /live HTTP/1.0\r\nHost: radio\r\nIcy-MetaData: 1\r\n\r\n".utf8)

/// Chapter 2: parsers that can stop in the middle of anything and carry on with the next read.
struct ParsingChecks {
    @Test func head_ofACompleteHead_isDone_withTheBytesAfterItAsRest() throws {
        let step = head((playerRequest + [0xAA, 0xBB])[...])
        let (value, rest) = try #require(finished(step))
        #expect(value.first == "GET /live HTTP/1.0")
        #expect(value.headers == [Header(name: "Host", value: "radio"), Header(name: "Icy-MetaData", value: "1")])
        #expect(rest == [0xAA, 0xBB])
    }

    @Test func head_cutShort_asksForMore() {
        guard case .more = head(playerRequest.dropLast(1)) else {
            Issue.record("a head without its final line break must ask for more bytes")
            return
        }
    }

    @Test func head_splitAnywhere_givesTheSameHead() throws {
        let whole = try #require(finished(head(playerRequest[...]))).value
        for cut in 1..<playerRequest.count {
            let step = feed([Array(playerRequest[..<cut]), Array(playerRequest[cut...])], start: head)
            #expect(finished(step)?.value == whole, "split at byte \(cut)")
        }
        let oneByteAtATime = feed(playerRequest.map { [$0] }, start: head)
        #expect(finished(oneByteAtATime)?.value == whole)
    }

    @Test func head_acceptsBareLineFeeds_andTrimsValues() throws {
        let (value, _) = try #require(finished(head(Array("ICY 200 OK\nicy-name:   Casty FM  \nicy-genre:\t Jazz\t\n\n".utf8)[...])))
        #expect(value.first == "ICY 200 OK")
        #expect(value["ICY-NAME"] == "Casty FM")
        #expect(value["icy-genre"] == "Jazz", "tabs around a value are trimmed too")
    }

    @Test func head_refusesAHeaderLineWithoutANameAndAColon() {
        #expect(failure(head(Array("ICY 200 OK\r\nno colon here\r\n\r\n".utf8)[...])) == .malformedHeader("no colon here"))
        #expect(failure(head(Array("ICY 200 OK\r\n: value\r\n\r\n".utf8)[...])) == .malformedHeader(": value"), "an empty name")
    }

    @Test func head_acceptsALineOfMaxLineBytes_andRefusesOneMore() {
        let name = "icy-name: "
        let longest = Array((name + String(repeating: "x", count: maxLineBytes - name.count)).utf8)
        let start = Array("ICY 200 OK\r\n".utf8)
        #expect(finished(head((start + longest + Array("\r\n\r\n".utf8))[...]))?.value["icy-name"]?.count
            == maxLineBytes - name.count)
        // Its CR in one read and its LF in the next: a CR at the end may wait for its LF.
        #expect(finished(feed([start + longest + Array("\r".utf8), Array("\n\r\n".utf8)], start: head)) != nil,
                "the longest line, cut between its CR and its LF")
        #expect(failure(head((start + longest + Array("x\r\n\r\n".utf8))[...])) == .lineTooLong(limit: maxLineBytes))
    }

    @Test func head_refusesAnEndlessLine_beforeItEnds() {
        let endless = [UInt8](repeating: UInt8(ascii: "A"), count: 4096)
        let step = feed(Array(repeating: endless, count: 3), start: head)  // 12 KiB, no line break yet
        #expect(failure(step) == .lineTooLong(limit: maxLineBytes))
    }

    @Test func continuation_isAValue_resumingItTwiceGivesTwoIndependentResults() throws {
        guard case .more(let next) = head(Array("ICY 200 OK\r\nicy-name: ".utf8)[...]) else {
            Issue.record("expected more")
            return
        }
        let a = try #require(finished(next(Array("A\r\n\r\n".utf8)))).value
        let b = try #require(finished(next(Array("B\r\n\r\n".utf8)))).value
        #expect(a["icy-name"] == "A")
        #expect(b["icy-name"] == "B")
    }

    @Test func request_readsMethodPathVersion_andTheWishForTitles() throws {
        let (value, rest) = try #require(finished(request(playerRequest[...])))
        #expect(value == Request(method: "GET", path: "/live", version: "HTTP/1.0", wantsMetadata: true))
        #expect(rest.isEmpty)
        let declined = try #require(finished(request(Array("GET /live HTTP/1.0\r\nIcy-MetaData: 0\r\n\r\n".utf8)[...]))).value
        #expect(!declined.wantsMetadata, "Icy-MetaData: 0 does not ask for titles")
        let plain = try #require(finished(request(Array("HEAD / HTTP/1.1\r\n\r\n".utf8)[...]))).value
        #expect(plain == Request(method: "HEAD", path: "/", version: "HTTP/1.1", wantsMetadata: false))
    }

    @Test func request_arrivingInPieces_isTheSameRequest() throws {
        let step = feed([Array(playerRequest[..<5]), Array(playerRequest[5..<30]), Array(playerRequest[30...])], start: request)
        #expect(finished(step)?.value.path == "/live")
    }

    @Test func request_refusesAMalformedRequestLine() {
        #expect(failure(request(Array("GET /live\r\n\r\n".utf8)[...])) == .malformedRequestLine("GET /live"))
        #expect(failure(request(Array("GET / FOO/1.0\r\n\r\n".utf8)[...])) == .malformedRequestLine("GET / FOO/1.0"),
                "a version that is no HTTP at all")
    }

    @Test func request_refusesAMethodOrAnHTTPVersionItDoesNotServe() {
        #expect(failure(request(Array("FETCH / HTTP/1.0\r\n\r\n".utf8)[...])) == .unsupportedMethod("FETCH"))
        #expect(failure(request(Array("POST / HTTP/1.1\r\n\r\n".utf8)[...])) == .unsupportedMethod("POST"))
        #expect(failure(request(Array("GET / HTTP/2.0\r\n\r\n".utf8)[...])) == .unsupportedVersion("HTTP/2.0"))
        #expect(failure(request(Array("FETCH / HTTP/2.0\r\n\r\n".utf8)[...])) == .unsupportedVersion("HTTP/2.0"),
                "the version first, as Icy")
    }

    @Test func reply_readsShoutcastAndIcecastStatusLines_andMetaint() throws {
        let shoutcast = try #require(finished(reply(Array("ICY 200 OK\r\nicy-metaint: 8192\r\n\r\n".utf8)[...]))).value
        #expect(shoutcast.metaint == 8192)
        let icecast = try #require(finished(reply(Array("HTTP/1.0 200 OK\r\nContent-Type: audio/mpeg\r\n\r\n".utf8)[...]))).value
        #expect(icecast.metaint == nil)
        #expect(icecast.head["content-type"] == "audio/mpeg")
    }

    @Test func reply_withAnotherStatus_failsWithTheCode() {
        #expect(failure(reply(Array("HTTP/1.0 404 Not Found\r\n\r\n".utf8)[...])) == .status(code: 404, reason: "Not Found"))
    }

    @Test func reply_refusesAMalformedStatusLine() {
        #expect(failure(reply(Array("HELLO\r\n\r\n".utf8)[...])) == .malformedStatusLine("HELLO"))
        #expect(failure(reply(Array("FOO/9 200 OK\r\n\r\n".utf8)[...])) == .malformedStatusLine("FOO/9 200 OK"),
                "neither ICY nor HTTP")
    }

    @Test func reply_refusesAnHTTPVersionItDoesNotSpeak() {
        #expect(failure(reply(Array("HTTP/2 200 OK\r\n\r\n".utf8)[...])) == .unsupportedVersion("HTTP/2"))
    }

    @Test(arguments: ["0", "abc", "2000000", "-5"])
    func reply_refusesAnInvalidMetaint(_ value: String) {
        #expect(failure(reply(Array("ICY 200 OK\r\nicy-metaint: \(value)\r\n\r\n".utf8)[...])) == .invalidMetaint(value))
    }

    @Test func segment_readsAudioThenMetadata_withoutThePadding() throws {
        let wire: [UInt8] = [1, 2, 3, 4, 1] + Array("StreamTitle='';".utf8) + [0] + [9]
        let (value, rest) = try #require(finished(segment(metaint: 4)(wire)))
        #expect(value == Segment(audio: [1, 2, 3, 4], metadata: Array("StreamTitle='';".utf8)))
        #expect(rest == [9])
    }

    @Test func segment_splitAnywhere_givesTheSameSegment() throws {
        let wire: [UInt8] = [1, 2, 3, 2] + Array("StreamTitle='xy';".utf8) + [UInt8](repeating: 0, count: 15)
        let whole = try #require(finished(segment(metaint: 3)(wire))).value
        for cut in 1..<wire.count {
            let step = feed([Array(wire[..<cut]), Array(wire[cut...])]) { segment(metaint: 3)($0) }
            #expect(finished(step)?.value == whole, "split at byte \(cut)")
        }
    }

    @Test func streamParser_readsEverySegment_fromReadsOfAnySize() throws {
        // Ten segments of metaint 7; the odd ones carry a title. Reads of 5 bytes cut through everything.
        var wire: [UInt8] = []
        for index in 0..<10 {
            wire += [UInt8](repeating: UInt8(index), count: 7)
            wire += index % 2 == 1 ? [2] + Array("StreamTitle='\(index)';".utf8) + [UInt8](repeating: 0, count: 32 - 16) : [0]
        }
        var parser = StreamParser(segment(metaint: 7))
        var read: [Segment] = []
        var offset = 0
        while offset < wire.count {
            read += try parser.feed(Array(wire[offset..<min(offset + 5, wire.count)]))
            offset += 5
        }
        #expect(read.map(\.audio) == (0..<10).map { [UInt8](repeating: UInt8($0), count: 7) })
        #expect(read.map { String(decoding: $0.metadata, as: UTF8.self) }
            == (0..<10).map { $0 % 2 == 1 ? "StreamTitle='\($0)';" : "" })
    }
}
