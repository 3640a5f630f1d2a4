internal import Glibc

/// A small file read only if it is a regular one, and only its first bytes: a key file, read at the start and again
/// at SIGHUP. A FIFO would block the reading until something writes to it (and every later SIGHUP behind it), and
/// `/dev/zero` would never end: both are refused before any byte is read. The path is checked with `stat` (through
/// any link) and the file opened with `O_NONBLOCK`, then checked again as opened, so that a FIFO put in its place
/// between the two cannot block either.
package enum RegularFile {
    /// Why a file was not read: its text names the path and says why (`/etc/casty/key is a FIFO, not a regular file`).
    package struct Refusal: Error, CustomStringConvertible, Equatable {
        /// The reason, naming the path.
        package let description: String
    }

    /// How many bytes of a key file are read at most: a key is one line.
    package static let keyLimit = 4096

    /// Up to `limit` bytes of the regular file at `path`, and whether it holds more.
    package static func read(_ path: String, atMost limit: Int) throws(Refusal) -> (bytes: [UInt8], more: Bool) {
        switch FileIdentity.kind(path) {
        case nil: throw Refusal(description: "cannot open \(path): \(SocketError.text(forErrno: errno))")
        case .regular?: break
        case let kind?: throw Refusal(description: "\(path) is \(kind), not a regular file")
        }
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { throw Refusal(description: "cannot open \(path): \(SocketError.text(forErrno: errno))") }
        defer { close(fd) }
        if let kind = FileIdentity.kind(ofOpen: fd), kind != .regular {
            throw Refusal(description: "\(path) is \(kind), not a regular file")
        }
        guard let read = readUp(fd, atMost: limit) else {
            throw Refusal(description: "cannot read \(path): \(SocketError.text(forErrno: errno))")
        }
        return read
    }

    /// Up to `limit` bytes read from the open descriptor `fd`, to its end or one byte past `limit`, and whether it
    /// holds more than `limit`; `nil` if a read fails (`errno` says why: `EISDIR` for a directory). It waits on a
    /// pipe until its writer is done (the caller that must not wait checks what it opened first, as ``read(_:atMost:)``).
    package static func readUp(_ fd: Int32, atMost limit: Int) -> (bytes: [UInt8], more: Bool)? {
        let wanted = limit == .max ? limit : limit + 1
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: min(wanted, 65536))
        while bytes.count < wanted {
            let room = min(chunk.count, wanted - bytes.count)
            let read = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress!, room) }
            if read == 0 { break }
            if read < 0 {
                if errno == EINTR { continue }
                return nil
            }
            bytes += chunk[..<read]
        }
        let more = bytes.count > limit
        if more { bytes.removeLast(bytes.count - limit) }
        return (bytes, more)
    }

    /// The first line of the regular file at `path` (empty for an empty file), read from its first `limit` bytes:
    /// a first line longer than that is refused, not cut.
    package static func firstLine(_ path: String, atMost limit: Int = keyLimit) throws(Refusal) -> String {
        let (bytes, more) = try read(path, atMost: limit)
        let end = bytes.firstIndex { $0 == UInt8(ascii: "\n") || $0 == UInt8(ascii: "\r") }
        if end == nil, more {
            throw Refusal(description: "\(path): its first line is longer than \(limit) bytes (a key is one short line)")
        }
        let line = String(decoding: bytes[..<(end ?? bytes.endIndex)], as: UTF8.self)
        return line.split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
    }
}
