import Testing

@testable import Casty

/// How long a live stream keeps the segments that left its playlist (``HLSKept``), on a clock the test moves.
@Suite("HLS: segments stay for as long as RFC 8216 asks after leaving the playlist")
struct HLSKeptTests {
    /// A 2-second segment numbered `sequence`, without bytes.
    static func segment(_ sequence: Int) -> HLSSegment {
        HLSSegment(sequence: sequence, name: "s-\(sequence).mp3", duration: 2, timestamp: 0, date: 0, discontinuity: false,
                   title: nil, bytes: [], frames: 0)
    }

    /// Publishes segments in `bursts` (how many at once, every `every` seconds) as the packager does, with a window of
    /// six 2-second segments; returns, for each segment that went, how many seconds after it left the playlist, and
    /// the most segments ever kept past the window.
    static func publish(bursts: [Int], every: Int, limit: Int = 13) -> (kept: [Int: Double], mostPast: Int) {
        let start = ContinuousClock.now
        var kept = HLSKept()
        var left: [String: ContinuousClock.Instant] = [:]
        var keptFor: [Int: Double] = [:]
        var mostPast = 0
        var sequence = 0
        for (index, count) in bursts.enumerated() {
            let now = start + .seconds(index * every)
            for _ in 0..<count {
                kept.append(segment(sequence))
                sequence += 1
                let window = HLSPlaylist.liveWindow(kept.segments[...], count: max(6, count), lasting: 6)
                for segment in kept.segments[..<window.startIndex] where left[segment.name] == nil { left[segment.name] = now }
                for name in kept.list(window.indices, now: now, limit: limit) {
                    let (seconds, attoseconds) = (now - left[name]!).components
                    keptFor[Int(name.dropFirst(2).dropLast(4))!] = Double(seconds) + Double(attoseconds) / 1e18
                }
                mostPast = max(mostPast, HLSPlaylist.liveWindow(kept.segments[...], count: max(6, count), lasting: 6).startIndex)
            }
        }
        return (keptFor, mostPast)
    }

    @Test("Segments made four at once (8 kbit/s: one relay segment holds 8 s) stay their 2 s plus the 12-s playlist after leaving it")
    func burstsStayLongEnough() {
        let (keptFor, _) = Self.publish(bursts: Array(repeating: 4, count: 12), every: 8)
        #expect(keptFor.count > 20, "segments went")
        for (sequence, seconds) in keptFor.sorted(by: { $0.key < $1.key }) {
            #expect(seconds >= 14, "segment \(sequence) went \(seconds) s after leaving the playlist")
        }
    }

    @Test("Segments made one by one, in real time, go once their time is up: no more are kept than the time asks")
    func steadyGoesInTime() {
        let (keptFor, mostPast) = Self.publish(bursts: Array(repeating: 1, count: 40), every: 2)
        #expect(keptFor.values.allSatisfy { $0 >= 14 && $0 <= 16 }, "\(keptFor)")
        #expect(mostPast <= 8)
    }

    @Test("A source far faster than it plays cannot make it keep more than the limit past the window")
    func boundedInMemory() {
        let (keptFor, mostPast) = Self.publish(bursts: Array(repeating: 50, count: 6), every: 1, limit: 13)
        #expect(mostPast <= 13)
        #expect(!keptFor.isEmpty, "the oldest went before their time, as the limit asks")
    }

    @Test("A withdrawn playlist's segments stay their own duration plus the longest playlist that listed them, counted from the withdrawal; no playlist lists them again")
    func withdrawnWindow_StaysItsTime_ListedByNone() {
        let start = ContinuousClock.now
        var kept = HLSKept()
        for sequence in 0..<6 { kept.append(Self.segment(sequence)) }
        _ = kept.list(0..<6, now: start, limit: 13)  // six 2-s segments: a 12-s playlist
        #expect(kept.withdraw(now: start + .seconds(1)).isEmpty)
        #expect(kept.live.isEmpty, "the next session's playlist starts empty")
        #expect(kept.nextExpiry == start + .seconds(15))
        #expect(kept.expire(now: start + .seconds(14)).isEmpty, "13 s after the withdrawal: 2 s + 12 s are not up")
        #expect(kept.segments.count == 6)
        // The next session's first segment: the only one a playlist lists.
        kept.append(Self.segment(6))
        #expect(HLSPlaylist.liveWindow(kept.live, count: 6, lasting: 6).map(\.sequence) == [6])
        #expect(kept.expire(now: start + .seconds(15)) == (0..<6).map { "s-\($0).mp3" })
        #expect(kept.segments.map(\.sequence) == [6] && kept.withdrawn == 0 && kept.nextExpiry == nil)
    }
}
