// Chapter 7 — Beyond trees. Given: a peer's buffer map. Your part (Starter/PieceSelection.swift) decides
// which piece to ask for next.

/// The pieces a peer holds, as it would advertise them to its neighbours: a set of piece numbers.
///
/// CoolStreaming sends this as a bitmap over a sliding window (120 one-second segments, one bit each);
/// a set says the same thing and is easier to read.
public struct BufferMap: Sendable, Equatable {
    /// The piece numbers held.
    public var pieces: Set<Int>

    /// A buffer map holding `pieces`.
    public init(_ pieces: Set<Int> = []) {
        self.pieces = pieces
    }

    /// Whether the peer holds piece `number`.
    public func has(_ number: Int) -> Bool {
        pieces.contains(number)
    }
}
