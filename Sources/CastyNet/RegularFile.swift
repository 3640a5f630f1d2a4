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
        var bytes = [UInt8](repeating: 0, count: limit + 1)
        var count = 0
        while count < bytes.count {
            let read = bytes.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + count, $0.count - count) }
            if read == 0 { break }
            if read < 0 {
                if errno == EINTR { continue }
                throw Refusal(description: "cannot read \(path): \(SocketError.text(forErrno: errno))")
            }
            count += read
        }
        return (Array(bytes[..<min(count, limit)]), count > limit)
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
