@testable import CastyNet
@testable import CastyWire
import Icy
import Testing

@testable import Casty

/// A branch link that lags: its parent never skips a segment on it — a segment skipped there would be missing in the
/// branch's whole subtree —; it queues them, or drops the link, and the branch resumes from the ring.
@Suite(.serialized)
struct TreeLinkLagTests {
    /// Segments of 0.25 s: 4000 bytes of the built-in tone at 128 kbit/s (16 kB/s); the ring holds 8 s.
    static let segmentBytes = 4000

    func root(branchMaxBehind: Duration, logger: EventLog = .silent) async throws -> (Station, Root) {
        let source = try Station.builtIn(titles: ["Lag"], titleInterval: .seconds(1), segmentBytes: Self.segmentBytes)
        await source.start()
        var options = ClientOptions()
        options.branchMaxBehind = branchMaxBehind
        options.sendBuffer = 4096  // so that a link that stops reading is behind within a segment or two
        return (source, try Root.start(source: source, address: .loopback(port: 0), options: options, logger: logger))
    }

    /// A branch's link, as its parent serves it: numbered segments; it reads only once told to.
    func link(to root: Root, resume: Int? = nil) async throws -> TestPeer {
        let peer = try await TestPeer.connect(to: root.port.address, on: .shared, reading: false, receiveBuffer: 4096)
        await peer.send("GET / HTTP/1.0\r\nX-Casty-Branch: 127.0.0.1:9\r\n" + (resume.map { "X-Casty-Resume: \($0)\r\n" } ?? "") + "\r\n")
        return peer
    }

    /// The numbers of the whole segments `peer` received (`CastySeq`); none before its reply's head.
    func numbers(_ peer: TestPeer) throws -> [Int] {
        guard let parsed = try peer.parsed(segmentBytes: Self.segmentBytes) else { return [] }
        return parsed.segments.compactMap {
            Metadata(parsing: $0.metadata)[StreamSegment.sequenceKey].flatMap { Int($0) }
        }
    }

    @Test("A branch link that stops reading for a while, within its patience, gets every segment in order once it reads again: none skipped")
    func aLinkThatLags_WithinItsPatience_MissesNoSegment() async throws {
        let (source, root) = try await root(branchMaxBehind: .seconds(60))
        #expect(await eventually { await root.distributor.stat().next ?? 0 >= 4 })
        let peer = try await link(to: root)
        // Five seconds of audio (80 kB) while it reads nothing: far more than the sockets' buffers hold.
        try await Task.sleep(for: .seconds(5))
        await peer.startReading()
        #expect(await eventually(timeout: .seconds(20)) { (try? self.numbers(peer).count) ?? 0 >= 40 })
        let got = try numbers(peer)
        let first = try #require(got.first)
        #expect(got == Array(first..<first + got.count), "segments received: \(got)")
        #expect(await root.distributor.stat().skipped == 0)
        await peer.close()
        source.stop()
        root.port.close()
    }

    @Test("A branch link behind for longer than its patience is dropped, not skipped, in one line naming it and why; its resume is replayed from the ring with no gap")
    func aLinkBehindPastItsPatience_IsDropped_AndItsResumeReplaysTheRing() async throws {
        let log = LogLines()
        let (source, root) = try await root(branchMaxBehind: .milliseconds(500), logger: log.logger)
        #expect(await eventually { await root.distributor.stat().next ?? 0 >= 4 })
        let peer = try await link(to: root)
        let dropped = "branch 127.0.0.1:9 from "
        #expect(await eventually(timeout: .seconds(20)) {
            log.value.contains { $0.contains(dropped) && $0.contains("dropped: behind for") && $0.contains("a branch link skips none") }
        }, "\(log.value)")
        #expect(log.value.contains { $0.contains(dropped) && $0.contains("0 skipped") }, "\(log.value)")
        await peer.startReading()
        #expect(await eventually(timeout: .seconds(10)) { peer.closed.value })
        let before = try numbers(peer)
        let last = try #require(before.last)
        #expect(before == Array(before[0]...last), "segments before the drop: \(before)")
        // It re-attaches where it was: the ring still has what it missed.
        let again = try await link(to: root, resume: last + 1)
        await again.startReading()
        #expect(await eventually(timeout: .seconds(10)) { (try? self.numbers(again).count) ?? 0 >= 5 })
        #expect(try numbers(again).first == last + 1)
        await again.close()
        source.stop()
        root.port.close()
    }
}
