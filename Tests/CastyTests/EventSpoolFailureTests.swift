import Glibc
import Testing

@testable import Casty
@testable import CastyNet
@testable import CastyWire

/// An event spool that cannot be written — its directory removed while Casty runs, a sync that fails — is said,
/// once, and never replaced by a file that may be partial; the shutdown line says "kept" only of a spool written;
/// and a full queue says its drops once, then sums them.
struct EventSpoolFailureTests {
    let loop = EventLoop.shared

    /// A fresh directory for a spool (the caller removes it).
    func directory() -> String {
        var template = Array("/tmp/casty-spool-failure.XXXXXX".utf8CString)
        _ = mkdtemp(&template)
        return String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Removes `directory` and what the spool left in it.
    func remove(_ directory: String) {
        for name in FileWriter.names(in: directory) { unlink(directory + "/" + name) }
        rmdir(directory)
    }

    /// The address of an application that is down: a port that refuses connections (``refusingPort``).
    func applicationDown() async throws -> StreamURL {
        StreamURL(host: "127.0.0.1", port: refusingPort, path: "/events")
    }

    func event(_ channel: String) -> StreamEvent {
        StreamEvent(channel: channel, streamID: "s-\(channel)", kind: .available, streamType: "ICY-LIVE")
    }

    func spooled(_ path: String) -> [String] {
        String(decoding: FileWriter.contents(of: path) ?? [], as: UTF8.self).split(separator: "\n")
            .compactMap(StreamEvent.init(spoolLine:)).map(\.channel)
    }

    @Test("A file whose sync fails (a full disk, an I/O error said late) is not renamed over the good one")
    func aFailedSync_KeepsTheGoodFile() throws {
        let directory = directory()
        defer { remove(directory) }
        let path = directory + "/events"
        try FileWriter.replace(path, with: Array("good".utf8), sync: true)
        // The temporary file is /dev/null, which takes every write and cannot be synced (EINVAL).
        #expect(symlink("/dev/null", path + ".tmp") == 0)
        #expect(throws: FileError.self) { try FileWriter.replace(path, with: Array("new".utf8), sync: true) }
        #expect(String(decoding: FileWriter.contents(of: path) ?? [], as: UTF8.self) == "good")
        #expect(access(path + ".tmp", F_OK) != 0, "the temporary file is gone")
    }

    @Test("A spool that cannot be written is said once, naming the file and the error; its writing again is said too")
    func aSpoolThatCannotBeWritten_IsSaidOnce_AndItsRecovery() async throws {
        let directory = directory()
        defer { remove(directory) }
        let spool = directory + "/events"
        let log = StationServerTests.Log()
        let queue = EventQueue<StreamEvent>(url: try await applicationDown(), auth: nil, spool: spool, loop: loop, logger: log.logger)
        await queue.start()
        queue.post(event("first"))
        #expect(await eventually(timeout: .seconds(20)) { spooled(spool) == ["first"] })
        // The directory removed while Casty runs: every write of the spool fails from now on.
        remove(directory)
        for channel in ["second", "third", "fourth"] {
            queue.post(event(channel))
            // Each event in a write of its own (they are written 0.1 s after a change).
            try await Task.sleep(for: .milliseconds(250))
        }
        let failed = "events: cannot write the spool \(spool): No such file or directory; "
        #expect(await eventually(timeout: .seconds(5)) { log.contains(failed) }, "\(log.lines.value)")
        #expect(log.lines.value.filter { $0.contains("cannot write the spool") }.count == 1, "\(log.lines.value)")
        // Back: the next write works, and says so once.
        #expect(mkdir(directory, 0o700) == 0)
        queue.post(event("fifth"))
        #expect(await eventually(timeout: .seconds(5)) { spooled(spool) == ["first", "second", "third", "fourth", "fifth"] })
        #expect(await eventually(timeout: .seconds(5)) { log.contains("events: the spool \(spool) is written again") }, "\(log.lines.value)")
        await queue.stop()
    }

    @Test("Events left at shutdown are said lost, and why, when the spool cannot be written — never 'kept in' a file that is not")
    func finishing_WithASpoolThatCannotBeWritten_SaysTheEventsAreLost() async throws {
        let directory = directory()
        let spool = directory + "/events"
        let log = StationServerTests.Log()
        let queue = EventQueue<StreamEvent>(url: try await applicationDown(), auth: nil, spool: spool, loop: loop, logger: log.logger)
        await queue.start()
        remove(directory)
        queue.post(event("first"))
        queue.post(event("second"))
        await queue.finish(before: .now + .seconds(2))
        EventSpool.flush()
        #expect(log.contains("events: 2 not sent before the process stopped; lost: cannot write \(spool): No such file or directory"),
                "\(log.lines.value)")
        #expect(!log.contains("kept in"), "\(log.lines.value)")
        await queue.stop()
    }

    @Test("A live sessions file that cannot be written is said, with the sessions only in memory")
    func aLiveSessionsFileThatCannotBeWritten_IsSaid() async throws {
        let directory = directory()
        defer { remove(directory) }
        let log = StationServerTests.Log()
        var configuration = ControlPlane.Configuration()
        configuration.eventCallbackURL = try await applicationDown()
        configuration.eventSpool = directory + "/events"
        let control = ControlPlane(configuration, loop: loop, logger: log.logger)
        await control.start()
        remove(directory)
        control.post(event("live"))
        let line = "events: cannot write the live sessions file \(directory)/events.live: No such file or directory; 1 live session is only in memory"
        #expect(await eventually(timeout: .seconds(5)) { log.contains(line) }, "\(log.lines.value)")
        await control.events?.stop()
    }

    @Test("A queue kept full says its first drop, not one line per event that arrives")
    func aFullQueue_SaysItsDropsOnce() async throws {
        let log = StationServerTests.Log()
        let queue = EventQueue<StreamEvent>(url: try await applicationDown(), auth: nil, spool: nil, limit: 2, loop: loop,
                                            logger: log.logger)
        await queue.start()
        for index in 0..<20 {
            queue.post(event("c\(index)"))
            _ = await queue.undelivered()  // each arrival trims the queue on its own
        }
        #expect(await queue.undelivered().count == 2)
        await loop.submit {}  // the lines handed to the loop are out
        let drops = log.lines.value.filter { $0.contains("the queue holds 2 at most") }
        #expect(drops == ["events: the queue holds 2 at most; 1 dropped (the oldest)"], "\(log.lines.value)")
        await queue.stop()
    }
}
