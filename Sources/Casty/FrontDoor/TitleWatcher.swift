internal import CastyNet

/// A page that follows a mount's titles live over Server-Sent Events (`GET /api/mounts/<m>/events`): each title
/// change is one `event: title` with a JSON `data:` line, sent the moment the segment carrying it is cut.
///
/// A watcher is treated like a slow listener: an event is written only if the connection has taken the earlier
/// ones (less than 64 KiB pending); a watcher that falls that far behind, or has closed, is dropped. It never
/// delays other watchers or listeners. Loop-confined.
final class TitleWatcher: @unchecked Sendable {
    /// The most bytes an event may wait behind before the watcher is dropped.
    static let maxPending = 64 * 1024
    private let connection: Connection

    init(connection: Connection) {
        self.connection = connection
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

    /// The bytes of a title event.
    static func event(title: String, at time: Int64, listeners: Int) -> [UInt8] {
        let data = JSONValue.object([("title", .text(title)), ("at", .number(Int(time))), ("listeners", .number(listeners))]).encoded
        return Array("event: title\ndata: \(data)\n\n".utf8)
    }
}
