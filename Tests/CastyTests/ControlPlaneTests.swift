import Icy
import Testing

@testable import Casty
@testable import CastyNet
@testable import CastyWire

/// The control plane's pieces without the application: credentials, the spool's lines, and the HTTP call's
/// bounds against servers that answer badly.
struct ControlPlaneTests {
    let loop = EventLoop.shared

    /// A control plane's options that verify keys at `url`, waiting 30 s for the answer: the fake applications
    /// answer at once, but a loaded CI run once took over the default 5 s to get one on the shared loop.
    func verifying(_ url: StreamURL) -> ControlPlane.Configuration {
        var configuration = ControlPlane.Configuration()
        configuration.keyVerificationURL = url
        configuration.keyVerificationTimeout = .seconds(30)
        return configuration
    }

    @Test func appAuth_ReadsTheThreeStyles_AndNeverShowsTheSecret() {
        #expect(AppAuth("basic:casty:pw")?.headerValue == "Basic Y2FzdHk6cHc=")
        #expect(AppAuth("bearer:t0ken")?.headerValue == "Bearer t0ken")
        #expect(AppAuth("custom:Token abc:def")?.headerValue == "Token abc:def")
        #expect(AppAuth("basic:nopassword") == nil)
        #expect(AppAuth("digest:x") == nil)
        #expect(AppAuth("bearer:") == nil)
        #expect(AppAuth("bearer:t0ken")?.description == "AppAuth(bearer)")
        #expect(AppAuth("bearer:t0ken")?.admits("Bearer t0ken") == true)
        #expect(AppAuth("bearer:t0ken")?.admits("Bearer t0ke") == false)
        #expect(AppAuth("bearer:t0ken")?.admits(nil) == false)
        #expect(AppAuth("bearer:t0ken")?.admits("bearer   t0ken") == true, "spaces after the scheme, any case")
        #expect(AppAuth("bearer:t0ken")?.admits("Bearer  t0ke") == false)
        #expect(AppAuth("basic:u:p")?.admits("Basic  " + Base64.encode(Array("u:p".utf8))) == true)
        #expect(AppAuth("bearer:t0ken")?.admits("Bearert0ken") == false)
    }

    @Test func appAuth_TakesAValueWithItsNewline_AndRefusesOneThatWouldStartAnotherHeader() {
        #expect(AppAuth("bearer:t0ken\n")?.headerValue == "Bearer t0ken", "a value read from a file, its newline and all")
        #expect(AppAuth("  bearer:t0ken \r\n")?.admits("Bearer t0ken") == true)
        #expect(AppAuth("custom:Token a\r\nX-Admin: yes") == nil)
        #expect(AppAuth("bearer:t0\u{7F}ken") == nil)
        #expect(AppAuth("basic:casty:p\tw") == nil)
    }

    @Test func appAuth_TakesTheSchemeInAnyCase_NotTheCredentials() {
        #expect(AppAuth("bearer:t0ken")?.admits("bearer t0ken") == true)
        #expect(AppAuth("bearer:t0ken")?.admits("BEARER t0ken") == true)
        #expect(AppAuth("bearer:t0ken")?.admits("bearer T0KEN") == false)
        #expect(AppAuth("bearer:t0ken")?.admits("bearert0ken") == false)
        #expect(AppAuth("basic:casty:pw")?.admits("basic Y2FzdHk6cHc=") == true)
        #expect(AppAuth("basic:casty:pw")?.admits("basic y2FzdHk6cHc=") == false)
        #expect(AppAuth("custom:Token abc")?.admits("token abc") == false, "a custom value is matched exactly")
        #expect(AppAuth("custom:Token abc")?.admits("Token abc") == true)
    }

    @Test("An event's log summary names its output, and a recording's file: a session's outputs share its stream id")
    func streamEventSummary_NamesItsOutput_AndARecordingsFile() {
        let live = StreamEvent(channel: "talk", streamID: "s1", kind: .available, streamType: "ICY-LIVE", indexFile: "http://x/talk")
        let vod = StreamEvent(channel: "talk", streamID: "s1", kind: .available, streamType: "HLS-VOD", indexFile: "talk/2026-12-07/23-41-12.m3u8")
        #expect(live.summary == "stream-available of talk (s1, ICY-LIVE)")
        #expect(vod.summary == "stream-available of talk (s1, HLS-VOD talk/2026-12-07/23-41-12.m3u8)")
        #expect(StreamEvent(channel: "talk", streamID: "s1", kind: .closed).summary == "stream-closed of talk (s1)")
    }

    @Test func streamEvent_SurvivesTheSpool() {
        let event = StreamEvent(channel: "live", streamID: "abc", kind: .available, streamType: "ICY-LIVE",
                                indexFile: "http://127.0.0.1:8000/live")
        #expect(StreamEvent(spoolLine: event.spoolLine[...]) == event)
        let closed = StreamEvent(channel: "we\tird\nname", streamID: "x", kind: .closed)
        #expect(StreamEvent(spoolLine: closed.spoolLine[...])?.channel == "we ird name")
        #expect(StreamEvent(spoolLine: "garbage"[...]) == nil)
    }

    @Test("A spool line cut short anywhere, or edited, is no event: its checksum tells (a URL cut to http://127.0.0.1:417 was sent)")
    func spoolLine_CutShortOrEdited_IsNoEvent() {
        let event = StreamEvent(channel: "live", streamID: ControlPlane.newStreamID(), kind: .available, streamType: "ICY-LIVE",
                                indexFile: "http://127.0.0.1:41700/live")
        let line = event.spoolLine
        #expect(StreamEvent(spoolLine: line[...]) == event)
        for length in 0..<line.count {
            #expect(StreamEvent(spoolLine: line.prefix(length)) == nil, "cut to \(line.prefix(length))")
        }
        #expect(StreamEvent(spoolLine: line.replacing("41700", with: "41701")[...]) == nil)
    }

    @Test("A spool line of a Casty from before the checksums is read if its fields are an event's")
    func spoolLine_OfAnOlderCasty_IsReadIfWellFormed() {
        let id = "0123456789abcdef0123456789abcdef"
        #expect(StreamEvent(spoolLine: "stream-available\tlive\t\(id)\tICY-LIVE\thttp://127.0.0.1:8000/live"[...])
                == StreamEvent(channel: "live", streamID: id, kind: .available, streamType: "ICY-LIVE", indexFile: "http://127.0.0.1:8000/live"))
        #expect(StreamEvent(spoolLine: "stream-closed\tlive\t\(id)\t\t"[...])?.kind == .closed)
        #expect(StreamEvent(spoolLine: "stream-closed\tlive\t\(id.prefix(4))\t\t"[...]) == nil, "an id cut short")
        #expect(StreamEvent(spoolLine: "stream-available\tlive\t\(id)\tICY-LIVE\t"[...]) == nil, "no index file")
        #expect(StreamEvent(spoolLine: "stream-closed\tlive\t\(id)\tICY-LIVE\t"[...]) == nil, "a type without an index file")
    }

    @Test("A channel beyond ASCII reaches the application %XX-encoded, as in the stream's URL; an ASCII one as it is")
    func channelHeader_IsASCII() {
        let header = { (channel: String) in StreamEvent(channel: channel, streamID: "x", kind: .closed).headers.first { $0.0 == "x-streaming-channel" }?.1 }
        #expect(header("músic") == "m%C3%BAsic")
        #expect(header("live") == "live")
        #expect(header("50%off") == "50%25off")
        #expect(URLQuery.decodePath("/" + URLQuery.encodeChannel("músic")) == "/músic", "a command naming it finds the mount")
    }

    @Test("An application that sends thousands of interim answers (100 Continue) in one read before its final one is read to that final answer, not taken down with a stack overflow")
    func httpCall_SkipsThousandsOfInterimAnswers() async throws {
        let loop = EventLoop(name: "test-http-interim")
        defer { loop.shutdown() }
        let app = try FakeUpstream(on: loop) { connection, _ in
            connection.write(Array(String(repeating: "HTTP/1.1 100 Continue\r\n\r\n", count: 2_500).utf8)
                + Array("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".utf8))
        }
        let answer = try await HTTPCall.post(app.url, loop: loop, timeout: .seconds(5))
        #expect(answer.status == 200 && answer.body == Array("ok".utf8))
        await app.close()
    }

    @Test func httpCall_ReadsAnAnswer_AndRefusesGarbageAndHugeAnswers() async throws {
        // A loop of its own: on the shared one, a full suite on a busy machine once ate the whole 2 s deadline.
        let loop = EventLoop(name: "test-http-call")
        defer { loop.shutdown() }
        let good = try FakeUpstream(on: loop) { connection, request in
            connection.write(Array("HTTP/1.1 200 OK\r\nx-record: true\r\nContent-Length: 2\r\n\r\nok".utf8))
        }
        let answer = try await HTTPCall.post(good.url, headers: ["x-streaming-key": "k"], loop: loop, timeout: .seconds(5))
        #expect(answer.status == 200 && answer.headers["x-record"] == "true" && answer.body == Array("ok".utf8))
        #expect(good.requests.value.first?.method == .post)
        #expect(good.requests.value.first?.headers["x-streaming-key"] == "k")
        await good.close()

        let garbage = try FakeUpstream(on: loop) { connection, _ in
            connection.write([0, 1, 2] + Array(" not http\r\n\r\n".utf8))
            connection.close()
        }
        await #expect(throws: CastyError.self) { try await HTTPCall.post(garbage.url, loop: loop, timeout: .seconds(5)) }
        await garbage.close()

        let huge = try FakeUpstream(on: loop) { connection, _ in
            connection.write(Array("HTTP/1.1 200 OK\r\nContent-Length: 100000000\r\n\r\n".utf8) + [UInt8](repeating: 120, count: 200_000))
        }
        // Named for what is too long: the body, whether its length says so or its bytes do.
        do {
            _ = try await HTTPCall.post(huge.url, loop: loop, timeout: .seconds(5), limit: 4096)
            Issue.record("a 100 MB answer was taken")
        } catch {
            #expect("\(error)".hasSuffix("an answer whose body is longer than 4096 bytes"), "\(error)")
        }
        await huge.close()
        let unannounced = try FakeUpstream(on: loop) { connection, _ in
            connection.write(Array("HTTP/1.1 200 OK\r\n\r\n".utf8) + [UInt8](repeating: 120, count: 200_000))
        }
        do {
            _ = try await HTTPCall.post(unannounced.url, loop: loop, timeout: .seconds(5), limit: 4096)
            Issue.record("a 200 kB answer was taken")
        } catch {
            #expect("\(error)".hasSuffix("an answer whose body is longer than 4096 bytes"), "\(error)")
        }
        await unannounced.close()

        // Cutting long bodies (an event's delivery needs only the status): the first 4096 bytes, however long.
        for answer in ["HTTP/1.1 200 OK\r\nContent-Length: 100000000\r\n\r\n", "HTTP/1.1 200 OK\r\n\r\n",
                       "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n30000\r\n"] {
            let long = try FakeUpstream(on: loop) { connection, _ in
                connection.write(Array(answer.utf8) + [UInt8](repeating: 120, count: 200_000))
            }
            let taken = try await HTTPCall.post(long.url, loop: loop, timeout: .seconds(5), limit: 4096, bodyGrace: .seconds(1))
            #expect(taken.status == 200 && taken.body == [UInt8](repeating: 120, count: 4096), "\(answer)")
            await long.close()
        }

        let silent = try FakeUpstream(on: loop) { _, _ in }
        let started = ContinuousClock.now
        await #expect(throws: CastyError.self) { try await HTTPCall.post(silent.url, loop: loop, timeout: .milliseconds(300)) }
        #expect(ContinuousClock.now - started < .seconds(2))
        await silent.close()
    }

    @Test("An application that closes in the middle of its answer — its status line, its headers, its body — is refused, the process lives on")
    func httpCall_AnAnswerCutAnywhere_IsRefused() async throws {
        let whole = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabcdefghij"
        // Cut after 4 bytes or more of the head (a trap once: the search for its end, asked again at the close),
        // inside the blank line, and inside the body its length announces.
        for cut in [1, 4, 14, 20, whole.utf8.count - 12, whole.utf8.count - 11, whole.utf8.count - 3] {
            let cutShort = try FakeUpstream(on: loop) { connection, _ in
                connection.write(Array(whole.utf8.prefix(cut)))
                connection.close()
            }
            do {
                let answer = try await HTTPCall.post(cutShort.url, loop: loop, timeout: .seconds(15))
                Issue.record("an answer cut after \(cut) bytes was taken: \(answer.status), \(answer.body.count) bytes")
            } catch {
                let expected = cut > whole.utf8.count - 11 ? "an answer cut short: \(cut - (whole.utf8.count - 10)) of the 10 bytes"
                    : "closed after \(cut) bytes, before its head ended"
                #expect("\(error)".contains(expected), "cut after \(cut): \(error)")
            }
            await cutShort.close()
        }
    }

    @Test("An application whose Content-Length is not a length (a sign, hex, a list, too many digits) is refused, the process lives on")
    func httpCall_AContentLengthThatIsNoLength_IsRefused() async throws {
        for length in ["-1", "+2", "0x2", "2, 2", " ", "99999999999999999999"] {
            let liar = try FakeUpstream(on: loop) { connection, _ in
                connection.write(Array("HTTP/1.1 200 OK\r\nContent-Length: \(length)\r\n\r\nok".utf8))
                connection.close()
            }
            do {
                let answer = try await HTTPCall.post(liar.url, loop: loop, timeout: .seconds(15))
                Issue.record("Content-Length: \(length) was taken: \(answer.status), \(answer.body.count) bytes")
            } catch {
                #expect("\(error)".contains("an answer whose Content-Length is not a length"), "\(length): \(error)")
            }
            await liar.close()
        }
        #expect(ContentLength.value("0") == 0 && ContentLength.value("4096") == 4096)
    }

    @Test("A status code is exactly three ASCII digits (RFC 9112): an answer of +200, 0200 or 20 is not HTTP, and admits nothing")
    func httpCall_AStatusCodeIsThreeDigits() async throws {
        for status in ["+200", "0200", "20", "2OO", "-200", "200.0"] {
            let app = try FakeUpstream(on: loop) { connection, _ in
                connection.write(Array("HTTP/1.1 \(status) OK\r\nContent-Length: 0\r\n\r\n".utf8))
                connection.close()
            }
            do {
                let answer = try await HTTPCall.post(app.url, loop: loop, timeout: .seconds(15))
                Issue.record("status \(status) was taken as \(answer.status)")
            } catch {
                #expect("\(error)".contains("not an ICY or HTTP status line"), "\(status): \(error)")
            }
            await app.close()
        }
        #expect(StatusLine.code(Array("200".utf8)) == 200 && StatusLine.code(Array("302".utf8)) == 302)
        #expect(StatusLine.code(Array("+20".utf8)) == nil && StatusLine.code(Array(" 20".utf8)) == nil)
    }

    /// The application at a fake upstream answering `head` (then an empty body) to every call.
    func answering(_ head: String) throws -> FakeUpstream {
        try FakeUpstream(on: loop) { connection, _ in
            connection.write(Array((head + "\r\n\r\n").utf8))
            connection.close()
        }
    }

    @Test("An application answering ICY 200 OK is read as HTTP/1.0, as libcurl (Icecast's URL auth) reads it")
    func httpCall_ReadsAnICYStatusLine() async throws {
        let app = try answering("ICY 200 OK\r\nicecast-auth-user: 1\r\nContent-Length: 0")
        let answer = try await HTTPCall.post(app.url, loop: loop, timeout: .seconds(15))
        #expect(answer.status == 200 && answer.headers["icecast-auth-user"] == "1")
        await app.close()
    }

    @Test("A listener is admitted when any icecast-auth-user line says 1, as Icecast reads every line of the answer")
    func listenerAuthorization_AdmitsOnAnyAuthUserLineOf1() async throws {
        let call = ControlPlane.ListenerCall(server: "radio.example", port: 8000, client: 1, mount: "/live", ip: "192.0.2.7", agent: "mpg123",
                                             auth: nil, started: .now)
        for (lines, admitted) in [(["1", "0"], true), (["0", "1"], true), (["0", "0"], false)] {
            let app = try answering("HTTP/1.1 200 OK\r\n" + lines.map { "icecast-auth-user: \($0)\r\n" }.joined() + "Content-Length: 0")
            var configuration = ControlPlane.Configuration()
            configuration.listenerAuthURL = app.url
            let refusal = await ControlPlane(configuration, loop: loop).authorize(call)
            #expect((refusal == nil) == admitted, "\(lines): \(refusal?.reason ?? "admitted")")
            await app.close()
        }
    }

    @Test("An answer with two Content-Lengths that disagree frames no answer; the same length twice does")
    func httpCall_RefusesDisagreeingLengths() async throws {
        let twice = try answering("HTTP/1.1 200 OK\r\nContent-Length: 0\r\nContent-Length: 0")
        #expect(try await HTTPCall.post(twice.url, loop: loop, timeout: .seconds(15)).status == 200)
        await twice.close()
        let disagreeing = try answering("HTTP/1.1 200 OK\r\nContent-Length: 0\r\nContent-Length: 5")
        await #expect(throws: CastyError.self) { try await HTTPCall.post(disagreeing.url, loop: loop, timeout: .seconds(15)) }
        await disagreeing.close()
    }

    @Test("An answer's head past 16 KiB is refused whether it arrives in one read or in pieces; one within it is read")
    func httpCall_TheHeadLimitHolds_HoweverTheHeadArrives() async throws {
        let long = "HTTP/1.1 200 OK\r\n" + String(repeating: "X: y\r\n", count: 5_000) + "Content-Length: 2\r\n\r\nok"
        for pieces in [1, 30] {
            let app = try FakeUpstream(on: loop) { connection, _ in
                let bytes = Array(long.utf8)
                let size = (bytes.count + pieces - 1) / pieces
                for start in stride(from: 0, to: bytes.count, by: size) { connection.write(Array(bytes[start..<min(start + size, bytes.count)])) }
                connection.close()
            }
            do {
                let answer = try await HTTPCall.post(app.url, loop: loop, timeout: .seconds(15))
                Issue.record("a \(long.utf8.count)-byte head in \(pieces) piece(s) was taken: \(answer.status)")
            } catch {
                #expect("\(error)".contains("headers longer than 16384 bytes in total"), "\(pieces) piece(s): \(error)")
            }
            await app.close()
        }
        let within = "HTTP/1.1 200 OK\r\n" + String(repeating: "X: y\r\n", count: 2_000) + "Content-Length: 2\r\n\r\nok"
        let app = try FakeUpstream(on: loop) { connection, _ in
            connection.write(Array(within.utf8))
            connection.close()
        }
        let answer = try await HTTPCall.post(app.url, loop: loop, timeout: .seconds(15))
        #expect(answer.status == 200 && answer.body == Array("ok".utf8))
        await app.close()
    }

    @Test("A 5xx from the key-verification application is an outage, not its word on the key: unanswered; a 403 refuses")
    func keyVerification_A5xxIsUnanswered_A403Refuses() async throws {
        for (status, expected) in [("500 Internal Server Error", ControlPlane.Verdict.unanswered("the application could not be asked: it answered 500")),
                                   ("502 Bad Gateway", .unanswered("the application could not be asked: it answered 502")),
                                   ("403 Forbidden", .refused("the application answered 403"))] {
            let app = try FakeUpstream(on: loop) { connection, _ in
                connection.write(Array("HTTP/1.1 \(status)\r\nContent-Length: 0\r\n\r\n".utf8))
                connection.close()
            }
            let configuration = verifying(app.url)
            let control = ControlPlane(configuration, loop: loop)
            #expect(await control.verify(channel: "live", key: "k", ip: "127.0.0.1") == expected)
            await app.close()
        }
    }

    @Test("A status other than 200 decides at its head: a 403 (or a 503) whose body is slow, never ends or is too long refuses at once, as a plain one does, not as an outage after the timeout")
    func keyVerification_ARefusalWhoseBodyIsSlow_RefusesAtOnce() async throws {
        let refused = ControlPlane.Verdict.refused("the application answered 403")
        for (head, expected) in [("HTTP/1.0 403 Forbidden\r\nContent-Length: 100\r\n\r\n", refused),
                                 ("HTTP/1.1 403 Forbidden\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nno", refused),
                                 ("HTTP/1.1 403 Forbidden\r\nContent-Length: 100000000\r\n\r\n" + String(repeating: "x", count: 70_000), refused),
                                 ("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 100\r\n\r\n",
                                  .unanswered("the application could not be asked: it answered 503"))] {
            // The body is held for good: without the head deciding, the verdict would wait for the whole timeout.
            let app = try FakeUpstream(on: loop) { connection, _ in connection.write(Array(head.utf8)) }
            let control = ControlPlane(verifying(app.url), loop: loop)
            #expect(await control.verify(channel: "live", key: "k", ip: "127.0.0.1") == expected, "\(head.prefix(40))")
            await app.close()
        }
    }

    @Test("An admission needs the whole answer: a 200 whose body never ends admits no key, and no listener; the line says its body did not end")
    func anAdmissionWhoseBodyNeverEnds_AdmitsNothing() async throws {
        let app = try FakeUpstream(on: loop) { connection, _ in
            connection.write(Array("HTTP/1.1 200 OK\r\nicecast-auth-user: 1\r\nContent-Length: 100\r\n\r\n".utf8))
        }
        var configuration = verifying(app.url)
        configuration.keyVerificationTimeout = .seconds(2)
        configuration.listenerAuthURL = app.url
        configuration.listenerAuthTimeout = .seconds(2)
        let control = ControlPlane(configuration, loop: loop)
        let verdict = await control.verify(channel: "live", key: "k", ip: "127.0.0.1")
        guard case .unanswered(let why) = verdict else { Issue.record("\(verdict)"); return }
        // A loaded run may not even get the head in 2 s: then it says no reply, still no admission.
        #expect(why.contains("it answered 200, but its answer's body did not end within 2.0 seconds") || why.contains("no reply"), "\(why)")
        let call = ControlPlane.ListenerCall(server: "radio.example", port: 8000, client: 1, mount: "/live", ip: "192.0.2.7", agent: "mpg123",
                                             auth: nil, started: .now)
        #expect(await control.authorize(call)?.unanswered == true)
        await app.close()
    }

    @Test("A listener's refusal decides at its head too: a 403, or a 200 without icecast-auth-user: 1, whose body is held refuses at once, not as an outage")
    func listenerAuthorization_ARefusalWhoseBodyIsSlow_RefusesAtOnce() async throws {
        for (head, reason) in [("HTTP/1.0 403 Forbidden\r\nContent-Length: 100\r\n\r\n", "the application answered 403"),
                               ("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n", "the application refused it")] {
            let app = try FakeUpstream(on: loop) { connection, _ in connection.write(Array(head.utf8)) }
            var configuration = ControlPlane.Configuration()
            configuration.listenerAuthURL = app.url
            configuration.listenerAuthTimeout = .seconds(30)  // a loaded run has kept the shared loop from a head 10 s
            let control = ControlPlane(configuration, loop: loop)
            let call = ControlPlane.ListenerCall(server: "radio.example", port: 8000, client: 1, mount: "/live", ip: "192.0.2.7", agent: "mpg123",
                                                 auth: nil, started: .now)
            #expect(await control.authorize(call) == ControlPlane.ListenerRefusal(reason: reason, unanswered: false), "\(head.prefix(30))")
            await app.close()
        }
    }

    @Test("A listener's question that got no answer says how it ended: the application's time ran out, or the call failed; one answered, that it answered")
    func listenerAuthorization_SaysHowAQuestionWithoutAnAnswerEnded() async throws {
        let call = ControlPlane.ListenerCall(server: "radio.example", port: 8000, client: 1, mount: "/live", ip: "192.0.2.7", agent: "mpg123",
                                             auth: nil, started: .now)
        let ask = { (url: StreamURL, timeout: Duration) async in
            var configuration = ControlPlane.Configuration()
            configuration.listenerAuthURL = url
            configuration.listenerAuthTimeout = timeout
            return await ControlPlane(configuration, loop: self.loop).authorize(call)
        }
        let silent = try FakeUpstream(on: loop) { _, _ in }
        #expect(await ask(silent.url, .milliseconds(300))?.ending == .ranOut(.milliseconds(300)))
        await silent.close()
        let failing = try FakeUpstream(on: loop) { connection, _ in
            connection.write(Array("HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n".utf8))
            connection.close()
        }
        #expect(await ask(failing.url, .seconds(30))?.ending == .answered, "a 502 is an answer, if no verdict")
        await failing.close()
        // A port nothing listens on (taken, then freed): the connection is refused.
        let closed = try FakeUpstream(on: loop) { _, _ in }
        let url = closed.url
        await closed.close()
        #expect(await ask(url, .seconds(30))?.ending == .failed)
    }

    @Test("A 3xx from the key-verification application is an outage, as for listeners: unanswered (an SRT caller is not locked out), and the line says to give the final URL",
          arguments: ["301 Moved Permanently", "302 Found", "307 Temporary Redirect", "308 Permanent Redirect"])
    func keyVerification_ARedirectIsUnanswered_NotARefusal(status: String) async throws {
        let app = try FakeUpstream(on: loop) { connection, _ in
            connection.write(Array("HTTP/1.1 \(status)\r\nLocation: https://app.example/verify\r\nContent-Length: 0\r\n\r\n".utf8))
            connection.close()
        }
        let configuration = verifying(app.url)
        let control = ControlPlane(configuration, loop: loop)
        let code = status.prefix(3)
        let reason = "the application could not be asked: it answered \(code) (a redirect, which Casty does not follow: give the final URL)"
        #expect(await control.verify(channel: "live", key: "k", ip: "127.0.0.1") == .unanswered(reason))
        #expect(app.requests.value.count == 1, "asked once: the redirect is not followed")
        await app.close()
    }

    @Test("x-record: true or false in any case; nothing is nil; anything else — or two that disagree — is false, and said in one log line")
    func keyVerification_XRecord_IsReadStrictly_AndATypoIsLogged() async throws {
        let twice = "false\r\nx-record: true"
        for (value, expected, logged) in [("TRUE", Optional(true), Optional<String>.none), ("false", false, nil), (nil, nil, nil),
                                          ("yes", false, "x-record 'yes' is neither true nor false: not recorded"),
                                          (twice, false, "x-record given twice, 'false' and 'true': not recorded"),
                                          ("true\r\nx-record: TRUE", true, nil)] {
            let app = try FakeUpstream(on: loop) { connection, _ in
                connection.write(Array("HTTP/1.1 200 OK\r\n\(value.map { "x-record: \($0)\r\n" } ?? "")Content-Length: 0\r\n\r\n".utf8))
                connection.close()
            }
            let configuration = verifying(app.url)
            let log = StationServerTests.Log()
            let control = ControlPlane(configuration, loop: loop, logger: log.logger)
            #expect(await control.verify(channel: "live", key: "k", ip: "127.0.0.1") == .accepted(record: expected), "\(value ?? "none")")
            #expect(log.lines.value.filter { $0.contains("x-record") } == logged.map { ["key verification of live: " + $0] } ?? [],
                    "\(value ?? "none"): \(log.lines.value)")
            await app.close()
        }
    }

    @Test("A key with control bytes is refused without asking the application: `good\\x01ctl` would reach it as `goodctl`, another key; the reason never holds the key")
    func keyVerification_AKeyWithControlBytes_IsRefusedWithoutAsking() async throws {
        let app = try FakeUpstream(on: loop) { connection, _ in
            connection.write(Array("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n".utf8))
            connection.close()
        }
        let control = ControlPlane(verifying(app.url), loop: loop)
        let refused = ControlPlane.Verdict.refused("the key holds control characters, which no header can carry: the application was not asked")
        for key in ["good\u{1}ctl", "k\r\nx-user-ip: 6.6.6.6\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x", "good\tctl", "good\u{7F}ctl",
                    "good\u{85}ctl", "good\u{2028}ctl", "good\u{0}"] {
            #expect(await control.verify(channel: "live", key: key, ip: "127.0.0.1") == refused, "\(key.debugDescription)")
        }
        #expect(app.requests.value.isEmpty, "the application was not asked")
        #expect(await control.verify(channel: "live", key: "goodctl", ip: "127.0.0.1") == .accepted(record: nil))
        #expect(await control.verify(channel: "músic", key: "clé", ip: "127.0.0.1") == .accepted(record: nil), "beyond ASCII is no control byte")
        #expect(app.requests.value.map { $0.headers["x-streaming-key"] } == ["goodctl", "clé"])
        await app.close()
    }

    @Test("A header value with line breaks or control bytes cannot add headers or a request to a call to the application")
    func httpCall_AHeaderValueCannotInjectHeaders() async throws {
        let app = try FakeUpstream(on: loop) { connection, _ in
            connection.write(Array("HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n".utf8))
            connection.close()
        }
        let value = "k\r\nx-user-ip: 6.6.6.6\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\u{0}\u{1B}[31m"
        let answer = try await HTTPCall.post(app.url, headers: ["x-streaming-key": value, "x-user-ip": "127.0.0.1", "Authorization": "Bearer T0ken"],
                                             loop: loop, timeout: .seconds(15))
        #expect(answer.status == 403)
        let request = try #require(app.requests.value.first)
        let fields = request.headers.fields
        #expect(fields.filter { $0.name.lowercased() == "x-user-ip" }.map(\.value) == ["127.0.0.1"])
        #expect(request.headers["Authorization"] == "Bearer T0ken")
        let sent = try #require(request.headers["x-streaming-key"])
        #expect(!sent.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F }, "\(sent.debugDescription)")
        #expect(sent.hasPrefix("k x-user-ip: 6.6.6.6"))
        #expect(app.requests.value.count == 1)
        await app.close()
    }

    @Test("An answer whose lines end with a bare LF (RFC 9112 lets a recipient take it) is read, in one read or a byte at a time")
    func httpCall_ReadsAnAnswerWithBareLineFeeds() async throws {
        for answer in ["HTTP/1.1 200 OK\nx-record: true\nContent-Length: 2\n\nok", "HTTP/1.1 200 OK\r\nx-record: true\n\r\nok",
                       "HTTP/1.1 100 Continue\n\nHTTP/1.1 200 OK\nx-record: true\n\nok"] {
            for byteAtATime in [false, true] {
                let app = try FakeUpstream(on: loop) { connection, _ in
                    let bytes = Array(answer.utf8)
                    if byteAtATime { for byte in bytes { connection.write([byte]) } } else { connection.write(bytes) }
                    connection.close()
                }
                // A long timeout: what is asserted is how the answer is read, and a loaded run can starve the loop.
                let taken = try await HTTPCall.post(app.url, loop: loop, timeout: .seconds(30))
                #expect(taken.status == 200 && taken.headers["x-record"] == "true" && taken.body == Array("ok".utf8), "\(answer.debugDescription)")
                await app.close()
            }
        }
    }

    @Test func httpCall_NoReply_SaysTheCallsTimeout() async throws {
        let silent = try FakeUpstream(on: loop) { _, _ in }
        do {
            _ = try await HTTPCall.post(silent.url, loop: loop, timeout: .milliseconds(300))
            Issue.record("a silent application answered")
        } catch {
            #expect("\(error)".hasSuffix("no reply within 0.3 seconds"), "the timeout given, not what was left of it: \(error)")
        }
        await silent.close()
    }

    @Test("An application whose head came but whose body never ends is said to have answered: its body did not end in time, not 'no reply'")
    func httpCall_AnswerWhoseBodyNeverEnds_SaysSo() async throws {
        let trickling = try FakeUpstream(on: loop) { connection, _ in
            connection.write(Array("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n".utf8))
        }
        do {
            // 10 s: the head must come within it, even on a loaded run, whose shared loop has been seen 3 s late.
            _ = try await HTTPCall.post(trickling.url, loop: loop, timeout: .seconds(10))
            Issue.record("an answer whose body never ended was taken")
        } catch {
            #expect("\(error)".hasSuffix("it answered 200, but its answer's body did not end within 10.0 seconds"), "\(error)")
        }
        await trickling.close()
    }

    @Test func httpCall_ReadsHeaderValues_WithoutTheBlanksAroundThem() async throws {
        let padded = try FakeUpstream(on: loop) { connection, _ in
            connection.write(Array("HTTP/1.1 200 OK\r\nx-record:\t true \t\r\nicecast-auth-user: 1 \r\nContent-Length: 2 \r\n\r\nok".utf8))
        }
        let answer = try await HTTPCall.post(padded.url, loop: loop, timeout: .seconds(15))
        #expect(answer.headers["x-record"] == "true")
        #expect(answer.headers["icecast-auth-user"] == "1")
        #expect(answer.body == Array("ok".utf8), "the length is read, so the answer is complete without the close")
        await padded.close()
    }

    @Test func httpCall_SkipsInterimAnswers_AndReadsTheFinalOne() async throws {
        let hinting = try FakeUpstream(on: loop) { connection, _ in
            connection.write(Array("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n".utf8))
            connection.loop.schedule(after: .milliseconds(50)) {
                connection.write(Array("HTTP/1.1 200 OK\r\nx-record: true\r\nContent-Length: 2\r\n\r\nok".utf8))
            }
        }
        let answer = try await HTTPCall.post(hinting.url, loop: loop, timeout: .seconds(15))
        #expect(answer.status == 200 && answer.headers["x-record"] == "true" && answer.headers["Link"] == nil)
        #expect(answer.body == Array("ok".utf8))
        await hinting.close()
    }

    @Test func httpCall_ReadsAnAnswerThatComesAByteAtATime() async throws {
        // Every split: the status line, the blank line's CRLF CRLF, a chunk's size line and its payload.
        let text = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nx-record: true\r\n\r\n6\r\n{\"ok\":\r\n5\r\ntrue}\r\n0\r\n\r\n"
        let dripping = try FakeUpstream(on: loop) { connection, _ in
            for (index, byte) in text.utf8.enumerated() {
                connection.loop.schedule(after: .milliseconds(2 * index)) { connection.write([byte]) }
            }
        }
        let answer = try await HTTPCall.post(dripping.url, loop: loop, timeout: .seconds(15))
        #expect(answer.status == 200 && answer.headers["x-record"] == "true")
        #expect(String(decoding: answer.body, as: UTF8.self) == #"{"ok":true}"#)
        await dripping.close()
    }

    @Test func httpCall_ReadsAChunkedAnswer_ToItsLastChunk_AndRefusesBrokenChunks() async throws {
        // What Node's res.write or Go's Flush sends an HTTP/1.1 call: chunks, in writes of their own, no close.
        let chunked = try FakeUpstream(on: loop) { connection, _ in
            connection.write(Array("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nx-record: true\r\n\r\n6\r\n{\"ok\":".utf8))
            connection.loop.schedule(after: .milliseconds(50)) {
                connection.write(Array("\r\n5;ext=1\r\ntrue}\r\n0\r\n\r\n".utf8))
            }
        }
        let answer = try await HTTPCall.post(chunked.url, loop: loop, timeout: .seconds(15))
        #expect(answer.status == 200 && answer.headers["x-record"] == "true")
        #expect(String(decoding: answer.body, as: UTF8.self) == #"{"ok":true}"#, "the payload, without the framing")
        await chunked.close()

        let answers: [(String, String)] = [
            ("Transfer-Encoding: chunked\r\n\r\nzz\r\nhello", "chunked body is broken: a chunk size that is no hex number: 'zz'"),
            ("Transfer-Encoding: chunked\r\n\r\n5\r\nhel", "chunked body is broken: closed before its last chunk"),
            ("Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", "unsupported transfer encoding \"gzip, chunked\""),
            ("Transfer-Encoding: chunked\r\n\r\n2000\r\n" + String(repeating: "x", count: 0x2000) + "\r\n0\r\n\r\n",
             "an answer whose body is longer than 4096 bytes"),
        ]
        for (rest, expected) in answers {
            let broken = try FakeUpstream(on: loop) { connection, _ in
                connection.write(Array(("HTTP/1.1 200 OK\r\n" + rest).utf8))
                connection.close()
            }
            do {
                _ = try await HTTPCall.post(broken.url, loop: loop, timeout: .seconds(15), limit: 4096)
                Issue.record("\(rest.prefix(40)) was taken")
            } catch {
                #expect("\(error)".hasSuffix(expected), "\(error)")
            }
            await broken.close()
        }
    }

    @Test func httpCall_Failing_NeverShowsTheURLsQuery() async throws {
        let garbage = try FakeUpstream(on: loop) { connection, _ in
            connection.write(Array("nonsense\r\n\r\n".utf8))
            connection.close()
        }
        var url = garbage.url
        url.path = "/events?token=S3cretT0ken"
        let failures: [CastyError?] = [
            await #expect(throws: CastyError.self) { try await HTTPCall.post(url, loop: loop, timeout: .seconds(5)) },
            await #expect(throws: CastyError.self) {
                try await HTTPCall.post(StreamURL(host: "127.0.0.1", port: 1, path: url.path), loop: loop, timeout: .seconds(5))
            },
        ]
        for failure in failures {
            let line = "\(try #require(failure))"
            #expect(line.contains("/events?…") && !line.contains("S3cretT0ken"), "\(line)")
        }
        await garbage.close()
    }
}

extension ScriptLaneOne {
    /// `scripts/control/control.sh`: the control plane against a real application (python3's standard library) with
    /// ffmpeg as the source — keys, events re-sent and spooled, commands, and applications that answer nonsense.
    @Suite
    struct ControlScriptTests {
        @Test(
            "casty-cli server asks, tells and obeys a real platform application",
            .enabled(if: ScriptRun.inCI || ScriptRun.onPath("ffmpeg"), "peers not installed: run scripts/install-peers.sh"),
            .timeLimit(.minutes(4))
        )
        func controlPlane() async {
            await ScriptRun(script: "scripts/control/control.sh", arguments: [], deadline: .seconds(210)).run()
        }
    }
}
