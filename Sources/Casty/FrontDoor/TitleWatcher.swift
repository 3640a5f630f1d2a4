internal import CastyNet

/// A page that follows a mount's titles live over Server-Sent Events (`GET /api/mounts/<m>/events`): each title
/// change is one `event: title` with a JSON `data:` line, sent the moment the segment carrying it is cut — or over
/// a WebSocket (`/api/mounts/<m>/ws`), the same JSON in a text frame.
///
/// A watcher is treated like a slow listener: an event is written only if the connection has taken the earlier
/// ones (less than 64 KiB pending); a watcher that falls that far behind, or has closed, is dropped. It never
/// delays other watchers or listeners. Loop-confined.
///
/// Every ``heartbeat`` it gets a heartbeat (``TitleWatchers`` sends them): a comment line, which `EventSource`
/// ignores, or a WebSocket ping, which a browser answers by itself. Before each, ``WatcherHealth`` decides from
/// the bytes still waiting for it (and, on a WebSocket, the pongs) whether it is still there; one that is not is
/// dropped with a log line. A WebSocket page's own frames are read and answered too (``read(_:)``).
final class TitleWatcher: @unchecked Sendable {
    /// How the events are framed.
    enum Kind: Sendable {
        /// Server-Sent Events: `event: title` and a `data:` line.
        case serverSentEvents
        /// WebSocket text frames holding the same JSON.
        case webSocket
    }

    /// The most bytes an event may wait behind before the watcher is dropped.
    static let maxPending = 64 * 1024
    /// The Server-Sent Events heartbeat: a line starting with `:` is a comment, which the browser drops.
    static let keepAlive = Array(": keep-alive\n\n".utf8)
    /// The shortest heartbeat interval taken: a zero one would have the loop do nothing else.
    static let shortestHeartbeat: Duration = .milliseconds(100)
    /// The watcher's connection.
    let connection: Connection
    /// How its events are framed.
    let kind: Kind
    /// The page's address, for log lines.
    let peer: String
    /// The mount whose titles it follows, for log lines.
    let mount: String
    /// Where its log lines go: its coming and going, and why it was dropped (``PortContext/pageLines``).
    let logger: LogBudget
    /// When it came.
    private let since = ContinuousClock.now
    /// Whether its end was said already (it was dropped, with a line saying why).
    private var told = false
    /// How often it gets a heartbeat.
    let heartbeat: Duration
    /// Whether it is still there, as its heartbeats show.
    var health: WatcherHealth
    /// The frames a WebSocket page sends, read as they come.
    var reader = WebSocketReader()
    /// Whether the watcher is being closed (a WebSocket's close frame is on its way): it gets nothing more.
    var closing = false

    /// A watcher of `kind` on `connection`, from `peer`, that gets a heartbeat every `heartbeat` (at least
    /// ``shortestHeartbeat``) and is dropped after `patience` of them stalled or unanswered (``WatcherHealth``).
    /// Call ``start(pending:)`` to read.
    init(connection: Connection, kind: Kind, peer: String, mount: String, logger: LogBudget, heartbeat: Duration, patience: Int) {
        self.connection = connection
        self.kind = kind
        self.peer = peer
        self.mount = mount
        self.logger = logger
        self.heartbeat = max(heartbeat, Self.shortestHeartbeat)
        self.health = WatcherHealth(patience: patience, expectsPongs: kind == .webSocket)
    }

    /// Starts reading what the page sends, so that its close is noticed at once: ignored for Server-Sent Events;
    /// on a WebSocket, frames, `pending` first (bytes that came right after the handshake).
    func start(pending: ArraySlice<UInt8> = []) {
        logger("page \(peer) follows the titles of \(mount)\(kind == .webSocket ? " (WebSocket)" : "")")
        connection.onClose = { [self] _ in left() }
        switch kind {
        case .serverSentEvents:
            connection.onRead = { _ in }
        case .webSocket:
            // The connection holds this until it closes (its callbacks are let go of then): no cycle outlives it.
            connection.onRead = { [self] bytes in read(bytes) }
            if !pending.isEmpty { read(Array(pending)) }
        }
    }

    /// Whether the page has gone.
    var isClosed: Bool { connection.isClosed }

    /// Says that the page was dropped, and why (its end is then said).
    func dropped(_ why: String) {
        told = true
        logger("page \(peer) dropped: \(why)")
    }

    /// Says that the page left — it closed, or was let go (the server stops) — unless its drop was said. Once only:
    /// a WebSocket page let go is said at once (``goodbye()``), its connection's close comes later.
    func left() {
        guard !told else { return }
        told = true
        logger("page \(peer) left after \(formatted(seconds(.now - since))) s: it followed the titles of \(mount)")
    }

    /// Writes one event; `false` if the watcher is gone, closing or too far behind (then it is closed).
    func send(_ event: [UInt8]) -> Bool {
        guard !connection.isClosed, !closing else { return false }
        guard connection.pendingBytes <= Self.maxPending else {
            dropped("\(connection.pendingBytes) bytes of events waiting, more than \(Self.maxPending / 1024) KiB: it does not read them")
            connection.close()
            return false
        }
        return connection.write(event)
    }

    /// One title change, framed both ways once, whatever the number of watchers.
    struct Event: Sendable {
        /// As a Server-Sent Event.
        let serverSent: [UInt8]
        /// As a WebSocket text frame.
        let webSocket: [UInt8]
    }

    /// A title event: the title, when it began (ms since 1970), the players listening and, if the mount is
    /// published as HLS, its HLS players.
    static func event(title: String, at time: Int64, listeners: Int, hlsPlayers: Int? = nil) -> Event {
        var fields: [(String, JSONValue)] = [("title", .text(title)), ("at", .number(Int(time))), ("listeners", .number(listeners))]
        if let hlsPlayers { fields.append(("hlsPlayers", .number(hlsPlayers))) }
        let data = JSONValue.object(fields).encoded
        return Event(serverSent: Array("event: title\ndata: \(data)\n\n".utf8), webSocket: WebSocket.textFrame(data))
    }

    /// Writes `event` in the watcher's framing; `false` if the watcher is gone or too far behind.
    func send(_ event: Event) -> Bool {
        send(kind == .webSocket ? event.webSocket : event.serverSent)
    }

    /// A heartbeat is due: drops the watcher if ``health`` says it is gone (one log line: why, and the peer), else
    /// sends the heartbeat. `false` if the watcher is gone.
    func beat() -> Bool {
        guard !connection.isClosed, !closing else { return false }
        switch health.beat(waiting: connection.pendingBytes + connection.unsentInKernel) {
        case .keep:
            return send(kind == .webSocket ? WebSocket.ping : Self.keepAlive)
        case .drop(.stalled(let waiting, let beats)):
            dropped("\(waiting) bytes waiting, not taken for \(beats) heartbeats of \(heartbeat)")
        case .drop(.silent(let pings)):
            dropped("no pong to \(pings) pings, one every \(heartbeat)")
            goodbye()  // its bytes are taken: a close frame can still reach it
            return false
        }
        connection.close()
        return false
    }
}
