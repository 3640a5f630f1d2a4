internal import CastyNet

/// How a tree node learns the size of a branch's subtree: it asks the branch's `/tree` (public, like a player's
/// stream), and adds the subtrees of the branch's own children to the branch itself. Every node asks its own
/// children, so a death anywhere below reaches the root within one survey per level.
enum SubtreeSurvey {
    /// The size of the subtree of the branch at `address` (`host:port`), itself included, in `mount`'s tree (a
    /// station server's); `nil` when it does not answer as a tree node within two seconds.
    static func size(of address: String, mount: String?, loop: EventLoop) async -> Int? {
        guard let line = await TreeLine.fetch(from: address, mount: mount, timeout: .seconds(2), loop: loop) else { return nil }
        return 1 + line.childSubtrees.reduce(0, +)
    }
}
