@testable import CastyNet
import Synchronization
import Testing

@testable import Casty

/// A source lets go of what it used once it ended, however it ended: a station that takes thousands of sources that
/// hang up (encoders that fail, probes, attackers) must not keep any of them.
struct SourceLifetimeTests {
    let loop = EventLoop.shared
    let station = StationServerTests()

    /// A weak reference to a source session, behind a mutex so a test may read it from any task.
    final class Held: @unchecked Sendable {
        // @unchecked Sendable: the weak reference is behind the mutex.
        private struct Weak: @unchecked Sendable { weak var session: SourceSession? }
        private let lock = Mutex(Weak())
        func hold(_ session: SourceSession?) { lock.withLock { $0.session = session } }
        var isAlive: Bool { lock.withLock { $0.session != nil } }
    }

    @Test("A source admitted that hangs up before its audio proved to be frames is freed", arguments: [[], Array("<html>".utf8)])
    func sourceEndingBeforeItsAudioIsAnnounced_IsFreed(sent: [UInt8]) async throws {
        let log = StationServerTests.Log()
        let server = try station.server(log: log)
        defer { server.close() }
        let source = try await station.source(server)
        #expect(await source.waitFor(timeout: .seconds(10)) { String(decoding: $0, as: UTF8.self).hasPrefix("HTTP/1.1 100") })
        let held = Held()
        #expect(await eventually(timeout: .seconds(10)) {
            await loop.submit { held.hold(server.table.mount(at: "/live")?.source) }
            return held.isAlive
        })
        if !sent.isEmpty { await station.sendAudio(source, sent) }
        await source.close()
        #expect(await eventually(timeout: .seconds(10)) { log.contains("source 127.0.0.1") && log.contains("on /live ended") }, "\(log.lines.value)")
        #expect(await eventually(timeout: .seconds(10)) { !held.isAlive }, "the session ended and is not held by anything")
    }
}
