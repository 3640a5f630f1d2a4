@testable import CastyNet
import CastyWire
import Testing

@testable import Casty

/// A closed tree's key rotated while the nodes run (what `casty-cli` does on SIGHUP, reading `--tree-key-file`
/// again): the new key is taken at once, sent and admitted, and the key it replaced is still admitted until the
/// next change, so that the branches still holding it keep their places while each is given the new one.
@Suite(.serialized)
struct TreeKeyRotationTests {
    @Test func aRotatedKey_IsSentAndAdmitted_AndTheOneItReplaced_UntilTheNextChange() throws {
        let key = try #require(TreeKey("alpha-key-1"))
        #expect(!key.rotate(to: try #require(TreeKey(" alpha-key-1 \t"))), "the same key read again changes nothing")
        #expect(!key.admits("bravo-key-2"))

        #expect(key.rotate(to: try #require(TreeKey("bravo-key-2"))))
        #expect(key.headerValue == "bravo-key-2", "sent from the next request on")
        #expect(key.admits("bravo-key-2") && key.admits("alpha-key-1"), "the new key, and the one it replaced")
        #expect(!key.admits("charlie-key-3") && !key.admits(nil) && !key.admits(""))
        #expect(!key.rotate(to: try #require(TreeKey("bravo-key-2"))))
        #expect(key.admits("alpha-key-1"), "a reading that changes nothing keeps the previous key admitted")

        #expect(key.rotate(to: try #require(TreeKey("charlie-key-3"))))
        #expect(key.admits("charlie-key-3") && key.admits("bravo-key-2"))
        #expect(!key.admits("alpha-key-1"), "the key two changes back is no longer admitted")
        #expect(!key.description.contains("key-"), "neither key is ever printed")
    }

    @Test func aRootWhoseKeyRotated_AdmitsTheNewKeyAndThePreviousOne_AndRefusesAThird() async throws {
        let source = try Station.builtIn(titles: ["Rotation"], titleInterval: .seconds(1), segmentBytes: 1600)
        await source.start()
        let lines = LogLines()
        let key = try #require(TreeKey("alpha-key-1"))
        let root = try Root.start(source: source, address: .loopback(port: 0), fanout: 8, treeKey: key, logger: lines.logger)
        defer { source.stop(); root.port.close() }
        #expect(try await statusLine(asking: root, key: "bravo-key-2", from: 8001).hasPrefix("HTTP/1.0 403"), "before the rotation")

        // What a SIGHUP does with the key file read again: the key the root's ports share is rotated.
        key.rotate(to: try #require(TreeKey("bravo-key-2")))
        #expect(try await statusLine(asking: root, key: "bravo-key-2", from: 8002).hasPrefix("HTTP/1.0 200"), "the new key")
        #expect(try await statusLine(asking: root, key: "alpha-key-1", from: 8003).hasPrefix("HTTP/1.0 200"), "the previous key")
        #expect(try await statusLine(asking: root, key: "charlie-key-3", from: 8004).hasPrefix("HTTP/1.0 403"), "a third key")
        #expect(try await statusLine(asking: root, key: nil, from: 8005).hasPrefix("HTTP/1.0 403"), "no key")

        key.rotate(to: try #require(TreeKey("charlie-key-3")))
        #expect(try await statusLine(asking: root, key: "charlie-key-3", from: 8006).hasPrefix("HTTP/1.0 200"))
        #expect(try await statusLine(asking: root, key: "bravo-key-2", from: 8007).hasPrefix("HTTP/1.0 200"))
        #expect(try await statusLine(asking: root, key: "alpha-key-1", from: 8008).hasPrefix("HTTP/1.0 403"), "two changes back")
        #expect(!lines.value.contains { $0.contains("-key-") }, "no key is ever logged")
    }

    @Test func aBranchWhoseKeyRotated_SendsTheNewKeyFromItsNextRequest() async throws {
        let source = try Station.builtIn(titles: ["Rotation"], titleInterval: .seconds(1), segmentBytes: 1600)
        await source.start()
        let root = try Root.start(source: source, address: .loopback(port: 0), treeKey: TreeKey("bravo-key-2"))
        let key = try #require(TreeKey("alpha-key-1"))
        let serving = try Branch.serve(
            root: StreamURL(host: "127.0.0.1", port: root.port.address.port), address: .loopback(port: 0), treeKey: key)
        defer { serving.stop(); source.stop(); root.port.close() }
        await #expect(throws: CastyError.self, "the root refuses the old key") { try await serving.branch.start() }

        key.rotate(to: try #require(TreeKey("bravo-key-2")))
        try await serving.branch.start()
        #expect(await eventually(timeout: .seconds(10)) { await serving.branch.state == .streaming })
        #expect(await root.distributor.stat().tree?.children.count == 1)
    }

    /// The status line a branch request for `root`'s stream is answered with, sent with `key` (none if `nil`) by a
    /// branch that says it serves at 10.9.9.9:`port`.
    private func statusLine(asking root: Root, key: String?, from port: Int) async throws -> String {
        let peer = try await TestPeer.connect(to: root.port.address, on: .shared)
        await peer.send("GET / HTTP/1.0\r\nX-Casty-Branch: 10.9.9.9:\(port)\r\n" + (key.map { "X-Casty-Key: \($0)\r\n" } ?? "") + "\r\n")
        _ = await peer.waitFor(timeout: .seconds(10)) { $0.contains(UInt8(ascii: "\n")) }
        await peer.close()
        return String(peer.text.prefix { $0 != "\r" && $0 != "\n" })
    }
}
