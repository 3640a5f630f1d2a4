import CastyWire
import Testing

@testable import Casty

/// The audio an RTMP publisher sends while its key is verified: its most recent messages, whole, within a limit.
struct RTMPAudioHoldTests {
    @Test("The hold keeps the most recent messages within its limit, whole and in order, and counts the bytes dropped")
    func keepsTheMostRecentMessagesWithinItsLimit() {
        var hold = RTMPAudioHold()
        let cost = 100 + RTMPAudioHold.overhead
        for mark in 0..<10 { hold.keep(.mp3, [UInt8](repeating: UInt8(mark), count: 100), limit: 3 * cost) }
        #expect(hold.dropped == 700)
        let held = hold.take()
        #expect(held.map { $0.bytes.first } == [7, 8, 9])
        #expect(held.allSatisfy { $0.format == .mp3 && $0.bytes.count == 100 })
        #expect(hold.isEmpty && hold.take().isEmpty)
        #expect(hold.dropped == 700, "what it dropped stays counted")
    }

    @Test("A flood of tiny messages is held within the limit too: each costs its place")
    func aFloodOfTinyMessages_IsHeldWithinTheLimit() {
        var hold = RTMPAudioHold()
        for _ in 0..<100_000 { hold.keep(.aac, [1], limit: 10 * 1024) }
        #expect(hold.take().count == 10 * 1024 / (1 + RTMPAudioHold.overhead))
    }

    @Test("A limit of nothing holds nothing")
    func aLimitOfNothing_HoldsNothing() {
        var hold = RTMPAudioHold()
        hold.keep(.mp3, [1, 2, 3], limit: 0)
        #expect(hold.isEmpty)
        #expect(hold.dropped == 3)
    }
}
