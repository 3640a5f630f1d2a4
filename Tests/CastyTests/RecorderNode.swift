@testable import CastyNet
@testable import Casty

/// A node for tests: it records every message it gets, in order, and lets a test wait — with a timeout —
/// until what it recorded satisfies a condition (say, "5 data messages arrived").
///
/// It runs on an ``EventLoop`` like the real nodes, so messages sent on the loop thread are recorded at once,
/// in order. Use it as a listener (it gets `reply`, `data`, `redirect`, `stop`) or as a source (it gets
/// `request`, and the test answers through the requester it recorded).
///
/// ```swift
/// let recorder = RecorderNode(loop: loop)
/// station.send(.request(from: recorder, resume: nil))
/// #expect(await recorder.waitForData(5))
/// let record = await recorder.record
/// #expect(record.numbers == Array(record.replies[0].next..<record.replies[0].next + 5))
/// ```
actor RecorderNode: LoopNode {
    /// One message as recorded.
    enum Event: Sendable {
        /// `request(from:resume:)`.
        case request(from: any Node, resume: Int?)
        /// `reply(next:context:)`.
        case reply(next: Int, context: Context)
        /// `redirect(to:)`.
        case redirect(String)
        /// `data(N, segment)`.
        case data(Int, StreamSegment)
        /// `piece(N, piece)`.
        case piece(Int, StreamPiece)
        /// A call of `stop()`.
        case stop
    }

    /// Everything recorded so far, with views by kind of message.
    struct Record: Sendable {
        /// Every message in the order it came.
        var events: [Event] = []

        /// The requests: who asked, and from which segment.
        var requests: [(from: any Node, resume: Int?)] {
            events.compactMap { if case .request(let node, let resume) = $0 { (node, resume) } else { nil } }
        }
        /// The replies: the next segment number and the context.
        var replies: [(next: Int, context: Context)] {
            events.compactMap { if case .reply(let next, let context) = $0 { (next, context) } else { nil } }
        }
        /// The URLs of the redirects.
        var redirects: [String] {
            events.compactMap { if case .redirect(let url) = $0 { url } else { nil } }
        }
        /// The data messages: the number the message carried, and its segment.
        var data: [(number: Int, segment: StreamSegment)] {
            events.compactMap { if case .data(let number, let segment) = $0 { (number, segment) } else { nil } }
        }
        /// The pieces: the number of the segment each is of, and the piece.
        var pieces: [(number: Int, piece: StreamPiece)] {
            events.compactMap { if case .piece(let number, let piece) = $0 { (number, piece) } else { nil } }
        }
        /// The numbers of the data messages, in order.
        var numbers: [Int] { data.map(\.number) }
        /// The segments of the data messages, in order.
        var segments: [StreamSegment] { data.map(\.segment) }
        /// The audio of all segments, back to back.
        var audio: [UInt8] { segments.flatMap(\.audio) }
        /// How many data messages came.
        var dataCount: Int { events.reduce(0) { if case .data = $1 { $0 + 1 } else { $0 } } }
        /// Whether `stop()` was called.
        var stopped: Bool { events.contains { if case .stop = $0 { true } else { false } } }
    }

    private struct Waiter {
        let condition: @Sendable (Record) -> Bool
        let continuation: CheckedContinuation<Bool, Never>
        let timer: Scheduled
    }

    /// The loop the recorder runs on.
    nonisolated let loop: EventLoop
    /// Runs the actor on its event loop.
    nonisolated var unownedExecutor: UnownedSerialExecutor { loop.asUnownedSerialExecutor() }
    /// What was recorded so far.
    private(set) var record = Record()
    private var waiters: [Int: Waiter] = [:]
    private var nextWaiter = 0

    /// A recorder on `loop`.
    init(loop: EventLoop) {
        self.loop = loop
    }

    nonisolated func send(_ message: Message) { onLoop { $0.receive(message) } }

    nonisolated func stop() { onLoop { $0.stopNow() } }

    func receive(_ message: Message) {
        switch message {
        case .request(let node, let resume, _): append(.request(from: node, resume: resume))
        case .reply(let next, let context): append(.reply(next: next, context: context))
        case .redirect(let url): append(.redirect(url))
        case .data(let number, let segment): append(.data(number, segment))
        case .piece(let number, let piece): append(.piece(number, piece))
        }
    }

    func stopNow() { append(.stop) }

    /// Waits until `condition` holds for what was recorded, or `timeout` passes; returns whether it holds.
    func wait(timeout: Duration = .seconds(5), until condition: @escaping @Sendable (Record) -> Bool) async -> Bool {
        if condition(record) { return true }
        let id = nextWaiter
        nextWaiter += 1
        return await withCheckedContinuation { continuation in
            let timer = loop.schedule(after: timeout) { [self] in onLoop { $0.expire(id) } }
            waiters[id] = Waiter(condition: condition, continuation: continuation, timer: timer)
        }
    }

    /// Waits until at least `count` data messages came, or `timeout` passes; returns whether they did.
    func waitForData(_ count: Int, timeout: Duration = .seconds(5)) async -> Bool {
        await wait(timeout: timeout) { $0.dataCount >= count }
    }

    /// Waits until `stop()` was called, or `timeout` passes; returns whether it was.
    func waitForStop(timeout: Duration = .seconds(5)) async -> Bool {
        await wait(timeout: timeout) { $0.stopped }
    }

    /// Forgets everything recorded so far (waiters keep waiting).
    func clear() {
        record = Record()
    }

    private func append(_ event: Event) {
        record.events.append(event)
        for (id, waiter) in waiters where waiter.condition(record) {
            waiters[id] = nil
            waiter.timer.cancel()
            waiter.continuation.resume(returning: true)
        }
    }

    private func expire(_ id: Int) {
        guard let waiter = waiters.removeValue(forKey: id) else { return }
        waiter.continuation.resume(returning: waiter.condition(record))
    }
}
