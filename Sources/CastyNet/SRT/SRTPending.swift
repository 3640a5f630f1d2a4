/// The callers of an ``SRTListener`` that have not claimed anything yet: those its listen callback let go on,
/// in their handshake, and those accepted that have not called ``SRTConnection/claim()`` (an SRT source before its
/// mount is admitted). Each holds libsrt's buffers — most of a megabyte — so their number is bounded: a caller
/// past ``limit``, or past ``perAddress`` from its address, is rejected in the handshake.
///
/// A handshake entry leaves when the caller is accepted, when SRT rejects it (a wrong passphrase, told by
/// libsrt's log), or after ``handshakeTimeout`` (a handshake libsrt gave up on, which nobody is told about).
package struct SRTPending: Sendable {
    /// How long a caller's handshake is counted at most: libsrt completes it at once after the callback.
    static let handshakeTimeout: Duration = .seconds(5)

    /// Which bound a caller met.
    package enum Full: Sendable, Equatable {
        /// ``SRTPending/limit`` callers are counted.
        case all
        /// ``SRTPending/perAddress`` callers from the caller's address are counted.
        case fromAddress
    }

    /// The most callers counted at once.
    let limit: Int
    /// The most callers counted at once from one address (its host): callers that sent nothing need no
    /// credential, so one address must not take every place.
    let perAddress: Int
    /// Callers in their handshake: their host, and when the listen callback let them go on.
    private var handshaking: [Int32: (host: String, since: ContinuousClock.Instant)] = [:]
    /// Callers accepted that have not claimed anything yet, and their host.
    private var accepted: [Int32: String] = [:]

    /// Counts at most `limit` callers, and at most `perAddress` of them from one address.
    init(limit: Int, perAddress: Int = .max) {
        self.limit = limit
        self.perAddress = perAddress
    }

    /// How many callers are counted now.
    var count: Int { handshaking.count + accepted.count }

    /// How many callers from `host` are counted now.
    func count(from host: String) -> Int {
        handshaking.values.count { $0.host == host } + accepted.values.count { $0 == host }
    }

    /// Counts `socket`, a caller from `host` the listen callback lets go on, if fewer than ``limit`` are counted,
    /// and fewer than ``perAddress`` from `host` (handshakes older than ``handshakeTimeout`` forgotten first);
    /// else the bound it met, and it is not counted.
    mutating func admit(_ socket: Int32, from host: String, now: ContinuousClock.Instant = .now) -> Full? {
        handshaking = handshaking.filter { now - $0.value.since < Self.handshakeTimeout }
        guard count < limit else { return .all }
        guard count(from: host) < perAddress else { return .fromAddress }
        handshaking[socket] = (host, now)
        return nil
    }

    /// `socket`, a caller from `host`, was accepted: counted until it claims something or is closed — also when its
    /// handshake's entry is gone (forgotten as too old, or never seen): an accepted caller holds libsrt's buffers
    /// all the same, and a caller counted nowhere would let the next one past the bound.
    mutating func accept(_ socket: Int32, from host: String) {
        accepted[socket] = handshaking.removeValue(forKey: socket)?.host ?? host
    }

    /// `socket` claimed what it came for, was rejected or was closed: no longer counted.
    mutating func forget(_ socket: Int32) {
        handshaking[socket] = nil
        accepted[socket] = nil
    }
}
