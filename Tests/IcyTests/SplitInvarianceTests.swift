import Icy
import Testing

/// However the network cuts the bytes, the parsed values are the same.
struct SplitInvarianceTests {
    @Test(arguments: [1, 3, 17, 1000, 70_000])
    func streamSplitAnywhere_ParsesToTheSameSegments(maxPiece: Int) throws {
        var rng = SplitMix64(seed: UInt64(maxPiece))
        for metaint in [1, 7, 16, 333] {
            let (bytes, expected) = generatedStream(metaint: metaint, count: 24, using: &rng)
            let whole = try parseStream([bytes[...]])
            #expect(whole.segments == expected)
            for _ in 0..<8 {
                let parsed = try parseStream(randomSplit(bytes, maxPiece: maxPiece, using: &rng))
                #expect(parsed.segments == expected)
                #expect(parsed.headers == whole.headers)
            }
        }
    }

    @Test func requestSplitAnywhere_ParsesToTheSameRequest() {
        var rng = SplitMix64(seed: 11)
        let bytes = Array("GET /stream.mp3 HTTP/1.1\r\nHost: localhost:8000\nIcy-MetaData: 1\r\nUser-Agent: VLC/3.0.18 LibVLC/3.0.18\r\n\r\nextra")
        let whole = feed([bytes[...]], start: request)
        guard case .done = whole else { Issue.record("whole request must parse"); return }
        for maxPiece in [1, 2, 5, 40] {
            for _ in 0..<50 {
                #expect(feed(randomSplit(bytes, maxPiece: maxPiece, using: &rng), start: request) == whole)
            }
        }
    }

    @Test func errorsSplitAnywhere_AreTheSameErrors() {
        var rng = SplitMix64(seed: 5)
        for text in ["GET / HTTP/3\r\n\r\n", "HTTP/1.0 404 Not Found\r\n\r\n", "ICY 200 OK\r\nicy-metaint: x\r\n\r\n"] {
            let bytes = Array(text)
            let whole = feed([bytes[...]], start: { reply($0).asStatus })
            let wholeRequest = feed([bytes[...]], start: request)
            for _ in 0..<30 {
                let pieces = randomSplit(bytes, maxPiece: 3, using: &rng)
                #expect(feed(pieces, start: { reply($0).asStatus }) == whole)
                #expect(feed(pieces, start: request) == wholeRequest)
            }
        }
    }
}
