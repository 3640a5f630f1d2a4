import Glibc
import Testing

@testable import CastyNet

@Suite("Line writer (standard error)")
struct LineWriterTests {
    @Test("Lines for a reader that stalls are queued without blocking the caller, up to the limit; past it they are dropped, and how many is said once the reader takes lines again")
    func aStalledReader_BlocksNoCaller_AndTheDroppedLinesAreCounted() async throws {
        var ends: [Int32] = [0, 0]
        #expect(pipe(&ends) == 0)
        let (reading, writing) = (ends[0], ends[1])
        defer { close(reading); close(writing) }
        _ = fcntl(reading, F_SETFL, fcntl(reading, F_GETFL) | O_NONBLOCK)
        let writer = LineWriter(fd: writing, limit: 200_000) { "\($0) lines dropped\n" }
        // 300 kB of lines, more than the pipe (64 kB) and the limit take, and nobody reads: every call returns.
        let line = Array(String(repeating: "x", count: 99).utf8) + [0x0A]
        let admitted = (0..<3_000).map { _ in writer.enqueue(line) }.filter { $0 }.count
        #expect(admitted < 3_000 && admitted >= 2_000, "\(admitted) admitted")
        // The reader takes lines again: the admitted ones come whole, in order, then the count of the others.
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        let said = Array("\(3_000 - admitted) lines dropped\n".utf8)
        for _ in 0..<1_000 where !received.ends(with: said) {
            let count = buffer.withUnsafeMutableBytes { read(reading, $0.baseAddress, $0.count) }
            if count > 0 { received += buffer.prefix(count) } else { try await Task.sleep(for: .milliseconds(10)) }
        }
        #expect(received.count == admitted * line.count + said.count, "\(received.count) bytes for \(admitted) lines")
        #expect(received.ends(with: said), "\(String(decoding: received.suffix(40), as: UTF8.self))")
        let whole = received.prefix(admitted * line.count) == ArraySlice(Array((0..<admitted).map { _ in line }.joined()))
        #expect(whole, "the admitted lines, whole and in order, before the count")
    }

    @Test("Lines dropped while the reader stalled are counted where they were: before the next line queued once there is room")
    func theCountOfDroppedLines_ComesBeforeTheNextLineQueued() async throws {
        var ends: [Int32] = [0, 0]
        #expect(pipe(&ends) == 0)
        let (reading, writing) = (ends[0], ends[1])
        defer { close(reading); close(writing) }
        let writer = LineWriter(fd: writing, limit: 8) { "\($0) dropped\n" }
        #expect(writer.enqueue(Array("first\n".utf8)))
        #expect(!writer.enqueue(Array("too long\n".utf8)))
        writer.flush(wait: .seconds(5))
        #expect(writer.enqueue(Array("next\n".utf8)))
        writer.flush(wait: .seconds(5))
        var buffer = [UInt8](repeating: 0, count: 256)
        let count = buffer.withUnsafeMutableBytes { read(reading, $0.baseAddress, $0.count) }
        #expect(String(decoding: buffer.prefix(max(0, count)), as: UTF8.self) == "first\n1 dropped\nnext\n")
    }
}

extension Array where Element == UInt8 {
    fileprivate func ends(with suffix: [UInt8]) -> Bool {
        count >= suffix.count && Array(self[(count - suffix.count)...]) == suffix
    }
}
