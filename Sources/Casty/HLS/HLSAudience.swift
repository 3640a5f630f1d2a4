/// Who listens to a mount over HLS: the players counted on the status page, and — with listener authorization —
/// what the platform's application said about each.
///
/// An HLS player is no connection: it fetches the playlist every few seconds (on one kept connection, or a new
/// one each time) and the segments it lists. So a player is counted as a client — its address and user agent —
/// that fetched the live playlist within the last `window` milliseconds (three target durations: a player
/// reloads at least once a target duration). Behind a CDN or a caching proxy, the cache is the one client Casty
/// sees; its own logs count the players. Pure: the caller tells the time.
///
/// With listener authorization the same table keeps the standing (``Standing``) of each client *and login*
/// (``Login``: the Basic login and the query of its playlist's URL, where a platform's token is): the application
/// is asked once, at the first live playlist of a client with a login, and its answer holds for that login as
/// long as the player keeps fetching playlists with it — until it has fetched none for `window`. Another login
/// from the same address and user agent — a fresh token, a revoked one, another user behind the same NAT — is
/// another question, asked and answered for itself, and told gone (`listener_remove`) with its own credentials.
/// Requests that come while the application is being asked wait for its answer (a few per client and login).
/// Admitted players that go quiet are handed back by ``sweep(at:window:)``, to be told to the application.
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

    /// Who a player says it is: the Basic login it sent, if any, and the query of the URL it asked with
    /// (`?token=…`: a token in the URL is how most players log in), as the application is told them.
    struct Login: Hashable {
        /// The query, with its `?`; empty without one.
        let query: String
        let user: String?
        let password: String?

        /// No login: no query, no Basic auth (and every client's login without listener authorization).
        static let none = Login(query: "", auth: nil)

        init(query: String, auth: BasicAuth?) {
            self.query = query
            user = auth?.user
            password = auth?.password
        }

        /// The login the application is asked about in `call`: the query of its mount, its Basic login.
        init(_ call: ControlPlane.ListenerCall) {
            self.init(query: call.mount.firstIndex(of: "?").map { String(call.mount[$0...]) } ?? "", auth: call.auth)
        }
    }

    /// What is known of a client with a login.
    enum Standing {
        /// Listeners are not authorized: every client is a player.
        case open
        /// The application is being asked; these requests wait for its answer.
        case asking([Waiter])
        /// The application admitted it, as told in `call` (`listener_remove` is sent with it).
        case admitted(ControlPlane.ListenerCall)
        /// The application refused it, as told in `call`: while it keeps asking with this login it is refused at
        /// once (another login is another question).
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
        /// Refuse it: the application refused the client with this login.
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

    /// A client with a login: what the table remembers one standing for.
    private struct Key: Hashable {
        let client: String
        let login: Login
    }

    private struct Client {
        /// Its last playlist request (ms since 1970).
        var seen: Int64
        var standing: Standing
    }

    /// Looked up by hash (seeded anew in each process), a login is compared only with a remembered one of the same
    /// hash: how fast a lookup is tells nothing of a remembered password or token.
    private var clients: [Key: Client] = [:]
    /// How many logins of each client (address and user agent) are admitted: a segment carries no login, and
    /// goes to a client with any.
    private var admittedLogins: [String: Int] = [:]
    /// Admitted players forgotten since the last ``sweep(at:window:)``.
    private var departed: [ControlPlane.ListenerCall] = []
    /// When quiet clients were last forgotten.
    private var lastSweep = Int64.min

    /// `client` was served the live playlist at `now`, with `login` when listeners are authorized (players count
    /// for `window` milliseconds after a playlist).
    mutating func playlist(client: String, login: Login = .none, at now: Int64, window: Int64) {
        playlists += 1
        let key = Key(client: client, login: login)
        guard hasRoom(for: key, at: now, window: window) else { return saturated = true }
        clients[key, default: Client(seen: now, standing: .open)].seen = now
    }

    /// With listener authorization: what to do with `client`'s request for the live playlist at `now`, made
    /// with `login`. `waiter` is kept when the request is to wait (``Admission/ask``, ``Admission/waiting``).
    mutating func admission(
        of client: String, login: Login, at now: Int64, window: Int64, waiter: @escaping Waiter
    ) -> Admission {
        let key = Key(client: client, login: login)
        guard var known = clients[key] else {
            guard hasRoom(for: key, at: now, window: window) else {
                saturated = true
                return .unavailable
            }
            clients[key] = Client(seen: now, standing: .asking([waiter]))
            return .ask
        }
        let admission: Admission
        switch known.standing {
        case .open, .admitted:
            return .admitted  // its playlist(client:login:at:window:) tells when it was seen
        case .refused:
            admission = .refused
        case .asking(var waiters):
            guard waiters.count < Self.waitersPerClient else { return .unavailable }
            waiters.append(waiter)
            known.standing = .asking(waiters)
            admission = .waiting
        }
        known.seen = now  // a refusal lives as long as its client keeps asking with its login
        clients[key] = known
        return admission
    }

    /// The application answered about `client` with `login` (asked as `call`): remembers its standing and returns
    /// the requests that waited for the answer.
    mutating func decide(_ client: String, login: Login, admitted: Bool, call: ControlPlane.ListenerCall) -> [Waiter] {
        let key = Key(client: client, login: login)
        guard case .asking(let waiters)? = clients[key]?.standing else { return [] }
        clients[key]?.standing = admitted ? .admitted(call) : .refused(call)
        if admitted {
            admittedCount += 1
            admittedLogins[client, default: 0] += 1
        }
        return waiters
    }

    /// The application could not be asked about `client` with `login`: nothing is remembered of it — its next
    /// playlist asks again — and the requests that waited are returned.
    mutating func forget(_ client: String, login: Login) -> [Waiter] {
        let key = Key(client: client, login: login)
        guard case .asking(let waiters)? = clients[key]?.standing else { return [] }
        clients[key] = nil
        return waiters
    }

    /// Whether `client` is a player now: with listener authorization, one the application admitted with any
    /// login (a segment's URL carries none).
    func isPlayer(_ client: String) -> Bool {
        admittedLogins[client] != nil || clients[Key(client: client, login: .none)]?.standing.isPlayer == true
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

    /// Whether `key` may be remembered at `now`: it is already, or there is room — made, when full, by
    /// forgetting quiet clients at most once a second.
    private mutating func hasRoom(for key: Key, at now: Int64, window: Int64) -> Bool {
        guard clients[key] == nil, clients.count >= Self.capacity else { return true }
        if now >= lastSweep &+ 1_000 { forget(before: now - window, at: now) }
        return clients.count < Self.capacity
    }

    /// Forgets the clients last seen before `limit`, but not those the application is being asked about (its
    /// answer comes within its timeout, and the requests waiting for it are answered then).
    private mutating func forget(before limit: Int64, at now: Int64) {
        var gone: [(client: String, call: ControlPlane.ListenerCall)] = []
        clients = clients.filter { key, known in
            switch known.standing {
            case .asking: return true
            case .admitted(var call) where known.seen < limit:
                call.lastHeard = .now - .milliseconds(now - known.seen)  // its last playlist fetch
                gone.append((key.client, call))
                return false
            default: return known.seen >= limit
            }
        }
        for (client, _) in gone { admittedLogins[client] = admittedLogins[client].flatMap { $0 > 1 ? $0 - 1 : nil } }
        admittedCount -= gone.count
        departed += gone.map(\.call)
        lastSweep = now
    }
}
