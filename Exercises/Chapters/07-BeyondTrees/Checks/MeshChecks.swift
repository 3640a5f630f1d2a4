import Mesh
import Testing

/// Chapter 7: the one decision every mesh peer makes all the time — which piece to ask for next.
struct MeshChecks {
    @Test func choosePiece_takesTheRarestMissingPiece() {
        let neighbours = [BufferMap([10, 11, 12]), BufferMap([10, 11]), BufferMap([10, 12])]
        // 10 is held by three neighbours, 11 and 12 by two each: the nearer of those, 11.
        #expect(choosePiece(have: BufferMap(), neighbours: neighbours, playbackPoint: 10, window: 5) == 11)
    }

    @Test func choosePiece_betweenEquallyRarePieces_takesTheOneNearestThePlaybackPoint() {
        let neighbours = [BufferMap([13, 15, 11]), BufferMap([14])]
        #expect(choosePiece(have: BufferMap(), neighbours: neighbours, playbackPoint: 10, window: 10) == 11)
    }

    @Test func choosePiece_neverAsksForAPieceItHolds() {
        let neighbours = [BufferMap([20, 21]), BufferMap([21])]
        #expect(choosePiece(have: BufferMap([20]), neighbours: neighbours, playbackPoint: 20, window: 4) == 21)
    }

    @Test func choosePiece_ignoresPiecesOutsideTheWindow() {
        let neighbours = [BufferMap([3, 30, 8])]  // 3 is already played, 30 not needed yet
        #expect(choosePiece(have: BufferMap(), neighbours: neighbours, playbackPoint: 5, window: 10) == 8)
    }

    @Test func choosePiece_theWindowEndsJustBeforePlaybackPointPlusWindow() {
        // The window 5 ..< 9 holds 5, 6, 7, 8: 9 is the first piece past it, however rare (one holder against two).
        let neighbours = [BufferMap([8, 9]), BufferMap([8])]
        #expect(choosePiece(have: BufferMap(), neighbours: neighbours, playbackPoint: 5, window: 4) == 8)
        #expect(choosePiece(have: BufferMap([8]), neighbours: neighbours, playbackPoint: 5, window: 4) == nil)
    }

    @Test func choosePiece_whenNoNeighbourHasAnythingUseful_isNil() {
        let neighbours = [BufferMap([1, 2]), BufferMap([2])]
        #expect(choosePiece(have: BufferMap([1, 2]), neighbours: neighbours, playbackPoint: 1, window: 5) == nil)
    }
}
