import Icy
import Testing

/// The examples the assignment's textbook walks through, as checks.
struct TextbookExampleTests {
    @Test func incompleteRequest_AsksForMore_AndCompletesWithTheLineEnd() throws {
        let start = request(Array("GET / HTTP/1.0\r\nIcy-MetaData: 1\r\n"))
        guard case .more(let next) = start else { Issue.record("expected more, got \(start)"); return }
        guard case .more(let last) = next(Array("\r")) else { Issue.record("a lone \\r must ask for more"); return }
        guard case .done(let request, let rest) = last(Array("\n")) else { Issue.record("expected done"); return }
        #expect(request.method == .get)
        #expect(request.path == "/")
        #expect(request.version == .http10)
        #expect(request.wantsMetadata)
        #expect(rest.isEmpty)
    }

    @Test func reply_ThenSegmentInTwoReads_GivesAudioChunksAndMetadata() throws {
        guard case .done(.ok(let status, let headers, let data), let rest) = reply(Array("ICY 200 OK\r\nicy-metaint: 5\r\n\r\n123")) else {
            Issue.record("the reply head is complete and must be done")
            return
        }
        #expect(status == .icyOK)
        #expect(headers["icy-metaint"] == "5")
        guard case .more(let next) = data(rest) else { Issue.record("three audio bytes of five must ask for more"); return }
        let second = Array("45") + [1] + Array("hello") + [UInt8](repeating: 0, count: 11)
        guard case .done(let segment, let after) = next(second) else { Issue.record("the segment is complete"); return }
        #expect(segment.audio.map(Array.init) == [Array("123"), Array("45")])
        #expect(segment.metadata == Array("hello"))
        #expect(after.isEmpty)
    }
}
