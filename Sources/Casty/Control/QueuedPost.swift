/// What an ``EventQueue`` posts to the platform's application: the headers and body of one `POST`, and a name
/// for its log lines. `stream-available`/`stream-closed` events are ones (``StreamEvent``), and so are listener
/// authorization's `listener_remove` calls.
public protocol QueuedPost: Sendable {
    /// The headers of its `POST` (the queue adds `Authorization`).
    var headers: [(String, String)] { get }
    /// The body of its `POST` (empty for an event, whose headers say everything).
    var body: [UInt8] { get }
    /// What it is, for a log line: never a secret.
    var summary: String { get }
    /// Whether it opens (`true`) or closes (`false`) something named `key` — a stream that became available, and
    /// closed —, for a queue too full (``EventQueue``): an opening and its closing both waiting tell the application
    /// nothing it must still act on, and are dropped first, so that a closing whose opening was delivered is not.
    /// `nil` for a post of no pair.
    var pairing: (key: String, opens: Bool)? { get }
    /// The posts it must follow: those of the same lane are delivered in the order they were queued — one waits
    /// until the ones before it are answered `200` —, those of other lanes (and those of none) are sent meanwhile,
    /// whatever becomes of it. `nil` for a post that follows none (``EventQueue``).
    var lane: String? { get }
}

extension QueuedPost {
    /// Of no pair.
    public var pairing: (key: String, opens: Bool)? { nil }
    /// Of no lane: independent of every other post.
    public var lane: String? { nil }
}

/// A ``QueuedPost`` that can wait in a spool file across restarts (`--event-spool`): one line each.
public protocol SpooledPost: QueuedPost {
    /// Its line of the spool file (no line break in it).
    var spoolLine: String { get }
    /// The post a spool line holds, or `nil` if it is not one.
    init?(spoolLine: Substring)
}
