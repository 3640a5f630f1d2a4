internal import CastyNet

/// A distributor's deliveries to the listeners of one other loop of the group, carried out on that loop a slice
/// at a time.
///
/// Each segment arrives as one batch (the message and the loop's listeners at that moment). The loop sends to
/// ``slice`` listeners, then hands the rest to its next turn: between two slices it accepts, reads requests and
/// answers new listeners, so none of them waits for a fan-out of ten thousand sends. Batches are kept in order
/// in one queue, so a listener always gets segment N before N+1.
///
/// Loop-confined (`@unchecked Sendable` so that the distributor may hand it batches with `execute`): made on the
/// distributor's loop, used only on `loop`.
final class LoopFanout: @unchecked Sendable {
    /// Sends made before the loop takes its next turn.
    static let slice = 512

    /// The loop it delivers on.
    let loop: EventLoop
    private var batches: [(message: Message, nodes: [any Node])] = []
    private var first = 0
    private var next = 0
    private var running = false

    init(loop: EventLoop) {
        self.loop = loop
    }

    /// Queues a batch (from any thread): delivered after every batch queued before it.
    func deliver(_ message: Message, to nodes: [any Node]) {
        loop.execute { [self] in
            batches.append((message, nodes))
            if !running {
                running = true
                run()
            }
        }
    }

    /// Sends up to a slice, then yields to the loop's next turn if anything is left.
    private func run() {
        var budget = Self.slice
        while first < batches.count, budget > 0 {
            let batch = batches[first]
            let end = min(batch.nodes.count, next + budget)
            for index in next..<end { batch.nodes[index].send(batch.message) }
            budget -= end - next
            next = end
            if next == batch.nodes.count {
                first += 1
                next = 0
            }
        }
        if first == batches.count {
            batches.removeAll(keepingCapacity: true)
            first = 0
            running = false
        } else {
            loop.execute { [self] in run() }
        }
    }
}
