internal import CastyNet

/// What the RTMP port of a station server has seen, for `/status.json` (`icestats.rtmp`).
///
/// Loop-confined (`@unchecked Sendable` so that the listener's callback may capture it): counted on the loop that
/// runs the publishers.
final class RTMPCounters: @unchecked Sendable {
    /// The port RTMP publishers connect to.
    var port: Int
    /// Connections accepted.
    var connections = 0
    /// Publishers whose audio is on a mount now.
    var publishing = 0
    /// Connections not publishing yet: in their handshake, asking to publish, or admitted with no audio so far.
    var waiting = 0
    /// The connections waiting to publish from each address (its host), within ``waiting``.
    private(set) var waitingFrom: [String: Int] = [:]
    /// Connections closed at once because ``RTMPPublisher/maxWaiting`` were waiting already, or
    /// ``RTMPPublisher/maxWaitingPerAddress`` from their address.
    var turnedAway = 0
    /// Publish requests refused (a wrong key, a mount not allowed or in use).
    var refused = 0
    /// Connections closed for breaking the protocol (a bad handshake, chunk or AMF value).
    var malformed = 0
    /// Publishers closed for audio in a format Casty does not serve (Nellymoser, PCM, Speex…).
    var unsupported = 0
    /// Connections dropped for stalling (mid-handshake, before publishing, or with no audio).
    var timedOut = 0
    /// Audio messages received from publishers.
    var audioMessages = 0
    /// Video messages received and ignored (an OBS scene still works as an audio source).
    var videoMessages = 0

    init(port: Int) {
        self.port = port
    }

    /// Counts a connection from `host` among those waiting to publish.
    func startWaiting(from host: String) {
        waiting += 1
        waitingFrom[host, default: 0] += 1
    }

    /// A connection from `host` no longer waits (it publishes, or is gone).
    func stopWaiting(from host: String) {
        waiting -= 1
        waitingFrom[host] = waitingFrom[host].flatMap { $0 > 1 ? $0 - 1 : nil }
    }

    /// The counters as JSON members.
    var json: JSONValue {
        .object([
            ("port", .number(port)), ("connections", .number(connections)), ("publishing", .number(publishing)),
            ("waiting", .number(waiting)), ("turned_away", .number(turnedAway)),
            ("refused", .number(refused)), ("malformed", .number(malformed)), ("unsupported", .number(unsupported)), ("timed_out", .number(timedOut)),
            ("audio_messages", .number(audioMessages)), ("video_messages_ignored", .number(videoMessages)),
        ])
    }
}
