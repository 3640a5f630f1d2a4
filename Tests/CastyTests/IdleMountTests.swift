import Icy
import Testing

@testable import Casty
@testable import CastyNet

/// Mounts made by sources under `--accept-all` are forgotten once idle, so a platform that gives every session its
/// own mount does not grow without bound; the mounts the options name are kept.
struct IdleMountTests {
    let loop = EventLoop.shared
    let station = StationServerTests()

    /// Publishes a few frames on `mount`, then hangs up (its session ends at once); the mount's distributor.
    @discardableResult
    func publishOnce(_ server: StationServer, _ mount: String) async throws -> Distributor? {
        let source = try await station.source(server, mount: mount)
        #expect(await source.waitFor(timeout: .seconds(15)) { String(decoding: $0, as: UTF8.self).hasPrefix("HTTP/1.1 100") })
        // Admitted: the session publishes the mount before the source is answered.
        let distributor = await loop.submit { server.table.mount(at: mount)?.distributor }
        #expect(distributor != nil)
        await station.sendAudio(source, StationServerTests.silentFrames(20))
        await source.close()
        return distributor
    }

    @Test func aMountASourceMade_IsForgotten_OnceIdle_AndItsDistributorLetGo() async throws {
        let log = StationServerTests.Log()
        let server = try station.server(mounts: nil, log: log) {
            $0.idleMountTimeout = .seconds(1)
            $0.options.hls.enabled = true  // its packager asks the mount again and again: it is no listener
        }
        weak let distributor = try await publishOnce(server, "/session-1")
        let before = await server.statusLine()
        #expect(before.contains(", 8 kB in,"), "20 frames of 417 bytes: \(before)")
        #expect(await eventually(timeout: .seconds(15)) { await loop.submit { server.table.mount(at: "/session-1") == nil } })
        let after = await server.statusLine()
        #expect(after.contains(", 8 kB in,"), "a forgotten mount's bytes still count: \(after)")
        #expect(log.contains("mount /session-1: forgotten, idle for"), "\(log.lines.value)")
        #expect(await eventually(timeout: .seconds(15)) { distributor == nil }, "nothing holds the forgotten mount's distributor")
        // The same mount may be published again: it is made anew.
        try await publishOnce(server, "/session-1")
        server.close()
    }

    @Test func theMountsTheOptionsName_AndOneSomebodyListensTo_AreKept() async throws {
        // Idle for 5 s: time enough, on a loaded machine, for the page to come to /heard before it is forgotten.
        let server = try station.server(mounts: nil, fallbacks: ["/main": "/backup"]) {
            $0.idleMountTimeout = .seconds(5)
        }
        try await publishOnce(server, "/main")
        try await publishOnce(server, "/heard")
        // A page follows /heard's titles: somebody listens.
        let watcher = try await TestPeer.connect(to: server.address, on: loop)
        await watcher.send("GET /api/mounts/heard/events HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(await watcher.waitFor(timeout: .seconds(15)) { String(decoding: $0, as: UTF8.self).contains("text/event-stream") })
        try await publishOnce(server, "/gone")
        #expect(await eventually(timeout: .seconds(30)) { await loop.submit { server.table.mount(at: "/gone") == nil } })
        let kept = await loop.submit { server.table.all.map(\.path).sorted() }
        #expect(kept == ["/backup", "/heard", "/main"], "a fallback's two sides, and a mount with a watcher, are kept")
        await watcher.close()
        #expect(await eventually(timeout: .seconds(30)) { await loop.submit { server.table.mount(at: "/heard") == nil } })
        server.close()
    }
}
