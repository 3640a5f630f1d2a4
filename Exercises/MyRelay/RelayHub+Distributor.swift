// my-relay --distributor — your chapter 4 DistributorCore decides who gets each segment, on real sockets.
//
// Your core models each listener's socket with a `SendBuffer`; here that model is kept true to the kernel: before
// each segment, every listener's buffer is drained down to what its socket really still holds (the bytes not
// yet handed to the kernel, plus the kernel's unsent bytes, `SIOCOUTQ`). So a player that reads slowly fills
// its buffer, your `offer` refuses the next segment, and your `deliver` makes it skip — whole segments only.

import CastyNet
import FanOut
import Kit
import Relay

extension RelayHub {
    /// The address a player has in your distributor.
    static func address(of id: Int) -> Address { "player-\(id)" }

    /// The player behind an address of ``address(of:)``.
    static func player(at address: Address) -> Int? {
        address.hasPrefix("player-") ? Int(address.dropFirst("player-".count)) : nil
    }

    /// The segments your distributor made player `id` skip (its `Listener.skipped`), while it is one of your
    /// distributor's listeners.
    func skippedByDistributor(_ id: Int) -> Int? {
        distributor?.listeners.first { $0.address == Self.address(of: id) }?.skipped
    }

    /// A player whose request is complete asks your distributor for the stream: its reply and burst come back.
    func joinDistributor(_ id: Int) {
        guard var distributor, let player = players[id], player.core != nil, !player.answered else { return }
        let envelopes = distributor.request(from: Self.address(of: id))
        self.distributor = distributor
        guard !envelopes.isEmpty else { return }  // the distributor has no station yet: asked again once it has
        players[id]?.answered = true
        for envelope in envelopes { write(envelope) }
    }

    /// Segment `number`, through your distributor.
    func distribute(_ number: Int, _ segment: Kit.Segment) {
        guard var distributor else { return }
        for listener in distributor.listeners {
            // A player that hung up is not drained: chapter 4's core has no "leave" message, so it is dropped
            // like a listener that stopped reading.
            guard let id = Self.player(at: listener.address), let connection = players[id]?.connection else { continue }
            let inKernel = connection.pendingBytes + connection.unsentInKernel
            if listener.buffer.queued > inKernel { distributor.drain(listener.address, listener.buffer.queued - inKernel) }
        }
        let droppedBefore = distributor.dropped.count
        let envelopes = distributor.deliver(number, segment)
        let dropped = distributor.dropped.dropFirst(droppedBefore)
        self.distributor = distributor
        for envelope in envelopes { write(envelope) }
        // What your distributor counted, kept for the line that says a player left.
        for listener in distributor.listeners {
            guard let id = Self.player(at: listener.address) else { continue }
            players[id]?.skipped = listener.skipped
        }
        for address in dropped {
            guard let id = Self.player(at: address), let player = players[id] else { continue }
            players[id]?.skipped += 1  // the skip that took it over your limit
            log("\(player.named(id)): \(Self.whose) distributor dropped it (too many segments skipped in a row)")
            player.connection.close()
        }
    }

    /// One message from your distributor to a player, in the bytes that player's ``ClientCore`` writes for it.
    func write(_ envelope: Envelope) {
        guard let id = Self.player(at: envelope.to), var player = players[id], var core = player.core else { return }
        let bytes: [UInt8]
        switch envelope.message {
        case .reply(let next, let context):
            bytes = core.replyBytes(next: next, context: context)
        case .data(let number, let segment):
            do {
                bytes = try core.dataBytes(number, segment)
            } catch {
                log("\(player.named(id)): ClientCore.dataBytes(_:_:) threw \(error); closing it")
                player.connection.close()
                return
            }
        case .request, .redirect:
            return
        }
        player.core = core
        if case .data(let number, _) = envelope.message { player.wrote(number) }
        players[id] = player
        // The distributor decided this segment fits: it is written whole (the burst too, on purpose).
        player.connection.write(bytes)
    }
}
