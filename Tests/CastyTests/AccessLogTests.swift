import Glibc
import Icy
import Testing

@testable import Casty
@testable import CastyNet
@testable import CastyWire

/// `--access-log`: one line per listener, in the Combined Log Format of Icecast's access.log.
struct AccessLogTests {
    let loop = EventLoop.shared

    /// A port of one stream whose listeners are written to a fresh file; the file's path.
    func serving() throws -> (Distributor, ClientPort, AccessLog, String) {
        let path = "/tmp/casty-access-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).log"
        let log = try AccessLog(path: path, logger: .silent)
        var options = ClientOptions()
        options.accessLog = log
        let distributor = try Distributor(loop: loop, configuration: .init(burst: 2))
        distributor.send(.reply(next: 0, context: testContext()))
        for segment in testSegments(2) { distributor.send(.data(segment.number, segment)) }
        return (distributor, try ClientPort(distributor: distributor, address: .loopback(port: 0), options: options), log, path)
    }

    func lines(_ path: String) -> [String] {
        String(decoding: FileWriter.contents(of: path) ?? [], as: UTF8.self).split(separator: "\n").map(String.init)
    }

    @Test("A listener that leaves gets one line: address, time, request without its query, status, bytes, referer without its query, agent (escaped), seconds")
    func listenerThatLeaves_GetsOneCombinedLogLine() async throws {
        let (_, port, log, path) = try serving()
        defer { _ = unlink(path) }
        let player = try await TestPeer.connect(to: port.address, on: loop)
        await player.send("GET /live?token=s3cret HTTP/1.1\r\nHost: x\r\nReferer: https://page.example/player/live?tok=s3cret\r\nUser-Agent: Bad \"Agent\"\u{1B}[2J\r\n\r\n")
        #expect(await player.waitFor { $0.count > 2000 })
        await player.close()
        #expect(await eventually { await log.flush(); return lines(path).count == 1 }, "\(lines(path))")
        let line = try #require(lines(path).first)
        #expect(line.hasPrefix("127.0.0.1 - - ["))
        #expect(line.contains(" +0000] \"GET /live?… HTTP/1.1\" 200 "), "\(line)")
        // The seconds it listened: a few at most (rounded; a loaded machine took a second or more to get here).
        let suffix = " \"https://page.example/player/live?…\" \"Bad \\\"Agent\\\"\\e[2J\" "
        #expect(line.contains(suffix) && (line.split(separator: suffix).last.flatMap { Int($0) } ?? 99) < 30, "\(line)")
        #expect(!line.contains("s3cret"))
        let bytes = try #require(Int(line.split(separator: "\" 200 ")[1].prefix { $0 != " " }))
        #expect(bytes >= 2000, "the bytes it was sent: \(line)")
        port.close()
    }

    /// A port whose stream never starts (its source takes the request and never replies), players told `503` after
    /// `startWait` (handed to `loops` if given), written to a fresh file; the port, the log, the file's path and the
    /// server's log lines.
    func waitingForever(startWait: Duration, loops: EventLoopGroup? = nil) throws -> (ClientPort, AccessLog, String, Locked<[String]>) {
        let path = "/tmp/casty-access-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).log"
        let log = try AccessLog(path: path, logger: .silent)
        var options = ClientOptions()
        options.loops = loops
        options.accessLog = log
        var configuration = Distributor.Configuration()
        configuration.startWait = startWait
        let distributor = Distributor(loop: loop, configuration: configuration)
        distributor.attachSource(RecorderNode(loop: loop))
        let told = Locked<[String]>([])
        let port = try ClientPort(distributor: distributor, address: .loopback(port: 0), options: options,
                                  logger: EventLog { line in told.update { $0.append(line) } })
        return (port, log, path, told)
    }

    @Test("A player that gives up before the stream has started gets a 499 line, and its leaving is told in the server's log — also when handed to another loop of the group",
          arguments: [false, true])
    func playerThatGivesUpBeforeTheStream_Gets499_AndALogLine(onOtherLoops: Bool) async throws {
        // Two more loops: the first player is handed to one of them, which must not ask the distributor from there.
        let group = onOtherLoops ? EventLoopGroup(count: 3, first: loop) : nil
        defer { for other in group?.loops.dropFirst() ?? [] { other.shutdown() } }
        let (port, log, path, told) = try waitingForever(startWait: .seconds(30), loops: group)
        defer { _ = unlink(path) }
        let player = try await TestPeer.connect(to: port.address, on: loop)
        await player.send("GET /live HTTP/1.1\r\nHost: x\r\nUser-Agent: Impatient/1\r\n\r\n")
        try await Task.sleep(for: .milliseconds(300))
        await player.close()
        #expect(await eventually { await log.flush(); return lines(path).count == 1 }, "\(lines(path))")
        let line = try #require(lines(path).first)
        #expect(line.contains("\"GET /live HTTP/1.1\" 499 0 \"-\" \"Impatient/1\" "), "\(line)")
        #expect(await eventually { told.value.contains { $0.contains("left after") && $0.contains("waiting for /live before the stream had started") } },
                "\(told.value)")
        port.close()
    }

    @Test("A player told 200 by the front door that leaves before its first segment (a probe reading the head) gets its lines: 200, 0 bytes, and its leaving")
    func playerGoneAfterItsHead_GetsItsLines() async throws {
        // Loops of its own, held in turn: the shared loop, which other tests use, never is.
        let accepting = EventLoop(name: "test-accepting")
        let group = EventLoopGroup(count: 2, first: accepting)
        let listenerLoop = group.loops[1]
        defer { for each in group.loops { each.shutdown() } }
        let path = "/tmp/casty-access-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).log"
        defer { _ = unlink(path) }
        let log = try AccessLog(path: path, logger: .silent)
        var options = ClientOptions()
        options.loops = group
        options.accessLog = log
        let distributor = try Distributor(loop: accepting, configuration: .init(burst: 2))
        distributor.send(.reply(next: 0, context: testContext()))
        for segment in testSegments(2) { distributor.send(.data(segment.number, segment)) }
        let told = Locked<[String]>([])
        let port = try ClientPort(distributor: distributor, address: .loopback(port: 0), options: options,
                                  logger: EventLog { line in told.update { $0.append(line) } })
        defer { port.close() }
        /// Holds `held` until `released` is set (at most 30 s), once it is held.
        func hold(_ held: EventLoop, until released: Locked<Bool>) async {
            let holding = Locked(false)
            held.execute {
                holding.update { $0 = true }
                for _ in 0..<3000 where !released.value { usleep(10_000) }
            }
            _ = await eventually(timeout: .seconds(10)) { holding.value }
        }
        // The listener loop is held while the front door writes the head from the distributor's promise and the
        // player reads it and leaves; then the distributor's loop, while the client starts and finds its player gone
        // before the distributor could answer it with the burst.
        let listenerFree = Locked(false), distributorFree = Locked(false)
        defer { listenerFree.update { $0 = true }; distributorFree.update { $0 = true } }
        await hold(listenerLoop, until: listenerFree)
        let player = try await TestPeer.connect(to: port.address, on: loop)
        await player.send("GET /live HTTP/1.1\r\nHost: x\r\nUser-Agent: Probe/1\r\n\r\n")
        #expect(await player.waitFor(timeout: .seconds(10)) { String(decoding: $0, as: UTF8.self).contains("\r\n\r\n") })
        #expect(player.text.hasPrefix("HTTP/1.0 200") || player.text.hasPrefix("ICY 200"), "\(player.text.prefix(60))")
        // It resets its connection, as a player that quits does: the server hears it gone without writing to it.
        try player.connection.socket.setResetOnClose()
        await player.close()
        await hold(accepting, until: distributorFree)
        listenerFree.update { $0 = true }
        // Its line is written while the distributor is still held: before any answer could have brought the burst.
        #expect(await eventually(timeout: .seconds(10)) { await log.flush(); return lines(path).count == 1 }, "\(lines(path))")
        distributorFree.update { $0 = true }
        let line = try #require(lines(path).first)
        #expect(line.contains("\"GET /live HTTP/1.1\" 200 0 \"-\" \"Probe/1\" "), "\(line)")
        #expect(await eventually(timeout: .seconds(10)) { told.value.contains { $0.contains("left after") && $0.contains("before its first segment") } },
                "\(told.value)")
    }

    @Test("A HEAD that waited for the stream gets its line once answered, as one answered at once does")
    func headThatWaitedForTheStream_GetsItsLine() async throws {
        let path = "/tmp/casty-access-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).log"
        defer { _ = unlink(path) }
        let log = try AccessLog(path: path, logger: .silent)
        var options = ClientOptions()
        options.accessLog = log
        // A wait far past the test's pause: a loaded run that starves the test for seconds must not turn the HEAD
        // into a 503 before the stream starts.
        var configuration = Distributor.Configuration()
        configuration.startWait = .seconds(60)
        let distributor = Distributor(loop: loop, configuration: configuration)
        distributor.attachSource(RecorderNode(loop: loop))
        let port = try ClientPort(distributor: distributor, address: .loopback(port: 0), options: options)
        let player = try await TestPeer.connect(to: port.address, on: loop)
        await player.send("HEAD /live HTTP/1.1\r\nHost: x\r\nUser-Agent: Checker/1\r\n\r\n")
        try await Task.sleep(for: .milliseconds(300))
        distributor.send(.reply(next: 0, context: testContext()))  // the stream starts while it waits
        #expect(await eventually { player.text.hasPrefix("HTTP/1.0 200") || player.text.hasPrefix("ICY 200") }, "\(player.text)")
        #expect(await eventually { await log.flush(); return lines(path).count == 1 }, "\(lines(path))")
        #expect(lines(path).first?.contains("\"HEAD /live HTTP/1.1\" 200 0 \"-\" \"Checker/1\" ") == true, "\(lines(path))")
        port.close()
    }

    @Test("A player told 503 after waiting for a stream that did not come gets its line, with the seconds it waited")
    func playerTold503AfterTheWait_GetsALine() async throws {
        let (port, log, path, _) = try waitingForever(startWait: .milliseconds(300))
        defer { _ = unlink(path) }
        let player = try await TestPeer.connect(to: port.address, on: loop)
        await player.send("GET /live HTTP/1.1\r\nHost: x\r\nUser-Agent: Patient/1\r\n\r\n")
        #expect(await eventually(timeout: .seconds(5)) { player.closed.value })
        #expect(player.text.hasPrefix("HTTP/1.0 503"), "\(player.text)")
        #expect(await eventually { await log.flush(); return lines(path).count == 1 }, "\(lines(path))")
        // With the bytes of its body as sent, its ending newline too.
        let length = try #require(player.text.split(separator: "\r\n").first { $0.hasPrefix("Content-Length: ") }?.dropFirst(16))
        #expect(lines(path).first?.contains("\"GET /live HTTP/1.1\" 503 \(length) ") == true,
                "\(lines(path)) \(player.text)")
        port.close()
    }

    @Test("Listeners still listening when the process stops get their line then, with the bytes they had been sent")
    func listenersAtShutdown_GetTheirLine() async throws {
        let (_, port, log, path) = try serving()
        defer { _ = unlink(path) }
        let player = try await TestPeer.connect(to: port.address, on: loop)
        await player.send("GET / HTTP/1.0\r\n\r\n")
        #expect(await player.waitFor { $0.count > 2000 })
        await log.flush()
        #expect(lines(path).isEmpty, "no line while it listens")
        let received = player.received.value
        let head = try #require(received.firstRange(of: Array("\r\n\r\n".utf8)))
        let audio = received.count - head.upperBound
        await log.closeAll()
        let line = try #require(lines(path).first)
        // Its bytes at least the audio it had received; the seconds it listened a few at most (a loaded machine took seconds to get here).
        let fields = try #require(line.split(separator: "\"GET / HTTP/1.0\" 200 ").last).split(separator: " ")
        let bytes = try #require(Int(fields[0]), "\(line)")
        #expect(bytes >= audio && audio > 1000, "\(line): \(audio) bytes of audio received")
        #expect(fields.count == 4 && (Int(fields[3]) ?? 99) < 30, "\(line)")
        await player.close()
        try await Task.sleep(for: .milliseconds(100))
        await log.flush()
        #expect(lines(path).count == 1, "written once")
        port.close()
    }

    @Test("A request answered at once gets its line too, with its status and the bytes of its body: a status page, a refusal")
    func requestsAnsweredAtOnce_GetTheirLines() async throws {
        let (_, port, log, path) = try serving()
        defer { _ = unlink(path) }
        let requests = [
            "GET /status.json HTTP/1.0\r\nUser-Agent: monitor\r\n\r\n", "POST /live HTTP/1.0\r\nContent-Length: 0\r\n\r\n",
            "FOO /live HTTP/1.0\r\n\r\n", "HEAD /live HTTP/1.0\r\n\r\n", "OPTIONS /live HTTP/1.0\r\nOrigin: https://a.example\r\n\r\n",
        ]
        for request in requests {
            let peer = try await TestPeer.connect(to: port.address, on: loop)
            await peer.send(request)
            #expect(await eventually { peer.closed.value })
            await log.flush()
        }
        #expect(await eventually { await log.flush(); return lines(path).count == requests.count }, "\(lines(path))")
        let written = lines(path)
        #expect(written[0].contains("\"GET /status.json HTTP/1.0\" 200 ") && written[0].hasSuffix(" \"-\" \"monitor\" 0"), "\(written[0])")
        #expect(written[1].contains("\"POST /live HTTP/1.0\" 405 "), "\(written[1])")
        #expect(written[2].contains("] \"-\" 501 "), "a method not read still has its line, for fail2ban: \(written[2])")
        #expect(written[3].contains("\"HEAD /live HTTP/1.0\" 200 0 "), "\(written[3])")
        #expect(written[4].contains("\"OPTIONS /live HTTP/1.0\" 204 0 "), "\(written[4])")
        port.close()
    }

    @Test("The user field is the user name of the login sent (never its password), a blank in it escaped; - without one")
    func userField_IsTheLoginsUserName() async throws {
        let (_, port, log, path) = try serving()
        defer { _ = unlink(path) }
        let player = try await TestPeer.connect(to: port.address, on: loop)
        let login = Base64.encode(Array("alice:pa55word".utf8))
        await player.send("GET /live HTTP/1.1\r\nHost: x\r\nAuthorization: Basic \(login)\r\n\r\n")
        #expect(await player.waitFor { $0.count > 2000 })
        await player.close()
        #expect(await eventually { await log.flush(); return lines(path).count == 1 })
        let status = try await TestPeer.connect(to: port.address, on: loop)
        await status.send("GET /status.json HTTP/1.0\r\nAuthorization: Basic \(Base64.encode(Array("two words:x".utf8)))\r\n\r\n")
        #expect(await eventually { status.closed.value })
        #expect(await eventually { await log.flush(); return lines(path).count == 2 }, "\(lines(path))")
        let written = lines(path)
        #expect(written[0].hasPrefix("127.0.0.1 - alice ["), "\(written[0])")
        #expect(written[1].hasPrefix("127.0.0.1 - two\\x20words ["), "\(written[1])")
        #expect(!written.joined().contains("pa55word"))
        port.close()
    }

    @Test("A log renamed away (logrotate's default) or deleted is opened again at its path for the next lines, with no signal")
    func renamedOrDeletedLog_IsOpenedAgain() async throws {
        let (_, port, log, path) = try serving()
        defer { _ = unlink(path); _ = unlink(path + ".1") }
        func ask() async throws {
            let peer = try await TestPeer.connect(to: port.address, on: loop)
            await peer.send("GET /status.json HTTP/1.0\r\n\r\n")
            #expect(await eventually { peer.closed.value })
            await log.flush()
        }
        try await ask()
        #expect(rename(path, path + ".1") == 0)
        try await ask()
        #expect(lines(path + ".1").count == 1 && lines(path).count == 1, "the rotated file keeps its line, the new one gets the next")
        #expect(unlink(path) == 0)
        try await ask()
        #expect(lines(path).count == 1, "a deleted log is made again")
        port.close()
    }

    /// The line of a `GET path` answered at once (`404`), from `agent`, as the log is given it.
    func answer(_ log: AccessLog, _ path: String, agent: String) {
        log.answered(address: "127.0.0.1", user: nil, request: "GET \(path) HTTP/1.1", status: 404, bytes: 0, referer: nil, agent: agent)
    }

    @Test("A line cut short by a full disk is lost whole: the next starts on its own line; the failure is said once, and the writing again, with the lines lost")
    func aLineCutShortByAFullDisk_IsLostWhole() async throws {
        let path = "/tmp/casty-access-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).log"
        defer { _ = unlink(path) }
        let full = Locked(false)
        let told = StationServerTests.Log()
        let log = try AccessLog(path: path, logger: told.logger) { fd, bytes, path throws(FileError) in
            guard full.value else { return try FileWriter.write(fd, bytes, path: path) }
            try FileWriter.write(fd, Array(bytes.prefix(bytes.count / 2)), path: path)  // half of it, then the disk is full
            throw FileError(call: "write", path: path, code: ENOSPC)
        }
        answer(log, "/before", agent: "before")
        await log.flush()
        full.update { $0 = true }
        answer(log, "/while-full", agent: String(repeating: "LongAgent", count: 30))
        answer(log, "/still-full", agent: "still")
        await log.flush()
        full.update { $0 = false }
        answer(log, "/after-free", agent: "after")
        await log.flush()
        let written = lines(path)
        #expect(written.count == 2 && written[0].hasSuffix("\"GET /before HTTP/1.1\" 404 0 \"-\" \"before\" 0")
                && written[1].hasPrefix("127.0.0.1 - - [") && written[1].hasSuffix("\"GET /after-free HTTP/1.1\" 404 0 \"-\" \"after\" 0"), "\(written)")
        #expect(!written.contains { $0.contains("-full") }, "no part of a line lost is left: \(written)")
        #expect(told.lines.value == [
            "access log: write \(path): No space left on device (errno 28); its lines are lost until it can be written again",
            "access log: \(path) is written again (2 lines lost)",
        ])
    }

    @Test("Writes that keep failing are told at once, then at most once a minute with how many failed since, and the first that works with how many failed in all")
    func writesThatKeepFailing_AreToldOnceAMinute() {
        var failures = WriteFailures()
        let error = FileError(call: "write", path: "/var/log/casty/access.log", code: ENOSPC)
        let start = ContinuousClock.now
        #expect(failures.wrote(nil, at: start) == nil)
        #expect(failures.wrote(error, at: start) == .failed(error))
        #expect(failures.wrote(error, at: start + .seconds(30)) == nil)
        #expect(failures.wrote(error, at: start + .seconds(59)) == nil)
        #expect(failures.wrote(error, at: start + .seconds(60)) == .stillFailing(error, count: 3))
        #expect(failures.wrote(error, at: start + .seconds(61)) == nil)
        #expect(failures.wrote(nil, at: start + .seconds(62)) == .writtenAgain(after: 5))
        #expect(failures.wrote(error, at: start + .seconds(63)) == .failed(error), "a new failure is told at once")
    }

    @Test("A log whose directory is removed is said, naming the file and why it cannot be opened again; its lines are lost, not written to the deleted file, until it can be")
    func aLogWhoseDirectoryIsRemoved_IsSaid_AndOpenedOnceItCanBe() async throws {
        let directory = "/tmp/casty-access-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let path = directory + "/access.log"
        #expect(mkdir(directory, 0o700) == 0)
        defer { _ = unlink(path); _ = rmdir(directory) }
        let told = StationServerTests.Log()
        let log = try AccessLog(path: path, logger: told.logger)
        answer(log, "/before", agent: "before")
        await log.flush()
        #expect(unlink(path) == 0 && rmdir(directory) == 0)
        answer(log, "/while-gone", agent: "gone")
        answer(log, "/still-gone", agent: "gone")
        await log.flush()
        #expect(told.lines.value == [
            "access log: open \(path): No such file or directory (errno 2); its lines are lost until it can be written again",
        ])
        #expect(mkdir(directory, 0o700) == 0)
        answer(log, "/after", agent: "after")
        await log.flush()
        #expect(lines(path).count == 1 && lines(path).first?.contains("\"GET /after HTTP/1.1\"") == true, "\(lines(path))")
        #expect(told.lines.value.last == "access log: \(path) is written again (2 lines lost)", "\(told.lines.value)")
    }

    @Test func aFileThatCannotBeOpened_IsOneClearError() {
        let error = #expect(throws: AccessLogError.self) { try AccessLog(path: "/proc/casty-nowhere/access.log", logger: .silent) }
        #expect(error?.description == "open /proc/casty-nowhere/access.log: No such file or directory (errno 2)")
    }
}
