/// The nodes a source (the proxy or the station) feeds — usually one distributor — and the reply they are
/// owed.
///
/// A node that requests before the source knows its station (before the upstream has answered) waits;
/// it gets its reply as soon as the context is known. When the context changes (the proxy reconnected),
/// every node is told again.
struct Subscribers {
    private(set) var nodes: [any Node] = []
    private var waiting: [any Node] = []
    /// The station, once known.
    private(set) var context: Context?
    /// Whether a stream was ever told (``ready(_:next:)``): one that is away is the same stream when it is back.
    private(set) var told = false

    /// Takes a request: replies at once with `next` if the context is known, otherwise later.
    mutating func request(from node: any Node, next: Int) {
        guard !nodes.contains(where: { $0 === node }) else { return }
        if let context {
            node.send(.reply(next: next, context: context))
            nodes.append(node)
        } else if !waiting.contains(where: { $0 === node }) {
            waiting.append(node)
        }
    }

    /// Sets the context and replies to everyone, waiting or not, with `next`.
    mutating func ready(_ context: Context, next: Int) {
        self.context = context
        told = true
        nodes += waiting
        waiting = []
        for node in nodes { node.send(.reply(next: next, context: context)) }
    }

    /// Tells every node that another stream begins (a source's audio changed shape): a reply with `context`,
    /// at the first of `segments` (or at `next` when there is none), then `segments`.
    mutating func restart(_ context: Context, with segments: [StreamSegment], next: Int) {
        ready(context, next: segments.first?.number ?? next)
        for segment in segments { publish(segment) }
    }

    /// Every node, fed or waiting for the stream.
    var all: [any Node] { nodes + waiting }

    /// Sends a segment to every node.
    func publish(_ segment: StreamSegment) {
        for node in nodes { node.send(.data(segment.number, segment)) }
    }

    /// Hands every node audio of segment `number` ahead of it (``StreamPiece``).
    func publish(_ piece: StreamPiece, of number: Int) {
        for node in nodes { node.send(.piece(number, piece)) }
    }

    /// The stream ended upstream for good: the context is forgotten, and every node waits for the next one's reply
    /// (``ready(_:next:)``). Returns the nodes, for the caller to tell them the stream ended.
    mutating func forgetContext() -> [any Node] {
        context = nil
        waiting += nodes
        nodes = []
        return waiting
    }

    /// The stream is away (the upstream or parent lost for a while): the distributors fed forget it until it is
    /// back (``forgetContext()``, then ``Distributor/sourceGone()``), so that newcomers wait for it rather than get
    /// its past; their listeners stay, and ``ready(_:next:)`` gives them the stream again.
    mutating func streamAway() {
        for node in forgetContext() { (node as? Distributor)?.sourceGone() }
    }

    /// Forgets `node`: it gets nothing more (until it requests again).
    mutating func remove(_ node: any Node) {
        nodes.removeAll { $0 === node }
        waiting.removeAll { $0 === node }
    }

    /// Tells every node to stop, and forgets them.
    mutating func stopAll() {
        let all = nodes + waiting
        nodes = []
        waiting = []
        for node in all { node.stop() }
    }
}
