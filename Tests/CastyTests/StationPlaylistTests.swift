@testable import CastyWire
import Testing

/// A station's `.pls`/`.m3u` read for the stream it names: the first `http://` or `https://` entry, relative entries
/// on the playlist's server, HLS and lists of other schemes refused with why.
struct StationPlaylistTests {
    @Test func pls_GivesItsFirstHTTPEntry() {
        let pls = "[playlist]\r\nNumberOfEntries=3\r\nFile1=rtsp://ice1.example/groove\r\nTitle1=Groove\r\n"
            + "File2=https://ice2.example:8443/groove\r\nFile3=http://ice3.example/groove\r\nVersion=2\r\n"
        #expect(StationPlaylist.read(Array(pls.utf8), path: "/groove.pls") == .stream("https://ice2.example:8443/groove"))
    }

    @Test func m3u_SkipsCommentsAndBlankLines_AndReadsRelativeEntriesOnItsServer() {
        let m3u = "#EXTM3U\n\n#EXTINF:-1,Groove Salad\nhttp://ice.example/groove\n"
        #expect(StationPlaylist.read(Array(m3u.utf8), path: "/listen.m3u") == .stream("http://ice.example/groove"))
        #expect(StationPlaylist.read(Array("#EXTM3U\nlive.mp3\n".utf8), path: "/radio/listen.m3u?x=1") == .stream("/radio/live.mp3"))
        #expect(StationPlaylist.read(Array("/live\n".utf8), path: "/listen.m3u") == .stream("/live"))
    }

    @Test func hlsAndUnfollowableLists_SayWhy() {
        let hls = "#EXTM3U\n#EXT-X-TARGETDURATION:6\n#EXTINF:6.0,\nseg-1.aac\n"
        #expect(StationPlaylist.read(Array(hls.utf8), path: "/index.m3u8") == .hls)
        guard case .noStream(let why) = StationPlaylist.read(Array("[playlist]\nFile1=mms://old.example/a\n".utf8), path: "/a.pls") else {
            Issue.record("an mms-only list names no stream Casty can follow")
            return
        }
        #expect(why.contains("mms://"), "\(why)")
        #expect(StationPlaylist.read(Array("[playlist]\nNumberOfEntries=0\n".utf8), path: "/a.pls") == .noStream("that lists no stream"))
    }

    @Test func aPlaylist_IsKnownByItsType_OrByItsNameWhenTheTypeSaysNothing() {
        #expect(StationPlaylist.isPlaylist(contentType: "audio/x-scpls", path: "/listen"))
        #expect(StationPlaylist.isPlaylist(contentType: "Audio/X-MpegURL; charset=utf-8", path: "/listen"))
        #expect(StationPlaylist.isPlaylist(contentType: "text/plain", path: "/groove.PLS"))
        #expect(StationPlaylist.isPlaylist(contentType: nil, path: "/listen.m3u?token=1"))
        #expect(!StationPlaylist.isPlaylist(contentType: "audio/mpeg", path: "/stream.m3u"), "audio is audio, whatever its name")
        #expect(!StationPlaylist.isPlaylist(contentType: "text/html", path: "/live"))
    }
}
