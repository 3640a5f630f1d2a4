internal import Synchronization

/// Counters that a distributor's listeners add to as they send: bytes out and segments skipped.
///
/// Listeners may run on several loops of an ``EventLoopGroup``, so each counter is an atomic, added to with
/// relaxed ordering: one uncontended atomic addition per send, and totals that are exact once read.
public final class Tally: Sendable {
    private let sent = Atomic<Int>(0)
    private let skips = Atomic<Int>(0)
    private let drops = Atomic<Int>(0)
    private let refusals = Atomic<Int>(0)

    /// Bytes handed to listeners' sockets.
    public var bytesOut: Int { sent.load(ordering: .relaxed) }
    /// Segments skipped because a listener could not take them in time.
    public var skipped: Int { skips.load(ordering: .relaxed) }
    /// Listeners disconnected for staying behind too long.
    public var dropped: Int { drops.load(ordering: .relaxed) }
    /// Listeners refused (out of descriptors, or a bad request).
    public var refused: Int { refusals.load(ordering: .relaxed) }

    init() {}

    /// Adds to the counters.
    func count(bytesOut: Int = 0, skipped: Int = 0, dropped: Int = 0, refused: Int = 0) {
        if bytesOut != 0 { sent.add(bytesOut, ordering: .relaxed) }
        if skipped != 0 { skips.add(skipped, ordering: .relaxed) }
        if dropped != 0 { drops.add(dropped, ordering: .relaxed) }
        if refused != 0 { refusals.add(refused, ordering: .relaxed) }
    }
}
