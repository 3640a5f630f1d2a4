internal import CastyWire
internal import Synchronization

/// The relays that lately asked for the stream one ``Proxy`` feeds — directly, or through the relays that asked
/// them — by their ``Proxy/relayID``s: how Casty servers find a relay loop that runs across processes.
///
/// A relay sends its own name (`X-Casty-Relay`) and the names of the relays that asked its mount
/// (`X-Casty-Relayed-For`, ``Proxy/relayedForHeader``) with every request to its upstream. A server asked for a mount
/// that its own relay feeds notes those names on that relay, which sends them on at its next request; a server
/// that finds its mount's own relay among the names of a request for that mount knows the stream would come back
/// to the mount it is asked for, through every relay in between — a loop with no source in it, where each relay
/// waits for another's stream for ever — and answers `508 Loop Detected` (``StreamRoutes/relayLoop(_:feeding:)``).
///
/// Names are forgotten ``memory`` after they were last sent, so a loop taken apart (a relay URL changed) is soon
/// no longer one; at most ``most`` are kept, and only names that look like a relay's (hex, 16 digits at most) are
/// read, so a request cannot grow the list or put anything else in the header it is sent on in.
///
/// Thread-safe: requests are read on the loops of the server's ports, the relay's own requests made on its loop.
final class RelayChain: Sendable {
    /// How long a name is kept after a request last carried it.
    static let memory: Duration = .seconds(120)
    /// The most names kept.
    static let most = 16

    private let names = Mutex<[String: ContinuousClock.Instant]>([:])
    /// The loop's requests refused, told in a line at most once a minute (the relay of a loop asks every 2 s).
    private let refusals = Mutex(RepeatedEvent(interval: .seconds(60)))

    /// An empty chain.
    init() {}

    /// The relay names a request header carries, comma-separated (those that do not look like one left out).
    static func parse(_ header: String?) -> [String] {
        guard let header else { return [] }
        return Array(header.split(separator: ",").lazy.map(\.withoutBlanks)
            .filter { !$0.isEmpty && $0.count <= 16 && $0.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) } }
            .map(String.init).prefix(most))
    }

    /// Notes `asking`, the names of a request for this chain's stream, but `own` (the relay's own name, which a
    /// request of its loop carries back).
    func note(_ asking: [String], except own: String, now: ContinuousClock.Instant = .now) {
        names.withLock { names in
            for name in asking where name != own { names[name] = now }
            names = names.filter { now - $0.value <= Self.memory }
            while names.count > Self.most, let oldest = names.min(by: { $0.value < $1.value }) { names[oldest.key] = nil }
        }
    }

    /// Counts a request of a loop through this relay refused; returns how many to tell of now (`1` the first
    /// time), or `nil` to stay quiet.
    func refused(now: ContinuousClock.Instant = .now) -> Int? {
        refusals.withLock { $0.occurred(at: now) }
    }

    /// The names to send with the relay's next request, comma-separated; `nil` when none asked lately.
    func header(now: ContinuousClock.Instant = .now) -> String? {
        let fresh = names.withLock { $0.filter { now - $0.value <= Self.memory }.keys.sorted() }
        return fresh.isEmpty ? nil : fresh.joined(separator: ", ")
    }
}
