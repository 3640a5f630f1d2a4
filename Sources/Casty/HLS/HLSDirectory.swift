internal import CastyNet
internal import Dispatch
internal import Synchronization

/// Writes a mount's live HLS to a directory (`--hls-dir`), so that nginx, or any web server or CDN origin,
/// serves it as static files: each segment, then the playlist that names it, both written to a temporary file
/// and renamed into place (a reader never sees half a file, nor a playlist naming a segment not yet there);
/// segments that have left the playlist long enough ago are deleted.
///
/// The writing happens on a serial queue of its own — never on an event loop, where a slow disk would stall
/// every listener. A failure (a full disk, a directory removed) is one log line; the writer tries again with
/// the next segment, and says so once it succeeds.
final class HLSDirectory: Sendable {
    /// The directory: `DIR/<mount>` (`DIR` itself for a relay's one stream).
    let path: String
    private let logger: EventLog
    private let failing = Mutex(false)
    private static let queue = DispatchQueue(label: "casty.hls-directory")

    /// A writer into `path` (made if missing, at the first segment).
    init(path: String, logger: EventLog) {
        self.path = path
        self.logger = logger
    }

    /// Writes `segment`, then the playlists (the media playlist once it is given: once the window is long
    /// enough), then deletes the files named in `expired`.
    func publish(_ segment: HLSSegment, playlist: String?, master: String, expired: [String]) {
        Self.queue.async { [self] in
            do throws(FileError) {
                try FileWriter.makeDirectories(path)
                try FileWriter.replace(path + "/" + segment.name, with: segment.bytes)
                if let playlist {
                    try FileWriter.replace(path + "/index.m3u8", with: Array(playlist.utf8))
                    try FileWriter.replace(path + "/master.m3u8", with: Array(master.utf8))
                }
                for name in expired { FileWriter.remove(path + "/" + name) }
                if failing.withLock({ let was = $0; $0 = false; return was }) {
                    logger("hls: writing \(path) again")
                }
            } catch {
                if !failing.withLock({ let was = $0; $0 = true; return was }) {
                    logger("hls: cannot write \(path): \(error); the stream goes on, and the writer tries again with each segment")
                }
            }
        }
    }

    /// Waits until everything handed to the writer so far is written (tests, shutdown).
    static func flush() {
        queue.sync {}
    }
}
