/// The callers of an ``SRTListener`` that have not claimed anything yet: those its listen callback let go on,
/// in their handshake, and those accepted that have not called ``SRTConnection/claim()`` (an SRT source before its
/// mount is admitted). Each holds libsrt's buffers — most of a megabyte — so their number is bounded: a caller
/// past ``limit`` is rejected in the handshake.
///
/// A handshake entry leaves when the caller is accepted, when SRT rejects it (a wrong passphrase, told by
/// libsrt's log), or after ``handshakeTimeout`` (a handshake libsrt gave up on, which nobody is told about).
struct SRTPending: Sendable {
    /// How long a caller's handshake is counted at most: libsrt completes it at once after the callback.
    static let handshakeTimeout: Duration = .seconds(5)

    /// The most callers counted at once.
    let limit: Int
    /// Callers in their handshake, with when the listen callback let them go on.
    private var handshaking: [Int32: ContinuousClock.Instant] = [:]
    /// Callers accepted that have not claimed anything yet.
    private var accepted: Set<Int32> = []

    /// Counts at most `limit` callers.
    init(limit: Int) {
        self.limit = limit
    }

    /// How many callers are counted now.
    var count: Int { handshaking.count + accepted.count }

    /// Counts `socket`, a caller the listen callback lets go on, if fewer than ``limit`` are counted (handshakes
    /// older than ``handshakeTimeout`` forgotten first); `false` if the limit is reached.
    mutating func admit(_ socket: Int32, now: ContinuousClock.Instant = .now) -> Bool {
        handshaking = handshaking.filter { now - $0.value < Self.handshakeTimeout }
        guard count < limit else { return false }
        handshaking[socket] = now
        return true
    }

    /// `socket` was accepted: counted until it claims something or is closed.
    mutating func accept(_ socket: Int32) {
        guard handshaking.removeValue(forKey: socket) != nil else { return }
        accepted.insert(socket)
    }

    /// `socket` claimed what it came for, was rejected or was closed: no longer counted.
    mutating func forget(_ socket: Int32) {
        handshaking[socket] = nil
        accepted.remove(socket)
    }
}
