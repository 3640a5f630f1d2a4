import Icy
import Testing

/// The README's `import Icy` example, kept compiling and true.
struct ReadmeExampleTests {
    @Test func readmeExample_WorksAsWritten() throws {
        // Parse a reply that arrives in two pieces, then the segments after it.
        let step = reply(Array("ICY 200 OK\r\nicy-metaint: 5\r\n\r\n123".utf8))
        guard case .done(.ok(_, let headers, let data), let rest) = step else { Issue.record("reply"); return }
        #expect(headers["icy-metaint"] == "5")

        var segments = StreamParser(data)
        var seen: [Segment] = []
        try segments.feed(rest) { seen.append($0) }
        #expect(seen.isEmpty)
        try segments.feed(Array("45\u{1}StreamTitle='Hi';\0\0".utf8)) { seen.append($0) }
        #expect(seen.first?.audio.map(Array.init) == [Array("123".utf8), Array("45".utf8)])
        #expect(seen.first.map { Metadata(parsing: $0.metadata).streamTitle } == "Hi")

        let audioBytes = [UInt8](repeating: 0, count: 8192)
        var wire: [UInt8] = []
        sendReply(["icy-name": "Casty FM", "icy-metaint": "8192"], status: .icyOK) { wire += $0 }
        try sendData(Segment(audio: audioBytes, metadata: Metadata(streamTitle: "Hi").bytes)) { wire += $0 }
        let (k, padded) = try padding(Array("StreamTitle='Hi';".utf8))
        #expect(k == 2)
        #expect(padded.count == 32)
        #expect(wire.count == "ICY 200 OK\r\nicy-name: Casty FM\r\nicy-metaint: 8192\r\n\r\n".utf8.count + 8192 + 1 + 32)
    }
}
