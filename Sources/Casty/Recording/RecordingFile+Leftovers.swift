internal import CastyNet
internal import Glibc

extension RecordingFile {
    /// How long a recording's playlist must have been left alone to be taken for one a previous run left: a live
    /// one is rewritten with every segment (a target duration, 6 s), and a quiet stream's file is finished after a
    /// minute without audio.
    static let leftoverAge = 180

    /// Finishes the recordings of `mount` under `directory` that a previous run left unfinished — killed, crashed,
    /// the machine gone: their playlists still say `EVENT`, without `EXT-X-ENDLIST`, and a player would wait for
    /// them for ever. Each becomes the `VOD` playlist it would have been, over the segments it lists (the audio
    /// file holds them; at most the segment being written when the run died is missing). Only the two newest date
    /// folders are looked in — a run that dies leaves its file there, and years of folders are not read at every
    /// start — and a playlist changed in the last ``leftoverAge`` seconds is left to whoever writes it (one finished
    /// by mistake is rewritten whole with its next segment anyway). Returns the playlists finished.
    static func finishLeftovers(directory: String, mount: String, now: time_t = time(nil)) -> [String] {
        let root = [directory, mount].filter { !$0.isEmpty }.joined(separator: "/")
        var finished: [String] = []
        for day in FileWriter.names(in: root).sorted().suffix(2) {
            let folder = root + "/" + day
            for name in FileWriter.names(in: folder).sorted() where name.hasSuffix(".m3u8") {
                let path = folder + "/" + name
                var info = stat()
                guard stat(path, &info) == 0, now - info.st_mtim.tv_sec >= leftoverAge,
                      let text = FileWriter.contents(of: path, limit: 16 << 20).map({ String(decoding: $0, as: UTF8.self) }),
                      let ended = HLSPlaylist.ended(text),
                      (try? FileWriter.replace(path, with: Array(ended.utf8))) != nil else { continue }
                finished.append(path)
            }
        }
        return finished
    }

    /// Finishes this mount's recordings a previous run left unfinished (``finishLeftovers(directory:mount:now:)``),
    /// in one log line. On the recorder's queue.
    func finishLeftovers() {
        let finished = Self.finishLeftovers(directory: settings.directory, mount: mount)
        guard !finished.isEmpty else { return }
        logger("recording \(label): finished \(finished.count) file\(finished.count == 1 ? "" : "s") a previous run left unfinished"
            + " (its playlist ended, as a VOD): \(finished.joined(separator: ", "))")
    }
}
