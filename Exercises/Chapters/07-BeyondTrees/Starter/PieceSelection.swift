// Chapter 7 — Beyond trees. Fill in the function marked EXERCISE, after reading README.md.
// Run the checks with:  swift test --filter Chapter07Checks

/// The piece a peer of a mesh should request next, or `nil` when no neighbour can give it anything useful.
///
/// Only pieces in the window `playbackPoint ..< playbackPoint + window` count: older ones are too late to
/// play, later ones are not needed yet. Of those, only the ones this peer lacks and at least one neighbour
/// holds can be requested. Among them it picks the rarest (held by the fewest neighbours), so that scarce
/// pieces spread before their only holders leave; between pieces equally rare, the one nearest the playback
/// point, because its deadline comes first.
public func choosePiece(have: BufferMap, neighbours: [BufferMap], playbackPoint: Int, window: Int) -> Int? {
    // EXERCISE — the placeholder asks for the piece just played, too late to be of use: no check accepts it.
    playbackPoint - 1
}
