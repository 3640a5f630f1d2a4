internal import CastyNet

/// A page that follows a mount's titles live over Server-Sent Events (`GET /api/mounts/<m>/events`): each title
/// change is one `event: title` with a JSON `data:` line, sent the moment the segment carrying it is cut.
///
/// A watcher is treated like a slow listener: an event is written only if the connection has taken the earlier
/// ones (less than 64 KiB pending); a watcher that falls that far behind, or has closed, is dropped. It never
/// delays other watchers or listeners. Loop-confined.
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
    private let connection: Connection
    /// How its events are framed.
    let kind: Kind

    init(connection: Connection, kind: Kind = .serverSentEvents) {
        self.connection = connection
        self.kind = kind
    }

    /// Whether the page has gone.
    var isClosed: Bool { connection.isClosed }

    /// Writes one event; `false` if the watcher is gone or too far behind (then it is closed).
    func send(_ event: [UInt8]) -> Bool {
        guard !connection.isClosed else { return false }
        guard connection.pendingBytes <= Self.maxPending else {
            connection.close()
            return false
        }
        return connection.write(event)
    }

    /// One title change, framed both ways once, whatever the number of watchers.
    struct Event: Sendable {
        let serverSent: [UInt8]
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
}
