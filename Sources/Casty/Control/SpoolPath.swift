internal import Glibc

/// Where an event spool really is: `--event-spool` may name it through a symlink (or a directory that is one), and
/// its lock (``SpoolLock``), its live sessions file (``LiveSessions``) and its writes (``SpoolFile``) must all be
/// the one file's, whatever path names it — else a second process given the symlink would lock another file and
/// run beside the first, and a write renamed over the symlink would replace it with a file of its own.
public enum SpoolPath {
    /// `path` with its symlinks followed: the file's real path, or — when it does not exist yet — its directory's
    /// real path and its name (a dangling symlink followed to where it points). `path` itself when even its directory
    /// cannot be resolved (the write that fails then says so).
    public static func resolved(_ path: String) -> String {
        var path = path
        // A symlink that points at nothing yet: its target is where the file will be made (40, as the kernel's limit).
        for _ in 0..<40 {
            if let real = realPath(path) { return real }
            guard let target = linkTarget(path) else { break }
            path = target.hasPrefix("/") ? target : directory(of: path) + "/" + target
        }
        guard let name = path.split(separator: "/").last, name != ".", name != "..",
              let directory = realPath(directory(of: path)) else { return path }
        return (directory == "/" ? "" : directory) + "/" + name
    }

    /// The directory `path` is in: `.` for a bare name, `/` for one at the root.
    public static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    private static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// What the symlink at `path` points at, or `nil` if it is none.
    private static func linkTarget(_ path: String) -> String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = readlink(path, &buffer, buffer.count - 1)
        guard count > 0 else { return nil }
        return String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
