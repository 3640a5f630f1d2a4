import Testing

@testable import Casty

/// A source that streams an MP3 file as it is — `ffmpeg -re -i show.mp3 -c copy -f mp3 icecast://…`, the README's
/// own command, with a file that has cover art — starts with an ID3v2 tag longer than the first search for a frame.
extension StationServerTests {
    @Test func sourceStartingWithAnID3TagWithCoverArt_Publishes_ListenersHearItsFrames() async throws {
        let log = Log()
        let server = try server(log: log)
        defer { server.close() }
        let source = try await source(server)
        #expect(await source.waitFor(timeout: .seconds(15)) { String(decoding: $0, as: UTF8.self).contains("100 Continue") })
        await sendAudio(source, id3Tag(body: 14_000, seed: 11) + Self.silentFrames(20))
        let player = try await listener(server)
        #expect(await player.waitFor(timeout: .seconds(15)) { $0.count > 4170 })
        await sendPaced(source, Self.silentFrames(40))
        #expect(await player.waitFor(timeout: .seconds(15)) { Self.silentFrameCount($0) >= 30 })
        #expect(!source.closed.value, "the source is not dropped")
        #expect(!log.contains("no audio frames"), "\(log.lines.value)")
        #expect(!log.contains("audio frames broken"), "\(log.lines.value)")
    }
}
