// my-relay — the players' side: read each player's request, then answer with your `ClientCore`'s bytes.

import CastyNet
import Icy
import Relay

/// One media player connected to the relay — or a branch of the tree, which the relay serves like a player.
struct Player {
    /// Its TCP connection.
    let connection: Connection
    /// The request parser, while the request is incomplete.
    var pending: Icy.Continuation<Request>?
    /// Your client core, once the request is complete.
    var core: ClientCore?
    /// Whether the reply was written (players that arrive before the station's reply wait for it).
    var answered = false
    /// When it connected, for the line that says it left.
    let joined = ContinuousClock.now
    /// Segments written to it (with `--distributor`, the ones your distributor handed it, burst included).
    var segments = 0
    /// Times the numbers of the segments it got jumped: each gap is one run of skipped segments.
    var gaps = 0
    /// The number of the last segment written to it.
    var last: Int?
    /// With `--distributor`, the segments your distributor made it skip (its `Listener.skipped`), as of the
    /// last segment: a listener your distributor dropped is no longer in it to be asked.
    var skipped = 0
    /// Where it serves branches of its own (its `X-Casty-Branch`), when it is a branch your `Seats` accepted.
    var branch: String?

    /// How the log names it: `player 3`, or `branch 3` for a branch of the tree.
    func named(_ id: Int) -> String {
        "\(branch == nil ? "player" : "branch") \(id)"
    }

    /// Counts segment `number` as written to this player.
    mutating func wrote(_ number: Int) {
        if let last, number != last + 1 { gaps += 1 }
        last = number
        segments += 1
    }
}

extension RelayHub {
    /// Listens for players on `address`.
    func listen(on address: SocketAddress) throws(SocketError) -> Listener {
        let listener = try Listener(address: address, on: loop, sendBuffer: Connection.defaultSendBuffer) { [self] connection in
            assumeIsolated { $0.accept(connection) }
        }
        if advertise == nil { advertise = "\(listener.localAddress)" }
        return listener
    }

    /// A new player: read its request.
    func accept(_ connection: Connection) {
        let id = nextPlayer
        nextPlayer += 1
        players[id] = Player(connection: connection)
        connection.onRead = { [self] bytes in assumeIsolated { $0.playerRead(id, bytes) } }
        connection.onClose = { [self] _ in
            assumeIsolated { $0.playerLeft(id) }
        }
    }

    /// A player hung up or was closed: one line with how long it listened and what it got — the segments
    /// written to it, those it skipped (counted by your distributor with `--distributor`, else by its
    /// connection) and the gaps they left in its numbering.
    func playerLeft(_ id: Int) {
        guard let player = players.removeValue(forKey: id) else { return }
        let skipped = distributor == nil ? player.connection.skippedTotal : skippedByDistributor(id) ?? player.skipped
        let seconds = (ContinuousClock.now - player.joined).components.seconds
        log("\(player.named(id)): left after \(seconds) s: \(player.segments) segments, \(skipped) skipped, \(player.gaps) gaps")
    }

    /// A player's bytes: once its request is complete, it gets a ``ClientCore`` and, when the station is known,
    /// its reply.
    func playerRead(_ id: Int, _ bytes: [UInt8]) {
        guard var player = players[id], player.core == nil else { return }  // after the request nothing matters
        switch player.pending.map({ $0(bytes) }) ?? Icy.request(bytes) {
        case .more(let next):
            player.pending = next
            players[id] = player
        case .failed(let error):
            log("player \(id): bad request (\(error)); answering 400")
            player.connection.write(Array("HTTP/1.0 400 Bad Request\r\nContent-Length: 0\r\n\r\n".utf8))
            player.connection.close()
        case .done(let request, _):
            player.pending = nil
            // A branch of the tree asking for the stream: your Seats take it here, or it is redirected and gone —
            // no player: the tree's line says where it was sent, and closing it logs nothing more.
            if tree != nil, let branch = request.headers["X-Casty-Branch"] {
                players[id] = nil
                guard placeBranch(branch, asking: request, on: player.connection) else { return }
                player.branch = branch
            }
            player.core = ClientCore(request: request)
            players[id] = player
            // A branch by the address it serves at, as the tree's lines name it; a player by where it connects from.
            let address = player.branch ?? player.connection.remoteAddress.map { "\($0)" } ?? "?"
            log("\(player.named(id)): \(address) asks for \(request.path), titles \(request.wantsMetadata ? "yes" : "no")")
            answer(id)
        }
    }

    /// Writes a waiting player's reply, if the station has replied.
    func answer(_ id: Int) {
        if distributor != nil { return joinDistributor(id) }
        guard let context, var player = players[id], var core = player.core, !player.answered else { return }
        player.connection.write(core.replyBytes(next: next, context: context))
        player.core = core
        player.answered = true
        players[id] = player
    }
}
