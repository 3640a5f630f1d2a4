import Dispatch
import Glibc
import Testing

@testable import CastyNet

/// A key file is read only if it is a regular file, and only its first 4 KiB (``RegularFile``): a FIFO would block
/// the reading — and every later SIGHUP behind it —, `/dev/zero` would fill the memory.
@Suite
struct RegularFileTests {
    /// What reading the first line of `path` gives, read on a thread of its own: a reading that blocks is told as
    /// none, after a few seconds, rather than stopping the test's pool.
    private func firstLine(_ path: String) async -> Result<String, RegularFile.Refusal>? {
        let result = Locked<Result<String, RegularFile.Refusal>?>(nil)
        DispatchQueue.global().async {
            let read = Result { () throws(RegularFile.Refusal) -> String in try RegularFile.firstLine(path) }
            result.update { $0 = read }
        }
        _ = await eventually(timeout: .seconds(5)) { result.value != nil }
        return result.value
    }

    private func write(_ bytes: [UInt8], to path: String) throws {
        let file = try #require(fopen(path, "wb"))
        defer { fclose(file) }
        #expect(fwrite(bytes, 1, bytes.count, file) == bytes.count)
    }

    @Test func aKeyFileThatIsAFIFO_IsRefusedAtOnce_SayingSo() async throws {
        let directory = temporaryDirectory("keyfile-fifo")
        let path = directory + "/key"
        #expect(mkfifo(path, 0o600) == 0)
        let result = try #require(await firstLine(path), "the reading of a FIFO blocked")
        guard case .failure(let refusal) = result else { Issue.record("a FIFO read as \(result)"); return }
        #expect(refusal.description == "\(path) is a FIFO, not a regular file")
    }

    @Test func aKeyFileLinkedToDevZero_IsRefused_NotReadForEver() async throws {
        let directory = temporaryDirectory("keyfile-zero")
        let path = directory + "/key"
        #expect(symlink("/dev/zero", path) == 0)
        let result = try #require(await firstLine(path), "the reading of /dev/zero went on")
        guard case .failure(let refusal) = result else { Issue.record("/dev/zero read as a key: \(result)"); return }
        #expect(refusal.description == "\(path) is a character device, not a regular file")
    }

    @Test func aRegularKeyFileWhoseFirstLineIsLongerThan4KiB_IsRefused() async throws {
        let path = temporaryDirectory("keyfile-big") + "/key"
        try write([UInt8](repeating: UInt8(ascii: "k"), count: 1 << 20) + Array("\n".utf8), to: path)
        let result = try #require(await firstLine(path))
        guard case .failure(let refusal) = result else { Issue.record("a 1 MiB line read as a key"); return }
        #expect(refusal.description == "\(path): its first line is longer than 4096 bytes (a key is one short line)")
    }

    @Test func aKeyFile_GivesItsFirstLine_WhateverFollowsIt() async throws {
        let directory = temporaryDirectory("keyfile-good")
        try write(Array("KEYONE\nsecond line\n".utf8), to: directory + "/key")
        #expect(try #require(await firstLine(directory + "/key")).get() == "KEYONE")
        try write(Array("KEYTWO\r\n".utf8) + [UInt8](repeating: UInt8(ascii: "x"), count: 1 << 20), to: directory + "/big")
        #expect(try #require(await firstLine(directory + "/big")).get() == "KEYTWO", "a short first line of a big file")
        try write(Array("KEYTHREE".utf8), to: directory + "/bare")
        #expect(try #require(await firstLine(directory + "/bare")).get() == "KEYTHREE", "a key without a newline")
        try write([], to: directory + "/empty")
        #expect(try #require(await firstLine(directory + "/empty")).get() == "")
        #expect(symlink(directory + "/key", directory + "/link") == 0)
        #expect(try #require(await firstLine(directory + "/link")).get() == "KEYONE", "a link to a regular file")
    }

    @Test func aKeyFileThatIsMissing_IsRefused_SayingWhy() async throws {
        let path = temporaryDirectory("keyfile-missing") + "/key"
        let result = try #require(await firstLine(path))
        guard case .failure(let refusal) = result else { Issue.record("\(result)"); return }
        #expect(refusal.description == "cannot open \(path): No such file or directory")
    }
}
