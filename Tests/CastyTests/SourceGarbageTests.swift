import Testing

@testable import Casty

/// A source whose frames stop and garbage follows is dropped with a log line that says so — not that it sent
/// no frames at all, which is what a stream that never had any is told.
extension StationServerTests {
    @Test func garbageAfterFrames_EndsTheSource_WithALogLineSayingItCameAfterItsFrames() async throws {
        let log = Log()
        let server = try server(log: log)
        defer { server.close() }
        let source = try await source(server)
        #expect(await source.waitFor(timeout: .seconds(15)) { String(decoding: $0, as: UTF8.self).contains("100 Continue") })
        await sendPaced(source, Self.silentFrames(30))
        await sendAudio(source, (0..<70_000).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 3) & 0x7F })
        #expect(await eventually(timeout: .seconds(15)) { source.closed.value })
        let ended = log.lines.value.filter { $0.contains("on /live ended") }
        #expect(ended.count == 1 && ended[0].contains("bytes that were not audio frames came after its frames"), "\(ended)")
        #expect(!log.contains("no audio frames in the first"), "\(log.lines.value)")
    }
}
