/// Counters that a distributor's listeners add to as they send: bytes out and segments skipped.
///
/// Loop-confined: only code on the distributor's event loop touches it, so counting costs one addition and
/// no synchronisation on the hot path.
public final class Tally: @unchecked Sendable {
    // @unchecked Sendable: mutated only on the event loop thread that runs the distributor and its clients.

    /// Bytes handed to listeners' sockets.
    public internal(set) var bytesOut = 0
    /// Segments skipped because a listener could not take them in time.
    public internal(set) var skipped = 0
    /// Listeners disconnected for staying behind too long.
    public internal(set) var dropped = 0
    /// Listeners refused (out of descriptors, or a bad request).
    public internal(set) var refused = 0

    init() {}
}
