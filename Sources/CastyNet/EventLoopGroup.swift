internal import Glibc
internal import Synchronization

/// Several event loops, one thread each, to use every core: listeners are spread across them, and each loop
/// sends to its own listeners.
///
/// A port accepts on its own loop — where its distributors, mounts and front doors live, as with one loop — and
/// hands each player's connection, once its request is read, to the listener loop with the fewest
/// connections (``next()``). The player's ``Connection`` and its client actor then live on that loop; its
/// distributor reaches it with messages, grouped per loop (one hand-over per loop and segment, carrying the
/// segment's one shared buffer), so the sends to ten thousand sockets run on all cores at once while the
/// accepting loop stays free for new peers.
///
/// ```
///   accept, request, route ─┐           ┌─ loop 1: send to its listeners
///   distributor (loop 0) ───┴─ segment ─┼─ loop 2: send to its listeners
///                                       └─ loop N: …
/// ```
public final class EventLoopGroup: Sendable {
    /// The loops, the first being the one ports accept on.
    public let loops: [EventLoop]

    /// A group of `count` loops (at least one): the first is `first` (by default the process's shared loop),
    /// the others are started now.
    public init(count: Int, first: EventLoop = .shared) {
        var loops = [first]
        for index in 1..<max(1, count) { loops.append(EventLoop(name: "casty-loop-\(index)")) }
        self.loops = loops
    }

    /// The shared loop and one loop per core (`sysconf(_SC_NPROCESSORS_ONLN)`) for the listeners.
    public static func perCore() -> EventLoopGroup {
        EventLoopGroup(count: 1 + Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
    }

    /// Where a new listener goes: the loop with the fewest connections, registered or on their way to it — among
    /// all but the first when there are several, so that the loop that accepts, reads requests and runs the
    /// distributors sends to no listener and is never busy with a fan-out when a peer arrives.
    public func next() -> EventLoop {
        let candidates = loops.count > 1 ? loops.dropFirst() : loops[...]
        return candidates.min { Self.connections(of: $0) < Self.connections(of: $1) } ?? loops[0]
    }

    /// The connections `loop` has: registered, and handed over to it but not registered yet (a loop busy with a
    /// fan-out registers them only when it is done).
    private static func connections(of loop: EventLoop) -> Int {
        loop.load.load(ordering: .relaxed) + loop.incoming.load(ordering: .relaxed)
    }
}
