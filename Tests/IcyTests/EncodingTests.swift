import Icy
import Testing

struct EncodingTests {
    @Test(arguments: [
        (0, 0, 0), (1, 1, 16), (15, 1, 16), (16, 1, 16), (17, 2, 32), (4079, 255, 4080), (4080, 255, 4080),
    ])
    func padding_RoundsUpToWhole16ByteUnits(length: Int, k: Int, padded: Int) throws {
        let text = [UInt8](repeating: UInt8(ascii: "t"), count: length)
        let result = try padding(text)
        #expect(Int(result.k) == k)
        #expect(result.padded.count == padded)
        #expect(Array(result.padded.prefix(length)) == text)
        #expect(result.padded.dropFirst(length).allSatisfy { $0 == 0 })
    }

    @Test func emptyMetadata_IsTheSingleByteZero() throws {
        #expect(try metadataBlock([]) == [0])
    }

    @Test func metadataOver4080Bytes_IsAnError_NotATruncation() {
        #expect(throws: IcyError.metadataTooLong(bytes: 4081)) {
            try padding([UInt8](repeating: 1, count: 4081))
        }
        #expect(throws: IcyError.metadataTooLong(bytes: 4081)) {
            try sendData(Segment(audio: [1], metadata: [UInt8](repeating: 1, count: 4081))) { _ in }
        }
    }

    @Test func sendData_SendsAudioThenMetadataBlock() throws {
        let segment = Segment(audio: [[1, 2][...], [3][...]], metadata: Array("hello"))
        let bytes = try encoded { try sendData(segment, to: $0) }
        #expect(bytes == [1, 2, 3, 1] + Array("hello") + [UInt8](repeating: 0, count: 11))
        #expect(try encoded { try sendData(segment, metadata: false, to: $0) } == [1, 2, 3])
    }

    @Test func sendData_PassesAudioChunksOnWithoutCopying() throws {
        let audio: [UInt8] = [1, 2, 3, 4]
        var seen: [UnsafePointer<UInt8>?] = []
        try sendData(Segment(audio: audio), metadata: false) { chunk in
            chunk.withUnsafeBufferPointer { seen.append($0.baseAddress) }
        }
        audio.withUnsafeBufferPointer { #expect(seen == [$0.baseAddress]) }
    }

    @Test func sendRequest_AsksForMetadata() {
        let bytes = encoded { sendRequest(host: "radio.example:8000", feed: "live", headers: ["X-Casty-Resume": "42"], to: $0) }
        #expect(String(decoding: bytes, as: UTF8.self)
            == "GET /live HTTP/1.0\r\nHost: radio.example:8000\r\nUser-Agent: Casty\r\nIcy-MetaData: 1\r\nX-Casty-Resume: 42\r\n\r\n")
    }

    @Test("A mount whose name begins with 'http' is a path like any other; only an absolute URL goes as it is")
    func sendRequest_MountNamedHttpSomething_GetsItsSlash() {
        for (feed, path) in [("httpstream", "/httpstream"), ("https-128.mp3", "/https-128.mp3"), ("/live", "/live"),
                             ("http://radio.example/live", "http://radio.example/live")] {
            let bytes = encoded { sendRequest(host: "h", feed: feed, metadata: false, to: $0) }
            #expect(String(decoding: bytes, as: UTF8.self).hasPrefix("GET \(path) HTTP/1.0\r\n"), "\(feed)")
        }
    }

    @Test func sendRequest_LetsTheCallerSetTheUserAgentAndHost_EachSentOnce() {
        let bytes = encoded {
            sendRequest(host: "a:1", feed: "/", metadata: false, headers: ["user-agent": "MyPlayer/1.0", "X-A": "1", "Host": "b:2"], to: $0)
        }
        #expect(String(decoding: bytes, as: UTF8.self) == "GET / HTTP/1.0\r\nHost: b:2\r\nuser-agent: MyPlayer/1.0\r\nX-A: 1\r\n\r\n")
        guard case .done(let request, _) = request(bytes) else { Issue.record("the request parses back"); return }
        #expect(request.headers.filter { $0.name.lowercased() == "user-agent" }.count == 1)
        #expect(!request.wantsMetadata)
    }

    @Test func sendRequest_GivenAUserAgentTwiceInTwoCases_SendsTheLastOneOnce() {
        let bytes = encoded {
            sendRequest(host: "a:1", feed: "/", metadata: false, headers: ["user-agent": "X/1", "User-Agent": "Y/2"], to: $0)
        }
        #expect(String(decoding: bytes, as: UTF8.self) == "GET / HTTP/1.0\r\nHost: a:1\r\nUser-Agent: Y/2\r\n\r\n")
    }

    @Test func sendReply_WritesIcyOrHttpStatusLines() {
        let icy = encoded { sendReply(["icy-metaint": "8192"], to: $0) }
        #expect(String(decoding: icy, as: UTF8.self) == "ICY 200 OK\r\nicy-metaint: 8192\r\n\r\n")
        let redirect = encoded {
            sendReply(["Location": "http://b:1/"], status: StatusLine(version: .http10, code: 302, reason: "Found"), to: $0)
        }
        #expect(String(decoding: redirect, as: UTF8.self) == "HTTP/1.0 302 Found\r\nLocation: http://b:1/\r\n\r\n")
    }

    @Test func headerValuesWithLineBreaks_CannotInjectHeaders() {
        let bytes = encoded { sendHeaders(["icy-name": "Evil\r\nLocation: x"], to: $0) }
        #expect(String(decoding: bytes, as: UTF8.self) == "icy-name: Evil Location: x\r\n")
    }

    @Test func encodedRequest_ParsesBackToTheSameRequest() {
        let headers: Headers = ["Host": "h", "User-Agent": "Casty", "Icy-MetaData": "1"]
        let bytes = encoded { sendRequest(host: "h", feed: "/a b/é", to: $0) }
        #expect(feed([bytes[...]], start: request) == .done(Request(path: "/a%20b/%C3%A9", headers: headers), rest: []))
    }

    @Test(arguments: [StatusLine.icyOK, .httpOK])
    func encodedReplyAndSegments_ParseBackToTheSameValues(status: StatusLine) throws {
        var rng = SplitMix64(seed: 7)
        let (bytes, expected) = generatedStream(metaint: 100, count: 20, using: &rng)
        let parsed = try parseStream([bytes[...]])
        #expect(parsed.headers["icy-name"] == "Generated")
        #expect(parsed.segments == expected)
    }
}
