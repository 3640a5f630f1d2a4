extension TreeLine {
    /// How long a piece of an unfinished segment may take to go down one level of the tree: a node hands on the
    /// segment its link is bringing in pieces only once it has been arriving for ``StreamPiece/waitOnLink``, and
    /// looks every ``StreamPiece/interval``.
    static let pieceHop: Duration = StreamPiece.waitOnLink + StreamPiece.interval

    /// How long since this node's stream (a root's) last brought audio that a branch at `depth` below it could have
    /// received by now — what that branch's own silence is to be compared with: a whole segment goes down the tree
    /// at once, but a piece of an unfinished segment (a stalled source's, handed on after a second) reaches depth
    /// `d` up to `d` ``pieceHop``s later, so a piece that came at the root moments ago says nothing of a branch that
    /// has not had it yet. That is the time since the last audio plus that delay, and never more than the time since
    /// the last whole segment (`whole=`), which the branch has had. `nil` when the line says nothing (`quiet=`).
    func quiet(reaching depth: Int) -> Duration? {
        guard let quiet else { return nil }
        let sinceSegment = max(sinceSegment ?? quiet, quiet)
        return min(sinceSegment, quiet + Self.pieceHop * max(depth, 0))
    }
}
