// Chapter 4 — Distributor and dummies. A reference solution.

public import Kit

extension SendBuffer {
    /// Offers a whole segment of `count` bytes: it is queued and the answer is `true` when it fits in what is
    /// left of the buffer — or when the buffer is empty, which takes any one segment — and otherwise nothing
    /// is queued and the answer is `false`. Never part of a segment: that would break the player's framing.
    public mutating func offer(_ count: Int) -> Bool {
        guard queued == 0 || queued + count <= capacity else { return false }
        queued += count
        return true
    }
}

extension DistributorCore {
    /// Hands segment `number` to every listener whose buffer takes it whole, in the order they joined.
    ///
    /// A listener whose buffer cannot take it skips it (``Listener/skipped`` and
    /// ``Listener/consecutiveSkips`` go up; taking a segment sets the second back to 0). One that has skipped
    /// more than ``maxConsecutiveSkips`` in a row is removed and added to ``dropped``. The segment is
    /// remembered for the burst (`remember(_:_:)`) and ``next`` becomes `number + 1`.
    public mutating func deliver(_ number: Int, _ segment: Segment) -> [Envelope] {
        remember(number, segment)
        next = number + 1
        var out: [Envelope] = []
        var kept: [Listener] = []
        for var listener in listeners {
            if listener.buffer.offer(segment.audio.count) {
                listener.consecutiveSkips = 0
                out.append(Envelope(from: address, to: listener.address, .data(number, segment)))
            } else {
                listener.skipped += 1
                listener.consecutiveSkips += 1
                if listener.consecutiveSkips > maxConsecutiveSkips {
                    dropped.append(listener.address)
                    continue
                }
            }
            kept.append(listener)
        }
        listeners = kept
        return out
    }
}

/// What a dummy counts.
public struct DummyCounts: Sendable, Equatable {
    /// Segments received.
    public var received = 0
    /// Times a segment's number was not the one expected.
    public var gaps = 0
    /// Segments missing in those gaps.
    public var missing = 0
    /// The number expected next, once replied to.
    public var expected: Int?

    /// Nothing counted yet.
    public init() {}

    /// Counts one message: a reply sets the number expected; a segment is counted, and when its number is
    /// not the one expected that is a gap of `number − expected` missing segments — none when the number goes
    /// backwards (a repeat, a source that started over): `missing` never goes down. Then the next number
    /// expected is `number + 1`.
    public mutating func receive(_ message: Message) {
        switch message {
        case .reply(let next, _):
            expected = next
        case .data(let number, _):
            if let expected, number != expected {
                gaps += 1
                missing += max(0, number - expected)
            }
            expected = number + 1
            received += 1
        case .request, .redirect:
            break
        }
    }
}
