@testable import CastyNet
import Testing

@testable import Casty

/// A branch's new players start on a frame, as the root's do: the root says on the tree link where each
/// segment's first frame starts (`CastyEntry`).
extension TreeHardeningTests {
    /// Where a player's audio (after the reply head) starts: on a frame header, or on an ID3v2 tag that ends on one.
    static func startsOnAFrame(_ audio: [UInt8]) -> Bool {
        var start = 0
        if audio.count >= 10, audio[0] == 0x49, audio[1] == 0x44, audio[2] == 0x33 {  // "ID3"
            start = 10 + audio[6..<10].reduce(0) { $0 << 7 | Int($1 & 0x7F) }
        }
        return audio.count > start + 1 && audio[start] == 0xFF && audio[start + 1] & 0xE0 == 0xE0
    }

    @Test func aBranchsNewPlayers_StartOnAFrame() async throws {
        let source = station()
        await source.start()
        let root = try Root.start(source: source, address: .loopback(port: 0))
        let serving = try branch(root)
        #expect(await eventually(timeout: .seconds(10)) { await root.distributor.stat().tree?.children.count == 1 })
        // Several players, at different moments: a segment of 1600 bytes mostly begins inside a frame.
        var starts: [Bool] = []
        for _ in 0..<4 {
            let player = try await TestPeer.connect(to: serving.port.address, on: .shared)
            await player.send("GET / HTTP/1.0\r\n\r\n")
            #expect(await player.waitFor(timeout: .seconds(10)) { $0.count > 3000 })
            let bytes = player.received.value
            let end = try #require(bytes.indices.dropLast(3).first { bytes[$0..<$0 + 4].elementsEqual([13, 10, 13, 10]) })
            starts.append(Self.startsOnAFrame(Array(bytes[(end + 4)...])))
            await player.close()
            try await Task.sleep(for: .milliseconds(130))
        }
        #expect(starts.allSatisfy { $0 }, "\(starts)")
        source.stop()
        stop(serving)
        root.port.close()
    }
}
