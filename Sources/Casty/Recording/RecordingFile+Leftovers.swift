internal import CastyNet
internal import Glibc
internal import Synchronization

extension RecordingFile {
    /// How long a recording's playlist must have been left alone to be taken for one a previous run left: a live
    /// one is rewritten with every segment (a target duration, 6 s), and a quiet stream's file is finished after a
    /// minute without audio.
    static let leftoverAge = 180

    /// The playlists the recordings of this process are writing now: never taken for a previous run's, however
    /// long their stream has been quiet.
    static let writing = Mutex<Set<String>>([])

    /// What a look for a previous run's unfinished recordings found.
    struct Leftovers: Equatable {
        /// The playlists finished.
        var finished: [String] = []
        /// In how many seconds the youngest of those left because they changed too lately will be old enough, if any:
        /// the look is made again then (a process restarted at once — a supervisor's — finds its killed run's file
        /// seconds old).
        var recheck: Int?
    }

    /// Finishes the recordings of `mount` under `directory` that a previous run left unfinished — killed, crashed,
    /// the machine gone: their playlists still say `EVENT`, without `EXT-X-ENDLIST`, and a player would wait for
    /// them for ever. Each becomes the `VOD` playlist it would have been, over the segments it lists (the audio
    /// file holds them; at most the segment being written when the run died is missing). Only the two newest date
    /// folders are looked in — a run that dies leaves its file there, and years of folders are not read at every
    /// start —, a playlist this process is writing (``writing``) is never touched, and one changed in the last
    /// `age` seconds is left to whoever writes it — the result says when it is old enough to be looked at again (one
    /// finished by mistake is rewritten whole with its next segment anyway).
    static func finishLeftovers(directory: String, mount: String, now: time_t = time(nil), age: Int = leftoverAge) -> Leftovers {
        let root = [directory, mount].filter { !$0.isEmpty }.joined(separator: "/")
        let ours = writing.withLock { $0 }
        var found = Leftovers()
        for day in FileWriter.names(in: root).sorted().suffix(2) {
            let folder = root + "/" + day
            for name in FileWriter.names(in: folder).sorted() where name.hasSuffix(".m3u8") && !ours.contains(folder + "/" + name) {
                let path = folder + "/" + name
                var info = stat()
                guard stat(path, &info) == 0,
                      let text = FileWriter.contents(of: path, limit: 16 << 20).map({ String(decoding: $0, as: UTF8.self) }),
                      let ended = HLSPlaylist.ended(text) else { continue }
                let wait = age - Int(now - info.st_mtim.tv_sec)
                if wait > 0 {
                    found.recheck = min(found.recheck ?? wait, wait)
                    continue
                }
                guard (try? FileWriter.replace(path, with: Array(ended.utf8))) != nil else { continue }
                found.finished.append(path)
            }
        }
        return found
    }

    /// Finishes this mount's recordings a previous run left unfinished (``finishLeftovers(directory:mount:now:age:)``),
    /// in one log line, and announces each as any finished file — under the session its sidecar names
    /// (``session(ofPlaylist:)``), else under an ID of its own —: the application hears of every recording, also of one
    /// whose run died before it could say so. Returns in how many seconds to look again, if some were too recent. On
    /// the recorder's queue.
    func finishLeftovers() -> Int? {
        let found = Self.finishLeftovers(directory: settings.directory, mount: mount, age: settings.leftoverAge)
        if !found.finished.isEmpty {
            logger("recording \(label): finished \(counted(found.finished.count, "file")) a previous run left unfinished"
                + " (its playlist ended, as a VOD): \(found.finished.joined(separator: ", "))")
        }
        for playlist in found.finished {
            onEvent(.finished(playlist: playlist, session: Self.session(ofPlaylist: playlist) ?? ControlPlane.newStreamID()))
        }
        return found.recheck
    }

    /// The key of a sidecar's member that holds the stream ID of the session its file records.
    static let sessionKey = "streaming_id"

    /// The stream ID of the session the recording whose playlist is `playlist` holds, as its sidecar (`.json` beside
    /// it) says; `nil` when it says none (written before sidecars kept it, or by a recording of no session). Its
    /// member comes before the titles, and a title's quotes are escaped, so the first match is the member.
    static func session(ofPlaylist playlist: String) -> String? {
        guard playlist.hasSuffix(".m3u8"),
              let sidecar = FileWriter.contents(of: String(playlist.dropLast(5)) + ".json", limit: 16 << 20) else { return nil }
        let text = String(decoding: sidecar, as: UTF8.self)
        guard let member = text.firstRange(of: "\"\(sessionKey)\":\"") else { return nil }
        let id = text[member.upperBound...].prefix { $0 != "\"" }
        return !id.isEmpty && id.count <= 64 && id.allSatisfy(\.isHexDigit) ? String(id) : nil
    }
}
