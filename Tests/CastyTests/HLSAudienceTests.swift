import Testing

@testable import Casty

/// The HLS audience: players counted by their playlist fetches, within a window, in bounded memory.
struct HLSAudienceTests {
    let window: Int64 = 18_000  // three 6 s targets

    @Test func players_AreClientsWhoseLastPlaylistIsWithinTheWindow() {
        var audience = HLSAudience()
        audience.playlist(client: "10.0.0.1 VLC", at: 1_000, window: window)
        audience.playlist(client: "10.0.0.1 VLC", at: 7_000, window: window)  // the same player reloads
        audience.playlist(client: "10.0.0.1 ffmpeg", at: 8_000, window: window)  // another player, same address
        audience.playlist(client: "10.0.0.2 VLC", at: 9_000, window: window)
        #expect(audience.players(at: 10_000, window: window) == 3)
        #expect(audience.playlists == 4)
        // 18 s after its last playlist a player still counts; past that it has gone.
        #expect(audience.players(at: 25_000, window: window) == 3)
        #expect(audience.players(at: 26_500, window: window) == 1, "only 10.0.0.2 VLC: 9 s + 18 s")
        #expect(audience.players(at: 40_000, window: window) == 0)
    }

    @Test func segments_AreCountedWithTheirBytes() {
        var audience = HLSAudience()
        audience.segment(bytes: 96_000)
        audience.segment(bytes: 95_500)
        #expect(audience.segments == 2 && audience.bytes == 191_500)
    }

    @Test func aFullAudience_ForgetsQuietClients_AndCountsNoMoreThanItsCapacity() {
        var audience = HLSAudience()
        for index in 0..<HLSAudience.capacity { audience.playlist(client: "c\(index)", at: 0, window: window) }
        audience.playlist(client: "late", at: 1_000, window: window)
        #expect(audience.saturated, "no room, and nobody quiet yet")
        #expect(audience.players(at: 1_000, window: window) == HLSAudience.capacity)
        #expect(!audience.saturated)
        // Later, the first ones have gone quiet: a new client takes their room.
        audience.playlist(client: "later", at: 20_000, window: window)
        #expect(!audience.saturated)
        #expect(audience.players(at: 20_000, window: window) == 1)
    }
}
