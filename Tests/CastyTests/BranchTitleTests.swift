import Icy
import Testing

@testable import Casty
@testable import CastyNet
@testable import CastyWire

/// What a branch's players are told of titles when its parent's stream changes under it.
struct BranchTitleTests {
    let loop = EventLoop.shared

    /// A parent that streams one stream until `restart` is called, and another from then on (the root restarted):
    /// `restart` closes the first stream's links, and `secondLinks` counts those opened to the second. Block `number`
    /// of stream 1 or 2 carries the title `Old Show` where `titled` says. (A link the branch opens again before the
    /// restart — a loaded run's — is the first stream's still: only `restart` starts the second.)
    private func restartingParent(
        titled: @escaping @Sendable (_ stream: Int, _ number: Int) -> Bool
    ) throws -> (parent: FakeUpstream, restart: @Sendable () async -> Void, secondLinks: Locked<Int>) {
        let stream = Locked(1)
        let firstLinks = Locked<[Connection]>([])
        let secondLinks = Locked(0)
        let parent = try FakeUpstream(on: loop) { connection, _ in
            let index = stream.value
            if index == 1 { firstLinks.update { $0.append(connection) } } else { secondLinks.update { $0 += 1 } }
            let id = index == 1 ? "5f3a09c4d2b871e1" : "0123456789abcdef"
            connection.write(Array(("HTTP/1.0 200 OK\r\nContent-Type: audio/mpeg\r\nicy-br: 128\r\nicy-metaint: 1000\r\n"
                + "X-Casty-Stream: \(id)\r\nX-Casty-Next: 0\r\nX-Casty-Path: 127.0.0.1:1\r\n\r\n").utf8))
            // The second stream's audio is not the first's: no branch finds what it delivered in it (``SegmentJoin``).
            streamICY(to: connection, metaint: 1000, count: .max, interval: .milliseconds(20), start: index == 1 ? 0 : 125) { number in
                let title = titled(index, number) ? "StreamTitle='Old Show';" : ""
                return try! metadataBlock(Array("\(title)CastySeq='\(number)';".utf8))
            }
        }
        let restart: @Sendable () async -> Void = { [loop] in
            stream.update { $0 = 2 }
            let open = firstLinks.value
            await loop.submit { for link in open { link.close() } }
        }
        return (parent, restart, secondLinks)
    }

    @Test("A branch whose parent starts a new stream without a title tells its players there is none, not the old stream's")
    func newStreamWithoutATitle_ClearsTheOldTitle() async throws {
        // The first stream has a title; the second (the root restarted, its source sends none) has none.
        let (parent, restart, secondLinks) = try restartingParent { stream, number in stream == 1 && number == 0 }
        var configuration = Branch.Configuration()
        configuration.backoff = .milliseconds(20)
        let branch = try Branch.serve(root: parent.url, address: .loopback(port: 0), eager: true, configuration: configuration)
        // A branch that has not heard its parent yet answers 503: a loaded run may ask before it has.
        let player = try #require(await TestPeer.player(of: branch.port.address, on: loop, request: "GET / HTTP/1.0\r\nIcy-MetaData: 1\r\n\r\n"))
        @Sendable func titles() -> [String] {
            let segments: [Segment] = ((try? player.parsed(segmentBytes: 1000)) ?? nil)?.segments ?? []
            return segments.compactMap { Metadata(parsing: $0.metadata).streamTitle }
        }
        #expect(await eventually(timeout: .seconds(15)) { titles().contains("Old Show") }, "\(titles())")
        // The first stream ends once its player has heard its title (on a timer, a loaded run once began too late).
        await restart()
        #expect(await eventually(timeout: .seconds(15)) { secondLinks.value >= 1 && titles().last == "" }, "\(titles())")
        branch.stop()
        await parent.close()
    }

    @Test("A branch whose restarted root tells the station's title a few segments into its new stream keeps the title meanwhile: its players are not told a blank one, nor its log")
    func restartedRootThatTellsItsTitleLate_DoesNotBlankTheTitle() async throws {
        let lines = Locked<[String]>([])
        // The root restarted: its proxy cut its first segments before its station's first metadata block came.
        let (parent, restart, secondLinks) = try restartingParent { stream, number in number == (stream == 1 ? 0 : 2) }
        var configuration = Branch.Configuration()
        configuration.backoff = .milliseconds(20)
        let branch = try Branch.serve(root: parent.url, address: .loopback(port: 0), eager: true, configuration: configuration,
                                      logger: EventLog { line in lines.update { $0.append(line) } })
        let player = try #require(await TestPeer.player(of: branch.port.address, on: loop, request: "GET / HTTP/1.0\r\nIcy-MetaData: 1\r\n\r\n"))
        @Sendable func titles() -> [String] {
            let segments: [Segment] = ((try? player.parsed(segmentBytes: 1000)) ?? nil)?.segments ?? []
            return segments.compactMap { Metadata(parsing: $0.metadata).streamTitle }
        }
        @Sendable func segments() -> Int { (((try? player.parsed(segmentBytes: 1000)) ?? nil)?.segments ?? []).count }
        #expect(await eventually(timeout: .seconds(15)) { titles().contains("Old Show") }, "\(titles())")
        await restart()
        #expect(await eventually(timeout: .seconds(15)) { secondLinks.value >= 1 })
        // Well past the new stream's title (its third segment), and past the grace a stream without one gets.
        let heard = segments()
        #expect(await eventually(timeout: .seconds(15)) { segments() >= heard + 50 })
        #expect(!titles().contains(""), "\(titles())")
        #expect(!lines.value.contains { $0.hasSuffix(": title: none") }, "\(lines.value)")
        branch.stop()
        await parent.close()
    }

    /// The segments a player of `distributor` gets across a restart of its tree's parent (``restartingParent(titled:)``,
    /// the new stream telling `Old Show` at its third segment), and whether they came held (``StreamSegment/titleHeld``),
    /// then as the stream's own.
    private func heldThenOwn(
        at distributor: Distributor, restart: @Sendable () async -> Void, secondLinks: Locked<Int>
    ) async -> (came: Bool, segments: [StreamSegment]) {
        let recorder = RecorderNode(loop: loop)
        distributor.send(.request(from: recorder, resume: nil))
        #expect(await recorder.wait(timeout: .seconds(15)) { $0.segments.contains { $0.title?.streamTitle == "Old Show" } })
        await restart()
        #expect(await eventually(timeout: .seconds(15)) { secondLinks.value >= 1 })
        // The new stream's first segments, before its title came, then those after it.
        let came = await recorder.wait(timeout: .seconds(15)) { record in
            guard let held = record.segments.firstIndex(where: \.titleHeld) else { return false }
            return record.segments[held...].contains { !$0.titleHeld && $0.ownTitle?.streamTitle == "Old Show" }
        }
        return (came, await recorder.record.segments)
    }

    @Test("A title a branch holds for its players while a new stream tells none is not the stream's own: its HLS segments and recordings get none, as its root's")
    func heldTitle_IsNoOwnTitle() async throws {
        // The new stream tells its title at its third segment: its first two are played with the old one, held.
        let (parent, restart, secondLinks) = try restartingParent { stream, number in number == (stream == 1 ? 0 : 2) }
        var configuration = Branch.Configuration()
        configuration.backoff = .milliseconds(20)
        let branch = try Branch.serve(root: parent.url, address: .loopback(port: 0), eager: true, configuration: configuration)
        let (came, segments) = await heldThenOwn(at: branch.distributor, restart: restart, secondLinks: secondLinks)
        #expect(came, "\(segments.suffix(10).map { ($0.number, $0.title?.streamTitle ?? "-", $0.titleHeld) })")
        let held = segments.filter(\.titleHeld)
        #expect(held.allSatisfy { $0.title?.streamTitle == "Old Show" && $0.ownTitle == nil },
                "the players hear the old title meanwhile; the stream's own is none")
        #expect(held.count <= Branch.titleGraceBytes / 1000, "held for the grace at most: \(held.count) segments")
        branch.stop()
        await parent.close()
    }

    @Test("A branch below a branch that holds a title for its players does not take it as the new stream's own, and is told it once the stream tells it")
    func aHeldTitle_IsNotHandedDownAsTheStreamsOwn() async throws {
        let (parent, restart, secondLinks) = try restartingParent { stream, number in number == (stream == 1 ? 0 : 2) }
        var configuration = Branch.Configuration()
        configuration.backoff = .milliseconds(20)
        let upper = try Branch.serve(root: parent.url, address: .loopback(port: 0), eager: true, configuration: configuration)
        let lower = try Branch.serve(root: StreamURL(host: "127.0.0.1", port: upper.port.address.port), address: .loopback(port: 0),
                                     eager: true, configuration: configuration)
        let (came, segments) = await heldThenOwn(at: lower.distributor, restart: restart, secondLinks: secondLinks)
        #expect(came, "held below too, then the stream's own: \(segments.suffix(12).map { ($0.number, $0.title?.streamTitle ?? "-", $0.titleHeld) })")
        #expect(segments.filter(\.titleHeld).allSatisfy { $0.ownTitle == nil })
        lower.stop()
        upper.stop()
        await parent.close()
    }

    @Test("A branch tells its parent's title changes in its log, as a proxy tells its station's: once each, a few per window")
    func titleChanges_AreLogged() async throws {
        let lines = Locked<[String]>([])
        let parent = try FakeUpstream(on: loop) { connection, _ in
            connection.write(Array(("HTTP/1.0 200 OK\r\nContent-Type: audio/mpeg\r\nicy-br: 128\r\nicy-metaint: 1000\r\n"
                + "X-Casty-Stream: 5f3a09c4d2b871e1\r\nX-Casty-Next: 0\r\nX-Casty-Path: 127.0.0.1:1\r\n\r\n").utf8))
            streamICY(to: connection, metaint: 1000, count: .max, interval: .milliseconds(20)) { number in
                // A new title every tenth block, up to the third.
                let title = number % 10 == 0 && number <= 20 ? "StreamTitle='Song \(number / 10)';" : ""
                return try! metadataBlock(Array("\(title)CastySeq='\(number)';".utf8))
            }
        }
        var configuration = Branch.Configuration()
        configuration.backoff = .milliseconds(20)
        let branch = try Branch.serve(root: parent.url, address: .loopback(port: 0), eager: true, configuration: configuration,
                                      logger: EventLog { line in lines.update { $0.append(line) } })
        @Sendable func told(_ title: String) -> Int { lines.value.filter { $0.hasPrefix("branch ") && $0.hasSuffix(": title: \(title)") }.count }
        #expect(await eventually(timeout: .seconds(15)) { told("Song 2") == 1 }, "\(lines.value)")
        #expect(told("Song 0") == 1 && told("Song 1") == 1, "\(lines.value)")
        branch.stop()
        await parent.close()
    }
}
