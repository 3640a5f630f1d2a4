@testable import CastyNet
import Icy
import Testing

@testable import Casty

/// Pages following the titles over time: heartbeats, watchers that are gone, and a WebSocket page's own frames.
/// Each test runs a loop of its own, with heartbeats every 200 ms instead of 15 s, and deadlines a busy CI machine
/// meets.
struct TitleHeartbeatTests {
    /// The handshake of the title WebSocket of a port of one stream.
    static let upgrade = "GET /api/ws HTTP/1.1\r\nHost: casty\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"

    /// A port of one stream on `loop`, whose title watchers get a heartbeat every `heartbeat` and are dropped after
    /// four stalled or unanswered; its log lines are collected in `lines`.
    func serving(
        on loop: EventLoop, heartbeat: Duration = .milliseconds(200), lines: Locked<[String]>
    ) throws -> (Distributor, ClientPort) {
        let distributor = Distributor(loop: loop, configuration: try .init(burst: 0))
        distributor.send(.reply(next: 0, context: testContext()))
        var options = ClientOptions()
        options.headerTimeout = .seconds(30)
        options.titleHeartbeat = heartbeat
        options.titlePatience = 4
        let port = try ClientPort(distributor: distributor, address: .loopback(port: 0), options: options,
                                  logger: EventLog { line in lines.update { $0.append(line) } })
        return (distributor, port)
    }

    /// The frames a server sent after its `101` head: opcode and payload each.
    func serverFrames(_ received: [UInt8]) -> [(opcode: UInt8, payload: [UInt8])] {
        guard let head = received.indices.first(where: { received[$0...].starts(with: Array("\r\n\r\n".utf8)) }) else { return [] }
        var bytes = received[(head + 4)...]
        var frames: [(opcode: UInt8, payload: [UInt8])] = []
        while bytes.count >= 2 {
            let first = bytes[bytes.startIndex], short = Int(bytes[bytes.startIndex + 1] & 0x7F)
            let extra = short == 126 ? 2 : short == 127 ? 8 : 0
            guard bytes.count >= 2 + extra else { break }
            let length = extra == 0 ? short : bytes.dropFirst(2).prefix(extra).reduce(0) { $0 << 8 | Int($1) }
            guard bytes.count >= 2 + extra + length else { break }
            frames.append((first & 0x0F, Array(bytes.dropFirst(2 + extra).prefix(length))))
            bytes = bytes.dropFirst(2 + extra + length)
        }
        return frames
    }

    /// A page following `port`'s titles over Server-Sent Events, as `EventSource` asks.
    func eventPage(of port: ClientPort, on loop: EventLoop) async throws -> TestPeer {
        let page = try await TestPeer.connect(to: port.address, on: loop)
        await page.send("GET /api/events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n")
        return page
    }

    /// A page following `port`'s titles (Server-Sent Events) that never reads, with a small receive buffer.
    func stuckPage(of port: ClientPort, on loop: EventLoop, lines: Locked<[String]>) async throws -> TestPeer {
        let stuck = try await TestPeer.connect(to: port.address, on: loop, reading: false, receiveBuffer: 4096)
        await stuck.send("GET /api/events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n")
        #expect(await eventually(timeout: .seconds(20)) { lines.value.contains { $0.contains("follows the titles") } })
        return stuck
    }

    /// Up to `count` titles of about `bytes` each, one segment apart every `every`, until `lines` tell a page dropped.
    func sendTitles(to distributor: Distributor, count: Int, bytes: Int, every: Duration, untilADropIn lines: Locked<[String]>) async throws {
        var cutter = try Cutter(segmentBytes: 1000)
        let audio = [UInt8](repeating: 0, count: 1000)
        for number in 0..<count where !lines.value.contains(where: { $0.contains("dropped") }) {
            cutter.setTitle(Metadata(streamTitle: "Song \(number) " + String(repeating: "x", count: bytes)))
            cutter.add(audio[...]) { distributor.send(.data($0.number, $0)) }
            try await Task.sleep(for: every)
        }
    }

    @Test func serverSentEventsWatcherThatNeverReads_IsDroppedOnceItsBytesStopGoingOut() async throws {
        let loop = EventLoop(name: "test-stalled-watcher")
        defer { loop.shutdown() }
        let lines = Locked<[String]>([])
        let (distributor, port) = try serving(on: loop, lines: lines)
        defer { port.close() }
        let stuck = try await stuckPage(of: port, on: loop, lines: lines)
        // At most 80 titles of 1 KB: more than its receive buffer and the server's send buffer hold, fewer than would
        // also fill the 64 KiB at which an event is refused, so only the stall rule can drop it. Once nothing more
        // goes out, every title and heartbeat adds to what waits.
        try await sendTitles(to: distributor, count: 80, bytes: 1000, every: .milliseconds(20), untilADropIn: lines)
        #expect(await eventually(timeout: .seconds(30)) { lines.value.contains { $0.contains("dropped") } })
        // Its end comes behind the bytes it never took: it sees it once it reads them.
        await stuck.startReading()
        #expect(await eventually(timeout: .seconds(20)) { stuck.closed.value }, "closed")
        let drops = lines.value.filter { $0.contains("dropped") }
        #expect(drops.count == 1 && drops[0].contains("bytes waiting, not taken for 4 heartbeats of 0.2 seconds"), "\(drops)")
        #expect(drops.first?.hasPrefix("page 127.0.0.1:") == true, "the peer is named: \(drops)")
    }

    @Test("A page that falls 64 KiB behind in titles (long ones, coming fast, before any heartbeat) is dropped with one log line")
    func serverSentEventsWatcherFarBehind_IsDroppedWithALogLine() async throws {
        let loop = EventLoop(name: "test-behind-watcher")
        defer { loop.shutdown() }
        let lines = Locked<[String]>([])
        let (distributor, port) = try serving(on: loop, heartbeat: .seconds(60), lines: lines)
        defer { port.close() }
        _ = try await stuckPage(of: port, on: loop, lines: lines)
        try await sendTitles(to: distributor, count: 200, bytes: 3000, every: .milliseconds(5), untilADropIn: lines)
        #expect(await eventually(timeout: .seconds(20)) { lines.value.contains { $0.contains("dropped") } })
        let drops = lines.value.filter { $0.contains("dropped") }
        #expect(drops.count == 1 && drops[0].hasPrefix("page 127.0.0.1:") && drops[0].contains("more than 64 KiB: it does not read them"), "\(drops)")
    }

    @Test func serverSentEventsWatcherThatReads_GetsHeartbeatsWithoutTitleChanges_AndStays() async throws {
        let loop = EventLoop(name: "test-heartbeats")
        defer { loop.shutdown() }
        let lines = Locked<[String]>([])
        let (distributor, port) = try serving(on: loop, lines: lines)
        defer { port.close() }
        for segment in testSegments(1, titleAt: [0]) { distributor.send(.data(segment.number, segment)) }
        let page = try await eventPage(of: port, on: loop)
        // Ten heartbeats: two and a half times the four after which a watcher whose bytes do not go out is dropped.
        #expect(await page.waitFor(timeout: .seconds(30)) { String(decoding: $0, as: UTF8.self).components(": keep-alive\n\n") >= 10 })
        #expect(!page.closed.value)
        #expect(page.text.components("event: title\n") == 1, "the title of the moment, and no change since")
        #expect(!lines.value.contains { $0.contains("dropped") }, "\(lines.value)")
    }

    @Test("A page that comes and goes is said both ways, naming the mount; pages opened and closed by the hundred are summed up past a budget, not a line each")
    func pagesComingAndGoing_AreSaid_WithinABudget() async throws {
        let loop = EventLoop(name: "test-page-lines")
        defer { loop.shutdown() }
        let lines = Locked<[String]>([])
        let (distributor, port) = try serving(on: loop, lines: lines)
        defer { port.close() }
        for segment in testSegments(1, titleAt: [0]) { distributor.send(.data(segment.number, segment)) }
        let page = try await eventPage(of: port, on: loop)
        #expect(await page.waitFor(timeout: .seconds(10)) { String(decoding: $0, as: UTF8.self).contains("event: title") })
        await page.close()
        #expect(await eventually(timeout: .seconds(10)) {
            lines.value.contains { $0.contains("left after ") && $0.hasSuffix("s: it followed the titles of /") }
        }, "\(lines.value)")
        #expect(lines.value.contains { $0.hasSuffix("follows the titles of /") }, "\(lines.value)")
        for _ in 0..<60 {
            let flood = try await TestPeer.connect(to: port.address, on: loop)
            await flood.send("GET /api/events HTTP/1.1\r\nHost: x\r\n\r\n")
            _ = await flood.waitFor(timeout: .seconds(10)) { String(decoding: $0, as: UTF8.self).contains("event: title") }
            await flood.close()
        }
        let pageLines = lines.value.filter { $0.hasPrefix("page ") }.count
        #expect(pageLines <= 20, "\(pageLines) page lines in one window")
    }

    @Test func webSocketPage_GetsAPongForItsPing_AndACloseFrameForItsClose() async throws {
        let loop = EventLoop(name: "test-websocket-close")
        defer { loop.shutdown() }
        let lines = Locked<[String]>([])
        // No heartbeat during the test: only the page's frames are answered.
        let (_, port) = try serving(on: loop, heartbeat: .seconds(600), lines: lines)
        defer { port.close() }
        let page = try await TestPeer.connect(to: port.address, on: loop)
        await page.send(Self.upgrade)
        #expect(await page.waitFor(timeout: .seconds(20)) { String(decoding: $0, as: UTF8.self).contains("\r\n\r\n") })
        #expect(page.text.hasPrefix("HTTP/1.1 101 Switching Protocols\r\n"))
        // A ping split across two writes, and a message that is thrown away.
        let ping = clientFrame(9, Array("ping?".utf8)) + clientFrame(1, Array("hello".utf8))
        await page.send(bytes: Array(ping.prefix(5)))
        await page.send(bytes: Array(ping.dropFirst(5)))
        #expect(await eventually(timeout: .seconds(20)) { serverFrames(page.received.value).contains { $0.opcode == 10 } })
        #expect(serverFrames(page.received.value).map(\.opcode) == [10])
        #expect(serverFrames(page.received.value).first?.payload == Array("ping?".utf8))
        // The page closes (1001, going away): the same code comes back, then the server closes.
        await page.send(bytes: clientFrame(8, [0x03, 0xE9]))
        #expect(await eventually(timeout: .seconds(20)) { page.closed.value })
        let frames = serverFrames(page.received.value)
        #expect(frames.map(\.opcode) == [10, 8])
        #expect(frames.last?.payload == [0x03, 0xE9])
        #expect(!lines.value.contains { $0.contains("dropped") }, "a page that closes is no misbehaving page: \(lines.value)")
    }

    @Test func webSocketPage_ThatAnswersNoPing_IsDropped() async throws {
        let loop = EventLoop(name: "test-websocket-silent")
        defer { loop.shutdown() }
        let lines = Locked<[String]>([])
        let (_, port) = try serving(on: loop, lines: lines)
        defer { port.close() }
        let page = try await TestPeer.connect(to: port.address, on: loop)
        await page.send(Self.upgrade)
        #expect(await eventually(timeout: .seconds(30)) { page.closed.value }, "dropped")
        let pings = serverFrames(page.received.value).filter { $0.opcode == 9 }
        #expect(pings.count == 4 && pings.allSatisfy { $0.payload.isEmpty }, "empty pings: \(pings.count)")
        #expect(lines.value.filter { $0.contains("dropped") } == lines.value.filter { $0.contains("dropped: no pong to 4 pings, one every 0.2 seconds") })
        #expect(lines.value.contains { $0.contains("dropped") })
        let last = serverFrames(page.received.value).last
        #expect(last?.opcode == 8 && last?.payload == [0x03, 0xE9], "a close frame, 1001 (going away), not a bare close: \(String(describing: last))")
    }

    @Test func webSocketPage_GetsACloseFrame_WhenTheProcessStops() async throws {
        let loop = EventLoop(name: "test-websocket-goodbye")
        defer { loop.shutdown() }
        let lines = Locked<[String]>([])
        let (_, port) = try serving(on: loop, heartbeat: .seconds(30), lines: lines)
        defer { port.close() }
        let page = try await TestPeer.connect(to: port.address, on: loop)
        await page.send(Self.upgrade)
        #expect(await page.waitFor { String(decoding: $0, as: UTF8.self).hasPrefix("HTTP/1.1 101") })
        try await Task.sleep(for: .milliseconds(100))
        await Task.detached { TitleWatchers.sayGoodbye(only: loop) }.value  // as Shutdown does, off the loops (this test's only)
        // Its leaving is said as the goodbye is, as an event stream's is: a stopping process does not wait for the
        // close frame to go out and the connection to close.
        #expect(lines.value.contains { $0.contains("left after ") && $0.hasSuffix("s: it followed the titles of /") }, "\(lines.value)")
        #expect(await eventually(timeout: .seconds(10)) { page.closed.value })
        let last = serverFrames(page.received.value).last
        #expect(last?.opcode == 8 && last?.payload == [0x03, 0xE9], "\(String(describing: last))")
        try await Task.sleep(for: .milliseconds(200))
        #expect(lines.value.filter { $0.contains("left after ") }.count == 1, "said once, not again at the close: \(lines.value)")
    }

    @Test func webSocketPage_SendingWhatNoBrowserSends_GetsAProtocolErrorClose_AndOneLogLine() async throws {
        let loop = EventLoop(name: "test-websocket-garbage")
        defer { loop.shutdown() }
        let lines = Locked<[String]>([])
        let (_, port) = try serving(on: loop, heartbeat: .seconds(600), lines: lines)
        defer { port.close() }
        let page = try await TestPeer.connect(to: port.address, on: loop)
        // An unmasked frame right behind the handshake, in the same write.
        await page.send(bytes: Array(Self.upgrade.utf8) + clientFrame(1, Array("\u{1B}[2J".utf8), masked: false))
        #expect(await eventually(timeout: .seconds(20)) { page.closed.value })
        #expect(serverFrames(page.received.value).map(\.opcode) == [8])
        #expect(serverFrames(page.received.value).first?.payload == [0x03, 0xEA], "1002, protocol error")
        let drops = lines.value.filter { $0.contains("dropped") }
        #expect(drops.count == 1 && drops[0].contains("sent an unmasked frame (WebSocket)"), "\(drops)")
    }
}
