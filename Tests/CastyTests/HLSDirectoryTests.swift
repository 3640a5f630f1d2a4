import Glibc
import Testing

@testable import Casty
@testable import CastyNet

@Suite("HLS: --hls-dir")
struct HLSDirectoryTests {
    /// Segments of a tone: eight at least.
    static let segments: [HLSSegment] = {
        var segmenter = toneSegmenter()
        return cut(relayedTone(segments: 120), into: &segmenter)
    }()

    @Test("The first segment of a run deletes the segments and playlists an earlier run left, and nothing else")
    func earlierRunCleared() throws {
        let path = temporaryDirectory("hlsdir-stale")
        for name in ["deadbeef-1.mp3", "deadbeef-2.aac"] { try FileWriter.replace(path + "/" + name, with: [1, 2, 3]) }
        try FileWriter.replace(path + "/notes.txt", with: [1])
        for name in ["index.m3u8", "master.m3u8"] { try FileWriter.replace(path + "/" + name, with: Array("#EXTM3U\n".utf8)) }
        let directory = HLSDirectory(path: path, logger: .silent)
        let segment = Self.segments[0]
        directory.publish(segment, playlist: nil, master: "", expired: [], kept: [segment.name])
        HLSDirectory.flush()
        #expect(fileSize(path + "/deadbeef-1.mp3") == nil)
        #expect(fileSize(path + "/deadbeef-2.aac") == nil)
        #expect(fileSize(path + "/notes.txt") == 1)
        #expect(fileSize(path + "/index.m3u8") == nil, "a playlist naming the deleted segments goes with them")
        #expect(fileSize(path + "/master.m3u8") == nil)
        #expect(fileSize(path + "/" + segment.name) == segment.bytes.count)
        // Later segments delete only what expired.
        try FileWriter.replace(path + "/deadbeef-3.mp3", with: [1])
        directory.publish(Self.segments[1], playlist: nil, master: "", expired: [], kept: Self.segments.prefix(2).map(\.name))
        HLSDirectory.flush()
        #expect(fileSize(path + "/deadbeef-3.mp3") == 1)
    }

    @Test("The start-up clean-up of an earlier run's live HLS (its half-written files too) keeps the recordings that lie in --hls-dir")
    func startUpClearance_KeepsRecordings() throws {
        let root = temporaryDirectory("hlsdir-recordings")
        // A killed run's live HLS of /live, and a finished recording of /s (--record-dir is --hls-dir): its segments
        // are named as live ones, in a folder of their own beside its VOD playlist.
        // Writes it left half done too: their temporary files.
        let live = ["live/index.m3u8", "live/master.m3u8", "live/deadbeef-1.mp3", "live/deadbeef-2.mp3", "live/deadbeef-3.mp3.tmp",
                    "live/index.m3u8.tmp"]
        let recording = ["s/2026-12-06/12-23-34.mp3", "s/2026-12-06/12-23-34.m3u8", "s/2026-12-06/12-23-34.json",
                         "s/2026-12-06/12-23-34/5baf8b2c-0.mp3", "s/2026-12-06/12-23-34/5baf8b2c-1-35.mp3"]
        for name in live + recording {
            try FileWriter.makeDirectories(root + "/" + String(name[..<name.lastIndex(of: "/")!]))
            try FileWriter.replace(root + "/" + name, with: [1])
        }
        #expect(HLSDirectory.clearEarlierRuns(in: [root], recursive: true) == live.count)
        for name in live { #expect(fileSize(root + "/" + name) == nil, "\(name)") }
        for name in recording { #expect(fileSize(root + "/" + name) == 1, "\(name) kept") }
    }

    @Test("The start-up clean-up never goes into --record-dir when it lies in --hls-dir")
    func startUpClearance_SparesTheRecordingsFolder() throws {
        let root = temporaryDirectory("hlsdir-spared")
        for folder in ["live", "recordings/live"] {
            try FileWriter.makeDirectories(root + "/" + folder)
            for name in ["index.m3u8", "deadbeef-1.mp3"] { try FileWriter.replace(root + "/" + folder + "/" + name, with: [1]) }
        }
        // Spelled another way than the folders walked: the same folder all the same.
        #expect(HLSDirectory.clearEarlierRuns(in: [root], recursive: true, sparing: root + "/live/../recordings/") == 2)
        #expect(fileSize(root + "/live/index.m3u8") == nil)
        #expect(fileSize(root + "/recordings/live/index.m3u8") == 1 && fileSize(root + "/recordings/live/deadbeef-1.mp3") == 1)
    }

    @Test("A nested mount's folder removed takes the folders it leaves empty with it, up to --hls-dir, which stays")
    func nestedMountRemoved_LeavesNoEmptyFolder() throws {
        let root = temporaryDirectory("hlsdir-nested")
        let directory = HLSDirectory(path: root + "/a/b", root: root, logger: .silent)
        let segment = Self.segments[0]
        directory.publish(segment, playlist: nil, master: "", expired: [], kept: [segment.name])
        HLSDirectory.flush()
        #expect(fileSize(root + "/a/b/" + segment.name) == segment.bytes.count)
        let sibling = HLSDirectory(path: root + "/c/d", root: root, logger: .silent)
        sibling.publish(segment, playlist: nil, master: "", expired: [], kept: [segment.name])
        HLSDirectory.flush()
        try FileWriter.replace(root + "/c/notes.txt", with: [1])
        directory.remove()
        sibling.remove()
        HLSDirectory.flush()
        #expect(!FileWriter.isDirectory(root + "/a"), "a/ held only the mount's folder")
        #expect(!FileWriter.isDirectory(root + "/c/d") && FileWriter.isDirectory(root + "/c"), "c/ holds a file of someone else's")
        #expect(FileWriter.isDirectory(root))
    }

    @Test("A write that fails still deletes the expired segments, and is told once")
    func failedWriteStillExpires() throws {
        let path = temporaryDirectory("hlsdir-failing")
        let lines = Locked<[String]>([])
        let directory = HLSDirectory(path: path, logger: EventLog { line in lines.update { $0.append(line) } })
        let (old, failing, next) = (Self.segments[0], Self.segments[1], Self.segments[2])
        try FileWriter.replace(path + "/" + old.name, with: old.bytes)
        // A directory where the segment should go: renaming the written file over it fails.
        try FileWriter.makeDirectories(path + "/" + failing.name + "/x")
        try FileWriter.makeDirectories(path + "/" + next.name + "/x")
        directory.publish(failing, playlist: "#EXTM3U\n", master: "", expired: [old.name], kept: [failing.name])
        directory.publish(next, playlist: "#EXTM3U\n", master: "", expired: [], kept: [failing.name, next.name])
        HLSDirectory.flush()
        #expect(fileSize(path + "/" + old.name) == nil)
        #expect(lines.value.count == 1)
        #expect(lines.value.first?.contains("cannot write " + path) == true)
        // Once writes succeed again (three segments in a row, for a playlist of fewer), it says so.
        for segment in Self.segments[3...5] {
            #expect(lines.value.count == 1)
            directory.publish(segment, playlist: "#EXTM3U\n", master: "", expired: [], kept: [])
            HLSDirectory.flush()
        }
        #expect(lines.value.count == 2)
        #expect(lines.value.last?.contains("again") == true)
    }

    @Test("A disk that stays full leaves no live playlist naming deleted segments, and is told once, not at each segment that fits")
    func fullDisk_PlaylistGoes_LogDoesNotFlap() throws {
        let path = temporaryDirectory("hlsdir-full")
        let lines = Locked<[String]>([])
        let directory = HLSDirectory(path: path, logger: EventLog { line in lines.update { $0.append(line) } })
        let window = Array(Self.segments[0...2])
        let playlist = HLSPlaylist.media(window, targetDuration: 6)
        for segment in window {
            directory.publish(segment, listed: window, playlist: playlist, master: "#EXTM3U\n", expired: [], kept: window.map(\.name))
        }
        HLSDirectory.flush()
        #expect(fileSize(path + "/index.m3u8") == playlist.utf8.count)
        // The disk fills (a directory where the next segments should go: renaming onto it fails) while the
        // playlist's segments expire.
        let (full, fits, fullAgain) = (Self.segments[3], Self.segments[4], Self.segments[5])
        for segment in [full, fullAgain] { try FileWriter.makeDirectories(path + "/" + segment.name + "/x") }
        directory.publish(full, listed: [full], playlist: "#EXTM3U\n", master: "#EXTM3U\n", expired: window.map(\.name), kept: [full.name])
        HLSDirectory.flush()
        #expect(fileSize(path + "/index.m3u8") == nil, "a playlist that can no longer move on goes")
        #expect(fileSize(path + "/master.m3u8") == nil)
        #expect(window.allSatisfy { fileSize(path + "/" + $0.name) == nil })
        // An expiry frees a little room: one segment fits, the next does not.
        directory.publish(fits, listed: [fits], playlist: "#EXTM3U\n", master: "#EXTM3U\n", expired: [], kept: [fits.name])
        directory.publish(fullAgain, listed: [fits, fullAgain], playlist: "#EXTM3U\n", master: "#EXTM3U\n", expired: [], kept: [fits.name])
        HLSDirectory.flush()
        #expect(lines.value.count == 1, "\(lines.value)")
        #expect(lines.value.first?.contains("cannot write " + path) == true)
        #expect(fileSize(path + "/index.m3u8") == nil)
    }

    @Test("A live playlist whose directory does not let it be deleted (made read-only) is ended where it is, once; one that cannot be written either is said to be left stale")
    func undeletablePlaylist_IsEndedInPlace() throws {
        let path = temporaryDirectory("hlsdir-readonly")
        let playlist = path + "/index.m3u8"
        try FileWriter.replace(playlist, with: Array("#EXTM3U\n#EXT-X-TARGETDURATION:6\n#EXTINF:6.0,\na-1.mp3\n".utf8))
        let refusing: (String) -> Bool = { _ in errno = EACCES; return false }
        #expect(HLSDirectory.withdraw(playlist, remove: refusing) == .ended(errno: EACCES))
        #expect(HLSDirectory.withdraw(playlist, remove: refusing) == .ended(errno: EACCES))
        let text = String(decoding: FileWriter.contents(of: playlist) ?? [], as: UTF8.self)
        #expect(text.hasSuffix("a-1.mp3\n#EXT-X-ENDLIST\n") && text.split(separator: "#EXT-X-ENDLIST", omittingEmptySubsequences: false).count == 2, "\(text)")
        #expect("\(HLSDirectory.Withdrawal.ended(errno: EACCES))".contains("Permission denied"))
        // A directory in the playlist's place: neither deleted nor written.
        try FileWriter.makeDirectories(path + "/other/index.m3u8/x")
        guard case .stale = HLSDirectory.withdraw(path + "/other/index.m3u8") else {
            Issue.record("a playlist that can be neither deleted nor written is stale")
            return
        }
        #expect(HLSDirectory.withdraw(path + "/gone.m3u8") == .deleted)
    }

    @Test("An expired segment that cannot be deleted yet is deleted later, once it can: none is left on disk for good")
    func undeletedSegment_IsDeletedLater() throws {
        let path = temporaryDirectory("hlsdir-undeleted")
        let lines = Locked<[String]>([])
        let directory = HLSDirectory(path: path, logger: EventLog { line in lines.update { $0.append(line) } })
        // Where the expired segment is, something unlink cannot delete (a directory, as root ignores permissions).
        let stuck = "deadbeef-7.mp3"
        try FileWriter.makeDirectories(path + "/" + stuck + "/x")
        directory.publish(Self.segments[0], playlist: nil, master: "", expired: [stuck], kept: Self.segments.prefix(1).map(\.name))
        HLSDirectory.flush()
        #expect(lines.value.contains { $0.contains("cannot delete 1 expired segment") }, "\(lines.value)")
        _ = rmdir(path + "/" + stuck + "/x")
        _ = rmdir(path + "/" + stuck)
        try FileWriter.replace(path + "/" + stuck, with: [1, 2, 3])  // deletable now
        directory.publish(Self.segments[1], playlist: nil, master: "", expired: [], kept: Self.segments.prefix(2).map(\.name))
        HLSDirectory.flush()
        #expect(fileSize(path + "/" + stuck) == nil, "deleted at the next segment")
    }

    @Test("A mount that is gone takes its playlists and segments off the disk")
    func removedMount_LeavesNoLivePlaylist() throws {
        let path = temporaryDirectory("hlsdir-removed")
        let directory = HLSDirectory(path: path, logger: .silent)
        directory.publish(Self.segments[0], playlist: "#EXTM3U\n", master: "#EXTM3U\n", expired: [], kept: [Self.segments[0].name])
        HLSDirectory.flush()
        #expect(fileSize(path + "/index.m3u8") != nil)
        directory.remove()
        HLSDirectory.flush()
        #expect(fileSize(path + "/index.m3u8") == nil && fileSize(path + "/master.m3u8") == nil)
        #expect(fileSize(path + "/" + Self.segments[0].name) == nil)
        #expect(access(path, F_OK) != 0, "the empty directory too")
    }

    @Test("A withdrawn live playlist (its session over) leaves the disk at once; its segments stay until their time is up, then go, and the folder with the last")
    func withdrawnPlaylist_GoesAtOnce_ItsSegmentsInTheirTime() throws {
        let path = temporaryDirectory("hlsdir-withdrawn")
        let directory = HLSDirectory(path: path, logger: .silent)
        let (first, second) = (Self.segments[0], Self.segments[1])
        directory.publish(first, playlist: "#EXTM3U\n", master: "#EXTM3U\n", expired: [], kept: [first.name])
        directory.publish(second, playlist: "#EXTM3U\n", master: "#EXTM3U\n", expired: [], kept: [first.name, second.name])
        directory.withdraw(expired: [first.name])
        HLSDirectory.flush()
        #expect(fileSize(path + "/index.m3u8") == nil && fileSize(path + "/master.m3u8") == nil, "the playlists go at once")
        #expect(fileSize(path + "/" + first.name) == nil, "a segment whose time is up goes")
        #expect(fileSize(path + "/" + second.name) == second.bytes.count, "one whose time is not up stays")
        directory.expire([second.name])
        HLSDirectory.flush()
        #expect(fileSize(path + "/" + second.name) == nil)
        directory.remove()
        HLSDirectory.flush()
        #expect(access(path, F_OK) != 0, "the empty directory too")
    }

    @Test("A segment whose write failed is written before a later playlist that names it")
    func failedSegmentWrittenBeforeItsPlaylist() throws {
        let path = temporaryDirectory("hlsdir-rewrite")
        let directory = HLSDirectory(path: path, logger: .silent)
        let (failing, next) = (Self.segments[0], Self.segments[1])
        // A directory where the segment should go: renaming the written file over it fails.
        try FileWriter.makeDirectories(path + "/" + failing.name + "/x")
        directory.publish(failing, playlist: nil, master: "", expired: [], kept: [failing.name])
        HLSDirectory.flush()
        #expect(fileSize(path + "/" + failing.name + "/x") != nil)
        // The disk works again (the obstacle is gone); the next playlist names both segments.
        #expect(rmdir(path + "/" + failing.name + "/x") == 0 && rmdir(path + "/" + failing.name) == 0)
        let playlist = HLSPlaylist.media([failing, next], targetDuration: 6)
        directory.publish(next, listed: [failing, next], playlist: playlist, master: "", expired: [], kept: [failing.name, next.name])
        HLSDirectory.flush()
        #expect(fileSize(path + "/index.m3u8") == playlist.utf8.count)
        #expect(fileSize(path + "/" + next.name) == next.bytes.count)
        #expect(fileSize(path + "/" + failing.name) == failing.bytes.count)
    }

    @Test("Segments deleted from outside while the server runs are written again before the next playlist that names them")
    func segmentsDeletedFromOutside_WrittenAgain() throws {
        let path = temporaryDirectory("hlsdir-outside")
        let directory = HLSDirectory(path: path, logger: .silent)
        let window = Array(Self.segments[0...2])
        for segment in window.dropLast() {
            directory.publish(segment, listed: [], playlist: nil, master: "", expired: [], kept: window.map(\.name))
        }
        HLSDirectory.flush()
        // A cleaner (or an operator freeing room) takes the whole folder.
        for name in FileWriter.names(in: path) { FileWriter.remove(path + "/" + name) }
        _ = rmdir(path)
        let playlist = HLSPlaylist.media(window, targetDuration: 6)
        directory.publish(window[2], listed: window, playlist: playlist, master: "", expired: [], kept: window.map(\.name))
        HLSDirectory.flush()
        #expect(fileSize(path + "/index.m3u8") == playlist.utf8.count)
        for segment in window { #expect(fileSize(path + "/" + segment.name) == segment.bytes.count, "\(segment.name)") }
    }
}
