import Glibc
import Testing

@testable import Casty
@testable import CastyNet
@testable import CastyWire

/// One event spool is one process's: two given the same `--event-spool` would overwrite each other's events.
struct SpoolLockTests {
    @Test("A spool is one process's: a second lock on it is refused at once, naming its lock file, and taken once let go")
    func aSpoolsLock_IsRefusedToASecondTaker() throws {
        var template = Array("/tmp/casty-spool-lock.XXXXXX".utf8CString)
        let directory = String(cString: mkdtemp(&template))
        defer { unlink(directory + "/events.lock"); rmdir(directory) }
        let spool = directory + "/events"
        var first: SpoolLock? = try SpoolLock(spool: spool)
        #expect(first != nil)
        let error = #expect(throws: SpoolLockError.self) { _ = try SpoolLock(spool: spool) }
        #expect(error?.description == "another Casty process uses it (\(spool).lock is locked)")
        first = nil
        #expect(throws: Never.self) { _ = try SpoolLock(spool: spool) }
    }

    @Test("A spool named through a symlink is the same spool: its lock is the file's own, whether the file is there yet or not")
    func aSymlinkToASpool_TakesTheSpoolsOwnLock() throws {
        var template = Array("/tmp/casty-spool-lock.XXXXXX".utf8CString)
        let directory = String(cString: mkdtemp(&template))
        let spool = directory + "/events", link = directory + "/evlink"
        defer { for name in ["events.lock", "evlink", "events"] { unlink(directory + "/" + name) }; rmdir(directory) }
        #expect(symlink("events", link) == 0)
        // The file not made yet (the link points at nothing), then made.
        for made in [false, true] {
            if made { try FileWriter.replace(spool, with: Array("x\n".utf8)) }
            var first: SpoolLock? = try SpoolLock(spool: spool)
            #expect(first != nil)
            let error = #expect(throws: SpoolLockError.self) { _ = try SpoolLock(spool: link) }
            #expect(error?.description == "another Casty process uses it (\(spool).lock is locked)")
            first = nil
            let second: SpoolLock? = try SpoolLock(spool: link)
            #expect(throws: SpoolLockError.self) { _ = try SpoolLock(spool: spool) }
            withExtendedLifetime(second) {}
        }
    }

    @Test("A spool named through a symlink is written where it leads, the symlink kept; its live sessions are kept beside the file itself")
    func aSpoolNamedThroughASymlink_IsWrittenThrough() async throws {
        var template = Array("/tmp/casty-spool-lock.XXXXXX".utf8CString)
        let directory = String(cString: mkdtemp(&template))
        let spool = directory + "/events", link = directory + "/evlink"
        defer { for name in ["evlink", "events", "events.live"] { unlink(directory + "/" + name) }; rmdir(directory) }
        #expect(symlink("events", link) == 0)
        let url = StreamURL(host: "127.0.0.1", port: refusingPort, path: "/events")
        let queue = EventQueue<StreamEvent>(url: url, auth: nil, spool: link, firstRetry: .seconds(30))
        await queue.start()
        let event = StreamEvent(channel: "live", streamID: "s1", kind: .available, streamType: "ICY-LIVE")
        queue.post(event)
        let written: @Sendable () -> String = { String(decoding: FileWriter.contents(of: spool) ?? [], as: UTF8.self) }
        #expect(await eventually(timeout: .seconds(10)) { written() == event.spoolLine + "\n" }, "\(written().debugDescription)")
        await queue.stop()
        var status = stat()
        #expect(lstat(link, &status) == 0 && status.st_mode & S_IFMT == S_IFLNK, "the symlink is still one")
        let live = LiveSessions(spool: link)
        #expect(live.path == spool + ".live")
        live.note(event)
        EventSpool.flush()
        #expect(FileWriter.contents(of: spool + ".live") == Array((event.spoolLine + "\n").utf8))
    }
}
