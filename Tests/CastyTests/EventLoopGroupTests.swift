import Glibc
@testable import CastyNet
import Icy
import Synchronization
import Testing

@testable import Casty

@Suite("Event-loop group")
struct EventLoopGroupTests {
    @Test("A new listener goes to the least-loaded loop, never to the accepting one while there are others")
    func nextIsTheLeastLoadedListenerLoop() async throws {
        let group = EventLoopGroup(count: 3, first: EventLoop(name: "test-accept"))
        defer { for loop in group.loops { loop.shutdown() } }
        #expect(group.next() !== group.loops[0])
        // Load loop 1 with a connection: loop 2 is then the least loaded.
        let listener = try Listener(address: .loopback(port: 0), on: group.loops[1]) { _ in }
        let client = try await connectClient(to: listener.localAddress, on: group.loops[1])
        #expect(await eventually { group.next() === group.loops[2] })
        await group.loops[1].submit { client.close(); listener.close() }
        #expect(EventLoopGroup(count: 1, first: group.loops[0]).next() === group.loops[0])
    }

    @Test("Several messages for a node of another loop arrive in one hand-over, in order, before what is sent after them")
    func messagesSentTogetherKeepTheirOrder() async throws {
        let loop = EventLoop(name: "test-mail")
        defer { loop.shutdown() }
        let recorder = RecorderNode(loop: loop)
        let segments = testSegments(4)
        // The node's loop is busy while the messages are sent from elsewhere: all wait in its queue.
        let busy = Locked(true)
        loop.execute { while busy.value { usleep(1_000) } }
        recorder.send(contentsOf: [.reply(next: 0, context: testContext())] + segments.prefix(3).map { .data($0.number, $0) })
        recorder.send(.data(segments[3].number, segments[3]))
        busy.update { $0 = false }
        #expect(await recorder.waitForData(4))
        let record = await recorder.record
        #expect(record.replies.map(\.next) == [0])
        #expect(record.numbers == [0, 1, 2, 3])
    }

    @Test("A connection handed over to another loop keeps its socket: what the peer sends and gets goes on")
    func handOverKeepsTheSocket() async throws {
        let accepting = EventLoop(name: "test-accepting")
        let other = EventLoop(name: "test-other")
        defer { accepting.shutdown(); other.shutdown() }
        let moved = Locked<Connection?>(nil)
        let listener = try Listener(address: .loopback(port: 0), on: accepting) { connection in
            connection.handOver(to: other) { connection in
                connection.onRead = { bytes in _ = connection.write(bytes + Array(" back".utf8)) }
                moved.update { $0 = connection }
            } failed: { why in
                Issue.record("not handed over: \(why)")
            }
        }
        let peer = try await TestPeer.connect(to: listener.localAddress, on: accepting)
        #expect(await eventually { moved.value != nil })
        #expect(moved.value?.loop === other)
        await peer.send("hello")
        #expect(await peer.waitFor { String(decoding: $0, as: UTF8.self) == "hello back" })
        await peer.close()
        await accepting.submit { listener.close() }
    }

    @Test("Players handed out faster than their loops register them are spread evenly: a connection on its way to a loop counts as its own")
    func playersArrivingTogether_AreSpreadEvenly_WhileTheLoopsAreBusy() async throws {
        let (home, group, distributor, port, busy, _) = try busyGroup(playing: testSegments(3)[...])
        defer { for loop in group.loops { loop.shutdown() } }
        var players: [TestPeer] = []
        for _ in 0..<10 {
            let player = try await TestPeer.connect(to: port.address, on: home)
            await player.send("GET / HTTP/1.0\r\n\r\n")
            #expect(await player.waitFor(timeout: .seconds(5)) { String(decoding: $0, as: UTF8.self).contains("\r\n\r\n") })
            players.append(player)
        }
        // All ten are on their way while both listener loops are busy; then the loops register them.
        busy.update { $0 = false }
        #expect(await eventually { await distributor.stat().listeners == 10 })
        let registered = group.loops.dropFirst().map { $0.load.load(ordering: .relaxed) }
        #expect(registered == [5, 5], "\(registered)")
        for player in players { await player.close() }
        await home.submit { port.close() }
    }

    /// A group of three loops whose distributor (on the first, `home`) plays `segments` with a burst of 2 to a port
    /// handing players to the other two — busy (as with a long fan-out) until `busy` is set false —, and the port's
    /// log lines.
    func busyGroup(playing segments: ArraySlice<StreamSegment>) throws
        -> (home: EventLoop, group: EventLoopGroup, distributor: Distributor, port: ClientPort, busy: Locked<Bool>, told: Locked<[String]>) {
        let home = EventLoop(name: "test-home")
        let group = EventLoopGroup(count: 3, first: home)
        let distributor = try Distributor(loop: home, configuration: .init(burst: 2))
        distributor.send(.reply(next: 0, context: testContext()))
        for segment in segments { distributor.send(.data(segment.number, segment)) }
        var options = ClientOptions()
        options.loops = group
        let told = Locked<[String]>([])
        let port = try ClientPort(distributor: distributor, address: .loopback(port: 0), options: options,
                                  logger: EventLog { line in told.update { $0.append(line) } })
        let busy = Locked(true)
        for loop in group.loops.dropFirst() { loop.execute { while busy.value { usleep(1_000) } } }
        return (home, group, distributor, port, busy, told)
    }

    @Test("A player handed to a busy listener loop gets its reply head at once, then its burst and live segments from the number promised")
    func headBeforeHandOver_BurstAndLiveFollowWithoutAGap() async throws {
        let segments = testSegments(5)
        let (home, group, distributor, port, busy, _) = try busyGroup(playing: segments.prefix(3))
        defer { for loop in group.loops { loop.shutdown() } }
        let player = try await TestPeer.connect(to: port.address, on: home)
        await player.send("GET / HTTP/1.0\r\nIcy-MetaData: 1\r\nX-Casty-Numbered: 1\r\n\r\n")
        let headFirst = await player.waitFor(timeout: .seconds(2)) { String(decoding: $0, as: UTF8.self).contains("\r\n\r\n") }
        busy.update { $0 = false }
        #expect(headFirst)
        #expect(await eventually { await distributor.stat().listeners == 1 })
        for segment in segments.dropFirst(3) { distributor.send(.data(segment.number, segment)) }
        #expect(await player.waitFor { $0.count > 4 * 1000 + 4 * 16 })
        let parsed = try #require(try player.parsed(segmentBytes: 1000))
        #expect(parsed.headers["X-Casty-Next"] == "1")
        #expect(parsed.segments.flatMap(\.audioBytes) == segments.dropFirst().flatMap(\.audio))
        await player.close()
        await home.submit { port.close() }
    }

    @Test("A player told one codec at the front door, whose stream goes on in another before its client asks, is let go, never sent the other codec's audio")
    func headBeforeHandOver_StreamChangesCodec_PlayerLetGo() async throws {
        // The listener loops are busy until the head is out and the stream has gone on in AAC.
        let (home, group, distributor, port, busy, told) = try busyGroup(playing: testSegments(3)[...])
        defer { for loop in group.loops { loop.shutdown() } }
        let player = try await TestPeer.connect(to: port.address, on: home)
        await player.send("GET / HTTP/1.0\r\n\r\n")
        #expect(await player.waitFor(timeout: .seconds(2)) { String(decoding: $0, as: UTF8.self).contains("Content-Type: audio/mpeg") })
        var aac = testContext()
        aac.stream = 42
        aac.station["Content-Type"] = "audio/aac"
        distributor.send(.reply(next: 0, context: aac))
        for segment in testSegments(2) { distributor.send(.data(segment.number, segment)) }
        _ = await distributor.stat()  // the new stream is the distributor's before the client asks
        let headBytes = player.received.value.count
        busy.update { $0 = false }
        #expect(await eventually { player.closed.value })
        #expect(player.received.value.count == headBytes, "no byte of the AAC stream after the MP3 head")
        #expect(await eventually { told.value.contains { $0.contains("let go before its first segment: its stream went on in audio/aac after it was told audio/mpeg") } }, "\(told.value)")
        await home.submit { port.close() }
    }

    @Test("A distributor hands each segment to listeners on its loop and on two others, in order, without a gap")
    func fanOutAcrossLoops() async throws {
        let home = EventLoop(name: "test-home")
        let loops = [EventLoop(name: "test-l1"), EventLoop(name: "test-l2")]
        defer { home.shutdown(); for loop in loops { loop.shutdown() } }
        let distributor = Distributor(loop: home)
        // Most on the two other loops, a few on the distributor's own (like a branch link or an HLS packager).
        let dummies = (0..<40).map { Dummy(id: $0, loop: $0 % 10 == 0 ? home : loops[$0 % 2]) }
        distributor.send(.reply(next: 0, context: testContext()))
        for dummy in dummies { dummy.attach(to: distributor) }
        #expect(await eventually { await dummies.asyncAllSatisfy { await $0.expected != nil } })
        for segment in testSegments(50) { distributor.send(.data(segment.number, segment)) }
        #expect(await eventually { await dummies.asyncAllSatisfy { await $0.expected == 50 } })
        for dummy in dummies {
            #expect(await dummy.gaps == 0)
            #expect(await dummy.received == 50)
        }
    }
}

extension Array where Element: Sendable {
    /// Whether `condition` holds for every element, asked one after the other.
    func asyncAllSatisfy(_ condition: (Element) async -> Bool) async -> Bool {
        for element in self where !(await condition(element)) { return false }
        return true
    }
}
