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

/// Feeds `first` to a parse in one read, then `bytes` one at a time. Returns how many of `bytes` had gone in when
/// it stopped asking for more (0: it stopped at `first`), and its step then; `nil` when it still asks after the last.
func stopping<Value>(_ bytes: [UInt8], after first: [UInt8], start: (ArraySlice<UInt8>) -> Parse<Value>) -> (fed: Int, step: Parse<Value>)? {
    var step = start(first[...])
    for (fed, byte) in bytes.enumerated() {
        guard case .more(let next) = step else { return (fed, step) }
        step = next([byte])
    }
    if case .more = step { return nil }
    return (bytes.count, step)
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

/// An expectation's message: the hole it checks, where that is, and what it expects of it — so that a hole still
/// returning its placeholder (`.failed(.notImplemented)`) is named when it fails, whatever the check looks at.
func hole(_ function: String, _ what: String) -> Comment {
    "\(function) (Chapter 2, Starter/Parsers.swift): \(what)"
}

let playerRequest = Array("GET /live HTTP/1.0\r\nHost: radio\r\nIcy-MetaData: 1\r\n\r\n".utf8)

/// Chapter 2: parsers that can stop in the middle of anything and carry on with the next read.
struct ParsingChecks {
    @Test func head_ofACompleteHead_isDone_withTheBytesAfterItAsRest() throws {
        let step = head((playerRequest + [0xAA, 0xBB])[...])
        let (value, rest) = try #require(finished(step), hole("head(_:)", "done at the empty line"))
        #expect(value.first == "GET /live HTTP/1.0", hole("head(_:)", "the first line, without its line break"))
        #expect(value.headers == [Header(name: "Host", value: "radio"), Header(name: "Icy-MetaData", value: "1")],
                hole("head(_:)", "the header lines, in order"))
        #expect(rest == [0xAA, 0xBB], hole("head(_:)", "the bytes after the empty line as rest"))
    }

    @Test func head_cutShort_asksForMore() {
        guard case .more = head(playerRequest.dropLast(1)) else {
            Issue.record(hole("head(_:)", "a head without its final line break must ask for more bytes"))
            return
        }
    }

    @Test func head_splitAnywhere_givesTheSameHead() throws {
        let whole = try #require(finished(head(playerRequest[...])), hole("head(_:)", "the whole request in one read is done")).value
        for cut in 1..<playerRequest.count {
            let step = feed([Array(playerRequest[..<cut]), Array(playerRequest[cut...])], start: head)
            #expect(finished(step)?.value == whole, hole("head(_:)", "the same head, split at byte \(cut)"))
        }
        let oneByteAtATime = feed(playerRequest.map { [$0] }, start: head)
        #expect(finished(oneByteAtATime)?.value == whole, hole("head(_:)", "the same head, one byte at a time"))
    }

    @Test func head_acceptsBareLineFeeds_andTrimsValues() throws {
        let (value, _) = try #require(finished(head(Array("ICY 200 OK\nicy-name:   Casty FM  \nicy-genre:\t Jazz\t\n\n".utf8)[...])),
                                      hole("head(_:)", "lines that end with a bare LF are lines too"))
        #expect(value.first == "ICY 200 OK", hole("head(_:)", "the first line, ended by a bare LF"))
        #expect(value["ICY-NAME"] == "Casty FM", hole("head(_:)", "the spaces around a value are trimmed"))
        #expect(value["icy-genre"] == "Jazz", hole("head(_:)", "tabs around a value are trimmed too"))
    }

    @Test func head_refusesAHeaderLineWithoutANameAndAColon() {
        #expect(failure(head(Array("ICY 200 OK\r\nno colon here\r\n\r\n".utf8)[...])) == .malformedHeader("no colon here"),
                hole("head(_:)", "a header line without a colon"))
        #expect(failure(head(Array("ICY 200 OK\r\n: value\r\n\r\n".utf8)[...])) == .malformedHeader(": value"),
                hole("head(_:)", "a header line with an empty name"))
    }

    @Test func head_acceptsALineOfMaxLineBytes_andRefusesOneMore() {
        let name = "icy-name: "
        let longest = Array((name + String(repeating: "x", count: maxLineBytes - name.count)).utf8)
        let start = Array("ICY 200 OK\r\n".utf8)
        #expect(finished(head((start + longest + Array("\r\n\r\n".utf8))[...]))?.value["icy-name"]?.count
            == maxLineBytes - name.count, hole("head(_:)", "a line of exactly maxLineBytes (\(maxLineBytes)) is read"))
        // Its CR in one read and its LF in the next: a CR at the end may wait for its LF.
        #expect(finished(feed([start + longest + Array("\r".utf8), Array("\n\r\n".utf8)], start: head)) != nil,
                hole("head(_:)", "the longest line, cut between its CR and its LF, is read"))
        #expect(failure(head((start + longest + Array("x\r\n\r\n".utf8))[...])) == .lineTooLong(limit: maxLineBytes),
                hole("head(_:)", "a line of maxLineBytes + 1 is refused"))
    }

    @Test func head_refusesAnEndlessLine_beforeItEnds() {
        let start = Array("ICY 200 OK\r\n".utf8)
        let endless = [UInt8](repeating: UInt8(ascii: "A"), count: 4096)
        let step = feed([start] + Array(repeating: endless, count: 3), start: head)  // 12 KiB, no line break yet
        #expect(failure(step) == .lineTooLong(limit: maxLineBytes), hole("head(_:)", "12 KiB without a line break, in 4 KiB reads, refused"))
        // One byte at a time: maxLineBytes and a CR may wait for their LF; the byte after them is one too many.
        let stop = stopping([UInt8](repeating: UInt8(ascii: "A"), count: 2 * maxLineBytes), after: start, start: head)
        #expect(stop?.fed == maxLineBytes + 2,
                hole("head(_:)", "refused at the line's byte \(maxLineBytes + 2), the first that cannot be a line of maxLineBytes (\(maxLineBytes)) and its CR; not before, not later"))
        #expect(failure(stop?.step) == .lineTooLong(limit: maxLineBytes), hole("head(_:)", "refused with lineTooLong(limit: maxLineBytes)"))
    }

    @Test func continuation_isAValue_resumingItTwiceGivesTwoIndependentResults() throws {
        guard case .more(let next) = head(Array("ICY 200 OK\r\nicy-name: ".utf8)[...]) else {
            Issue.record(hole("head(_:)", "a head cut in the middle of a header line must ask for more bytes"))
            return
        }
        let a = try #require(finished(next(Array("A\r\n\r\n".utf8))), hole("head(_:)", "the continuation, resumed with the rest, is done")).value
        let b = try #require(finished(next(Array("B\r\n\r\n".utf8))), hole("head(_:)", "the same continuation, resumed again, is done again")).value
        #expect(a["icy-name"] == "A", hole("head(_:)", "the first resumption reads its own bytes"))
        #expect(b["icy-name"] == "B", hole("head(_:)", "the second resumption is not changed by the first"))
    }

    @Test func request_readsMethodPathVersion_andTheWishForTitles() throws {
        let (value, rest) = try #require(finished(request(playerRequest[...])), hole("request(_:)", "a player's request is read"))
        #expect(value == Request(method: "GET", path: "/live", version: "HTTP/1.0", wantsMetadata: true),
                hole("request(_:)", "method, path, version, and Icy-MetaData: 1 asks for titles"))
        #expect(rest.isEmpty, hole("request(_:)", "nothing after the empty line"))
        let declined = try #require(finished(request(Array("GET /live HTTP/1.0\r\nIcy-MetaData: 0\r\n\r\n".utf8)[...])),
                                    hole("request(_:)", "a request with Icy-MetaData: 0 is read")).value
        #expect(!declined.wantsMetadata, hole("request(_:)", "Icy-MetaData: 0 does not ask for titles"))
        let plain = try #require(finished(request(Array("HEAD / HTTP/1.1\r\n\r\n".utf8)[...])),
                                 hole("request(_:)", "a HEAD in HTTP/1.1 without headers is read")).value
        #expect(plain == Request(method: "HEAD", path: "/", version: "HTTP/1.1", wantsMetadata: false),
                hole("request(_:)", "no Icy-MetaData header: no titles"))
    }

    @Test func request_arrivingInPieces_isTheSameRequest() throws {
        let step = feed([Array(playerRequest[..<5]), Array(playerRequest[5..<30]), Array(playerRequest[30...])], start: request)
        #expect(finished(step)?.value.path == "/live", hole("request(_:)", "the request read from three pieces (head(bytes).map carries it through .more)"))
    }

    @Test func request_refusesAMalformedRequestLine() {
        #expect(failure(request(Array("GET /live\r\n\r\n".utf8)[...])) == .malformedRequestLine("GET /live"),
                hole("request(_:)", "two words are no request line"))
        #expect(failure(request(Array("GET  HTTP/1.0\r\n\r\n".utf8)[...])) == .malformedRequestLine("GET  HTTP/1.0"),
                hole("request(_:)", "two spaces make an empty word: no path is no request line"))
        #expect(failure(request(Array("GET / FOO/1.0\r\n\r\n".utf8)[...])) == .malformedRequestLine("GET / FOO/1.0"),
                hole("request(_:)", "a version that is no HTTP at all"))
    }

    @Test func request_refusesAMethodOrAnHTTPVersionItDoesNotServe() {
        #expect(failure(request(Array("FETCH / HTTP/1.0\r\n\r\n".utf8)[...])) == .unsupportedMethod("FETCH"),
                hole("request(_:)", "a method other than GET and HEAD"))
        #expect(failure(request(Array("POST / HTTP/1.1\r\n\r\n".utf8)[...])) == .unsupportedMethod("POST"),
                hole("request(_:)", "a method other than GET and HEAD"))
        #expect(failure(request(Array("GET / HTTP/2.0\r\n\r\n".utf8)[...])) == .unsupportedVersion("HTTP/2.0"),
                hole("request(_:)", "an HTTP other than 1.0 and 1.1"))
        #expect(failure(request(Array("FETCH / HTTP/2.0\r\n\r\n".utf8)[...])) == .unsupportedVersion("HTTP/2.0"),
                hole("request(_:)", "the version first, as Icy"))
    }

    @Test func reply_readsShoutcastAndIcecastStatusLines_andMetaint() throws {
        let shoutcast = try #require(finished(reply(Array("ICY 200 OK\r\nicy-metaint: 8192\r\n\r\n".utf8)[...])),
                                     hole("reply(_:)", "a Shoutcast reply (ICY 200 OK) is read")).value
        #expect(shoutcast.metaint == 8192, hole("reply(_:)", "icy-metaint read as a number"))
        let icecast = try #require(finished(reply(Array("HTTP/1.0 200 OK\r\nContent-Type: audio/mpeg\r\n\r\n".utf8)[...])),
                                   hole("reply(_:)", "an Icecast reply (HTTP/1.0 200 OK) is read")).value
        #expect(icecast.metaint == nil, hole("reply(_:)", "no icy-metaint: nil"))
        #expect(icecast.head["content-type"] == "audio/mpeg", hole("reply(_:)", "the head kept"))
    }

    @Test func reply_withAnotherStatus_failsWithTheCode() {
        #expect(failure(reply(Array("HTTP/1.0 404 Not Found\r\n\r\n".utf8)[...])) == .status(code: 404, reason: "Not Found"),
                hole("reply(_:)", "only 200 is a stream: another code fails with it and its reason"))
    }

    @Test func reply_refusesAMalformedStatusLine() {
        #expect(failure(reply(Array("HELLO\r\n\r\n".utf8)[...])) == .malformedStatusLine("HELLO"),
                hole("reply(_:)", "one word is no status line"))
        #expect(failure(reply(Array("FOO/9 200 OK\r\n\r\n".utf8)[...])) == .malformedStatusLine("FOO/9 200 OK"),
                hole("reply(_:)", "neither ICY nor HTTP"))
        for line in ["ICY 2000 OK", "ICY 0200 OK", "HTTP/1.0 +200 OK", "ICY 20 OK"] {
            #expect(failure(reply(Array("\(line)\r\n\r\n".utf8)[...])) == .malformedStatusLine(line),
                    hole("reply(_:)", "a code is three digits: '\(line)' is no status line"))
        }
        #expect(failure(reply(Array("FOO/9 404 x\r\n\r\n".utf8)[...])) == .malformedStatusLine("FOO/9 404 x"),
                hole("reply(_:)", "the version first, then the code: neither ICY nor HTTP, whatever the code"))
    }

    @Test func reply_refusesAnHTTPVersionItDoesNotSpeak() {
        #expect(failure(reply(Array("HTTP/2 200 OK\r\n\r\n".utf8)[...])) == .unsupportedVersion("HTTP/2"),
                hole("reply(_:)", "an HTTP other than 1.0 and 1.1"))
        #expect(failure(reply(Array("HTTP/2 404 Not Found\r\n\r\n".utf8)[...])) == .unsupportedVersion("HTTP/2"),
                hole("reply(_:)", "the version first, then the code, as Icy"))
    }

    @Test(arguments: [1, 1_048_576])
    func reply_acceptsAMetaintAtEitherEndOfItsRange(_ value: Int) throws {
        let reply = try #require(finished(reply(Array("ICY 200 OK\r\nicy-metaint: \(value)\r\n\r\n".utf8)[...])),
                                 hole("reply(_:)", "icy-metaint \(value) is in 1…1,048,576: the reply is read"))
        #expect(reply.value.metaint == value, hole("reply(_:)", "icy-metaint \(value) read as a number"))
    }

    @Test(arguments: ["0", "abc", "1048577", "2000000", "-5"])
    func reply_refusesAnInvalidMetaint(_ value: String) {
        #expect(failure(reply(Array("ICY 200 OK\r\nicy-metaint: \(value)\r\n\r\n".utf8)[...])) == .invalidMetaint(value),
                hole("reply(_:)", "icy-metaint must be a whole number in 1…1,048,576"))
    }

    @Test func segment_readsAudioThenMetadata_withoutThePadding() throws {
        let wire: [UInt8] = [1, 2, 3, 4, 1] + Array("StreamTitle='';".utf8) + [0] + [9]
        let (value, rest) = try #require(finished(segment(metaint: 4)(wire)), hole("segment(metaint:)", "a whole segment is read"))
        #expect(value == Segment(audio: [1, 2, 3, 4], metadata: Array("StreamTitle='';".utf8)),
                hole("segment(metaint:)", "metaint audio bytes, then 16·k metadata bytes without their NUL padding"))
        #expect(rest == [9], hole("segment(metaint:)", "the bytes after the segment as rest"))
    }

    @Test func segment_splitAnywhere_givesTheSameSegment() throws {
        let wire: [UInt8] = [1, 2, 3, 2] + Array("StreamTitle='xy';".utf8) + [UInt8](repeating: 0, count: 15)
        let whole = try #require(finished(segment(metaint: 3)(wire)), hole("segment(metaint:)", "a whole segment in one read is read")).value
        for cut in 1..<wire.count {
            let step = feed([Array(wire[..<cut]), Array(wire[cut...])]) { segment(metaint: 3)($0) }
            #expect(finished(step)?.value == whole, hole("segment(metaint:)", "the same segment, split at byte \(cut)"))
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
        #expect(read.map(\.audio) == (0..<10).map { [UInt8](repeating: UInt8($0), count: 7) },
                hole("segment(metaint:)", "every segment's audio, from 5-byte reads"))
        #expect(read.map { String(decoding: $0.metadata, as: UTF8.self) }
            == (0..<10).map { $0 % 2 == 1 ? "StreamTitle='\($0)';" : "" }, hole("segment(metaint:)", "every segment's title, from 5-byte reads"))
    }
}
