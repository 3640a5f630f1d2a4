import Testing

@testable import Casty

/// Which connection still waiting for its request head is shed when a new peer comes and descriptors are short, as
/// a value: the address with the most waiting gives up its oldest; with none waiting, the newcomer is refused.
struct HeadWaitsTests {
    /// Opens `ids` from `address`, in order.
    func open(_ waits: inout HeadWaits<Int>, _ ids: some Sequence<Int>, from address: String) {
        for id in ids { #expect(waits.handle(.opened(id, from: address)) == .none) }
    }

    @Test func withNoneWaiting_TheNewcomerIsRefused() {
        var waits = HeadWaits<Int>()
        #expect(waits.handle(.shortOfDescriptors) == .refuse)
        open(&waits, [1], from: "10.0.0.1")
        #expect(waits.handle(.ended(1)) == .none)
        #expect(waits.handle(.shortOfDescriptors) == .refuse)
    }

    @Test func theFloodingAddress_GivesUpItsOldest_OneAtATime() {
        var waits = HeadWaits<Int>()
        open(&waits, [1], from: "192.0.2.7")  // a player, the first to come
        open(&waits, 10..<15, from: "198.51.100.9")
        open(&waits, [2], from: "192.0.2.8")
        #expect(waits.handle(.shortOfDescriptors) == .shed(10, from: "198.51.100.9", waiting: 5))
        #expect(waits.handle(.shortOfDescriptors) == .shed(11, from: "198.51.100.9", waiting: 4))
        #expect(waits.count == 5)
    }

    @Test func ofTwoAddressesWithAsManyWaiting_TheOneWhoseOldestCameFirst_GivesItUp() {
        var waits = HeadWaits<Int>()
        open(&waits, [1], from: "a")
        open(&waits, [2, 3], from: "b")
        open(&waits, [4], from: "a")
        #expect(waits.handle(.shortOfDescriptors) == .shed(1, from: "a", waiting: 2))
        // Now b has more waiting.
        #expect(waits.handle(.shortOfDescriptors) == .shed(2, from: "b", waiting: 2))
        // One each: b's 3 came before a's 4.
        #expect(waits.handle(.shortOfDescriptors) == .shed(3, from: "b", waiting: 1))
        #expect(waits.handle(.shortOfDescriptors) == .shed(4, from: "a", waiting: 1))
        #expect(waits.handle(.shortOfDescriptors) == .refuse)
    }

    @Test func connectionsWhoseHeadWasRead_AreNeverShed() {
        var waits = HeadWaits<Int>()
        open(&waits, 1...6, from: "127.0.0.1")
        for id in [1, 2, 4, 6] { #expect(waits.handle(.ended(id)) == .none) }
        #expect(waits.handle(.shortOfDescriptors) == .shed(3, from: "127.0.0.1", waiting: 2))
        #expect(waits.handle(.shortOfDescriptors) == .shed(5, from: "127.0.0.1", waiting: 1))
        #expect(waits.handle(.shortOfDescriptors) == .refuse)
    }

    @Test func aShedConnectionThatEndsAfter_ChangesNothing() {
        var waits = HeadWaits<Int>()
        open(&waits, [1, 2], from: "a")
        #expect(waits.handle(.shortOfDescriptors) == .shed(1, from: "a", waiting: 2))
        #expect(waits.handle(.ended(1)) == .none)  // its door finishing as it closes
        #expect(waits.handle(.ended(99)) == .none)  // never seen
        #expect(waits.count == 1)
        #expect(waits.handle(.shortOfDescriptors) == .shed(2, from: "a", waiting: 1))
    }

    @Test("A name used again (a kept-alive connection waiting for its next request) is its new arrival, not the old one")
    func aNameUsedAgain_WaitsAsItsNewArrival() {
        var waits = HeadWaits<Int>()
        open(&waits, [1, 2], from: "a")
        #expect(waits.handle(.ended(1)) == .none)
        open(&waits, [3], from: "a")
        open(&waits, [1], from: "a")  // 1 again, after 3
        #expect(waits.handle(.shortOfDescriptors) == .shed(2, from: "a", waiting: 3))
        #expect(waits.handle(.shortOfDescriptors) == .shed(3, from: "a", waiting: 2))
        #expect(waits.handle(.shortOfDescriptors) == .shed(1, from: "a", waiting: 1))
        // Opened again from elsewhere while still waiting: it moves there.
        open(&waits, [7], from: "a")
        open(&waits, [7], from: "b")
        #expect(waits.count == 1)
        #expect(waits.handle(.shortOfDescriptors) == .shed(7, from: "b", waiting: 1))
    }

    @Test("Thousands of requests read behind one connection that waits: those that wait are shed in the order they came")
    func manyEndedBehindOneWaiting_KeepTheOrder() {
        var waits = HeadWaits<Int>()
        open(&waits, [0], from: "127.0.0.1")
        for id in 1...10_000 {
            open(&waits, [id], from: "127.0.0.1")
            if id % 1000 != 0 { #expect(waits.handle(.ended(id)) == .none) }
        }
        #expect(waits.count == 11)
        let shed = (0..<11).map { _ in waits.handle(.shortOfDescriptors) }
        #expect(shed == [0, 1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000, 9000, 10_000].enumerated().map {
            .shed($0.element, from: "127.0.0.1", waiting: 11 - $0.offset)
        })
        #expect(waits.handle(.shortOfDescriptors) == .refuse)
    }
}
