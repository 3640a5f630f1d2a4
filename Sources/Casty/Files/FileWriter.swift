internal import Glibc

/// What went wrong writing a file: the call that failed, the path, and `errno`'s text — one phrase for a log line.
struct FileError: Error, CustomStringConvertible, Equatable {
    /// The system call that failed (`open`, `write`, `rename`, `mkdir`).
    let call: String
    /// The file or directory.
    let path: String
    /// `errno` after the call.
    let code: Int32

    /// "write /rec/live/….mp3: No space left on device (errno 28)".
    var description: String {
        "\(call) \(path): \(String(cString: strerror(code))) (errno \(code))"
    }

    /// `errno`'s text alone: "No space left on device".
    var reason: String { String(cString: strerror(code)) }

    /// Whether the disk is full (or the quota reached).
    var diskFull: Bool { code == ENOSPC || code == EDQUOT }
}

/// Plain file writing (and reading back) with the system calls, for the few files Casty writes: HLS playlists and segments
/// served by another web server, recordings, the event spool. Blocking: call it from a writer queue, never
/// on an event loop.
enum FileWriter {
    /// Writes `bytes` to `path` so that a reader never sees half a file: into `path.tmp` first, then renamed
    /// over `path` (a rename within a directory is atomic). With `sync`, the bytes are on disk before the rename.
    /// Any failure — a write, or the `fsync` or `close` that reports a full disk or an I/O error late — throws and
    /// leaves `path` as it was: a file that may be partial is never renamed over a good one.
    static func replace(_ path: String, with bytes: some Collection<UInt8>, mode: mode_t = 0o644, sync: Bool = false) throws(FileError) {
        let temporary = path + ".tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        guard fd >= 0 else { throw FileError(call: "open", path: temporary, code: errno) }
        do throws(FileError) {
            try write(fd, Array(bytes), path: temporary)
            if sync, fsync(fd) != 0 { throw FileError(call: "fsync", path: temporary, code: errno) }
        } catch {
            _ = close(fd)
            _ = unlink(temporary)
            throw error
        }
        // On Linux the descriptor is closed even when close fails; EINTR says nothing of the data.
        if close(fd) != 0, errno != EINTR {
            let code = errno
            _ = unlink(temporary)
            throw FileError(call: "close", path: temporary, code: code)
        }
        guard rename(temporary, path) == 0 else {
            let code = errno
            _ = unlink(temporary)
            throw FileError(call: "rename", path: path, code: code)
        }
    }

    /// Opens `path` for appending (creating it), returning the descriptor.
    static func openForAppending(_ path: String) throws(FileError) -> Int32 {
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw FileError(call: "open", path: path, code: errno) }
        return fd
    }

    /// Writes all of `bytes` to `fd`.
    static func write(_ fd: Int32, _ bytes: [UInt8], path: String) throws(FileError) {
        var written = 0
        while written < bytes.count {
            let count = bytes[written...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { throw FileError(call: "write", path: path, code: count < 0 ? errno : EIO) }
            written += count
        }
    }

    /// Makes `path` and the directories above it, like `mkdir -p`.
    static func makeDirectories(_ path: String) throws(FileError) {
        var partial = path.hasPrefix("/") ? "" : "."
        for part in path.split(separator: "/") {
            partial += "/" + part
            if mkdir(partial, 0o755) != 0, errno != EEXIST { throw FileError(call: "mkdir", path: partial, code: errno) }
        }
    }

    /// The first `limit` bytes of the file at `path`, or `nil` if it cannot be opened (the event spool read back,
    /// a recording's sidecar in the tests).
    static func contents(of path: String, limit: Int = 64 << 20) -> [UInt8]? {
        guard let file = fopen(path, "rb") else { return nil }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16_384)
        while bytes.count < limit {
            let count = fread(&buffer, 1, buffer.count, file)
            if count <= 0 { break }
            bytes += buffer[..<count]
        }
        return Array(bytes.prefix(limit))
    }

    /// The names of the entries of directory `path` (without `.` and `..`); none when it cannot be read.
    static func names(in path: String) -> [String] {
        guard let directory = opendir(path) else { return [] }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// Whether `path` is a directory (not following a symbolic link).
    static func isDirectory(_ path: String) -> Bool {
        var status = stat()
        return lstat(path, &status) == 0 && status.st_mode & S_IFMT == S_IFDIR
    }

    /// Removes a file; a file already gone is fine. `false` when it is still there (the directory cannot be
    /// written now).
    @discardableResult
    static func remove(_ path: String) -> Bool {
        unlink(path) == 0 || errno == ENOENT
    }
}
