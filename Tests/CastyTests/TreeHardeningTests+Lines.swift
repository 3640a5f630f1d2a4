@testable import CastyNet
@testable import CastyWire
import Icy
import Testing

@testable import Casty

/// What a branch's lines say: what it knows, under its own name.
extension TreeHardeningTests {
    /// A root that is the branch's parent: it streams numbered segments of 4000 bytes every 0.25 s (`numbers`, then
    /// nothing, its link open); once `hangs` is set it answers no request (its `/tree`, a stream), as a root cut off.
    func rootStreaming(_ numbers: [Int], hangs: Locked<Bool> = Locked(false)) throws -> FakeUpstream {
        try FakeUpstream(on: .shared) { connection, request in
            guard !hangs.value, !request.path.hasPrefix("/tree") else { return }
            connection.write(Array(("HTTP/1.0 200 OK\r\nContent-Type: audio/mpeg\r\nicy-br: 128\r\nicy-metaint: 4000\r\n"
                + "X-Casty-Stream: 5f3a09c4d2b871e1\r\nX-Casty-Next: \(numbers[0])\r\nX-Casty-Path: 127.0.0.1:1\r\n\r\n").utf8))
            streamICY(to: connection, metaint: 4000, count: numbers.count, interval: .milliseconds(250)) { index in
                if index == numbers.count - 1 { hangs.update { $0 = true } }
                return try! metadataBlock(Array("CastySeq='\(numbers[index])';CastyTime='\(wallClockMilliseconds())';".utf8))
            }
        }
    }

    @Test("A branch cut off from the tree (its parent silent, its root answering nothing) says it is cut off, not that the stream ended upstream")
    func aBranchCutOff_SaysSo_NotThatTheStreamEnded() async throws {
        let root = try rootStreaming(Array(0..<6))
        let log = LogLines()
        var configuration = Branch.Configuration()
        configuration.backoff = .milliseconds(20)
        configuration.connectTimeout = .milliseconds(300)
        let serving = try Branch.serve(root: root.url, address: .loopback(port: 0), eager: true, configuration: configuration, logger: log.logger)
        let address = serving.port.address.description
        let said = "branch \(address): cut off from the tree: no parent for 3.0 s, and the root \(root.url.authority) does not answer:"
            + " newcomers here wait for the stream to come back"
        #expect(await eventually(timeout: .seconds(20)) { log.value.contains(said) }, "\(log.value)")
        #expect(!log.value.contains { $0.contains("ended upstream") }, "\(log.value)")
        stop(serving)
        await root.close()
    }

    @Test("A branch's distributor names the branch in its lines, as the branch's own lines do: a gap is the branch's")
    func aBranchsGapLine_NamesTheBranch() async throws {
        let root = try rootStreaming(Array(0..<8) + Array(20..<30))
        let log = LogLines()
        var configuration = Branch.Configuration()
        configuration.backoff = .milliseconds(20)
        let serving = try Branch.serve(root: root.url, address: .loopback(port: 0), eager: true, configuration: configuration, logger: log.logger)
        // A gap is told where someone could hear it: a player listens.
        let player = try await TestPeer.connect(to: serving.port.address, on: .shared)
        await player.send("GET / HTTP/1.0\r\n\r\n")
        #expect(await eventually(timeout: .seconds(20)) { log.value.contains { $0.contains("distributor: gap:") } }, "\(log.value)")
        let gap = log.value.filter { $0.contains("distributor: gap:") }
        #expect(gap.allSatisfy { $0.hasPrefix("branch \(serving.port.address.description): distributor: gap: received segment 20, expected 8") },
                "\(gap)")
        await player.close()
        stop(serving)
        await root.close()
    }
}
