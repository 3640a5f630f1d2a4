internal import CastyNet

/// A distributor's deliveries to the listeners of one other loop of the group, carried out on that loop a slice
/// at a time.
///
/// Each segment arrives as one batch: the message and the distributor's whole listener list at that moment (a
/// copy-on-write snapshot, handed over without a copy). The loop walks the list and sends to the listeners that
/// live on it — at most ``slice`` sends, or ``scan`` entries looked at, per turn — then hands the rest to its
/// next turn: between two slices it accepts, reads requests and answers new listeners, so none of them waits
/// for a fan-out of ten thousand sends. Batches are kept in order in one queue, so a listener always gets
/// segment N before N+1.
///
/// Loop-confined (`@unchecked Sendable` so that the distributor may hand it batches with `execute`): made on the
/// distributor's loop, used only on `loop`.
final class LoopFanout: @unchecked Sendable {
    /// Sends made before the loop takes its next turn.
    static let slice = 512
    /// Entries of the list looked at before the loop takes its next turn.
    static let scan = 65_536

    /// The loop it delivers on.
    let loop: EventLoop
    private let loopID: ObjectIdentifier
    private var batches: [(message: Message, listeners: [NodeReference])] = []
    private var first = 0
    private var next = 0
    private var running = false

    init(loop: EventLoop) {
        self.loop = loop
        self.loopID = ObjectIdentifier(loop)
    }

    /// Queues a batch (from the distributor's loop): delivered after every batch queued before it.
    func deliver(_ message: Message, to listeners: [NodeReference]) {
        loop.execute { [self] in
            batches.append((message, listeners))
            if !running {
                running = true
                run()
            }
        }
    }

    /// Sends up to a slice, then yields to the loop's next turn if anything is left.
    private func run() {
        var sends = Self.slice
        var looked = Self.scan
        while first < batches.count, sends > 0, looked > 0 {
            let message = batches[first].message
            let count = batches[first].listeners.withUnsafeBufferPointer { listeners in
                // Read in place: a copy of each entry would count a reference to its node.
                while next < listeners.count, sends > 0, looked > 0 {
                    defer { next += 1 }
                    looked -= 1
                    if listeners[next].loopID == loopID {
                        listeners[next].node.send(message)
                        sends -= 1
                    }
                }
                return listeners.count
            }
            if next == count {
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
