@testable import CastyNet
@testable import CastyWire
import Icy
import Testing

@testable import Casty

/// A parent that closes a branch's link in order: one that dropped it, alive (its link too slow for the stream), is
/// not named lost to the tree; one that died is.
extension TreeHardeningTests {
    /// A root that sends every branch to a parent, which streams numbered segments on its first link for a moment and
    /// closes it in order; `dies`: its port closes with it, else it stays and answers its `/tree`; `repeatedly`: it
    /// closes every link so, a tenth of a second after it opened (a parent that drops the branch again and again).
    func rootAndClosingParent(dies: Bool, repeatedly: Bool = false) throws -> (root: FakeUpstream, parent: FakeUpstream) {
        let links = Locked(0)
        let made = Locked<FakeUpstream?>(nil)
        let parent = try FakeUpstream(on: .shared) { connection, request in
            if request.path.hasPrefix("/tree") {
                let line = "address=127.0.0.1:\(made.value?.listener.localAddress.port ?? 0) depth=1 children=-\n"
                connection.write(Array("HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: \(line.utf8.count)\r\n\r\n\(line)".utf8))
                return connection.closeWhenSent(timeout: .seconds(1))
            }
            links.update { $0 += 1 }
            connection.write(Array(("HTTP/1.0 200 OK\r\nContent-Type: audio/mpeg\r\nicy-br: 128\r\nicy-metaint: 1000\r\n"
                + "X-Casty-Stream: 5f3a09c4d2b871e1\r\nX-Casty-Next: 0\r\nX-Casty-Path: 127.0.0.1:1\r\n\r\n").utf8))
            streamICY(to: connection, metaint: 1000, interval: .milliseconds(20)) { number in
                try! metadataBlock(Array("CastySeq='\(number)';".utf8))
            }
            guard repeatedly || links.value == 1 else { return }
            connection.loop.schedule(after: .milliseconds(repeatedly ? 100 : 300)) {
                if dies { made.value?.listener.close() }
                connection.close()
            }
        }
        made.update { $0 = parent }
        let root = try FakeUpstream(on: .shared) { connection, _ in
            connection.write(Array("HTTP/1.0 302 Found\r\nLocation: http://\(parent.url.authority)/\r\nContent-Length: 0\r\n\r\n".utf8))
            connection.closeWhenSent(timeout: .seconds(1))
        }
        return (root, parent)
    }

    /// A branch under ``rootAndClosingParent(dies:)``: the root's second request (the branch asking again after its
    /// parent closed the link), the branch's log, and the parent's address.
    private func askingAgain(afterAParentThat dies: Bool) async throws -> (again: Request, log: [String], parent: String) {
        let (root, parent) = try rootAndClosingParent(dies: dies)
        let log = LogLines()
        var configuration = Branch.Configuration()
        configuration.backoff = .milliseconds(20)
        let serving = try Branch.serve(root: root.url, address: .loopback(port: 0), eager: true, configuration: configuration, logger: log.logger)
        #expect(await eventually(timeout: .seconds(10)) { root.requests.value.count >= 2 }, "\(log.value)")
        stop(serving)
        let again = try #require(root.requests.value.dropFirst().first)
        await root.close()
        await parent.close()
        return (again, log.value, parent.url.authority)
    }

    @Test("A branch its parent drops (a clean close, the parent alive: its /tree answers) asks the root again without naming the parent lost, and says it was dropped")
    func aBranchDroppedByALiveParent_DoesNotNameItLost() async throws {
        let (again, log, parent) = try await askingAgain(afterAParentThat: false)
        #expect(again.headers["X-Casty-Lost"] == nil, "a healthy parent named lost: \(again.headers["X-Casty-Lost"] ?? "")")
        #expect(log.contains { $0.contains("dropped by its parent \(parent)") }, "\(log)")
    }

    @Test("A branch whose parent closes the link and is gone (its port closed, as a killed parent's) still names it lost when it asks the root again")
    func aBranchWhoseParentClosedAndDied_NamesItLost() async throws {
        let (again, log, parent) = try await askingAgain(afterAParentThat: true)
        #expect(again.headers["X-Casty-Lost"] == parent, "\(log)")
        #expect(!log.contains { $0.contains("dropped by its parent") }, "\(log)")
    }

    @Test("A branch a live parent drops again and again says so in a line each for the first few drops, then sums the drops up every 10 s, as it sums its link's losses")
    func aBranchDroppedAgainAndAgain_SumsTheDropsUp() async throws {
        let (root, parent) = try rootAndClosingParent(dies: false, repeatedly: true)
        let log = LogLines()
        var configuration = Branch.Configuration()
        configuration.backoff = .milliseconds(20)
        let serving = try Branch.serve(root: root.url, address: .loopback(port: 0), eager: true, configuration: configuration, logger: log.logger)
        // The root is asked again after each drop: a dozen drops.
        #expect(await eventually(timeout: .seconds(20)) { root.requests.value.count >= 13 }, "\(log.value)")
        stop(serving)
        await root.close()
        await parent.close()
        let dropped = log.value.filter { $0.contains("dropped by its parent \(parent.url.authority)") }
        #expect(dropped.count <= Branch.toldAttempts + 2, "a line for each drop: \(dropped.count) of them")
        #expect(dropped.contains { $0.contains("since the last line, each link lasting under 10 s (summed up every 10 s)") }, "\(dropped)")
        #expect(dropped.prefix(Branch.toldAttempts).allSatisfy { !$0.contains("summed up") }, "the first drops are told one by one")
    }
}
