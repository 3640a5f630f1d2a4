internal import CastyNet
internal import Synchronization

/// The front doors of one loop still waiting for their request head — every port's on that loop, since the
/// descriptors they hold are the process's —, and the one to shed when a new peer comes and descriptors are short
/// (the rule is ``HeadWaits``').
///
/// Loop-confined (`@unchecked Sendable`: a listener's callback captures it): used on its loop only, one per loop
/// (``on(_:)``).
final class WaitingDoors: @unchecked Sendable {
    private var waits = HeadWaits<Int>()
    private var doors: [Int: FrontDoor] = [:]
    private var lastID = 0

    /// The waiting doors of `loop`.
    static func on(_ loop: EventLoop) -> WaitingDoors {
        perLoop.withLock { all in
            let key = ObjectIdentifier(loop)
            if let entry = all[key], entry.loop === loop { return entry.doors }
            all = all.filter { $0.value.loop != nil }  // loops gone (a test's)
            let doors = WaitingDoors()
            all[key] = PerLoop(loop: loop, doors: doors)
            return doors
        }
    }

    private struct PerLoop: Sendable {
        weak var loop: EventLoop?
        let doors: WaitingDoors
    }

    private static let perLoop = Mutex<[ObjectIdentifier: PerLoop]>([:])

    /// The connections waiting for their request head.
    var count: Int { waits.count }

    /// `door`, whose peer is at `address`, waits for its request head; returns what names it here.
    func add(_ door: FrontDoor, from address: String) -> Int {
        lastID += 1
        doors[lastID] = door
        _ = waits.handle(.opened(lastID, from: address))
        return lastID
    }

    /// The door named `id` waits no more.
    func remove(_ id: Int) {
        doors[id] = nil
        _ = waits.handle(.ended(id))
    }

    /// A new peer comes and the process is short of descriptors: sheds the oldest waiting door of the address with
    /// the most, and returns `true` (the peer takes its place), or `false` if none waits (the peer is refused).
    func shed() -> Bool {
        guard case .shed(let id, let address, let waiting) = waits.handle(.shortOfDescriptors) else { return false }
        doors.removeValue(forKey: id)?.shed(oldestOf: waiting, from: address)
        return true
    }
}
