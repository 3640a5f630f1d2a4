// my-relay — your chapter 3 cores on real sockets. This actor is the glue between Casty's network layer
// (CastyNet: an event loop, connections that never block) and the two structs you wrote: every byte from the
// station goes through your `ProxyCore`, every byte to a player comes from its `ClientCore`.

import CastyNet
import CastyWire
import FanOut
import Icy
import Kit
import Relay
import Tree

/// The relay: one station in, any number of media players out.
///
/// It is an actor that runs on the event loop's thread (its executor *is* the loop), so socket callbacks can
/// enter it without a hop and nothing in here ever blocks: every read is handed over as it arrives, every
/// write is a non-blocking `send`.
actor RelayHub {
    #if CASTY_SOLUTIONS
    /// Whose cores this relay runs, for its lines: built with `CASTY_SOLUTIONS=1`, the reference solutions', so that
    /// a student who compares knows which code is playing.
    static let whose = "the reference solutions'"
    #else
    /// Whose cores this relay runs, for its lines: built without `CASTY_SOLUTIONS`, the student's own.
    static let whose = "your"
    #endif

    /// The loop the sockets live on, and the actor's executor.
    nonisolated let loop: EventLoop
    nonisolated var unownedExecutor: UnownedSerialExecutor { loop.asUnownedSerialExecutor() }

    let log: EventLog
    /// The station, as the user named it.
    let stationURL: StreamURL
    /// Your proxy core: reads the station's reply, then cuts its stream into numbered segments.
    var proxy = ProxyCore()
    /// The connection to the station, while there is one.
    var station: Connection?
    /// What every player is told, once the station has replied: with the title now playing, which a player that
    /// joins hears from its ``ClientCore`` in its first metadata block (and a change is logged once).
    var context: Context?
    /// The number of the next segment, for players that join now.
    var next = 0
    /// Redirects followed since the last stream started.
    var redirects = 0
    /// Attempts in a row that failed since the station last replied: the first three are logged, then every
    /// tenth — a station still building (`swift run`) is tried every second for minutes.
    var failedAttempts = 0
    /// The players, by a number given when they connect.
    var players: [Int: Player] = [:]
    var nextPlayer = 0
    /// Your chapter 4 distributor, with `--distributor`: it then decides which player gets which segment.
    var distributor: DistributorCore?
    /// With `--root` or `--branch`, this relay is a node of a tree (chapter 5), and `stationURL` is the station
    /// (a root) or the parent first asked (a branch).
    let tree: TreeRole?
    /// Your chapter 5 seats: which branches this node feeds itself, and where it redirects the others.
    var seats = Seats(capacity: 2)
    /// Your chapter 5 route, while a branch looks for its place: the parents asked since it last started over.
    var route: Route?
    /// Where a branch serves its own branches, sent to its parent as `X-Casty-Branch` (by default the address it
    /// listens on, known once ``listen(on:)`` has opened it).
    var advertise: String?

    /// A relay of `station`; with `distributor`, segments reach players through your chapter 4 core; with
    /// `tree`, branches are placed by your chapter 5 cores.
    init(
        station: StreamURL, distributor: Bool = false, tree: TreeRole? = nil, advertise: String? = nil,
        loop: EventLoop = .shared, log: EventLog = .standardError
    ) {
        self.stationURL = station
        self.tree = tree
        self.advertise = advertise
        self.loop = loop
        self.log = log
        if distributor {
            self.distributor = DistributorCore(address: "my-relay", sendBuffer: Connection.defaultSendBuffer, burst: 2)
        }
    }

    /// Why an `https://` station cannot be relayed: my-relay speaks plain HTTP only, and says what to do instead.
    static func noTLS(_ url: StreamURL) -> String {
        "\(url.shown) is an https:// URL, and my-relay speaks no TLS: give it an http:// station, or relay this one "
            + "with Casty's own proxy (casty-cli proxy \(url.shown) --port 8000) and give my-relay http://127.0.0.1:8000/"
    }

    /// Connects to `url` and asks for the stream with titles; what comes back goes to ``stationRead(_:)``.
    func attach(_ url: StreamURL) async {
        // A station that redirects to https:// would otherwise get plain HTTP and close the connection.
        guard !url.secure else { return retry(Self.noTLS(url)) }
        let connection: Connection
        do throws(SocketError) {
            guard let address = try await Resolver.resolve(host: url.host, port: url.port).first else { return retry("no address for \(url.host)") }
            connection = try await Connection.connect(to: address, on: loop)
        } catch {
            return retry("cannot connect to \(url): \(error)")
        }
        station = connection
        proxy = ProxyCore()
        var request: [UInt8] = []
        sendRequest(host: url.authority, feed: url.path, metadata: true, headers: branchHeaders()) { request += $0 }
        connection.onRead = { [self] bytes in assumeIsolated { $0.stationRead(bytes, from: url) } }
        connection.onClose = { [self] error in
            assumeIsolated { $0.retry("the station at \(url) closed the connection\(error.map { ": \($0)" } ?? "")") }
        }
        connection.write(request)
        if tree == .branch {
            log("tree: asked \(url) for a place, as branch \(advertise ?? "?")")
        } else {
            log("station: asked \(url) for the stream")
        }
    }

    /// The station's bytes, in reads of any size, through your ``ProxyCore``.
    func stationRead(_ bytes: [UInt8], from url: StreamURL) {
        let events: [ProxyEvent]
        do {
            events = try proxy.receive(bytes)
        } catch {
            return retry("the station at \(url) sent something that is not a stream: \(error)")
        }
        for event in events {
            switch event {
            case .redirect(let location):
                follow(location, from: url)
                return
            case .station(let context):
                stationReplied(context)
            case .segment(let number, let segment):
                broadcast(number, segment)
            }
        }
    }

    /// A `3xx` from the station: go where it says, at most five times in a row.
    func follow(_ location: String, from url: StreamURL) {
        dropStation()
        if tree == .branch { return followInTree(location, from: url) }  // your Route decides
        redirects += 1
        guard redirects <= 5, let target = url.resolving(location) else {
            return retry("the station at \(url) redirected to \(location), which cannot be followed (redirect \(redirects))")
        }
        log("station: redirected to \(target)")
        Task { await attach(target) }
    }

    /// The station's reply: players that were waiting get their reply now.
    func stationReplied(_ context: Context) {
        failedAttempts = 0
        var context = context
        // A reply names no title: after a reconnect, the one playing before stays until a segment says another.
        context.title = self.context?.title
        redirects = 0
        if let old = self.context, old.segmentBytes != context.segmentBytes {
            // A player's icy-metaint cannot change in the middle of its stream: those players must reconnect.
            log("station: the segment size changed from \(old.segmentBytes) to \(context.segmentBytes); players must reconnect")
            for player in players.values { player.connection.close() }
        }
        self.context = context
        next = 0  // a new reply: the proxy core numbers from 0 again
        distributor?.sourceReplied(next: 0, context: context)
        log("station: '\(context.name)', segments of \(context.segmentBytes) bytes, \(context.bitrate) kbit/s")
        attachedInTree()
        for id in players.keys { answer(id) }
    }

    /// Segment `number`: each player's ``ClientCore`` writes it in the form that player asked for.
    func broadcast(_ number: Int, _ segment: Kit.Segment) {
        next = number + 1
        if let new = segment.title, new != context?.title {
            context?.title = new
            // Icecast sends `StreamTitle='';` for a station that has set none: said so, not as an empty line.
            log(new.isEmpty ? "title: none (the station sent an empty one)" : "title: \(new)")
        }
        if distributor != nil { return distribute(number, segment) }
        for (id, player) in players {
            guard var core = player.core, player.answered else { continue }
            let bytes: [UInt8]
            do {
                bytes = try core.dataBytes(number, segment)
            } catch {
                log("\(player.named(id)): ClientCore.dataBytes(_:_:) threw \(error); closing it")
                player.connection.close()
                continue
            }
            players[id]?.core = core
            switch player.connection.offer(bytes) {
            case .sent, .queued:
                players[id]?.wrote(number)
            case .skipped where player.connection.consecutiveSkips > 20:
                log("\(player.named(id)): too slow, skipped more than 20 segments in a row; closing it")
                player.connection.close()
            case .skipped, .closed:
                break
            }
        }
    }

    /// The station is gone or unusable: say why, and try again in a second. Players stay connected.
    func retry(_ reason: String) {
        dropStation()
        redirects = 0
        route = nil  // a branch starts over from the parent it was given
        // A branch's upstream is a tree node, not a station: its line says so, as its request's line does.
        failedAttempts += 1
        if failedAttempts <= 3 || failedAttempts % 10 == 0 {
            let quiet = failedAttempts == 3 ? " (from now on, every tenth attempt is logged)" : failedAttempts > 3 ? " (attempt \(failedAttempts))" : ""
            log("\(tree == .branch ? "tree" : "station"): \(reason); retrying in 1 s\(quiet)")
        }
        loop.schedule(after: .seconds(1)) { [self] in
            Task { await self.attach(stationURL) }
        }
    }

    /// Forgets the station's connection without calling ``retry(_:)`` again.
    func dropStation() {
        guard let station else { return }
        self.station = nil
        station.onClose = nil
        station.onRead = nil
        station.close()
    }
}
