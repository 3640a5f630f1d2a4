/// Keeps track of one unfinished segment for ``StreamPiece``s: when its first byte came, and how much of it was
/// handed on already. The ``Cutter`` (a proxy's, a source session's) and a ``Branch`` (for the segment its link
/// is bringing) each hold one.
struct PieceGauge: Sendable {
    /// When the first byte of the unfinished segment came.
    private var fillingSince: ContinuousClock.Instant?
    /// Its bytes already handed on as pieces.
    private var given = 0

    /// Bytes are about to be added to a segment that holds `count` so far: its first byte starts the clock.
    mutating func adding(to count: Int) {
        if count == 0 { fillingSince = .now }
    }

    /// The segment was cut, or dropped: the next one starts afresh — its clock now if `left` of its bytes are in
    /// already.
    mutating func reset(left: Int = 0) {
        fillingSince = left > 0 ? .now : nil
        given = 0
    }

    /// The bytes of `audio` (the unfinished segment so far) not handed on yet, as a piece — if the segment has
    /// been filling for `wait` or longer. `nil` while it fills at its usual pace, or when nothing new came.
    mutating func piece(of audio: [UInt8], after wait: Duration, now: ContinuousClock.Instant) -> StreamPiece? {
        guard let fillingSince, now - fillingSince >= wait, audio.count > given else { return nil }
        defer { given = audio.count }
        return StreamPiece(offset: given, audio: Array(audio[given...]))
    }
}
