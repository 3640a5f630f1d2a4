import Mesh
import Testing

/// An expectation's message: what it expects of `choosePiece`, and where that hole is — so that the placeholder
/// (the piece just played) is named when it fails.
func hole(_ what: String) -> Comment {
    "choosePiece(have:neighbours:playbackPoint:window:) (Chapter 7, Starter/PieceSelection.swift): \(what)"
}

/// Chapter 7: the one decision every mesh peer makes all the time — which piece to ask for next.
struct MeshChecks {
    @Test func choosePiece_takesTheRarestMissingPiece() {
        let neighbours = [BufferMap([10, 11, 12]), BufferMap([10, 11]), BufferMap([10, 12])]
        // 10 is held by three neighbours, 11 and 12 by two each: the nearer of those, 11.
        #expect(choosePiece(have: BufferMap(), neighbours: neighbours, playbackPoint: 10, window: 5) == 11,
                hole("11, the nearer of the two rarest (11 and 12, two holders each; 10 has three)"))
    }

    @Test func choosePiece_betweenEquallyRarePieces_takesTheOneNearestThePlaybackPoint() {
        let neighbours = [BufferMap([13, 15, 11]), BufferMap([14])]
        #expect(choosePiece(have: BufferMap(), neighbours: neighbours, playbackPoint: 10, window: 10) == 11,
                hole("11: all held once, and 11 is the nearest the playback point"))
    }

    @Test func choosePiece_neverAsksForAPieceItHolds() {
        let neighbours = [BufferMap([20, 21]), BufferMap([21])]
        #expect(choosePiece(have: BufferMap([20]), neighbours: neighbours, playbackPoint: 20, window: 4) == 21,
                hole("21: 20 is held already"))
    }

    @Test func choosePiece_ignoresPiecesOutsideTheWindow() {
        let neighbours = [BufferMap([3, 30, 8])]  // 3 is already played, 30 not needed yet
        #expect(choosePiece(have: BufferMap(), neighbours: neighbours, playbackPoint: 5, window: 10) == 8,
                hole("8, the only piece in the window 5 ..< 15"))
    }

    @Test func choosePiece_theWindowEndsJustBeforePlaybackPointPlusWindow() {
        // The window 5 ..< 9 holds 5, 6, 7, 8: 9 is the first piece past it, however rare (one holder against two).
        let neighbours = [BufferMap([8, 9]), BufferMap([8])]
        #expect(choosePiece(have: BufferMap(), neighbours: neighbours, playbackPoint: 5, window: 4) == 8,
                hole("8: 9 is past the window 5 ..< 9, however rare"))
        #expect(choosePiece(have: BufferMap([8]), neighbours: neighbours, playbackPoint: 5, window: 4) == nil,
                hole("nil: with 8 held, nothing in the window 5 ..< 9 is left to ask for"))
    }

    @Test func choosePiece_whenNoNeighbourHasAnythingUseful_isNil() {
        let neighbours = [BufferMap([1, 2]), BufferMap([2])]
        #expect(choosePiece(have: BufferMap([1, 2]), neighbours: neighbours, playbackPoint: 1, window: 5) == nil,
                hole("nil: the neighbours hold only what this peer holds"))
    }
}
