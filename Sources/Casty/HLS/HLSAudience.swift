/// Who listens to a mount over HLS: the players counted on the status page, and — with listener authorization —
/// what the platform's application said about each.
///
/// An HLS player is no connection: it fetches the playlist every few seconds (on one kept connection, or a new
/// one each time) and the segments it lists. So a player is counted as a client — its address and user agent —
/// that fetched the live playlist within the last `window` milliseconds (three target durations: a player
/// reloads at least once a target duration). Behind a CDN or a caching proxy, the cache is the one client Casty
/// sees; its own logs count the players. Pure: the caller tells the time.
///
/// With listener authorization the same table keeps each client's standing (``Standing``): the application is
/// asked once, at the client's first live playlist, and its answer holds for the player's lifetime — until it
/// has fetched no playlist for `window`. Requests that come while the application is being asked wait for its
/// answer (a few per client); a refused client that sends another login is asked about again. Admitted players
/// that go quiet are handed back by ``sweep(at:window:)``, to be told to the application (`listener_remove`).
///
/// Memory and time are bounded: at most ``capacity`` clients are remembered; past that, clients gone quiet are
/// forgotten — at most once a second, so that a full audience does not cost a sweep per request — and until
/// room is made a new one is not counted (``saturated`` says so), nor, with authorization, served.
struct HLSAudience {
    /// The most clients remembered.
    static let capacity = 100_000
    /// The most requests of one client that wait for the application's answer about it.
    static let waitersPerClient = 4

    /// A request waiting for the application's answer: called with it on the loop — `nil` when the client is
    /// admitted, else why not (logged with the refusal).
    typealias Waiter = (_ refusal: ControlPlane.ListenerRefusal?) -> Void

    /// What is known of a client.
    enum Standing {
        /// Listeners are not authorized: every client is a player.
        case open
        /// The application is being asked; these requests wait for its answer.
        case asking([Waiter])
        /// The application admitted it, as told in `call` (`listener_remove` is sent with it).
        case admitted(ControlPlane.ListenerCall)
        /// The application refused it, as told in `call`: only another login is asked about again.
        case refused(ControlPlane.ListenerCall)

        /// Whether the client counts as a player (and may fetch segments).
        var isPlayer: Bool {
            switch self {
            case .open, .admitted: true
            case .asking, .refused: false
            }
        }
    }

    /// What to do with a client's request for the live playlist when listeners are authorized.
    enum Admission: Equatable {
        /// Serve it: the application admitted the client.
        case admitted
        /// Refuse it: the application refused the client, with the same login.
        case refused
        /// Ask the application; the request waits for the answer (``decide(_:admitted:call:)``).
        case ask
        /// The application is being asked already; the request waits for that answer.
        case waiting
        /// No room to remember the client, or too many of its requests wait: answer `503`.
        case unavailable
    }

    /// Live playlists served (including `304`s).
    private(set) var playlists = 0
    /// Segments served (whole or in part).
    private(set) var segments = 0
    /// Bytes of segments served.
    private(set) var bytes = 0
    /// Whether a client could not be counted since the last ``players(at:window:)`` for want of room.
    private(set) var saturated = false
    /// Admitted players remembered now.
    private(set) var admittedCount = 0
    /// Whether a sweep is scheduled (kept here for the route that schedules it).
    var sweepScheduled = false

    private struct Client {
        /// Its last playlist request (ms since 1970).
        var seen: Int64
        var standing: Standing
    }

    private var clients: [String: Client] = [:]
    /// Admitted players forgotten since the last ``sweep(at:window:)``.
    private var departed: [ControlPlane.ListenerCall] = []
    /// When quiet clients were last forgotten.
    private var lastSweep = Int64.min

    /// `client` was served the live playlist at `now` (players count for `window` milliseconds after a playlist).
    mutating func playlist(client: String, at now: Int64, window: Int64) {
        playlists += 1
        guard hasRoom(for: client, at: now, window: window) else { return saturated = true }
        clients[client, default: Client(seen: now, standing: .open)].seen = now
    }

    /// With listener authorization: what to do with `client`'s request for the live playlist at `now`, made
    /// with `login` (Basic auth, if any). `waiter` is kept when the request is to wait (``Admission/ask``,
    /// ``Admission/waiting``).
    mutating func admission(
        of client: String, login: BasicAuth?, at now: Int64, window: Int64, waiter: @escaping Waiter
    ) -> Admission {
        guard var known = clients[client] else {
            guard hasRoom(for: client, at: now, window: window) else {
                saturated = true
                return .unavailable
            }
            clients[client] = Client(seen: now, standing: .asking([waiter]))
            return .ask
        }
        let admission: Admission
        switch known.standing {
        case .open, .admitted:
            return .admitted  // its playlist(client:at:window:) tells when it was seen
        case .refused(let call) where Self.sameLogin(call.auth, login):
            admission = .refused
        case .refused:
            known.standing = .asking([waiter])
            admission = .ask
        case .asking(var waiters):
            guard waiters.count < Self.waitersPerClient else { return .unavailable }
            waiters.append(waiter)
            known.standing = .asking(waiters)
            admission = .waiting
        }
        known.seen = now  // a refusal lives as long as its client keeps asking
        clients[client] = known
        return admission
    }

    /// The application answered about `client` (asked as `call`): remembers its standing and returns the requests
    /// that waited for the answer.
    mutating func decide(_ client: String, admitted: Bool, call: ControlPlane.ListenerCall) -> [Waiter] {
        guard case .asking(let waiters)? = clients[client]?.standing else { return [] }
        clients[client]?.standing = admitted ? .admitted(call) : .refused(call)
        if admitted { admittedCount += 1 }
        return waiters
    }

    /// The application could not be asked about `client`: nothing is remembered of it — its next playlist asks
    /// again — and the requests that waited are returned.
    mutating func forget(_ client: String) -> [Waiter] {
        guard case .asking(let waiters)? = clients[client]?.standing else { return [] }
        clients[client] = nil
        return waiters
    }

    /// Whether `client` is a player now: with listener authorization, one the application admitted.
    func isPlayer(_ client: String) -> Bool {
        clients[client]?.standing.isPlayer == true
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
        return clients.values.count(where: { $0.standing.isPlayer })
    }

    /// Forgets the clients quiet for longer than `window` at `now`, and returns the admitted players forgotten
    /// since the last sweep (here, or when the players were counted), for `listener_remove`.
    mutating func sweep(at now: Int64, window: Int64) -> [ControlPlane.ListenerCall] {
        forget(before: now - window, at: now)
        defer { departed = [] }
        return departed
    }

    /// Whether `client` may be remembered at `now`: it is already, or there is room — made, when full, by
    /// forgetting quiet clients at most once a second.
    private mutating func hasRoom(for client: String, at now: Int64, window: Int64) -> Bool {
        guard clients[client] == nil, clients.count >= Self.capacity else { return true }
        if now >= lastSweep &+ 1_000 { forget(before: now - window, at: now) }
        return clients.count < Self.capacity
    }

    /// Forgets the clients last seen before `limit`, but not those the application is being asked about (its
    /// answer comes within its timeout, and the requests waiting for it are answered then).
    private mutating func forget(before limit: Int64, at now: Int64) {
        var gone: [ControlPlane.ListenerCall] = []
        clients = clients.filter { _, known in
            switch known.standing {
            case .asking: return true
            case .admitted(var call) where known.seen < limit:
                call.lastHeard = .now - .milliseconds(now - known.seen)  // its last playlist fetch
                gone.append(call)
                return false
            default: return known.seen >= limit
            }
        }
        admittedCount -= gone.count
        departed += gone
        lastSweep = now
    }

    /// Whether two logins are the same (compared in constant time: the passwords are secrets).
    private static func sameLogin(_ one: BasicAuth?, _ other: BasicAuth?) -> Bool {
        guard let one, let other else { return one == nil && other == nil }
        return Secret.constantTimeEqual(Array("\(one.user):\(one.password)".utf8), Array("\(other.user):\(other.password)".utf8))
    }
}
