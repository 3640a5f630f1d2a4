// Chapter 5 — The tree. Fill in the two methods marked EXERCISE; README.md explains.
// Run the checks with:  swift test --filter Chapter05Checks

public import Kit

/// Where a node puts a newcomer.
public enum Placement: Equatable, Sendable {
    /// Here: the newcomer becomes a child.
    case accept
    /// Further down: ask this child.
    case redirect(to: Address)
}

/// The children a node serves itself, and where it sends the newcomers it has no room for.
public struct Seats: Sendable {
    /// The most children the node serves itself.
    public let capacity: Int
    /// Its children, in the order they came.
    public private(set) var children: [Address] = []
    // EXERCISE: what else must you remember to take the children in turn?

    /// No children yet.
    public init(capacity: Int = 2) {
        self.capacity = capacity
    }

    /// Decides where `newcomer` goes.
    ///
    /// A node already among the children is accepted again (it asked twice). While there is room, a newcomer
    /// is accepted and becomes a child. When the seats are full, it is redirected to a child, taking the
    /// children in turn (first, second, first, second, …) so the subtrees grow evenly.
    public mutating func place(_ newcomer: Address) -> Placement {
        // EXERCISE
        return .accept
    }
}

/// The way a branch follows redirects to find its parent.
public struct Route: Sendable {
    /// The most redirects followed before giving up.
    public let maxRedirects: Int
    /// The nodes asked so far, the first one first.
    public private(set) var visited: [Address]

    /// A route that starts by asking `start`.
    public init(start: Address, maxRedirects: Int = 8) {
        self.visited = [start]
        self.maxRedirects = maxRedirects
    }

    /// Follows a redirect to `target`: returns the node to ask next (the target), after checking that it has
    /// not been asked before on this route (else ``RouteError/loop(_:)``, with the path and the target) and
    /// that no more than ``maxRedirects`` redirects have been followed (else
    /// ``RouteError/tooManyRedirects(_:)``, with the path so far).
    public mutating func follow(_ target: Address) throws(RouteError) -> Address {
        // EXERCISE
        return target
    }
}
