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

    /// Bytes its listeners were sent while it played another distributor's stream (a mount's fallback), which that
    /// one counts as heard (``streamBytesOut``).
    private let lent = Atomic<Int>(0)
    /// Bytes the listeners of distributors playing this one's stream were sent (those of mounts hearing it as their
    /// fallback, down a chain too).
    private let heard = Atomic<Int>(0)
    /// Whether ``playing`` names a tally: read at every send, so that a distributor playing its own stream takes no lock.
    private let playsAnother = Atomic<Bool>(false)
    /// The tally of the distributor whose stream this one plays now, if another's (``play(_:)``).
    private let playing = Mutex<Tally?>(nil)

    /// Bytes handed to listeners' sockets.
    public var bytesOut: Int { sent.load(ordering: .relaxed) }
    /// Bytes sent of this distributor's own stream, counted where it is heard: its listeners' (not while they played
    /// another's), and those of the distributors playing it (mounts hearing it as their fallback), as Icecast counts
    /// the listeners it moves to a fallback there.
    public var streamBytesOut: Int { bytesOut - lent.load(ordering: .relaxed) + heard.load(ordering: .relaxed) }
    /// Segments skipped because a listener could not take them in time.
    public var skipped: Int { skips.load(ordering: .relaxed) }
    /// Listeners disconnected for staying behind too long.
    public var dropped: Int { drops.load(ordering: .relaxed) }
    /// Listeners refused (out of descriptors, or a bad request).
    public var refused: Int { refusals.load(ordering: .relaxed) }

    init() {}

    /// Its distributor plays `other`'s stream from now on (its fallback's), or its own (`nil`): the bytes its listeners
    /// are sent are counted there too (``streamBytesOut``).
    func play(_ other: Tally?) {
        playing.withLock { $0 = other }
        playsAnother.store(other != nil, ordering: .relaxed)
    }

    /// Adds to the counters.
    func count(bytesOut: Int = 0, skipped: Int = 0, dropped: Int = 0, refused: Int = 0) {
        if bytesOut != 0 {
            sent.add(bytesOut, ordering: .relaxed)
            if playsAnother.load(ordering: .relaxed), let other = playing.withLock({ $0 }) {
                lent.add(bytesOut, ordering: .relaxed)
                other.hear(bytesOut)
            }
        }
        if skipped != 0 { skips.add(skipped, ordering: .relaxed) }
        if dropped != 0 { drops.add(dropped, ordering: .relaxed) }
        if refused != 0 { refusals.add(refused, ordering: .relaxed) }
    }

    /// `bytes` of this stream were sent by a distributor playing it — or, if this one plays another's, of that one's,
    /// counted at the end of the chain (a mount hearing a mount that hears its fallback). `hops` bounds the walk.
    private func hear(_ bytes: Int, hops: Int = 0) {
        if hops < 16, playsAnother.load(ordering: .relaxed), let other = playing.withLock({ $0 }) {
            return other.hear(bytes, hops: hops + 1)
        }
        heard.add(bytes, ordering: .relaxed)
    }
}
