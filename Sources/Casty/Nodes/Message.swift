public import CastyNet

/// The messages every Casty node speaks: the four of the design, and pieces of a segment ahead of it. Segments
/// are numbered by whoever cuts them (the proxy, the station or the root); the numbers let every receiver notice
/// what it missed.
///
/// ```
/// client ──request──────────▶ distributor        "send me the stream (from segment N, if I say so)"
/// client ◀─reply(next: N, …)─ distributor        "the next segment you get is N; this is the station"
/// client ◀─redirect(to: url)─ root               "I am full: ask there"
/// client ◀─data(N, segment)── distributor        "segment N", then N+1, N+2, …
/// client ◀─piece(N, piece)─── distributor        "the start of segment N, ahead of it" (a quiet source)
/// ```
///
/// In one process a message is a call of ``Node/send(_:)``; across machines it travels as ICY over HTTP
/// (see DESIGN.md).
public enum Message: Sendable {
    /// The `resume` of a ``request(from:resume:branch:)`` that asks for the stream from its next segment on,
    /// without a burst: a listener moved from another mount by an admin (`moveclients`), which has played up to
    /// this moment — a burst would play it seconds it has heard again.
    public static let liveEdge = Int.max

    /// Ask to be sent the stream. `resume` is the first segment number wanted (a branch that re-attaches
    /// after a failure), or `nil` for "from now on". `branch` is where the requester serves other branches
    /// (`host:port`, sent as `X-Casty-Branch`), or `nil` for a media player; only a branch may be redirected.
    case request(from: any Node, resume: Int?, branch: String? = nil)
    /// The answer to a request: the number of the next segment the requester will get, and the station.
    case reply(next: Int, context: Context)
    /// The answer to a request that cannot be served here: ask the node at this URL instead.
    case redirect(to: String)
    /// Segment number `N` of the stream.
    case data(Int, StreamSegment)
    /// Audio of segment `N` handed on before the segment is whole, or word that what was handed on of it will not
    /// be followed by it (``StreamPiece``). A source sends pieces only while a segment takes far longer to fill
    /// than it lasts (a quiet AAC source); a node that does not use them ignores them.
    case piece(Int, StreamPiece)
}

/// A participant of the relay that takes messages: the Swift counterpart of an Erlang process.
///
/// Nodes are actors that run on an ``EventLoop``, so a message sent from the loop thread is handled at once,
/// in order, without a task or a hop; one sent from anywhere else is queued onto the loop in order.
public protocol Node: AnyObject, Sendable {
    /// Hands the node a message.
    func send(_ message: Message)
    /// Hands the node several messages, in order: as many calls of ``send(_:)``, but a node on another loop gets
    /// them in one hand-over (a new player's reply and burst).
    func send(contentsOf messages: [Message])
    /// Tells the node that its source has stopped for good: it lets go of its listeners or its connection.
    func stop()
}

/// A node that feeds others — a proxy, a station, a source session, a branch, a distributor —, which a node it
/// feeds can leave: a mount's distributor that takes its stream from elsewhere (its fallback, a source publishing
/// over its relay or station) leaves the node it had, so that one node feeds it, not two at once.
public protocol FeedingNode: Node {
    /// Stops sending to `node` (from any thread); a later request of `node` is served again.
    func leave(_ node: any Node)
}

extension Node {
    /// Hands the node each message in turn — for a node of another loop (``LoopBound``), all of them in one
    /// piece of work queued onto that loop, where each is then handled at once.
    public func send(contentsOf messages: [Message]) {
        guard let loop = (self as? any LoopBound)?.loop, !loop.inEventLoop, messages.count > 1 else {
            for message in messages { send(message) }
            return
        }
        loop.execute {
            for message in messages { self.send(message) }
        }
    }
}

/// A node that runs on an event loop, as every node of Casty does: a distributor on another loop of the group
/// hands it segments in that loop's batch (``EventLoopGroup``). A node of one's own (a probe in a benchmark)
/// may say which loop calls its ``Node/send(_:)``.
public protocol LoopBound: Node {
    /// The loop its messages are handed to it on.
    var loop: EventLoop { get }
}

/// An actor that runs on an event loop and handles its messages there, one at a time.
///
/// Each node implements ``Node/send(_:)`` as `deliver(message)` and ``Node/stop()`` as `onLoop { $0.stopNow() }`.
///
/// **Re-entrancy.** A message sent on the loop thread is handled at once, synchronously: `send` from inside an
/// actor may run another actor on the loop — and that one may call back into the first before `send` returns
/// (a client whose socket fails during a fan-out tells its distributor it left). So a node never sends while
/// its own state is half-changed: it decides first (its core returns the actions to perform), stores the
/// result, and only then performs the actions. Walking a list while sending (a fan-out) walks a copy of it,
/// so a listener that leaves during the walk changes the node's list, not the one being walked.
protocol LoopNode: LoopBound, Actor {
    /// The loop that runs the actor.
    nonisolated var loop: EventLoop { get }
    /// Handles one message, on the loop.
    func receive(_ message: Message)
    /// Handles a stop, on the loop.
    func stopNow()
}

extension LoopNode {
    /// Hands the actor a message: handled at once on the loop thread — with no closure, allocation or
    /// reference count taken on the way, since a fan-out makes this call once per listener — or queued onto
    /// the loop (in order) from anywhere else.
    nonisolated func deliver(_ message: Message) {
        if loop.inEventLoop {
            onLoopThread { $0.receive(message) }
        } else {
            onLoop { $0.receive(message) }
        }
    }

    /// Runs `body` isolated to the actor on the loop thread, without asking the Swift runtime whether it is: the
    /// caller has just checked `loop.inEventLoop`, and the loop thread is the actor's executor. This is what
    /// `assumeIsolated` does once its own check passed; on the fan-out path, made once per listener and segment,
    /// that second check would cost as much again as the first.
    private nonisolated func onLoopThread(_ body: (isolated Self) -> Void) {
        assert(loop.inEventLoop, "onLoopThread off the loop thread")
        typealias Isolated = (isolated Self) -> Void
        typealias Plain = (Self) -> Void
        withoutActuallyEscaping(body) { (body: @escaping Isolated) in
            unsafeBitCast(body, to: Plain.self)(self)
        }
    }

    /// Runs `body` isolated to the actor: at once on the loop thread, or queued onto the loop (in order)
    /// from anywhere else.
    nonisolated func onLoop(_ body: @escaping @Sendable (isolated Self) -> Void) {
        if loop.inEventLoop {
            onLoopThread(body)
        } else {
            loop.execute { self.onLoopThread(body) }
        }
    }
}
