// Chapter 6 — Failure. Given: a parent that keeps a history of recent segments, and a branch that watches for
// silence and re-attaches. They use the three parts you write in Starter/Holes.swift: `Watchdog`,
// `History.resume(from:upcoming:)` and `Receiver.accept(_:)`.

public import Kit

/// What a parent answers to a request that names a resume number: where the requester's stream starts, and
/// the segments from the history it gets at once.
public struct Replay: Sendable, Equatable {
    /// The `next` of the reply: the first number the requester gets.
    public var next: Int
    /// The numbers of the kept segments it gets at once, in order.
    public var numbers: [Int]

    /// Makes a replay.
    public init(next: Int, numbers: [Int]) {
        self.next = next
        self.numbers = numbers
    }
}

/// The last few segments a parent sent, oldest first.
public struct History: Sendable {
    /// The most segments kept.
    public let capacity: Int
    /// The kept segments, oldest first.
    public private(set) var kept: [(number: Int, segment: Segment)] = []

    /// An empty history.
    public init(capacity: Int) {
        self.capacity = capacity
    }

    /// Keeps a segment, forgetting the oldest when full.
    public mutating func append(_ number: Int, _ segment: Segment) {
        kept.append((number, segment))
        if kept.count > capacity { kept.removeFirst(kept.count - capacity) }
    }

    /// The kept segment with this number.
    public func segment(_ number: Int) -> Segment? {
        kept.first { $0.number == number }?.segment
    }
}

/// The root of this chapter: it numbers segments, keeps a history, and answers requests that resume.
public actor Parent: Node {
    /// Its address.
    public nonisolated let address: Address
    /// The station.
    public let context: Context
    private var history: History
    private var listeners: [Address] = []
    private var next = 0

    /// A parent keeping `history` recent segments.
    public init(address: Address, context: Context, history: Int = 16) {
        self.address = address
        self.context = context
        self.history = History(capacity: history)
    }

    /// Cuts the next segment and sends it to every listener.
    public func broadcast(_ segment: Segment) -> [Envelope] {
        let number = next
        next += 1
        history.append(number, segment)
        return listeners.map { Envelope(from: address, to: $0, .data(number, segment)) }
    }

    /// A request, new or resuming: the reply, then the replayed segments.
    public func receive(_ envelope: Envelope) -> [Envelope] {
        guard case .request(let resume) = envelope.message else { return [] }
        if !listeners.contains(envelope.from) { listeners.append(envelope.from) }
        let replay = history.resume(from: resume, upcoming: next)
        var out = [Envelope(from: address, to: envelope.from, .reply(next: replay.next, context: context))]
        for number in replay.numbers {
            if let segment = history.segment(number) { out.append(Envelope(from: address, to: envelope.from, .data(number, segment))) }
        }
        return out
    }
}

/// A branch that notices when its parent goes silent and attaches again, resuming where it stopped.
public actor Branch: Node {
    /// Its address.
    public nonisolated let address: Address
    /// The parent it requests the stream from.
    public let parent: Address
    private let now: @Sendable () -> Duration
    private var watchdog: Watchdog?
    private var context: Context?
    /// What it made of the numbers it received.
    public private(set) var receiver = Receiver()
    /// The numbers of the segments it kept (duplicates dropped), in order.
    public private(set) var played: [Int] = []
    /// How many times it attached again after a silence.
    public private(set) var reattached = 0

    /// A branch under `parent`, telling time with `now` (give it a ``ManualClock``'s `now` in checks).
    public init(address: Address, parent: Address, now: @escaping @Sendable () -> Duration) {
        self.address = address
        self.parent = parent
        self.now = now
    }

    /// The first request.
    public func attach() -> [Envelope] {
        [Envelope(from: address, to: parent, .request(resume: nil))]
    }

    /// Looks at the clock: when the parent has been silent past the deadline, requests the stream again,
    /// resuming at the first number it has not received.
    public func tick() -> [Envelope] {
        guard let watchdog, let context, watchdog.isSilent(at: now(), context: context) else { return [] }
        reattached += 1
        self.watchdog?.heard(at: now())  // give the new request a full deadline before trying again
        return [Envelope(from: address, to: parent, .request(resume: receiver.expected))]
    }

    /// The parent's reply and segments.
    public func receive(_ envelope: Envelope) -> [Envelope] {
        guard envelope.from == parent else { return [] }
        switch envelope.message {
        case .reply(let next, let context):
            self.context = context
            if watchdog == nil { watchdog = Watchdog(now: now()) }
            watchdog?.heard(at: now())
            receiver.replied(next: next)
        case .data(let number, _):
            watchdog?.heard(at: now())
            if receiver.accept(number) { played.append(number) }
        case .request, .redirect:
            break
        }
        return []
    }
}
