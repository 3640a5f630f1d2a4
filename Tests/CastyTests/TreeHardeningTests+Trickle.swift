@testable import CastyNet
@testable import CastyWire
import Icy
import Testing

@testable import Casty

/// A branch whose link to its parent goes silent: after a trickle (the link too slow for the stream, falling behind
/// the root), the silence is the link's and no healthy parent is named lost; after a link that kept pace, the parent
/// is named lost, and the branch's own log says so.
extension TreeHardeningTests {
    /// A root whose stream still comes (its `/tree` says `quiet=0`), sending every branch to a parent that streams twelve
    /// numbered segments of 4000 bytes (0.25 s at 128 kbit/s) on its first link, then nothing, its link open and its
    /// `/tree` answering. `trickles`: the segments come at 10 kB/s, five eighths of what they play, each stamped with
    /// the time it would have been cut at the root (`CastyTime`), so the link falls behind by 0.15 s a segment; else
    /// each comes at once, every 0.25 s, stamped with the time it is sent.
    func rootAndSilentParent(trickles: Bool) throws -> (root: FakeUpstream, parent: FakeUpstream) {
        let links = Locked(0)
        let treeLine = { @Sendable (connection: Connection, line: String) in
            connection.write(Array("HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: \(line.utf8.count)\r\n\r\n\(line)".utf8))
            connection.closeWhenSent(timeout: .seconds(1))
        }
        let parent = try FakeUpstream(on: .shared) { connection, request in
            if request.path.hasPrefix("/tree") { return treeLine(connection, "address=127.0.0.1:1 depth=1 children=-\n") }
            links.update { $0 += 1 }
            connection.write(Array(("HTTP/1.0 200 OK\r\nContent-Type: audio/mpeg\r\nicy-br: 128\r\nicy-metaint: 4000\r\n"
                + "X-Casty-Stream: 5f3a09c4d2b871e1\r\nX-Casty-Next: 0\r\nX-Casty-Path: 127.0.0.1:1\r\n\r\n").utf8))
            guard links.value == 1 else { return }
            let block = { @Sendable (number: Int, time: Int64) in try! metadataBlock(Array("CastySeq='\(number)';CastyTime='\(time)';".utf8)) }
            guard trickles else {
                streamICY(to: connection, metaint: 4000, count: 12, interval: .milliseconds(250)) { block($0, wallClockMilliseconds()) }
                return
            }
            let start = wallClockMilliseconds()
            var bytes: [UInt8] = []
            for number in 0..<12 { bytes += [UInt8](repeating: 0, count: 4000) + block(number, start + Int64(number) * 250) }
            Self.trickle(bytes[...], to: connection)
        }
        let root = try FakeUpstream(on: .shared) { connection, request in
            if request.path.hasPrefix("/tree") {
                return treeLine(connection, "address=127.0.0.1:2 depth=0 parent=- children=127.0.0.1:1:1 quiet=0 whole=0\n")
            }
            connection.write(Array("HTTP/1.0 302 Found\r\nLocation: http://\(parent.url.authority)/\r\nContent-Length: 0\r\n\r\n".utf8))
            connection.closeWhenSent(timeout: .seconds(1))
        }
        return (root, parent)
    }

    /// Writes `bytes` to `connection` 500 at a time, every 50 ms (10 kB/s), then nothing, the connection left open.
    private static func trickle(_ bytes: ArraySlice<UInt8>, to connection: Connection) {
        guard !bytes.isEmpty, !connection.isClosed else { return }
        connection.write(Array(bytes.prefix(500)))
        connection.loop.schedule(after: .milliseconds(50)) { trickle(bytes.dropFirst(500), to: connection) }
    }

    /// A branch under ``rootAndSilentParent(trickles:)``: the root's second stream request (the branch asking again
    /// once its link went silent), the branch's log, and the parent's address.
    private func askingAgain(afterALinkThat trickles: Bool) async throws -> (again: Request, log: [String], parent: String) {
        let (root, parent) = try rootAndSilentParent(trickles: trickles)
        let log = LogLines()
        var configuration = Branch.Configuration()
        configuration.backoff = .milliseconds(20)
        let serving = try Branch.serve(root: root.url, address: .loopback(port: 0), eager: true, configuration: configuration, logger: log.logger)
        let asks = { @Sendable in root.requests.value.filter { !$0.path.hasPrefix("/tree") } }
        #expect(await eventually(timeout: .seconds(20)) { asks().count >= 2 }, "\(log.value)")
        stop(serving)
        let again = try #require(asks().dropFirst().first)
        await root.close()
        await parent.close()
        return (again, log.value, parent.url.authority)
    }

    @Test("A branch whose link trickled (falling behind the root, too slow for the stream) and then went silent asks the root again without naming its healthy parent lost, and says why")
    func aSilenceAfterATrickle_NamesNoParentLost() async throws {
        let (again, log, parent) = try await askingAgain(afterALinkThat: true)
        #expect(again.headers["X-Casty-Lost"] == nil, "a healthy parent named lost: \(log)")
        #expect(log.contains { $0.contains("its link to its parent \(parent) gave out") && $0.contains("without naming it lost") }, "\(log)")
        #expect(!log.contains { $0.contains("names its parent") }, "\(log)")
    }

    @Test("A branch whose link kept pace and then went silent, the root's stream still coming, names its parent lost, and its own log says so in one line")
    func aSilenceAfterALinkThatKeptPace_NamesTheParentLost_AndSaysSo() async throws {
        let (again, log, parent) = try await askingAgain(afterALinkThat: false)
        #expect(again.headers["X-Casty-Lost"] == parent, "\(log)")
        let said = log.filter { $0.contains("names its parent \(parent) lost to the root") }
        #expect(said.count == 1 && said[0].contains("no data for"), "\(log)")
    }
}
