internal import CastyNet
internal import Dispatch
internal import Glibc
internal import Synchronization

/// Writes a mount's live HLS to a directory (`--hls-dir`), so that nginx, or any web server or CDN origin,
/// serves it as static files: each segment, then the playlist that names it, both written to a temporary file
/// and renamed into place (a reader never sees half a file, nor a playlist naming a segment not yet there);
/// segments that have left the playlist long enough ago are deleted. A segment whose write failed, or that was
/// deleted from outside, is written again before a playlist that names it, so that a playlist on disk never names
/// a segment missing there.
///
/// The writing happens on a serial queue of its own — never on an event loop, where a slow disk would stall
/// every listener. A failure (a full disk, a directory removed) is one log line for each kind of call that
/// fails (`open`, `write`, `rename`, `mkdir`); the playlists, which can no longer move on, are deleted; the writer
/// still deletes what expired, tries again with the next segment, and says so once it has written a playlist's
/// worth of segments in a row. At its first segment it deletes the segments an earlier run left in
/// the directory, which no playlist of this run names.
package final class HLSDirectory: Sendable {
    /// The directory: `DIR/<mount>` (`DIR` itself for a relay's one stream).
    let path: String
    /// The folder `path` lies in (`--hls-dir`), if any: never removed.
    let root: String?
    private let logger: EventLog
    /// The calls failing now, each told once — until the writer has written steadily again (``steadyWrites``).
    private let failing = Mutex<Set<String>>([])
    /// The segments written in a row since the last failure: a disk that stays full may take one or two as expiries
    /// free a little room, and fail again at once; recovery is told only after a playlist's worth.
    private let steadyWrites = Mutex(0)
    /// Whether an earlier run's segments were deleted.
    private let cleared = Mutex(false)
    /// The segments written and not deleted since: a segment the playlist names that is not among them (its write
    /// failed) is written before the playlist.
    private let written = Mutex<Set<String>>([])
    /// Segments that expired but could not be deleted yet (the directory was not writable): tried again with each
    /// segment, so that none is left on disk for good.
    private let undeleted = Mutex<Set<String>>([])
    private static let queue = DispatchQueue(label: "casty.hls-directory")
    /// Every writer of the process, so that a shutdown takes their files off the disk (``removeAll()``).
    private static let writers = Mutex<[ObjectIdentifier: WeakWriter]>([:])

    /// A writer, held weakly by the registry.
    private struct WeakWriter: @unchecked Sendable {
        // @unchecked Sendable: a weak reference to a Sendable class, read under the registry's lock.
        weak var writer: HLSDirectory?
    }

    /// A writer into `path` (made if missing, at the first segment), a folder below `root` (`--hls-dir`), if given:
    /// the folders between them that its removal leaves empty go too (a mount `/a/b` forgotten leaves no `a/`).
    init(path: String, root: String? = nil, logger: EventLog) {
        self.path = path
        self.root = root
        self.logger = logger
        Self.writers.withLock { $0[ObjectIdentifier(self)] = WeakWriter(writer: self) }
    }

    deinit {
        Self.writers.withLock { $0[ObjectIdentifier(self)] = nil }
    }

    /// The process stops (``Shutdown``): every writer's playlists and segments are deleted — nothing will move them
    /// on, so a web server must not go on serving them — and this returns once they are.
    static func removeAll() {
        exiting.withLock { $0 = true }
        for writer in writers.withLock({ $0.values.compactMap(\.writer) }) { writer.remove() }
        flush()
    }

    /// Whether the process stops (``removeAll()``): nothing is written after, so that a source's last segment,
    /// published as its session ends a moment later, cannot put back the playlists just deleted.
    private static let exiting = Mutex(false)

    /// Writes `segment` and every segment of `listed` (those the media playlist names) not written yet, then the
    /// playlists (the media playlist once it is given: once the window is long enough), then deletes the files
    /// named in `expired` — and, the first time, every segment file not named in `kept` (the segments this run
    /// still serves).
    func publish(_ segment: HLSSegment, listed: [HLSSegment] = [], playlist: String?, master: String, expired: [String], kept: [String]) {
        Self.queue.async { [self] in
            guard !Self.exiting.withLock({ $0 }) else { return }
            let result = write([segment] + listed.filter { $0.name != segment.name }, playlist: playlist, master: master)
            var withdrawal = Withdrawal.deleted
            if case .failure = result {
                // The playlists on disk can no longer be moved on: they go (unlink needs no room), so that a web server
                // never serves a live playlist that stopped moving, nor one naming the segments that expire below.
                FileWriter.remove(path + "/master.m3u8")
                withdrawal = Self.withdraw(path + "/index.m3u8")
            }
            if !cleared.withLock({ $0 }) { clearEarlierRun(keeping: Set(kept), playlists: playlist == nil) }
            delete(expired)
            switch result {
            case .success where !failing.withLock({ $0.isEmpty }):
                // Back once it has written as many segments in a row as its playlist names (three at least).
                let steady = steadyWrites.withLock { count in
                    count += 1
                    guard count >= max(listed.count, 3) else { return false }
                    count = 0
                    return true
                }
                if steady {
                    failing.withLock { $0 = [] }
                    logger("hls: writing \(SafeText.logLine(path)) again")
                }
            case .success:
                break
            case .failure(let error):
                steadyWrites.withLock { $0 = 0 }
                if failing.withLock({ $0.insert(error.call).inserted }) {
                    logger("hls: cannot write \(SafeText.logLine(path)): \(SafeText.logLine("\(error)")); the stream goes on, "
                        + "its playlists are taken down until the writer, trying again with each segment, writes them again")
                }
                if withdrawal != .deleted, failing.withLock({ $0.insert("withdraw").inserted }) {
                    logger("hls: \(SafeText.logLine(path))/index.m3u8 \(withdrawal)")
                }
            }
        }
    }

    /// Deletes the segments named in `expired`, and those that could not be deleted before; one that cannot be
    /// deleted now is tried again the next time. On the writer's queue.
    private func delete(_ expired: [String]) {
        let expiring = undeleted.withLock { names in defer { names = [] }; return names.union(expired) }
        var cause: Int32 = 0
        let left = expiring.filter { name in
            guard !FileWriter.remove(path + "/" + name) else { return false }
            cause = errno
            return true
        }
        if !left.isEmpty, failing.withLock({ $0.insert("unlink").inserted }) {
            logger("hls: cannot delete \(left.count) expired segment\(left.count == 1 ? "" : "s") in \(SafeText.logLine(path)) "
                + "(\(String(cString: strerror(cause)))); tried again with each segment")
        }
        undeleted.withLock { $0.formUnion(left) }
        written.withLock { $0.subtract(expiring) }
    }

    /// The live playlist is withdrawn (the mount's session is over): the playlists are deleted now, so that a web
    /// server serving them answers `404`, and so are the segments named in `expired`; the others stay until their
    /// time is up (``expire(_:)``), as segments that left a live playlist do.
    func withdraw(expired: [String]) {
        Self.queue.async { [self] in
            for name in ["index.m3u8", "master.m3u8"] { FileWriter.remove(path + "/" + name) }
            delete(expired)
        }
    }

    /// Deletes the segments named in `expired`, whose time is up, with no playlist to write (a withdrawn one's).
    func expire(_ expired: [String]) {
        guard !expired.isEmpty else { return }
        Self.queue.async { [self] in delete(expired) }
    }

    /// What became of a live playlist that can no longer move on (``withdraw(_:remove:)``).
    enum Withdrawal: Equatable, CustomStringConvertible {
        /// Deleted (or gone already).
        case deleted
        /// Not deletable (a directory made read-only), so ended where it is: `#EXT-X-ENDLIST` added, which players
        /// take as the stream's end rather than a list that stopped moving.
        case ended(errno: Int32)
        /// Neither deletable nor writable: still on disk as it was.
        case stale(errno: Int32)

        var description: String {
            switch self {
            case .deleted: "deleted"
            case .ended(let code):
                "cannot be deleted (\(String(cString: strerror(code)))): ended where it is (#EXT-X-ENDLIST), so that players"
                    + " served it stop rather than wait on a list that no longer moves"
            case .stale(let code):
                "cannot be deleted nor ended (\(String(cString: strerror(code)))): a web server serving it serves a live"
                    + " playlist that no longer moves, until the writer writes again"
            }
        }
    }

    /// Deletes the live playlist at `path` — or, when its directory does not let it (its write permission taken
    /// away), ends it in place with `#EXT-X-ENDLIST`, once.
    static func withdraw(_ path: String, remove: (String) -> Bool = FileWriter.remove) -> Withdrawal {
        guard !remove(path) else { return .deleted }
        let cause = errno
        guard let text = FileWriter.contents(of: path, limit: 1 << 20) else { return .stale(errno: cause) }
        if String(decoding: text, as: UTF8.self).contains("#EXT-X-ENDLIST") { return .ended(errno: cause) }
        do throws(FileError) {
            let fd = try FileWriter.openForAppending(path)
            defer { close(fd) }
            try FileWriter.write(fd, Array(((text.last == UInt8(ascii: "\n") ? "" : "\n") + "#EXT-X-ENDLIST\n").utf8), path: path)
            return .ended(errno: cause)
        } catch {
            return .stale(errno: cause)
        }
    }

    /// Writes the first of `segments` (the new one) and those of the others not written yet — or no longer on disk
    /// (deleted from outside: a cleaner, an operator freeing room) —, then the playlists.
    private func write(_ segments: [HLSSegment], playlist: String?, master: String) -> Result<Void, FileError> {
        do throws(FileError) {
            try FileWriter.makeDirectories(path)
            for (index, segment) in segments.enumerated()
            where index == 0 || !written.withLock({ $0.contains(segment.name) }) || access(path + "/" + segment.name, F_OK) != 0 {
                try FileWriter.replace(path + "/" + segment.name, with: segment.bytes)
                written.withLock { _ = $0.insert(segment.name) }
            }
            if let playlist {
                try FileWriter.replace(path + "/index.m3u8", with: Array(playlist.utf8))
                try FileWriter.replace(path + "/master.m3u8", with: Array(master.utf8))
            }
            return .success(())
        } catch {
            return .failure(error)
        }
    }

    /// Deletes the segment files of the directory not in `kept`: an earlier run's, which would never expire — and,
    /// with `playlists` (this run has written none yet), its playlists, which name those segments.
    private func clearEarlierRun(keeping kept: Set<String>, playlists: Bool) {
        guard access(path, F_OK) == 0 else { return }
        cleared.withLock { $0 = true }
        for name in FileWriter.names(in: path) where HLSRoutes.isSegmentName(name) && !kept.contains(name) {
            FileWriter.remove(path + "/" + name)
        }
        if playlists {
            for name in ["index.m3u8", "master.m3u8"] { FileWriter.remove(path + "/" + name) }
        }
    }

    /// The mount is gone (forgotten after its last source), or its session is over: its playlists and segments are
    /// deleted, so that a web server serving the directory does not hand players a live playlist that never moves
    /// again. The writer may write the next session's files afterwards.
    func remove() {
        Self.queue.async { [self] in
            let names = written.withLock { $0 }.union(undeleted.withLock { $0 }).union(["index.m3u8", "master.m3u8"])
            for name in names { FileWriter.remove(path + "/" + name) }
            written.withLock { $0 = [] }
            undeleted.withLock { $0 = [] }
            // Only if nothing else is in it; then each folder above it left empty, up to the root (which stays).
            var folder = path
            while rmdir(folder) == 0, let root, let slash = folder.lastIndex(of: "/") {
                let parent = String(folder[..<slash])
                guard parent.hasPrefix(root + "/") else { break }
                folder = parent
            }
        }
    }

    /// Deletes the live HLS an earlier run of the process left in `folders` (`--hls-dir` for a node of one stream,
    /// `DIR/<mount>` for each of a server's mounts) — and, `recursive`, in the folders below them (four levels at
    /// most: a server that takes any mount), with the folders that are left empty —, before this run writes any.
    /// Called at start-up: a run that was killed (`kill -9`, a crash, a power cut) could not delete them, and a web
    /// server would serve its live playlist, which nothing moves, until a source publishes that mount again. Only
    /// what a live run writes goes: `index.m3u8`, `master.m3u8`, and the segments in a folder that holds one of them.
    /// A recording's segments are named as live ones, in a folder of their own with no such playlist: they are kept,
    /// and `recordings` (`--record-dir`, which may lie in `--hls-dir`) is never gone into at all. Other files, and
    /// the folders of mounts this node does not serve, are left alone. Returns how many files were deleted.
    @discardableResult
    package static func clearEarlierRuns(in folders: [String], recursive: Bool, sparing recordings: String? = nil) -> Int {
        let spared = recordings.flatMap(realPath)
        func clear(_ folder: String, depth: Int) -> Int {
            let names = FileWriter.names(in: folder)
            // A write the killed run left half done is its temporary file (`index.m3u8.tmp`, `deadbeef-3.mp3.tmp`).
            let written = { (name: String) in name.hasSuffix(".tmp") ? String(name.dropLast(4)) : name }
            let isPlaylist = { (name: String) in written(name) == "index.m3u8" || written(name) == "master.m3u8" }
            let live = names.contains(where: isPlaylist)
            var removed = 0
            for name in names {
                let path = folder + "/" + name
                if isPlaylist(name) || (live && HLSRoutes.isSegmentName(written(name))) {
                    if FileWriter.remove(path) { removed += 1 }
                } else if recursive, depth < 4, FileWriter.isDirectory(path), spared == nil || realPath(path) != spared {
                    removed += clear(path, depth: depth + 1)
                    _ = rmdir(path)  // only if nothing else is in it
                }
            }
            return removed
        }
        return queue.sync { folders.reduce(0) { $0 + clear($1, depth: 0) } }
    }

    /// `path` with every symbolic link, `.` and `..` resolved — so that two spellings of one folder compare
    /// equal —, or `nil` if it does not exist.
    package static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// Waits until everything handed to the writer so far is written (tests, shutdown).
    static func flush() {
        queue.sync {}
    }
}
