import Testing

@testable import Casty
@testable import CastyNet
import CastyWire
import Icy

/// A chunked body's framing, taken off in pieces of any size (``ChunkedDecoder``).
struct ChunkedDecoderTests {
    /// `body` decoded in pieces of `piece` bytes, joined.
    func decoded(_ body: String, piece: Int) throws -> (bytes: [UInt8], finished: Bool) {
        var decoder = ChunkedDecoder()
        let all = Array(body.utf8)
        var out: [UInt8] = []
        var start = 0
        while start < all.count {
            for slice in try decoder.decode(all[start..<min(start + piece, all.count)]) { out += slice }
            start += piece
        }
        return (out, decoder.finished)
    }

    @Test(arguments: [1, 2, 3, 7, 1000])
    func chunks_AreJoined_WhateverThePieces(piece: Int) throws {
        let body = "5\r\nhello\r\n1;name=value\r\n \r\nA\r\n0123456789\r\n0\r\nX-Trailer: 1\r\n\r\nafter"
        let (bytes, finished) = try decoded(body, piece: piece)
        #expect(String(decoding: bytes, as: UTF8.self) == "hello 0123456789")
        #expect(finished)
    }

    @Test func aBrokenBody_IsAnError() {
        var decoder = ChunkedDecoder()
        #expect(throws: ChunkedDecoder.Failure.badSize("zz")) { try decoder.decode(Array("zz\r\n".utf8)[...]) }
        var late = ChunkedDecoder()
        #expect(throws: ChunkedDecoder.Failure.missingLineEnd) { try late.decode(Array("2\r\nabc".utf8)[...]) }
        var long = ChunkedDecoder()
        #expect(throws: ChunkedDecoder.Failure.lineTooLong) { try long.decode([UInt8](repeating: 0x31, count: 5000)[...]) }
        var signed = ChunkedDecoder()
        #expect(throws: ChunkedDecoder.Failure.badSize("+5")) { try signed.decode(Array("+5\r\n".utf8)[...]) }
    }

    @Test("The chunks that came whole before a body breaks are handed on: their payload is not lost with the break")
    func aBrokenBody_KeepsThePayloadOfTheChunksBefore() {
        var decoder = ChunkedDecoder()
        var payload: [ArraySlice<UInt8>] = []
        #expect(throws: ChunkedDecoder.Failure.badSize("zz")) {
            try decoder.decode(Array("3\r\nabc\r\n2\r\nde\r\nzz\r\nfg".utf8)[...], into: &payload)
        }
        #expect(payload.flatMap { $0 } == Array("abcde".utf8))
    }

    @Test("A chunk size that is a hex number too large for any body is said to be too large, not to be no hex number; leading zeros are no size")
    func aHugeChunkSize_IsTooLarge() throws {
        for size in ["7fffffffffffffff", "ffffffffffffffffffff", "1000000000000000"] {
            var decoder = ChunkedDecoder()
            #expect(throws: ChunkedDecoder.Failure.sizeTooLarge(size)) { try decoder.decode(Array("\(size)\r\n".utf8)[...]) }
        }
        #expect(ChunkedDecoder.Failure.sizeTooLarge("7fffffffffffffff").description == "a chunk size too large: '7fffffffffffffff'")
        var padded = ChunkedDecoder()
        #expect(try padded.decode(Array("000000000000000000003\r\nabc\r\nfffffffffffffff\r\n".utf8)[...]).map(Array.init) == [Array("abc".utf8)])
    }
}

/// A source whose PUT body comes chunked (`curl -T -`) is heard as its audio, with no broken frames.
extension StationServerTests {
    /// A source that sends `PUT /live` with the right credentials, `Content-Type: audio/mpeg` and `headers` (each line
    /// ending in CRLF), and no body yet.
    func putSource(_ server: StationServer, headers: String) async throws -> TestPeer {
        let peer = try await TestPeer.connect(to: server.address, on: loop)
        let credentials = Base64.encode(Array("source:hackme".utf8))
        await peer.send("PUT /live HTTP/1.1\r\nHost: x\r\nAuthorization: Basic \(credentials)\r\nContent-Type: audio/mpeg\r\n\(headers)\r\n")
        return peer
    }

    @Test func chunkedSource_IsHeardWithoutBrokenFrames_AndItsLastChunkEndsIt() async throws {
        let log = Log()
        let server = try server(log: log)
        let peer = try await putSource(server, headers: "Transfer-Encoding: chunked\r\nExpect: 100-continue\r\n")
        #expect(await peer.waitFor(timeout: .seconds(10)) { String(decoding: $0, as: UTF8.self).hasPrefix("HTTP/1.1 100") })
        // Chunks of 1000 bytes: their size lines fall inside frames of 417 bytes.
        let audio = Self.silentFrames(20)
        func chunks(_ bytes: ArraySlice<UInt8>) -> [UInt8] {
            stride(from: bytes.startIndex, to: bytes.endIndex, by: 1000).flatMap { start in
                let piece = bytes[start..<min(start + 1000, bytes.endIndex)]
                return Array((String(piece.count, radix: 16) + "\r\n").utf8) + piece + Array("\r\n".utf8)
            }
        }
        await sendAudio(peer, chunks(audio[...]))
        let player = try await listener(server)
        #expect(await player.waitFor(timeout: .seconds(10)) { !$0.isEmpty })
        let more = Self.silentFrames(40)
        await sendPaced(peer, chunks(more[...]), segment: 4170)
        #expect(await player.waitFor(timeout: .seconds(10)) { Self.silentFrameCount($0) >= 30 }, "\(log.lines.value)")
        #expect(!log.contains("frames broken"), "\(log.lines.value)")
        await sendAudio(peer, Array("0\r\n\r\n".utf8))
        #expect(await eventually(timeout: .seconds(10)) { log.contains("on /live ended: its body is over: its chunked body ended with its last chunk") },
                "\(log.lines.value)")
        #expect(!log.contains("hung up"), "a body that ended as HTTP ends one is no hang-up: \(log.lines.value)")
        server.close()
    }

    @Test("A source whose body has a Content-Length (curl -T song.mp3) ends with its last byte, not a source timeout later: the mount is free at once")
    func sourceOfAContentLength_EndsWithItsLastByte() async throws {
        let log = Log()
        let server = try server(log: log)
        defer { server.close() }
        let audio = Self.silentFrames(20)
        let peer = try await putSource(server, headers: "Content-Length: \(audio.count)\r\n")
        let player = try await listener(server)
        await sendPaced(peer, audio + Self.silentFrames(5), segment: 4170)  // and more than it said: not audio of this body
        #expect(await eventually(timeout: .seconds(5)) { log.contains("on /live ended: its body is over: the \(audio.count) bytes of its Content-Length came") },
                "\(log.lines.value)")
        #expect(await player.waitFor(timeout: .seconds(5)) { Self.silentFrameCount($0) >= 10 })
        let next = try await putSource(server, headers: "")
        #expect(await next.waitFor(timeout: .seconds(5)) { String(decoding: $0, as: UTF8.self).contains("200 OK") }, "the mount is free: \(next.text.prefix(80))")
    }

    @Test("A source whose Content-Length is no length, or two that disagree, is refused 400 in one line; the mount stays free",
          arguments: ["Content-Length: -5\r\n", "Content-Length: 12ab\r\n", "Content-Length: 100\r\nContent-Length: 200\r\n"])
    func sourceWithALyingContentLength_IsRefused(lengths: String) async throws {
        let log = Log()
        let server = try server(log: log)
        defer { server.close() }
        let peer = try await putSource(server, headers: lengths)
        #expect(await eventually(timeout: .seconds(10)) { peer.closed.value })
        #expect(peer.text.hasPrefix("HTTP/1.0 400 Bad Request"), "\(peer.text.prefix(80))")
        #expect(log.lines.value.filter { $0.contains("refused on /live") && $0.contains("Content-Length") }.count == 1, "\(log.lines.value)")
        let fine = try await source(server)
        #expect(await fine.waitFor(timeout: .seconds(10)) { String(decoding: $0, as: UTF8.self).hasPrefix("HTTP/1.1 100") })
    }

    @Test("A source whose body is in a transfer coding Casty does not take off is answered 501 before any 100 Continue, in one line naming it; the mount stays free",
          arguments: ["gzip, chunked", "xchunkedx", "chunked, gzip", "chunked\r\nTransfer-Encoding: gzip"])
    func sourceInAnUnknownTransferCoding_IsRefused501(coding: String) async throws {
        let log = Log()
        let server = try server(log: log)
        defer { server.close() }
        let peer = try await putSource(server, headers: "Transfer-Encoding: \(coding)\r\nExpect: 100-continue\r\n")
        #expect(await eventually(timeout: .seconds(10)) { peer.closed.value })
        #expect(peer.text.hasPrefix("HTTP/1.0 501 Not Implemented"), "\(peer.text.prefix(80))")
        let lines = log.lines.value.filter { $0.contains("refused on /live") }
        #expect(lines.count == 1 && lines[0].contains("in the transfer coding '") && lines[0].hasSuffix("(501)"), "\(log.lines.value)")
        let fine = try await source(server)
        #expect(await fine.waitFor(timeout: .seconds(10)) { String(decoding: $0, as: UTF8.self).hasPrefix("HTTP/1.1 100") })
    }

    @Test("A source's transfer codings are read as a list: chunked alone, in any case, between blanks, with identity as none, is chunked")
    func chunkedAmongBlanks_AndIdentity_IsChunked() {
        for coding in ["chunked", " Chunked\t", "identity, CHUNKED"] {
            let headers: Headers = ["Transfer-Encoding": coding]
            #expect(BodySourceInput.codingProblem(of: headers) == nil, "\(coding)")
            guard case .chunked = BodySourceInput.framing(of: headers) else { Issue.record("\(coding) is chunked"); continue }
        }
        #expect(BodySourceInput.framing(of: ["Transfer-Encoding": "identity"]) == nil)
        #expect(BodySourceInput.codingProblem(of: ["Transfer-Encoding": "chunked, chunked"]) != nil)
    }

    @Test("A source whose chunked body breaks is closed by Casty, in one line that says so (not that it hung up)")
    func chunkedSource_WhoseBodyBreaks_EndsInOneLineNamingIt() async throws {
        let log = Log()
        let server = try server(log: log)
        defer { server.close() }
        let peer = try await putSource(server, headers: "Transfer-Encoding: chunked\r\n")
        let audio = Self.silentFrames(20)
        // In one write: the chunk that came whole is audio all the same, heard and counted in the end line.
        await peer.send(bytes: Array((String(audio.count, radix: 16) + "\r\n").utf8) + audio + Array("\r\nzz\r\n".utf8))
        #expect(await eventually(timeout: .seconds(10)) { peer.closed.value })
        #expect(await eventually { log.contains("on /live ended: closed by Casty: its chunked body is broken (a chunk size that is no hex number: 'zz') (8 kB received") },
                "\(log.lines.value)")
        #expect(!log.contains("hung up") && log.lines.value.filter { $0.contains("broken") }.count == 1, "\(log.lines.value)")
    }
}
