import Glibc
import Icy
import Testing

/// The parser on bytes a real Icecast 2.4.4 sent (Fixtures/icecast-capture.bin, made by
/// scripts/capture-icecast.sh; Fixtures/icecast-capture.txt describes it).
struct IcecastCaptureTests {
    let capture = fixture("icecast-capture.bin")

    @Test func reply_IsHTTP10_WithStationHeaders_AndMetaint16000() throws {
        guard case .done(.ok(let status, let headers, _), let rest) = reply(capture) else {
            Issue.record("Icecast's reply must parse")
            return
        }
        #expect(status == .httpOK)
        #expect(try headers.metaint() == 16000)
        #expect(headers["icy-name"] == "Casty test tone 440 Hz")
        #expect(headers["Content-Type"] == "audio/mpeg")
        #expect(headers["icy-br"] == nil)
        #expect(rest.startIndex == 374)
    }

    @Test func body_GivesThreeSegments_WithBothTitlesInOrder() throws {
        let parsed = try parseStream([capture[...]])
        #expect(parsed.segments.count == 3)
        #expect(parsed.segments.allSatisfy { $0.audioCount == 16000 })
        #expect(parsed.segments.map(\.metadata.count) == [41, 0, 47])
        let titles = parsed.segments.compactMap { Metadata(parsing: $0.metadata).streamTitle }
        #expect(titles == ["Casty Test Tone – 440 Hz", "Casty Test Tone – second title"])
    }

    @Test func captureSplitLikeASocket_ParsesTheSame() throws {
        var rng = SplitMix64(seed: 2024)
        let whole = try parseStream([capture[...]])
        for maxPiece in [1, 100, 1500, 65536] {
            let parsed = try parseStream(randomSplit(capture, maxPiece: maxPiece, using: &rng))
            #expect(parsed.segments == whole.segments)
            #expect(parsed.headers == whole.headers)
        }
    }

    @Test func reencodedSegments_AreTheCapturedBytes() throws {
        let parsed = try parseStream([capture[...]])
        let body = try parsed.segments.flatMap { segment in try encoded { try sendData(segment, to: $0) } }
        // Icecast pads the 41-byte title to 48 with NULs, as `padding` does, so the bytes match exactly.
        #expect(body[...] == capture[374..<(374 + body.count)])
    }
}

/// The bytes of a file in Tests/IcyTests/Fixtures.
func fixture(_ name: String) -> [UInt8] {
    let directory = String(#filePath.utf8.split(separator: UInt8(ascii: "/")).dropLast().map { String(decoding: $0, as: UTF8.self) }
        .joined(separator: "/"))
    guard let file = fopen("/\(directory)/Fixtures/\(name)", "rb") else { return [] }
    defer { fclose(file) }
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let count = fread(&buffer, 1, buffer.count, file)
        if count <= 0 { break }
        bytes += buffer[..<count]
    }
    return bytes
}
