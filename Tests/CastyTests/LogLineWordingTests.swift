import Icy
import Testing

@testable import Casty
@testable import CastyNet

/// Log lines that say what happened, in words that hold: no change told where none was, no "1 gaps".
struct LogLineWordingTests {
    let loop = EventLoop.shared

    @Test("A branch whose parent's new stream goes on from the number it expected says the numbering goes on, not that it restarts at it 'was' it")
    func newStreamFromTheNumberExpected_IsNotSaidToRestart() async throws {
        let connections = Locked(0)
        let parent = try FakeUpstream(on: loop) { connection, _ in
            connections.update { $0 += 1 }
            // Two streams (the root's source came back), each told to start at 990, the first one with no segment.
            let stream = connections.value == 1 ? "5f3a09c4d2b871e1" : "0123456789abcdef"
            connection.write(Array(("HTTP/1.0 200 OK\r\nContent-Type: audio/mpeg\r\nicy-br: 128\r\nicy-metaint: 1000\r\n"
                + "X-Casty-Stream: \(stream)\r\nX-Casty-Next: 990\r\nX-Casty-Path: 127.0.0.1:1\r\n\r\n").utf8))
            if connections.value == 1 { connection.loop.schedule(after: .milliseconds(100)) { connection.close() } }
        }
        var configuration = Branch.Configuration()
        configuration.backoff = .milliseconds(20)
        let log = Locked<[String]>([])
        let branch = try Branch.serve(root: parent.url, address: .loopback(port: 0), eager: true, configuration: configuration,
                                      logger: EventLog { line in log.update { $0.append(line) } })
        let said: @Sendable () -> String? = { log.value.first { $0.contains("new stream") } }
        #expect(await eventually(timeout: .seconds(15)) { said() != nil }, "\(log.value)")
        branch.stop()
        let line = try #require(said())
        #expect(line.hasSuffix("numbering goes on at 990"), "\(line)")
        await parent.close()
    }

    @Test("A player's leave line counts its segments and gaps in the singular for one")
    func leaveLine_SaysOneGap() async throws {
        let distributor = try Distributor(loop: loop, configuration: .init(burst: 0))
        distributor.send(.reply(next: 0, context: testContext(bitrate: 64)))
        let told = Locked<[String]>([])
        let port = try ClientPort(distributor: distributor, address: .loopback(port: 0), logger: EventLog { line in told.update { $0.append(line) } })
        let player = try await TestPeer.connect(to: port.address, on: loop)
        await player.send("GET / HTTP/1.0\r\nIcy-MetaData: 1\r\n\r\n")
        #expect(await eventually { await distributor.stat().listeners == 1 })
        // Segment 0, then 2: one gap.
        for segment in testSegments(3, bytes: 1000) where segment.number != 1 { distributor.send(.data(segment.number, segment)) }
        #expect(await player.waitFor(timeout: .seconds(10)) { $0.count >= 2 * 1000 })
        await player.close()
        let left: @Sendable () -> String? = { told.value.first { $0.contains(" left after ") } }
        #expect(await eventually(timeout: .seconds(10)) { left() != nil }, "\(told.value)")
        let line = try #require(left())
        #expect(line.hasSuffix(": 2 segments, 0 skipped, 1 gap"), "\(line)")
        port.close()
    }

    @Test("A relay's title changes summed up say they are the proxy's")
    func titleChangesSummedUp_SayWhoseTheyAre() async throws {
        let upstream = try FakeUpstream(on: loop) { connection, _ in
            connection.write(icyReplyHead(metaint: 500))
            // A new title in every block: five are told, the rest summed up.
            streamICY(to: connection, metaint: 500, count: 40, interval: .milliseconds(5), titleEvery: 1)
        }
        let lines = Locked<[String]>([])
        var configuration = Proxy.Configuration()
        configuration.segmentBytes = 1000
        let proxy = try Proxy(url: upstream.url, configuration: configuration, loop: loop, logger: EventLog { line in lines.update { $0.append(line) } })
        try await proxy.start()
        #expect(await eventually(timeout: .seconds(15)) { lines.value.filter { $0.contains("proxy: title: ") }.count == 5 }, "\(lines.value)")
        // The window ends 10 s after its first line; a new link would end it too.
        #expect(await eventually(timeout: .seconds(30)) { lines.value.contains { $0.contains("title changes in the last") } }, "\(lines.value)")
        proxy.stop()
        let sum = try #require(lines.value.first { $0.contains("title changes in the last") })
        #expect(sum.hasPrefix("proxy: "), "\(sum)")
        await upstream.close()
    }

    @Test("A branch's lines about its link (lost, back) name its address, as its other lines do")
    func branchLinkLines_NameTheBranchsAddress() async throws {
        let connections = Locked(0)
        let parent = try FakeUpstream(on: loop) { connection, _ in
            connections.update { $0 += 1 }
            connection.write(Array(("HTTP/1.0 200 OK\r\nContent-Type: audio/mpeg\r\nicy-br: 128\r\nicy-metaint: 1000\r\n"
                + "X-Casty-Stream: 5f3a09c4d2b871e1\r\nX-Casty-Next: 0\r\nX-Casty-Path: 127.0.0.1:1\r\n\r\n").utf8))
            streamICY(to: connection, metaint: 1000, count: .max, interval: .milliseconds(20)) { number in
                try! metadataBlock(Array("CastySeq='\(number)';".utf8))
            }
            if connections.value == 1 { connection.loop.schedule(after: .milliseconds(200)) { connection.close() } }
        }
        var configuration = Branch.Configuration()
        configuration.backoff = .milliseconds(20)
        let log = Locked<[String]>([])
        let branch = try Branch.serve(root: parent.url, address: .loopback(port: 0), eager: true, configuration: configuration,
                                      logger: EventLog { line in log.update { $0.append(line) } })
        #expect(await eventually(timeout: .seconds(15)) { log.value.contains { $0.contains("upstream back") } }, "\(log.value)")
        branch.stop()
        let link = log.value.filter { $0.contains("upstream lost") || $0.contains("upstream back") }
        #expect(link.count >= 2 && link.allSatisfy { $0.hasPrefix("branch \(branch.port.address): ") }, "\(link)")
        await parent.close()
    }

    @Test("A tree line's next keeps its value while the stream is away, as /status.json's does, and is '-' before the stream first came")
    func treeLineNext_KeepsItsValueWhileTheStreamIsAway() {
        let away = Stat(listeners: 0, counters: .init(), bytesOut: 0, skipped: 0, dropped: 0, refused: 0, context: nil,
                        next: nil, tree: nil, lastKnown: (8192, 91))
        #expect(StatusPage.treeLine(away).contains(" next=91 stream=- "), "\(StatusPage.treeLine(away))")
        let never = Stat(listeners: 0, counters: .init(), bytesOut: 0, skipped: 0, dropped: 0, refused: 0, context: nil, next: nil, tree: nil)
        #expect(StatusPage.treeLine(never).contains(" next=- stream=- "), "\(StatusPage.treeLine(never))")
    }
}
