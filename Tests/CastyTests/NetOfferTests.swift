@testable import CastyNet
import Testing

@testable import Casty

struct NetOfferTests {
    /// 16000 bytes, a size Shoutcast servers use; about the send buffer, so a full buffer cuts one.
    static let segmentSize = 16000

    static func segment(_ number: Int) -> [UInt8] {
        [UInt8](repeating: UInt8(number), count: segmentSize)
    }

    /// A server connection to a raw client socket that reads only when the test says so.
    static func makePair(on loop: EventLoop) async throws -> (server: Connection, reader: Socket, listener: Listener) {
        let accepted = Locked<Connection?>(nil)
        let listener = try Listener(address: .loopback(port: 0), on: loop) { connection in
            accepted.update { $0 = connection }
        }
        let reader = try Socket.tcp(.ipv4)
        try reader.setReceiveBufferSize(4096)
        _ = try reader.connect(to: listener.localAddress)
        #expect(await eventually { accepted.value != nil })
        let server = try #require(accepted.value)
        let configured = await loop.submit {
            // The default send buffer: about one segment.
            Result { () throws(SocketError) in try server.configure(maxQueuedBytes: 64 * 1024) }
        }
        try configured.get()
        return (server, reader, listener)
    }

    /// Checks that `bytes` is a run of whole segments in increasing order, none cut or interleaved.
    static func wholeSegments(in bytes: [UInt8]) -> [Int]? {
        guard bytes.count % segmentSize == 0 else { return nil }
        var numbers: [Int] = []
        for start in stride(from: 0, to: bytes.count, by: segmentSize) {
            let chunk = bytes[start..<(start + segmentSize)]
            guard let first = chunk.first, chunk.allSatisfy({ $0 == first }) else { return nil }
            if let last = numbers.last, Int(first) <= last { return nil }
            numbers.append(Int(first))
        }
        return numbers
    }

    @Test func offer_QueuesThenSkipsWholeSegments_WhenReaderStalls_AndRecovers() async throws {
        let loop = EventLoop(name: "test-offer")
        defer { loop.shutdown() }
        let (server, reader, listener) = try await Self.makePair(on: loop)
        defer { reader.close() }

        // Phase 1: the reader reads nothing. Offer 150 segments.
        let stalled = await loop.submit {
            var results: [Connection.Offer] = []
            var largestTail = 0
            for number in 1...150 {
                results.append(server.offer(Self.segment(number)))
                largestTail = max(largestTail, server.pendingBytes)
            }
            return (results, largestTail, server.skippedTotal, server.consecutiveSkips)
        }
        let (results, largestTail, skippedTotal, consecutiveSkips) = stalled
        let firstQueued = try #require(results.firstIndex(of: .queued), "no offer was queued: \(results)")
        #expect(results[..<firstQueued].allSatisfy { $0 == .sent })
        #expect(results[(firstQueued + 1)...].allSatisfy { $0 == .skipped })
        #expect(skippedTotal == results.count - firstQueued - 1)
        #expect(consecutiveSkips == skippedTotal)
        #expect(skippedTotal > 100)
        // Memory stays bounded: at most one tail, and it is part of one segment.
        #expect(largestTail > 0 && largestTail < Self.segmentSize)

        // Phase 2: the reader drains; the tail goes out, then each new segment is sent whole.
        let received = Locked<[UInt8]>([])
        let done = Locked(false)
        // Until the test is done (a loaded run takes seconds over the ten segments), not 3 s.
        async let drained: Void = drain(reader, into: received, timeout: .seconds(90)) { done.value }
        #expect(await eventually(timeout: .seconds(15)) { await loop.submit { server.pendingBytes == 0 && server.socket.unsentBytes == 0 } })
        var recovered: [Connection.Offer] = []
        for number in 200...209 {
            recovered.append(await loop.submit { server.offer(Self.segment(number)) })
            #expect(await eventually(timeout: .seconds(15)) { await loop.submit { server.socket.unsentBytes == 0 } })
        }
        #expect(recovered == Array(repeating: .sent, count: 10))
        #expect(await loop.submit { server.consecutiveSkips } == 0)
        let expectedCount = (firstQueued + 1 + 10) * Self.segmentSize
        #expect(await eventually(timeout: .seconds(15)) { received.value.count >= expectedCount })
        done.update { $0 = true }
        await drained

        // Framing: whole segments only, the stalled ones first, then the ten sent after recovery.
        let numbers = try #require(Self.wholeSegments(in: received.value), "a segment was cut or interleaved")
        #expect(numbers == Array(1...(firstQueued + 1)) + Array(200...209))
        await loop.submit { server.close(); listener.close() }
    }

    @Test func offer_AsksTheKernelQueue_OnlyOnceTheListenerIsBehind() async throws {
        let loop = EventLoop(name: "test-outq")
        defer { loop.shutdown() }
        let (server, reader, listener) = try await Self.makePair(on: loop)
        defer { reader.close() }
        // With a limit of 0, a listener that is behind skips while any byte is still unacknowledged. One that
        // keeps up is not asked: its offers go straight to `send`.
        let results = await loop.submit {
            server.maxQueuedBytes = 0
            return (1...20).map { server.offer(Self.segment($0)) }
        }
        let firstNotSent = try #require(results.firstIndex { $0 != .sent })
        #expect(firstNotSent >= 1, "the first segments fit the send buffer")
        #expect(results[(firstNotSent + 1)...].allSatisfy { $0 == .skipped })
        // Once the reader has taken everything, the kernel queue is empty and offers are sent again.
        let received = Locked<[UInt8]>([])
        await drain(reader, into: received, timeout: .seconds(2)) { false }
        #expect(await eventually { await loop.submit { server.socket.unsentBytes == 0 && server.pendingBytes == 0 } })
        #expect(await loop.submit { server.offer(Self.segment(100)) } == .sent)
        await loop.submit { server.close(); listener.close() }
    }

    @Test func offer_ReportsClosed_WhenPeerHasGone() async throws {
        let loop = EventLoop(name: "test-offer-gone")
        defer { loop.shutdown() }
        let (server, reader, listener) = try await Self.makePair(on: loop)
        try reader.setResetOnClose()
        reader.close()
        #expect(await eventually {
            await loop.submit { server.offer(Self.segment(1)) } == .closed
        })
        await loop.submit { listener.close() }
    }
}
