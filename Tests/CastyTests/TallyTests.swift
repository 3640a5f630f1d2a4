import Testing

@testable import Casty

/// A distributor's counters: bytes sent of another's stream (a mount's fallback) are counted where that stream comes
/// from, down a chain too, from the moment it plays it until it plays its own again.
struct TallyTests {
    @Test func bytesSentOfAnothersStream_AreCountedAtTheEndOfTheChain_WhileItPlaysIt() {
        let x = Tally(), four = Tally(), backup = Tally()
        four.play(backup)
        x.play(four)  // /x hears /four, which hears /backup
        x.count(bytesOut: 100)
        #expect(x.bytesOut == 100, "its own sockets' count stays whole")
        #expect(x.streamBytesOut == 0 && four.streamBytesOut == 0 && backup.streamBytesOut == 100)
        four.play(nil)  // /four's own stream again: what /x hears from now on is /four's
        x.count(bytesOut: 10)
        #expect(four.streamBytesOut == 10 && backup.streamBytesOut == 100)
        x.play(nil)
        x.count(bytesOut: 1)
        #expect(x.streamBytesOut == 1 && four.streamBytesOut == 10 && backup.streamBytesOut == 100)
    }
}
