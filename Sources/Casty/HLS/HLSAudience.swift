/// Who listens to a mount over HLS, for the status page.
///
/// An HLS player is no connection: it fetches the playlist every few seconds (on one kept connection, or a new
/// one each time) and the segments it lists. So a player is counted as a client — its address and user agent —
/// that fetched the live playlist within the last `window` milliseconds (three target durations: a player
/// reloads at least once a target duration). Behind a CDN or a caching proxy, the cache is the one client Casty
/// sees; its own logs count the players. Pure: the caller tells the time.
///
/// Memory and time are bounded: at most ``capacity`` clients are remembered; past that, clients gone quiet are
/// forgotten — at most once a second, so that a full audience does not cost a sweep per request — and until
/// room is made a new one is not counted (``saturated`` says so).
struct HLSAudience {
    /// The most clients remembered.
    static let capacity = 100_000

    /// Live playlists served (including `304`s).
    private(set) var playlists = 0
    /// Segments served (whole or in part).
    private(set) var segments = 0
    /// Bytes of segments served.
    private(set) var bytes = 0
    /// Whether a client could not be counted since the last ``players(at:window:)`` for want of room.
    private(set) var saturated = false

    /// Each client's last playlist fetch (ms since 1970).
    private var lastSeen: [String: Int64] = [:]
    /// When quiet clients were last forgotten.
    private var lastSweep = Int64.min

    /// `client` fetched the live playlist at `now` (players count for `window` milliseconds after a playlist).
    mutating func playlist(client: String, at now: Int64, window: Int64) {
        playlists += 1
        if lastSeen[client] == nil, lastSeen.count >= Self.capacity {
            if now >= lastSweep &+ 1_000 { forget(before: now - window, at: now) }
            guard lastSeen.count < Self.capacity else { return saturated = true }
        }
        lastSeen[client] = now
    }

    /// A segment of `count` bytes was served.
    mutating func segment(bytes count: Int) {
        segments += 1
        bytes += count
    }

    /// The players at `now`: clients whose last playlist is within `window` (the others are forgotten).
    mutating func players(at now: Int64, window: Int64) -> Int {
        forget(before: now - window, at: now)
        saturated = false
        return lastSeen.count
    }

    private mutating func forget(before limit: Int64, at now: Int64) {
        lastSeen = lastSeen.filter { $0.value >= limit }
        lastSweep = now
    }
}
