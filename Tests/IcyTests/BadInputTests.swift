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

    @Test func maximumLengthLine_WhoseCRArrivesOneReadBeforeItsLF_IsAccepted() {
        let head = "GET /"
        let line = head + String(repeating: "a", count: IcyLimits.maxLineBytes - head.count - " HTTP/1.0".count) + " HTTP/1.0"
        #expect(line.utf8.count == IcyLimits.maxLineBytes)
        guard case .more(let next) = request(Array(line + "\r")) else { Issue.record("the line waits for its LF"); return }
        guard case .done(let parsed, let rest) = next(Array("\n\r\nafter")) else { Issue.record("then it is done"); return }
        #expect(parsed.path.utf8.count == IcyLimits.maxLineBytes - "GET ".count - " HTTP/1.0".count)
        #expect(Array(rest) == Array("after"))
        // One byte more than the limit, before the CR, is refused as soon as it is seen.
        #expect(feed([Array("a" + line)[...], Array("\r")[...]], start: request) == .failed(.lineTooLong(limit: IcyLimits.maxLineBytes)))
    }

    @Test func headersOfExactly16KiB_AreAccepted_AndOneByteMore_IsNot() {
        // Header lines count without their line endings: 8192 + 8190 + 2 = 16384 bytes.
        let first = "X-A: " + String(repeating: "a", count: IcyLimits.maxLineBytes - 5)
        let second = "X-B: " + String(repeating: "b", count: IcyLimits.maxLineBytes - 7)
        #expect(first.utf8.count + second.utf8.count + "c:".utf8.count == IcyLimits.maxHeaderBytes)
        let exact = "ICY 200 OK\r\n\(first)\r\n\(second)\r\nc:\r\n\r\n"
        #expect(feed([Array(exact)[...]], start: { reply($0).asStatus }) == .done(.icyOK, rest: []))
        let over = "ICY 200 OK\r\n\(first)\r\n\(second)\r\nc:d\r\n\r\n"
        #expect(feed([Array(over)[...]], start: { reply($0).asStatus }) == .failed(.headersTooLarge(limit: IcyLimits.maxHeaderBytes)))
    }

    @Test func headersOverTheTotalLimit_Fail() {
        let big = "X-Big: " + String(repeating: "b", count: 4000) + "\r\n"
        let text = "HTTP/1.0 200 OK\r\n" + String(repeating: big, count: 5) + "\r\n"
        #expect(feed([Array(text)[...]], start: { reply($0).asStatus }) == .failed(.headersTooLarge(limit: IcyLimits.maxHeaderBytes)))
    }

    @Test func randomBytes_NeverCrash_AndEndTheSameHoweverTheyAreSplit() throws {
        var rng = SplitMix64(seed: 99)
        for _ in 0..<3000 {
            let bytes = (0..<Int.random(in: 0...300, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let pieces = randomSplit(bytes, maxPiece: 50, using: &rng)
            #expect(feed(pieces, start: request) == feed([bytes[...]], start: request))
            #expect(feed(pieces, start: { reply($0).asStatus }) == feed([bytes[...]], start: { reply($0).asStatus }))
            let metaint = Int.random(in: 1...64, using: &rng)
            switch feed(pieces, start: { segments(metaint: metaint)($0) }) {
            case .done(let segment, let rest):
                // A segment is `metaint` audio bytes and one block; the rest is exactly what came after them.
                let k = Int(try #require(segment.lengthByte))
                #expect(k == Int(bytes[metaint]))
                #expect(segment.audioBytes == Array(bytes.prefix(metaint)))
                #expect(segment.metadata.count <= 16 * k)
                let blockBytes = if case .lengthLied(_, let actual) = segment.fault { actual } else { 16 * k }
                #expect(rest.count == bytes.count - metaint - 1 - blockBytes)
            case .more:
                // Waiting means the block its length byte announced is not complete yet.
                #expect(bytes.count <= metaint || bytes.count < metaint + 1 + 16 * Int(bytes[metaint]))
            case .failed(let error):
                Issue.record("segments never fail, got \(error)")
            }
        }
    }

    @Test func mutatedStreams_NeverCrash_AndKeepTheFraming() throws {
        var rng = SplitMix64(seed: 1234)
        let (bytes, expected) = generatedStream(metaint: 64, count: 30, using: &rng)
        let headLength = bytes.count - expected.reduce(0) { $0 + $1.audioCount + (try! metadataBlock($1.metadata)).count }
        for _ in 0..<300 {
            var mutated = bytes
            var touchedHead = false
            for _ in 0..<Int.random(in: 1...8, using: &rng) {
                let index = Int.random(in: 0..<mutated.count, using: &rng)
                mutated[index] = UInt8.random(in: 0...255, using: &rng)
                touchedHead = touchedHead || index < headLength
            }
            do {
                let parsed = try parseStream(randomSplit(mutated, maxPiece: 500, using: &rng))
                guard let metaint = try? parsed.headers.metaint() else {
                    #expect(touchedHead, "only a broken head can lose icy-metaint")
                    continue
                }
                #expect(touchedHead || metaint == 64)
                for segment in parsed.segments {
                    // Every segment has exactly `metaint` audio bytes, even after a lying length byte.
                    #expect(segment.audioCount == metaint)
                    #expect(segment.metadata.count <= 16 * Int(try #require(segment.lengthByte)))
                }
            } catch {
                // Segments never fail: only a broken head can make the stream unreadable.
                #expect(touchedHead, "\(error)")
            }
        }
    }
}
