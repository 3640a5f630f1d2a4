import Icy
import Testing

/// Hostile or broken peers get a typed error and bounded memory, never a crash.
struct BadInputTests {
    @Test func endlessLine_FailsOnceItPassesTheLineLimit() {
        var step = request(Array("GET /"))
        var fed = 5
        let chunk = [UInt8](repeating: UInt8(ascii: "a"), count: 1000)
        while case .more(let next) = step, fed < 1_000_000 {
            step = next(chunk)
            fed += chunk.count
        }
        guard case .failed(.lineTooLong(let limit)) = step else { Issue.record("expected lineTooLong, got \(step)"); return }
        #expect(limit == IcyLimits.maxLineBytes)
        #expect(fed <= IcyLimits.maxLineBytes + 1 + chunk.count)
    }

    @Test func lineOfExactlyTheLimit_IsAccepted_AndOneMore_IsNot() {
        let head = "GET /"
        let exact = head + String(repeating: "a", count: IcyLimits.maxLineBytes - head.count - " HTTP/1.0".count) + " HTTP/1.0"
        guard case .done = request(Array(exact + "\r\n\r\n")) else { Issue.record("a line of exactly the limit is fine"); return }
        let over = "GET /a" + exact.dropFirst(5)
        guard case .failed(.lineTooLong) = request(Array(over + "\r\n\r\n")) else { Issue.record("one byte over fails"); return }
    }

    @Test func tooManyHeaders_Fail() {
        let headers = (0...IcyLimits.maxHeaderCount).map { "X-\($0): y\r\n" }.joined()
        #expect(feed([Array("GET / HTTP/1.0\r\n" + headers + "\r\n")[...]], start: request)
            == .failed(.tooManyHeaders(limit: IcyLimits.maxHeaderCount)))
        let allowed = (1..<IcyLimits.maxHeaderCount).map { "X-\($0): y\r\n" }.joined()
        guard case .done(let request, _) = request(Array("GET / HTTP/1.0\r\n" + allowed + "\r\n")) else { Issue.record("99 headers are fine"); return }
        #expect(request.headers.count == IcyLimits.maxHeaderCount - 1)
    }

    @Test func headersOverTheTotalLimit_Fail() {
        let big = "X-Big: " + String(repeating: "b", count: 4000) + "\r\n"
        let text = "HTTP/1.0 200 OK\r\n" + String(repeating: big, count: 5) + "\r\n"
        #expect(feed([Array(text)[...]], start: { reply($0).asStatus }) == .failed(.headersTooLarge(limit: IcyLimits.maxHeaderBytes)))
    }

    @Test func randomBytes_NeverCrash_AndEndInAValueAnErrorOrAWait() {
        var rng = SplitMix64(seed: 99)
        for _ in 0..<3000 {
            let bytes = (0..<Int.random(in: 0...300, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let pieces = randomSplit(bytes, maxPiece: 50, using: &rng)
            _ = feed(pieces, start: request)
            _ = feed(pieces, start: { reply($0).asStatus })
            _ = feed(pieces, start: { segments(metaint: Int.random(in: 1...64, using: &rng))($0) })
        }
    }

    @Test func mutatedStreams_NeverCrash_AndKeepSegmentsWithinBounds() throws {
        var rng = SplitMix64(seed: 1234)
        let (bytes, _) = generatedStream(metaint: 64, count: 30, using: &rng)
        for _ in 0..<300 {
            var mutated = bytes
            for _ in 0..<Int.random(in: 1...8, using: &rng) {
                mutated[Int.random(in: 0..<mutated.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
            }
            do {
                let parsed = try parseStream(randomSplit(mutated, maxPiece: 500, using: &rng))
                for segment in parsed.segments {
                    #expect(segment.metadata.count <= IcyLimits.maxMetadataBytes)
                    #expect(segment.audioCount <= IcyLimits.metaintRange.upperBound)
                }
            } catch {
                #expect(!String(describing: error).isEmpty)
            }
        }
    }
}
