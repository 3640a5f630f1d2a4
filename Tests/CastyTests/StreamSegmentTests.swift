import Icy
import Testing

@testable import Casty

/// A segment's wire forms: what a player and a tree link read after its audio.
struct StreamSegmentTests {
    @Test("A station's title near the ICY maximum is cut to fit beside a long path on a tree link, never a crash")
    func titleNearTheMaximum_IsCutToFitBesideALongPath() throws {
        let path = (0..<46).map { "10.204.\($0).250:24100" }  // about 1,000 bytes, the most a link announces
        let title = Metadata(streamTitle: String(repeating: "Z", count: 3990), streamURL: "http://station.example/")
        let segment = StreamSegment(
            number: 1_234_567, time: 1_765_000_000_000, audio: [1, 2, 3], title: title, titleVersion: 1, titleChanged: true,
            path: path, entryOffset: 2)
        let block = segment.numbered.dropFirst(3)
        #expect(Int(block.first ?? 0) * 16 == block.count - 1, "one whole block: its length byte, then 16·k bytes")
        let read = Metadata(parsing: block.dropFirst().prefix { $0 != 0 })
        #expect(read[StreamSegment.sequenceKey] == "1234567")
        #expect(read[StreamSegment.pathKey] == path.joined(separator: ","))
        #expect(read[StreamSegment.entryKey] == "2")
        let told = try #require(read.streamTitle)
        #expect(told.count > 2000 && told.allSatisfy { $0 == "Z" }, "the title is cut, not dropped: \(told.count) characters")
        #expect(Metadata(parsing: segment.titleBlock.dropFirst().prefix { $0 != 0 }) == title, "a player's block, without the path, holds it whole")
    }
}
