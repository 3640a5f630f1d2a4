import Glibc
import Testing

@testable import Casty
@testable import CastyNet

/// `--access-log` checked without being opened (``AccessLog/check(path:)``): SIGHUP checks a new `--access-log` that
/// only a restart takes, and must not make its file (it made an empty one, which the running server never wrote).
struct AccessLogCheckTests {
    @Test("A new access log's path is checked without its file being made")
    func newPath_IsCheckedWithoutBeingMade() throws {
        let directory = temporaryDirectory("access-log-check")
        defer { rmdir(directory) }
        let path = directory + "/access.log"
        try AccessLog.check(path: path)
        #expect(access(path, F_OK) != 0, "the check made \(path)")
    }

    @Test("An access log the node could not open is refused by the check as the opening would refuse it")
    func pathThatCannotBeOpened_IsRefused() throws {
        let directory = temporaryDirectory("access-log-check-refused")
        defer { rmdir(directory) }
        #expect(throws: AccessLogError.self) { try AccessLog.check(path: directory + "/missing/access.log") }
        let refused = #expect(throws: AccessLogError.self) { try AccessLog.check(path: directory) }
        #expect(refused?.description == "open \(directory): Is a directory (errno 21)")
        #expect(access(directory + "/missing", F_OK) != 0)
    }

    @Test("An access log that exists and can be written passes the check, unchanged")
    func existingFile_PassesUnchanged() throws {
        let directory = temporaryDirectory("access-log-check-existing")
        let path = directory + "/access.log"
        defer { unlink(path); rmdir(directory) }
        try FileWriter.replace(path, with: Array("a line\n".utf8))
        try AccessLog.check(path: path)
        #expect(FileWriter.contents(of: path) == Array("a line\n".utf8))
    }
}
