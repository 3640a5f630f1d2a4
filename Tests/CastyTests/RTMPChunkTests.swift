@testable import CastyWire
import Testing

/// The chunk layer of RTMP: the handshake's bytes, and messages taken apart and put back together across all
/// four chunk header types, extended timestamps, chunk size changes and interleaved chunk streams.
struct RTMPChunkTests {
    /// A chunk header written by hand: basic header (fmt, chunk stream id) and the message header of `fmt`.
    static func header(fmt: UInt8, csid: Int, time: UInt32 = 0, length: Int = 0, type: UInt8 = 0, stream: UInt32 = 0) -> [UInt8] {
        var bytes: [UInt8]
        switch csid {
        case 2...63: bytes = [fmt << 6 | UInt8(csid)]
        case 64...319: bytes = [fmt << 6, UInt8(csid - 64)]
        default: bytes = [fmt << 6 | 1, UInt8((csid - 64) & 0xFF), UInt8((csid - 64) >> 8)]
        }
        func be(_ value: UInt32, _ count: Int) { AMF0Encoder.appendUInt(value, count: count, to: &bytes) }
        if fmt <= 2 { be(min(time, 0xFFFFFF), 3) }
        if fmt <= 1 { be(UInt32(length), 3); bytes.append(type) }
        if fmt == 0 { be(stream.byteSwapped, 4) }
        if fmt <= 2, time >= 0xFFFFFF { be(time, 4) }
        return bytes
    }

    static func payload(_ count: Int, seed: UInt8 = 1) -> [UInt8] { (0..<count).map { UInt8(truncatingIfNeeded: $0) &+ seed } }

    /// Reads `bytes` whole and one byte at a time, expects the same messages both ways, and returns them.
    static func read(_ bytes: [UInt8], limits: RTMPLimits = RTMPLimits()) throws -> [RTMPMessage] {
        var whole = RTMPChunkReader(limits: limits)
        let all = try whole.read(bytes[...])
        var single = RTMPChunkReader(limits: limits)
        var one: [RTMPMessage] = []
        for index in bytes.indices { one += try single.read(bytes[index...index]) }
        #expect(one == all)
        return all
    }

    @Test func handshake_AnswersS0S1S2AndHandsBackTheFirstChunks() throws {
        var handshake = RTMPHandshake(time: 0x0102_0304, random: [9, 9, 9])
        let c1 = Self.payload(1536, seed: 7)
        var step = try handshake.receive([3][...])
        #expect(step == .more(send: []))
        step = try handshake.receive(c1.prefix(1000))
        #expect(step == .more(send: []))
        step = try handshake.receive(c1.dropFirst(1000) + [0xAA, 0xBB])  // C1's end and the first bytes of C2
        guard case .more(let reply) = step else { Issue.record("no reply after C1: \(step)"); return }
        #expect(reply.count == 1 + 1536 + 1536)
        #expect(Array(reply.prefix(12)) == [3, 1, 2, 3, 4, 0, 0, 0, 0, 9, 9, 9])
        #expect(Array(reply.suffix(1536)) == c1)  // S2 echoes C1
        step = try handshake.receive([UInt8](repeating: 0, count: 1534)[...] + [0x02, 0x00])
        #expect(step == .done(send: [], rest: [0x02, 0x00]))
    }

    @Test("Each connection's S1 is its own: 1,528 bytes after the time and zeros, full of every kind of byte")
    func handshake_RandomS1_DiffersBetweenConnections() throws {
        func s1() throws -> [UInt8] {
            var handshake = RTMPHandshake.random()
            guard case .more(let reply) = try handshake.receive(([3] + Self.payload(1536, seed: 1))[...]) else { return [] }
            return Array(reply.dropFirst().prefix(1536))
        }
        let (a, b) = (try s1(), try s1())
        #expect(a.count == 1536 && b.count == 1536)
        #expect(a.prefix(8) == [0, 0, 0, 0, 0, 0, 0, 0][...], "time 0, then the four zero bytes")
        #expect(a.dropFirst(8) != b.dropFirst(8))
        #expect(Set(a.dropFirst(8)).count > 200, "spread over the byte values, not a pattern")
    }

    @Test func handshake_RefusesAnotherVersion() {
        var handshake = RTMPHandshake()
        #expect(throws: RTMPError.unsupportedVersion(6)) { try handshake.receive([6, 0, 0][...]) }
    }

    @Test("A handshake that is an HTTP request, or TLS (rtmps://), is said to look like one, not to ask for RTMP version 71 or 22")
    func handshake_ThatIsHTTPOrTLS_IsSaidSo() {
        var http = RTMPHandshake()
        #expect(throws: RTMPError.httpRequest(method: "GET")) { try http.receive(Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8)[...]) }
        #expect("\(RTMPError.httpRequest(method: "GET"))".hasPrefix("it looks like an HTTP request (GET), not an RTMP handshake"))
        var tls = RTMPHandshake()
        #expect(throws: RTMPError.tlsHandshake) { try tls.receive([22, 3, 1, 2, 0][...]) }
        var garbage = RTMPHandshake()
        #expect(throws: RTMPError.unsupportedVersion(71)) { try garbage.receive(Array("GARBAGE!".utf8)[...]) }
    }

    @Test func reader_FollowsAllFourHeaderTypes() throws {
        var bytes = Self.header(fmt: 0, csid: 3, time: 1000, length: 10, type: 20, stream: 1) + Self.payload(10)
        bytes += Self.header(fmt: 1, csid: 3, time: 20, length: 5, type: 8) + Self.payload(5, seed: 2)
        bytes += Self.header(fmt: 2, csid: 3, time: 30) + Self.payload(5, seed: 3)
        bytes += Self.header(fmt: 3, csid: 3) + Self.payload(5, seed: 4)
        bytes += Self.header(fmt: 1, csid: 3, time: 1, length: 7, type: 9) + Self.payload(7)  // longer than the last
        let messages = try Self.read(bytes)
        #expect(messages.map(\.timestamp) == [1000, 1020, 1050, 1080, 1081])
        #expect(messages.map(\.type) == [20, 8, 8, 8, 9])
        #expect(messages.map(\.streamID) == [1, 1, 1, 1, 1])
        #expect(messages.map(\.length) == [10, 5, 5, 5, 7])
        #expect(messages.prefix(4).map(\.payload) == [Self.payload(10), Self.payload(5, seed: 2), Self.payload(5, seed: 3), Self.payload(5, seed: 4)])
    }

    @Test func reader_JoinsChunksOfInterleavedStreams() throws {
        let audio = Self.payload(300), command = Self.payload(200, seed: 50)
        var bytes = Self.header(fmt: 0, csid: 4, length: 300, type: 8, stream: 1) + audio[0..<128]
        bytes += Self.header(fmt: 0, csid: 3, length: 200, type: 20) + command[0..<128]
        bytes += Self.header(fmt: 3, csid: 4) + audio[128..<256]
        bytes += Self.header(fmt: 3, csid: 3) + command[128..<200]
        bytes += Self.header(fmt: 3, csid: 4) + audio[256..<300]
        let messages = try Self.read(bytes)
        #expect(messages.map(\.payload) == [command, audio])
    }

    @Test func reader_ReadsExtendedTimestampsAlsoOnTypeThreeChunks() throws {
        let big: UInt32 = 0x0100_0000
        let body = Self.payload(200)
        var bytes = Self.header(fmt: 0, csid: 5, time: big, length: 200, type: 8) + body[0..<128]
        bytes += Self.header(fmt: 3, csid: 5) + [0x01, 0x00, 0x00, 0x00] + body[128...]
        let messages = try Self.read(bytes)
        #expect(messages == [RTMPMessage(type: 8, timestamp: big, payload: body)])
    }

    @Test func reader_TakesAChunkSizeChangeAtTheNextChunk() throws {
        var bytes = Self.header(fmt: 0, csid: 2, length: 4, type: RTMPMessage.setChunkSize) + [0, 0, 0x10, 0]
        let body = Self.payload(1000)
        bytes += Self.header(fmt: 0, csid: 6, length: 1000, type: 18) + body
        var reader = RTMPChunkReader()
        let messages = try reader.read(bytes[...])
        #expect(reader.chunkSize == 4096)
        #expect(messages.last?.payload == body)
        #expect(try Self.read(bytes).count == 2)
    }

    @Test func reader_ReadsTwoAndThreeByteChunkStreamIDs() throws {
        let bytes = Self.header(fmt: 0, csid: 100, length: 3, type: 8) + [1, 2, 3]
            + Self.header(fmt: 0, csid: 1000, length: 2, type: 8) + [4, 5]
            + Self.header(fmt: 3, csid: 1000) + [6, 7]
        #expect(try Self.read(bytes).map(\.payload) == [[1, 2, 3], [4, 5], [6, 7]])
    }

    @Test func reader_AbortDropsAnUnfinishedMessage() throws {
        var bytes = Self.header(fmt: 0, csid: 4, length: 300, type: 8) + Self.payload(128)
        bytes += Self.header(fmt: 0, csid: 2, length: 4, type: RTMPMessage.abort) + [0, 0, 0, 4]
        bytes += Self.header(fmt: 0, csid: 4, length: 2, type: 8) + [1, 2]
        #expect(try Self.read(bytes).map(\.payload) == [[0, 0, 0, 4], [1, 2]])
    }

    @Test func reader_CountsVideoWithoutKeepingIt() throws {
        var limits = RTMPLimits()
        limits.maxMessageBytes = 1000
        limits.maxBufferedBytes = 1000
        var bytes = Self.header(fmt: 0, csid: 2, length: 4, type: RTMPMessage.setChunkSize) + [0, 1, 0, 0]
        bytes += Self.header(fmt: 0, csid: 7, length: 60_000, type: RTMPMessage.video) + [UInt8](repeating: 0x17, count: 60_000)
        var reader = RTMPChunkReader(limits: limits)
        let messages = try reader.read(bytes[...])
        #expect(messages.last == RTMPMessage(type: RTMPMessage.video, length: 60_000, payload: []))
    }

    @Test func reader_RefusesWhatBreaksItsBounds() {
        var limits = RTMPLimits()
        limits.maxMessageBytes = 1000
        limits.maxChunkStreams = 3
        func fails(_ error: RTMPError, _ bytes: [UInt8]) {
            var reader = RTMPChunkReader(limits: limits)
            #expect(throws: error) { try reader.read(bytes[...]) }
        }
        fails(.noPreviousHeader(chunkStream: 3), Self.header(fmt: 1, csid: 3, length: 1, type: 8) + [0])
        fails(.messageTooLarge(length: 1001, limit: 1000), Self.header(fmt: 0, csid: 3, length: 1001, type: 8))
        fails(.tooManyChunkStreams(limit: 3), (3...6).flatMap { Self.header(fmt: 0, csid: $0, length: 1, type: 8) + [0] })
        fails(.badChunkSize(0), Self.header(fmt: 0, csid: 2, length: 4, type: 1) + [0, 0, 0, 0])
        fails(.badChunkSize(0x7FFF_FFFF), Self.header(fmt: 0, csid: 2, length: 4, type: 1) + [0x7F, 0xFF, 0xFF, 0xFF])
        fails(.shortControlMessage(type: 1, length: 2), Self.header(fmt: 0, csid: 2, length: 2, type: 1) + [0, 1])
        fails(.interruptedMessage(chunkStream: 4),
              Self.header(fmt: 0, csid: 4, length: 300, type: 8) + Self.payload(128) + Self.header(fmt: 1, csid: 4, length: 3, type: 8))
        var small = RTMPLimits()
        small.maxBufferedBytes = 200
        var reader = RTMPChunkReader(limits: small)
        let two = Self.header(fmt: 0, csid: 3, length: 150, type: 8) + Self.payload(128) + Self.header(fmt: 0, csid: 4, length: 150, type: 8)
            + Self.payload(128)
        #expect(throws: RTMPError.tooMuchBuffered(limit: 200)) { try reader.read(two[...]) }
    }

    @Test func writer_ChunksWhatTheReaderJoins() throws {
        var writer = RTMPChunkWriter()
        let messages = [
            RTMPMessage(type: 20, payload: Self.payload(500)),
            RTMPMessage(type: 8, streamID: 1, timestamp: 0x0123_4567, payload: Self.payload(300, seed: 9)),
            RTMPMessage(type: 18, streamID: 1, timestamp: 5, payload: []),
        ]
        var bytes = messages.flatMap { writer.chunks($0, chunkStream: 4) }
        #expect(try Self.read(bytes) == messages)
        writer.chunkSize = 4096
        bytes = Self.header(fmt: 0, csid: 2, length: 4, type: 1) + [0, 0, 0x10, 0] + messages.flatMap { writer.chunks($0, chunkStream: 4) }
        #expect(try Self.read(bytes).dropFirst() == messages[...])
    }
}
