// Chapter 4 — Distributor and dummies. Given: the state the distributor keeps, its answer to a request,
// the two actors, and a small load meter. Your part is in Starter/Holes.swift.

public import Kit

/// The bytes a listener's socket has accepted but not yet delivered: the kernel's send buffer, in memory.
///
/// A player that keeps up drains it as fast as segments arrive; a slow one (a phone on a bad link) leaves it
/// full, and then the next segment does not fit.
public struct SendBuffer: Sendable, Equatable {
    /// The most bytes it holds; Casty keeps this near one segment so a slow listener shows at once.
    public let capacity: Int
    /// Bytes waiting to be delivered.
    public internal(set) var queued = 0

    /// An empty buffer.
    public init(capacity: Int) {
        self.capacity = capacity
    }

    /// The player took `count` bytes off the buffer.
    public mutating func drain(_ count: Int) {
        queued = max(0, queued - count)
    }
}

/// One listener, as its distributor sees it.
public struct Listener: Sendable, Equatable {
    /// Where its segments go.
    public let address: Address
    /// Its socket's send buffer.
    public var buffer: SendBuffer
    /// Segments it had to skip, in all.
    public var skipped = 0
    /// Segments skipped in a row since the last one it took.
    public var consecutiveSkips = 0

    /// A listener with an empty buffer.
    public init(address: Address, buffer: SendBuffer) {
        self.address = address
        self.buffer = buffer
    }
}

/// A distributor's state: the listeners, the station, and the last few segments.
public struct DistributorCore: Sendable {
    /// The distributor's own address.
    public let address: Address
    /// The send buffer each listener gets, in bytes.
    public let sendBuffer: Int
    /// A listener that skips more segments than this in a row is dropped.
    public let maxConsecutiveSkips: Int
    /// How many recent segments a new listener gets at once, so its player starts without waiting.
    public let burst: Int
    /// The listeners, in the order they joined.
    public internal(set) var listeners: [Listener] = []
    /// Where each listener is in ``listeners``, by address, so that finding one does not walk the whole list:
    /// with 100,000 listeners, a walk for every request and every drain would make attaching and draining them
    /// all take 100,000 × 100,000 steps. Noted by ``request(from:)``; see ``index(of:)``.
    private var positions: [Address: Int] = [:]
    /// Listeners dropped for falling behind, in order.
    public internal(set) var dropped: [Address] = []
    /// The station, once the source has replied.
    public internal(set) var context: Context?
    /// The last ``burst`` segments, oldest first.
    public internal(set) var recent: [(number: Int, segment: Segment)] = []
    /// The number of the next segment expected from the source.
    public internal(set) var next = 0

    /// A distributor with no listeners yet.
    public init(address: Address, sendBuffer: Int = 16_384, maxConsecutiveSkips: Int = 20, burst: Int = 2) {
        self.address = address
        self.sendBuffer = sendBuffer
        self.maxConsecutiveSkips = maxConsecutiveSkips
        self.burst = burst
    }

    /// The source's reply: the station, and the number of its next segment.
    public mutating func sourceReplied(next: Int, context: Context) {
        self.next = next
        self.context = context
    }

    /// A listener's request: it is told the number of the first segment it will get and then gets the recent
    /// segments at once (written whole, whatever its buffer holds: a player starts faster with a burst).
    public mutating func request(from address: Address) -> [Envelope] {
        guard let context, index(of: address) == nil else { return [] }
        var listener = Listener(address: address, buffer: SendBuffer(capacity: sendBuffer))
        let first = recent.first?.number ?? next
        var out = [Envelope(from: self.address, to: address, .reply(next: first, context: context))]
        for (number, segment) in recent {
            listener.buffer.queued += segment.audio.count
            out.append(Envelope(from: self.address, to: address, .data(number, segment)))
        }
        positions[address] = listeners.count
        listeners.append(listener)
        return out
    }

    /// The player behind `address` read `count` bytes from its socket.
    public mutating func drain(_ address: Address, _ count: Int) {
        guard let index = index(of: address) else { return }
        listeners[index].buffer.drain(count)
    }

    /// Every listener's player read everything it was sent: the case of listeners that keep up.
    public mutating func drainAll() {
        for index in listeners.indices { listeners[index].buffer.drain(listeners[index].buffer.queued) }
    }

    /// Where the listener at `address` is in ``listeners``, or `nil` when it is none of them.
    ///
    /// `deliver` drops listeners, and the ones after them move up: then the positions noted are out of date, and
    /// they are noted afresh from the list — one walk after a drop, not one at every look-up.
    private mutating func index(of address: Address) -> Int? {
        if let index = positions[address], index < listeners.count, listeners[index].address == address { return index }
        if positions[address] == nil, positions.count == listeners.count { return nil }  // not a listener
        positions = [:]
        for (index, listener) in listeners.enumerated() { positions[listener.address] = index }
        return positions[address]
    }

    /// Keeps a segment for the next new listener: for its burst, and the title it sets for its reply's context.
    mutating func remember(_ number: Int, _ segment: Segment) {
        if let title = segment.title { context?.title = title }
        recent.append((number, segment))
        if recent.count > burst { recent.removeFirst(recent.count - burst) }
    }
}

/// The distributor as an actor: it takes its source's reply and data and its listeners' requests as messages.
public actor Distributor: Node {
    /// Its address.
    public nonisolated let address: Address
    /// Its state.
    public private(set) var core: DistributorCore

    /// A distributor; see ``DistributorCore/init(address:sendBuffer:maxConsecutiveSkips:burst:)``.
    public init(address: Address, sendBuffer: Int = 16_384, maxConsecutiveSkips: Int = 20, burst: Int = 2) {
        self.address = address
        self.core = DistributorCore(address: address, sendBuffer: sendBuffer, maxConsecutiveSkips: maxConsecutiveSkips, burst: burst)
    }

    /// Handles a listener's request, or its source's reply or data.
    public func receive(_ envelope: Envelope) -> [Envelope] {
        switch envelope.message {
        case .request:
            return core.request(from: envelope.from)
        case .reply(let next, let context):
            core.sourceReplied(next: next, context: context)
            return []
        case .data(let number, let segment):
            return core.deliver(number, segment)
        case .redirect:
            return []
        }
    }

    /// Every listener's player read everything it was sent: the case of listeners that keep up.
    public func drainAll() {
        core.drainAll()
    }

    /// The player of one listener read `count` bytes.
    public func drain(_ address: Address, _ count: Int) {
        core.drain(address, count)
    }
}

/// A listener for load tests: it only counts what it gets.
public actor Dummy: Node {
    /// Its address.
    public nonisolated let address: Address
    /// What it counted.
    public private(set) var counts = DummyCounts()

    /// A dummy.
    public init(address: Address) {
        self.address = address
    }

    /// Counts a reply or a segment; sends nothing.
    public func receive(_ envelope: Envelope) -> [Envelope] {
        counts.receive(envelope.message)
        return []
    }
}

/// What a load run measured.
public struct LoadReport: Sendable {
    /// Dummies attached.
    public var dummies: Int
    /// Segments sent through the distributor.
    public var segments: Int
    /// Wall-clock time from the source's segment to the last dummy's receipt, per segment.
    public var fanOutPerSegment: Duration
    /// How long one segment plays: if fan-out comes near this, the machine is choking.
    public var segmentDuration: Duration
    /// Segments all dummies received, together.
    public var received: Int
    /// Gaps all dummies counted, together.
    public var gaps: Int
}

/// Attaches `dummies` fast listeners to a distributor in one process and pushes `segments` segments of
/// `segmentBytes` through it, timing the fan-out. A meter for the experiments of this chapter's README.
public func measureFanOut(dummies: Int, segments: Int, segmentBytes: Int = 8192) async -> LoadReport {
    let network = Network()
    let distributor = Distributor(address: "distributor")
    await network.add(distributor)
    let context = Context(name: "load", segmentBytes: segmentBytes, bitrate: 128)
    await network.post(Envelope(from: "source", to: "distributor", .reply(next: 0, context: context)))
    let all = (0..<dummies).map { Dummy(address: "dummy-\($0)") }
    for dummy in all {
        await network.add(dummy)
        await network.post(Envelope(from: dummy.address, to: "distributor", .request(resume: nil)))
    }
    // A run stops after `limit` messages (against nodes that would talk for ever), and one cut short would leave
    // the rest of its messages to the next run. So the limits come from the work, with room to spare: attaching is
    // the source's reply, then a request and a reply per dummy (no burst yet: no segment has come); a segment is
    // itself and a copy per dummy.
    let attaching = 2 * dummies + 1, perSegment = dummies + 1
    await network.run(limit: 2 * attaching)
    let audio = [UInt8](repeating: 0, count: segmentBytes)
    let clock = ContinuousClock()
    var total = Duration.zero
    for number in 0..<segments {
        await network.post(Envelope(from: "source", to: "distributor", .data(number, Segment(audio: audio))))
        total += await clock.measure { await network.run(limit: 2 * perSegment) }
        await distributor.drainAll()
    }
    var received = 0, gaps = 0
    for dummy in all {
        let counts = await dummy.counts
        received += counts.received
        gaps += counts.gaps
    }
    return LoadReport(
        dummies: dummies, segments: segments, fanOutPerSegment: total / max(1, segments),
        segmentDuration: context.segmentDuration, received: received, gaps: gaps)
}
