import Icy
import Testing

struct RequestTests {
    @Test(arguments: ["/", "/live.mp3", "/a/b?c=d&e=%20f", "*"])
    func requestLine_AcceptsAnyPath(path: String) {
        let outcome = feed([Array("GET \(path) HTTP/1.1\r\nHost: radio\r\n\r\n")[...]], start: request)
        #expect(outcome == .done(Request(path: path, version: .http11, headers: ["Host": "radio"]), rest: []))
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
        ("\r\n", .malformedRequestLine("")),
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
