/// The connections still waiting for their request head, by address and in the order they came — and which one to
/// shed when a new peer comes and the process is short of descriptors: a value, so that the rule is tested without
/// sockets.
///
/// A peer that opens connections and sends nothing holds a descriptor with each until the header deadline (15 s):
/// from one address, enough of them would leave none for the players, who would be refused meanwhile. So at the
/// point where a newcomer would be refused for lack of descriptors, one of these is shed in its place, as a robust
/// server does: from the address that has the most of them waiting (the flood's), its oldest. Only when none waits
/// is the newcomer refused. A listener that asks — a player's request comes with its connection — is not waiting
/// long, so load tests that open thousands of players from one address are not hurt: shedding happens only when
/// descriptors are short, when one of those peers would have been refused anyway.
///
/// `ID` names a connection; one that ended may be named again later (the record of each arrival tells the two
/// apart). Adding, ending and shedding cost constant time (amortized); choosing whom to shed looks at each address
/// that has a connection waiting.
struct HeadWaits<ID: Hashable & Sendable>: Sendable {
    /// What happened.
    enum Event: Sendable, Equatable {
        /// A connection from `address` started waiting for its request head (a new one, or a kept-alive one
        /// between requests).
        case opened(ID, from: String)
        /// It waits no more: its head was read, it was refused or dropped, or it closed.
        case ended(ID)
        /// A new peer came and the process is short of descriptors: it is admitted only in the place of another.
        case shortOfDescriptors
    }

    /// What to do about it.
    enum Action: Sendable, Equatable {
        /// Nothing.
        case none
        /// Close the connection `id` from `address`, the oldest of the `waiting` connections from there (itself
        /// included), and admit the new peer in its place. It waits no more (no ``Event/ended(_:)`` needed).
        case shed(ID, from: String, waiting: Int)
        /// Refuse the new peer: no connection is waiting.
        case refuse
    }

    /// The connections of one address, oldest first: arrivals not yet shed, some of which may have ended since
    /// (``Line/live`` counts those still waiting). The first one left is always still waiting.
    private struct Line: Sendable {
        var arrivals: [Arrival] = []
        var start = 0
        var live = 0
    }

    /// One arrival: who, and its place in the order of all arrivals.
    private struct Arrival: Sendable {
        var id: ID
        var order: UInt64
    }

    private var lines: [String: Line] = [:]
    /// Each waiting connection's address and arrival order.
    private var waiting: [ID: (address: String, order: UInt64)] = [:]
    private var arrivals: UInt64 = 0

    /// The connections waiting for their request head.
    var count: Int { waiting.count }

    /// Takes `event` in and says what to do.
    mutating func handle(_ event: Event) -> Action {
        switch event {
        case .opened(let id, let address):
            end(id)
            arrivals += 1
            waiting[id] = (address, arrivals)
            lines[address, default: Line()].arrivals.append(Arrival(id: id, order: arrivals))
            lines[address]!.live += 1
            return .none
        case .ended(let id):
            end(id)
            return .none
        case .shortOfDescriptors:
            // The address with the most waiting; of two with as many, the one whose oldest came first.
            let chosen = lines.min { a, b in
                a.value.live != b.value.live
                    ? a.value.live > b.value.live : a.value.arrivals[a.value.start].order < b.value.arrivals[b.value.start].order
            }
            guard let chosen else { return .refuse }
            let address = chosen.key, line = chosen.value
            let oldest = line.arrivals[line.start].id
            end(oldest)
            return .shed(oldest, from: address, waiting: line.live)
        }
    }

    /// Whether `arrival` is still waiting.
    private func isWaiting(_ arrival: Arrival) -> Bool {
        waiting[arrival.id]?.order == arrival.order
    }

    /// `id` waits no more: its line counts one less, and drops the arrivals that ended from its front (and, when
    /// most of what it keeps has ended, from everywhere), so that its first arrival is one still waiting.
    private mutating func end(_ id: ID) {
        guard let address = waiting.removeValue(forKey: id)?.address, var line = lines.removeValue(forKey: address) else { return }
        line.live -= 1
        guard line.live > 0 else { return }  // its last: the line goes
        while !isWaiting(line.arrivals[line.start]) { line.start += 1 }
        if line.arrivals.count - line.start > 2 * line.live + 32 {
            line.arrivals = line.arrivals[line.start...].filter(isWaiting)
            line.start = 0
        } else if line.start > 32, line.start * 2 > line.arrivals.count {
            line.arrivals.removeFirst(line.start)
            line.start = 0
        }
        lines[address] = line
    }
}
