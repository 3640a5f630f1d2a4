import Icy
import Testing

struct RequestTests {
    @Test(arguments: ["/", "/live.mp3", "/a/b?c=d&e=%20f"])
    func requestLine_AcceptsAnyPath(path: String) {
        let outcome = feed([Array("GET \(path) HTTP/1.1\r\nHost: radio\r\n\r\n")[...]], start: request)
        #expect(outcome == .done(Request(path: path, version: .http11, headers: ["Host": "radio"]), rest: []))
    }

    @Test("A target that is neither a path nor an absolute URL, and * but for OPTIONS, is malformed (RFC 9112 §3.2)", arguments: [
        "GET * HTTP/1.1", "HEAD * HTTP/1.1", "GET status.json HTTP/1.1", "GET live HTTP/1.0", "SOURCE live ICE/1.0",
        "PUT live HTTP/1.1", "GET example.org:8000 HTTP/1.1", "GET ?x=1 HTTP/1.1",
    ])
    func targetNotAPath_IsMalformed(line: String) {
        let outcome = feed([Array("\(line)\r\nHost: radio\r\n\r\n")[...]], start: request)
        #expect(outcome == .failed(.malformedRequestLine(line)))
    }

    @Test("OPTIONS * asks about the server (RFC 9112 §3.2.4)")
    func optionsAsterisk_IsAccepted() {
        let outcome = feed([Array("OPTIONS * HTTP/1.1\r\nHost: radio\r\n\r\n")[...]], start: request)
        #expect(outcome == .done(Request(method: .options, path: "*", version: .http11, headers: ["Host": "radio"]), rest: []))
    }

    @Test("Empty lines before the request line are skipped (RFC 9112 §2.2), wherever the reads split; one after the head is the rest",
          arguments: ["\r\n", "\n", "\r\n\r\n\n"])
    func emptyLinesBeforeTheRequestLine_AreSkipped(leading: String) {
        let bytes = Array((leading + "GET /live HTTP/1.0\r\nHost: radio\r\n\r\n\r\n").utf8)
        let expected = Outcome<Request>.done(Request(path: "/live", headers: ["Host": "radio"]), rest: Array("\r\n".utf8))
        #expect(feed([bytes[...]], start: request) == expected)
        for cut in 1..<bytes.count {
            #expect(feed([bytes[..<cut], bytes[cut...]], start: request) == expected, "cut at \(cut)")
        }
    }

    @Test("HTTP/1.x above 1.1 is read as HTTP/1.1, the highest this server speaks (RFC 9110 §2.5); Host is needed then too",
          arguments: ["HTTP/1.2", "HTTP/1.9"])
    func laterMinorVersions_AreHTTP11(version: String) {
        let outcome = feed([Array("GET /live \(version)\r\nHost: radio\r\n\r\n")[...]], start: request)
        #expect(outcome == .done(Request(path: "/live", version: .http11, headers: ["Host": "radio"]), rest: []))
        #expect(feed([Array("GET /live \(version)\r\n\r\n")[...]], start: request) == .failed(.missingHost))
    }

    @Test("Another major version is unsupported — the HTTP/2 preface's too —; what is no HTTP-version at all is malformed", arguments: [
        ("GET / HTTP/2.0\r\nHost: a\r\n\r\n", IcyError.unsupportedVersion("HTTP/2.0")),
        ("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", .unsupportedVersion("HTTP/2.0")),
        ("GET / HTTP/3.0\r\n\r\n", .unsupportedVersion("HTTP/3.0")),
        ("GET / HTTP/0.9\r\n\r\n", .unsupportedVersion("HTTP/0.9")),
        ("GET / HTTP/1.10\r\n\r\n", .malformedRequestLine("GET / HTTP/1.10")),
        ("GET / HTTP/2\r\n\r\n", .malformedRequestLine("GET / HTTP/2")),
        ("GET / http/1.1\r\n\r\n", .malformedRequestLine("GET / http/1.1")),
    ])
    func otherVersions_AreUnsupportedOrMalformed(text: String, error: IcyError) {
        #expect(feed([Array(text)[...]], start: request) == .failed(error))
    }

    @Test("A target in absolute form (RFC 9112 §3.2.2) is its path", arguments: [
        ("http://example.org:8000/mount", "/mount"), ("HTTP://example.org/a/b?c=d", "/a/b?c=d"),
        ("https://example.org", "/"), ("http://example.org?x=1", "/?x=1"),
    ])
    func absoluteFormTarget_IsItsPath(target: String, path: String) {
        let outcome = feed([Array("GET \(target) HTTP/1.1\r\nHost: example.org\r\n\r\n")[...]], start: request)
        #expect(outcome == .done(Request(path: path, version: .http11, headers: ["Host": "example.org"]), rest: []))
    }

    @Test func oldSourceClientsICE10_IsHTTP10_ForSOURCEOnly() {
        let source = feed([Array("SOURCE /live ICE/1.0\r\n\r\n")[...]], start: request)
        #expect(source == .done(Request(method: .source, path: "/live"), rest: []))
        let get = feed([Array("GET /live ICE/1.0\r\n\r\n")[...]], start: request)
        #expect(get == .failed(.malformedRequestLine("GET /live ICE/1.0")))
    }

    @Test(arguments: [Request.Method.get, .head, .source, .put])
    func methods_AreRecognised(method: Request.Method) {
        let outcome = feed([Array("\(method.rawValue) /m HTTP/1.0\r\n\r\n")[...]], start: request)
        #expect(outcome == .done(Request(method: method, path: "/m"), rest: []))
    }

    @Test func headerNames_AreCaseInsensitive_AndValuesTrimmed() throws {
        guard case .done(let request, _) = request(Array("GET / HTTP/1.0\r\nICY-METADATA:   1 \t\r\nUser-Agent: VLC/3.0\r\n\r\n")) else {
            Issue.record("expected done")
            return
        }
        #expect(request.headers["icy-metadata"] == "1")
        #expect(request.headers["Icy-MetaData"] == "1")
        #expect(request.headers["user-agent"] == "VLC/3.0")
        #expect(request.wantsMetadata)
    }

    @Test func bareLineFeeds_AreAccepted() {
        let outcome = feed([Array("GET /x HTTP/1.0\nIcy-MetaData: 0\n\nrest")[...]], start: request)
        #expect(outcome == .done(Request(path: "/x", headers: ["Icy-MetaData": "0"]), rest: Array("rest")))
    }

    @Test func bytesAfterTheHead_AreTheRest() {
        let outcome = feed([Array("SOURCE /live HTTP/1.0\r\n\r\nID3audio")[...]], start: request)
        #expect(outcome == .done(Request(method: .source, path: "/live"), rest: Array("ID3audio")))
    }

    @Test(arguments: [
        ("DELETE / HTTP/1.0\r\n\r\n", IcyError.unsupportedMethod("DELETE")),
        ("GET / HTTP/2.0\r\n\r\n", .unsupportedVersion("HTTP/2.0")),
        ("GET / ICY\r\n\r\n", .malformedRequestLine("GET / ICY")),
        ("GET /\r\n\r\n", .malformedRequestLine("GET /")),
        (" \r\n", .malformedRequestLine(" ")),
        ("GET  / HTTP/1.0\r\n\r\n", .malformedRequestLine("GET  / HTTP/1.0")),
        ("GET / HTTP/1.0\r\nno colon here\r\n\r\n", .malformedHeader("no colon here")),
        ("GET / HTTP/1.0\r\n: empty name\r\n\r\n", .malformedHeader(": empty name")),
        ("GET / HTTP/1.0\r\n folded: line\r\n\r\n", .malformedHeader(" folded: line")),
    ])
    func malformedRequests_FailWithTheirProblem(text: String, error: IcyError) {
        #expect(feed([Array(text)[...]], start: request) == .failed(error))
    }

    @Test("A bare CR (not followed by LF) in the request line or a header line is malformed (RFC 9112 §2.2), wherever the reads split", arguments: [
        ("GET /live\rX HTTP/1.0\r\n\r\n", IcyError.malformedRequestLine("GET /live\rX HTTP/1.0")),
        ("GET /live HTTP/1.0\r\r\n\r\n", .malformedRequestLine("GET /live HTTP/1.0\r")),
        ("GET /live HTTP/1.0\rHost: a\r\n\r\n", .malformedRequestLine("GET /live HTTP/1.0\rHost: a")),
        ("GET /live HTTP/1.0\r\nUser-Agent: a\rb\r\n\r\n", .malformedHeader("User-Agent: a\rb")),
        ("GET /live HTTP/1.0\r\nUser-Agent: ab\r\r\n\r\n", .malformedHeader("User-Agent: ab\r")),
        ("GET /live HTTP/1.0\r\nUser-Agent: a\rX-Hidden: 1\r\n\r\n", .malformedHeader("User-Agent: a\rX-Hidden: 1")),
        ("GET /live HTTP/1.0\r\n\r\r\n", .malformedHeader("\r")),
    ])
    func bareCR_IsMalformed(text: String, error: IcyError) {
        let bytes = Array(text.utf8)
        #expect(feed([bytes[...]], start: request) == .failed(error))
        for cut in 1..<bytes.count {
            #expect(feed([bytes[..<cut], bytes[cut...]], start: request) == .failed(error), "cut at \(cut)")
        }
        #expect(error.description.contains("\\r"), "the line is quoted with its CR escaped: \(error)")
    }

    @Test func aReplyHeaderWithABareCR_IsStillRead() {
        guard case .done(let reply, _) = reply(Array("ICY 200 OK\r\nicy-name: a\rb\r\n\r\n")) else {
            Issue.record("expected done")
            return
        }
        #expect(reply.headers["icy-name"] == "a\rb")
    }

    @Test("An HTTP/1.1 request without Host is refused (RFC 9112 §3.2); an HTTP/1.0 one, as old ICY players send, is not")
    func http11WithoutHost_IsRefused_HTTP10WithoutHostIsNot() {
        #expect(feed([Array("GET /live HTTP/1.1\r\nUser-Agent: x\r\n\r\n")[...]], start: request) == .failed(.missingHost))
        #expect(feed([Array("OPTIONS * HTTP/1.1\r\n\r\n")[...]], start: request) == .failed(.missingHost))
        #expect(IcyError.missingHost.description == "HTTP/1.1 request without a Host header")
        #expect(feed([Array("GET / HTTP/1.0\r\n\r\n")[...]], start: request) == .done(Request(path: "/"), rest: []))
        #expect(feed([Array("SOURCE /live ICE/1.0\r\n\r\n")[...]], start: request) == .done(Request(method: .source, path: "/live"), rest: []))
        let named = feed([Array("GET /live HTTP/1.1\r\nhost: radio.example:8000\r\n\r\n")[...]], start: request)
        #expect(named == .done(Request(path: "/live", version: .http11, headers: ["host": "radio.example:8000"]), rest: []))
        // An empty Host is what a client sends for a target without authority (RFC 9112 §3.2): it names one.
        #expect(feed([Array("GET /live HTTP/1.1\r\nHost:\r\n\r\n")[...]], start: request)
            == .done(Request(path: "/live", version: .http11, headers: ["Host": ""]), rest: []))
    }

    @Test func unknownMethodError_NamesTheMethod() {
        #expect(IcyError.unsupportedMethod("DELETE").description == "unsupported method \"DELETE\"")
    }
}

/// A request target's bytes that are not UTF-8 are their `%XX` escapes, not Windows-1252 characters; UTF-8 is kept.
struct RequestTargetTests {
    @Test(arguments: [([0xFF], "/li%FFve"), ([0xC3, 0xBA], "/liúve"), ([0xC3], "/li%C3ve"), ([0xC3, 0xBA, 0x80, 0x01], "/liú%80\u{1}ve")])
    func bytesThatAreNotUTF8_AreEscaped(middle: [UInt8], path: String) {
        let line = Array("GET /li".utf8) + middle + Array("ve HTTP/1.0\r\n\r\n".utf8)
        #expect(feed([line[...]], start: request) == .done(Request(path: path), rest: []))
    }
}
