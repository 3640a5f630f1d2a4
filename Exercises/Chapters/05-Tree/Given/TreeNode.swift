// Chapter 5 — The tree. Given: a node of the tree (the root is a node without a parent). It uses the two
// parts you write in Starter/Holes.swift: `Seats` decides where a newcomer goes, `Route` follows redirects.

public import Kit

/// Why a branch gave up looking for a parent.
public enum RouteError: Error, Equatable, Sendable {
    /// A redirect named a node already on the way: following it would go round for ever. The path, ending
    /// with the node named twice.
    case loop([Address])
    /// More redirects than allowed; the path so far.
    case tooManyRedirects([Address])
}

/// One node of a distribution tree: the root (no parent; it numbers the segments) or a branch (it requests
/// the stream from a parent and passes every segment on to its own children).
///
/// Each node takes at most ``Seats/capacity`` children itself and redirects further newcomers down to its
/// children, so the tree grows by itself, a level at a time.
public actor TreeNode: Node {
    /// Its address.
    public nonisolated let address: Address
    /// Where it places newcomers.
    public private(set) var seats: Seats
    /// The parent it is attached to (a branch, once replied to).
    public private(set) var parent: Address?
    /// The way it followed to find its parent.
    public private(set) var route: Route?
    /// Why it stopped looking for a parent, if it did.
    public private(set) var failure: RouteError?
    /// The numbers of the segments it received (the root: sent), in order.
    public private(set) var received: [Int] = []
    private var context: Context?
    private var next = 0
    private var waiting: [Address] = []
    private var maxRedirects = 8

    /// The root of a tree, with the station's context.
    public init(root address: Address, context: Context, capacity: Int = 2) {
        self.address = address
        self.context = context
        self.seats = Seats(capacity: capacity)
    }

    /// A branch; call ``join(_:)`` to attach it.
    public init(branch address: Address, capacity: Int = 2, maxRedirects: Int = 8) {
        self.address = address
        self.seats = Seats(capacity: capacity)
        self.maxRedirects = maxRedirects
    }

    /// The request that attaches this branch under `parent`, or wherever `parent` redirects it.
    public func join(_ parent: Address) -> [Envelope] {
        route = Route(start: parent, maxRedirects: maxRedirects)
        failure = nil
        return [Envelope(from: address, to: parent, .request(resume: nil))]
    }

    /// The root cuts a segment and sends it down the tree.
    public func broadcast(_ segment: Segment) -> [Envelope] {
        let number = next
        next += 1
        received.append(number)
        return seats.children.map { Envelope(from: address, to: $0, .data(number, segment)) }
    }

    /// Handles a newcomer's request, a parent's reply or redirect, and the segments coming down.
    public func receive(_ envelope: Envelope) -> [Envelope] {
        switch envelope.message {
        case .request:
            guard let context else {
                waiting.append(envelope.from)  // not attached yet: answer once we are
                return []
            }
            return place(envelope.from, context: context)
        case .redirect(let target):
            guard parent == nil, var route else { return [] }
            do {
                let next = try route.follow(target)
                self.route = route
                return [Envelope(from: address, to: next, .request(resume: nil))]
            } catch {
                failure = error
                return []
            }
        case .reply(let next, let context):
            guard parent == nil else { return [] }
            parent = envelope.from
            self.context = context
            self.next = next
            let queued = waiting
            waiting = []
            return queued.flatMap { place($0, context: context) }
        case .data(let number, let segment):
            guard envelope.from == parent else { return [] }
            received.append(number)
            next = number + 1
            return seats.children.map { Envelope(from: address, to: $0, .data(number, segment)) }
        }
    }

    private func place(_ newcomer: Address, context: Context) -> [Envelope] {
        switch seats.place(newcomer) {
        case .accept: [Envelope(from: address, to: newcomer, .reply(next: next, context: context))]
        case .redirect(let child): [Envelope(from: address, to: newcomer, .redirect(to: child))]
        }
    }
}
