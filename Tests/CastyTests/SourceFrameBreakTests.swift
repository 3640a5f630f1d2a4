import Testing

@testable import Casty

/// A source whose frames keep breaking (a lossy link) is told in a few lines, and the rest summed up — not a
/// line for every break.
extension StationServerTests {
    @Test func aSourceWhoseFramesKeepBreaking_IsToldInFiveLines_AndASum() async throws {
        let log = Log()
        let server = try server(log: log)
        defer { server.close() }
        let source = try await source(server)
        #expect(await source.waitFor(timeout: .seconds(10)) { String(decoding: $0, as: UTF8.self).hasPrefix("HTTP/1.1 100") })
        // Thirty breaks: three frames, then 40 bytes that are none.
        let broken = (0..<30).flatMap { _ in Self.silentFrames(3) + [UInt8](repeating: 0x11, count: 40) }
        await sendAudio(source, broken + Self.silentFrames(3))
        await source.close()
        #expect(await eventually(timeout: .seconds(10)) { log.contains("on /live ended") }, "\(log.lines.value)")
        let told = log.lines.value.filter { $0.contains("audio frames broken") }
        #expect(told.count == 5, "\(told)")
        #expect(log.lines.value.contains { $0.contains("more breaks in the frames of /live's source (bytes dropped)") }, "\(log.lines.value)")
    }
}
