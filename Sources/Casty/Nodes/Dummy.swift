public import CastyNet
/// An in-process listener for load tests: it counts the segments it gets and reports gaps in their numbering.
///
/// Each dummy is its own actor — an isolation domain that receives numbered messages in order, like the
/// Erlang process it stands for — but it owns no task and no socket: a distributor on the same loop hands it
/// each segment with a plain call, so a million of them fit in one process.
public actor Dummy: LoopNode {
    /// The loop the dummy runs on.
    public nonisolated let loop: EventLoop
    /// Runs the actor on its event loop.
    public nonisolated var unownedExecutor: UnownedSerialExecutor { loop.asUnownedSerialExecutor() }
    /// The dummy's number, for its log lines.
    public nonisolated let id: Int

    private let logger: EventLog?
    /// Segments received.
    public private(set) var received = 0
    /// Times a segment's number was not the one expected.
    public private(set) var gaps = 0
    /// Segments missing in those gaps.
    public private(set) var missing = 0
    /// The number of the segment expected next, once replied to.
    public private(set) var expected: Int?
    /// Whether the source told the dummy to stop.
    public private(set) var stopped = false

    /// A dummy on `loop`; with a logger, each gap is logged as "received E, expected N".
    public init(id: Int = 0, loop: EventLoop = .shared, logger: EventLog? = nil) {
        self.id = id
        self.loop = loop
        self.logger = logger
    }

    /// Hands the dummy a message.
    public nonisolated func send(_ message: Message) { deliver(message) }

    /// Tells the dummy its source stopped.
    public nonisolated func stop() { onLoop { $0.stopNow() } }

    /// Requests the stream from `source`.
    public nonisolated func attach(to source: any Node) {
        source.send(.request(from: self, resume: nil))
    }

    func receive(_ message: Message) {
        switch message {
        case .reply(let next, _):
            expected = next
        case .data(let number, _):
            if let expected, number != expected {
                gaps += 1
                missing += max(0, number - expected)
                logger?("dummy \(id): received \(number), expected \(expected)")
            }
            expected = number + 1
            received += 1
        case .request, .redirect, .piece:
            break
        }
    }

    func stopNow() {
        stopped = true
    }
}
