import Glibc
import Testing

@testable import Casty

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
}
