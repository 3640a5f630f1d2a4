extension EventQueue {
    /// Drops what `pending` holds past `limit`: first the posts of pairs opened and closed while they wait (a stream
    /// that became available and closed tells the application nothing it must act on now), then the oldest — never
    /// those at the indices `keeping`, which may be being sent (each is taken off once the application answered),
    /// wherever they are: posts of other lanes than the first ones' are sent too (``QueuedPost/lane``). Returns how
    /// many were dropped, and how many of them were pairs'. Dropping by age alone would drop a `stream-closed` whose
    /// `stream-available` was delivered: the application would hold the stream live for ever.
    static func trim(_ pending: inout [Post], to limit: Int, keeping: Set<Int> = [0]) -> (dropped: Int, paired: Int) {
        let (dropping, paired) = dropped(from: pending, to: limit, keeping: keeping)
        pending = pending.indices.filter { !dropping.contains($0) }.map { pending[$0] }
        return (dropping.count, paired)
    }

    /// The indices of `pending` that ``trim(_:to:keeping:)`` drops, and how many of them are pairs'.
    static func dropped(from pending: [Post], to limit: Int, keeping: Set<Int>) -> (indices: Set<Int>, paired: Int) {
        var excess = pending.count - limit
        guard excess > 0 else { return ([], 0) }
        var dropping = Set<Int>()
        var opened: [String: [Int]] = [:]
        for index in pending.indices where excess > 0 && !keeping.contains(index) {
            guard let pairing = pending[index].pairing else { continue }
            if pairing.opens {
                opened[pairing.key, default: []].append(index)
            } else if let openings = opened.removeValue(forKey: pairing.key) {
                dropping.formUnion(openings + [index])
                excess -= openings.count + 1
            }
        }
        let paired = dropping.count
        var index = 0
        while excess > 0, index < pending.count {
            if !keeping.contains(index), dropping.insert(index).inserted { excess -= 1 }
            index += 1
        }
        return (dropping, paired)
    }
}
