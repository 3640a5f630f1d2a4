/// A participant of the relay: an actor that takes one message at a time and answers with the messages it
/// sends in return.
///
/// Returning the outgoing messages instead of sending them keeps every node testable on its own, and lets the
/// ``Network`` deliver everything in a fixed order, so a check sees the same run every time.
public protocol Node: Actor {
    /// The node's address on the network.
    nonisolated var address: Address { get }
    /// Handles one message and returns the messages it sends because of it, in order.
    func receive(_ envelope: Envelope) -> [Envelope]
}

/// An in-memory network of nodes: a mailbox queue delivered one message at a time, first in, first out —
/// the order two Erlang processes, or two ends of a TCP connection, would see.
///
/// Links can be cut (messages on them are lost, as when a TCP connection breaks), and every delivered
/// message is logged, so a check can ask who received what.
public actor Network {
    private var nodes: [Address: any Node] = [:]
    private var queue: [Envelope] = []
    /// The next envelope of `queue` to deliver (an index, so taking one off the queue costs nothing).
    private var head = 0
    private var cutLinks: Set<[Address]> = []
    private var down: Set<Address> = []
    /// Every message delivered, in the order it was delivered.
    public private(set) var log: [Envelope] = []
    /// Messages lost on cut links or sent to nodes that are down or unknown.
    public private(set) var lost: [Envelope] = []

    /// An empty network.
    public init() {}

    /// Adds a node; messages to its address now reach it.
    public func add(_ node: any Node) {
        nodes[node.address] = node
    }

    /// Queues messages for delivery.
    public func post(_ envelopes: [Envelope]) {
        queue += envelopes
    }

    /// Queues one message for delivery.
    public func post(_ envelope: Envelope) {
        queue.append(envelope)
    }

    /// Breaks the link between two nodes, both ways, as when a TCP connection dies or goes silent: messages
    /// on it are lost until ``repair(_:_:)``, or until one end sends a request — which stands for opening a
    /// new connection, so the request and everything after it get through again.
    public func cut(_ a: Address, _ b: Address) {
        cutLinks.insert([a, b].sorted())
    }

    /// Mends a link broken by ``cut(_:_:)``.
    public func repair(_ a: Address, _ b: Address) {
        cutLinks.remove([a, b].sorted())
    }

    /// Takes a node off the network: messages to it are lost.
    public func takeDown(_ address: Address) {
        down.insert(address)
    }

    /// Delivers queued messages, and the messages they cause, until none is left (or `limit` were delivered,
    /// which stops a pair of nodes that would otherwise talk forever). Returns how many were delivered.
    @discardableResult
    public func run(limit: Int = 100_000) async -> Int {
        var delivered = 0
        defer {
            queue.removeFirst(head)
            head = 0
        }
        while head < queue.count, delivered < limit {
            let envelope = queue[head]
            head += 1
            let link = [envelope.from, envelope.to].sorted()
            if case .request = envelope.message { cutLinks.remove(link) }
            guard let node = nodes[envelope.to], !down.contains(envelope.to), !cutLinks.contains(link) else {
                lost.append(envelope)
                continue
            }
            log.append(envelope)
            delivered += 1
            queue += await node.receive(envelope)
        }
        return delivered
    }

    /// The messages delivered to `address`, in order.
    public func received(by address: Address) -> [Message] {
        log.filter { $0.to == address }.map(\.message)
    }

    /// The numbers of the segments delivered to `address`, in order.
    public func segments(receivedBy address: Address) -> [Int] {
        received(by: address).compactMap { if case .data(let number, _) = $0 { number } else { nil } }
    }
}
