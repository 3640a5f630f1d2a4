/// Where a relay's new link to its upstream joins the audio of the link before.
///
/// An Icecast server answers every new listener with a burst — the last seconds its source sent, 64 KB by default —
/// so that players start at once. A relay that reconnects while the station went on (its own link broke) gets,
/// first, audio it relayed already: its listeners would hear those seconds twice. An encoder frozen behind Icecast
/// gives a reconnecting relay nothing but that burst.
///
/// So the relay keeps the last bytes of audio it relayed (up to the end of the last whole frame: the unfinished
/// one is dropped when a link ends), looks for them at the start of the new link, and relays from just after
/// them — which is where the last link ended, the audio of the outage included when the burst reaches that far.
/// A new link that does not hold them (another station, a server without a burst, a burst that no longer reaches
/// back to them) is relayed whole. The start of a new link is held while it is looked at: at most
/// ``lookingTime`` from its first audio, or ``windowBytes``, since a burst comes at once, at the link's speed.
///
/// A pure value: the proxy feeds it the audio it relays and each new link's first audio, and relays what it hands back.
package struct LinkJoin {
    /// The last bytes relayed that are looked for at the start of a new link: enough to be unique in compressed
    /// audio.
    package static let tailBytes = 1_024
    /// The shortest tail looked for: with less relayed, a new link is relayed whole.
    package static let minimumTailBytes = 256
    /// The most of a new link's start held while the tail is looked for (Icecast's burst is 64 KB by default).
    package static let windowBytes = 256 * 1_024
    /// How long after a new link's first audio it is held at most while the tail is looked for.
    package static let lookingTime = Duration.milliseconds(300)

    /// The last bytes relayed (between ``tailBytes`` and twice as many, trimmed as it grows).
    private var tail: [UInt8] = []
    /// While a new link's start is looked at: the tail looked for, what came of the link so far, and when its first
    /// audio came.
    private var looking: (tail: [UInt8], held: [UInt8], since: ContinuousClock.Instant?)?

    /// Nothing relayed yet.
    package init() {}

    /// Notes `chunk` as relayed.
    package mutating func relayed(_ chunk: ArraySlice<UInt8>) {
        if chunk.count >= Self.tailBytes {
            tail = Array(chunk.suffix(Self.tailBytes))
            return
        }
        tail.append(contentsOf: chunk)
        if tail.count > 2 * Self.tailBytes { tail.removeFirst(tail.count - Self.tailBytes) }
    }

    /// A new link of the same station begins; the last `unfinished` bytes relayed were a frame the link before did
    /// not finish (dropped), so its start is looked at for the bytes before them.
    package mutating func newLink(droppingLast unfinished: Int) {
        let whole = tail.dropLast(unfinished).suffix(Self.tailBytes)
        looking = whole.count >= Self.minimumTailBytes ? (Array(whole), [], nil) : nil
        tail = []
    }

    /// Another station on the new link: nothing of it was relayed, so nothing is looked for.
    package mutating func newStation() {
        looking = nil
        tail = []
    }

    /// What the new link's audio `chunks`, come `now`, gives to relay: nothing while its start is looked at, then
    /// what follows the tail relayed before — with how many bytes were left out (`nil` when none: the tail was not
    /// found, or the link is past its start).
    package mutating func take(_ chunks: [ArraySlice<UInt8>], at now: ContinuousClock.Instant) -> (relay: [ArraySlice<UInt8>], skipped: Int?) {
        guard var state = looking else { return (chunks, nil) }
        for chunk in chunks { state.held.append(contentsOf: chunk) }
        if state.since == nil, !state.held.isEmpty { state.since = now }
        guard let since = state.since, state.held.count >= Self.windowBytes || now - since >= Self.lookingTime else {
            looking = state
            return ([], nil)
        }
        looking = nil
        guard let end = Self.end(ofFirst: state.tail, in: state.held) else { return ([state.held[...]], nil) }
        return (end < state.held.count ? [state.held[end...]] : [], end)
    }

    /// The index just past the first place `needle` is found in `haystack`, or `nil`: a rolling hash over the
    /// haystack (linear, whatever the bytes: a burst of digital silence repeats one frame over and over), each hit
    /// checked byte for byte. The first, so that audio that repeats (silence, a looped jingle) loses the least.
    static func end(ofFirst needle: [UInt8], in haystack: [UInt8]) -> Int? {
        let length = needle.count
        guard length > 0, haystack.count >= length else { return nil }
        let base: UInt64 = 1_099_511_628_211
        var power: UInt64 = 1  // base^(length - 1): the weight of a window's first byte
        for _ in 1..<length { power &*= base }
        func hash(_ bytes: ArraySlice<UInt8>) -> UInt64 { bytes.reduce(0) { $0 &* base &+ UInt64($1) } }
        let wanted = hash(needle[...])
        var rolling = hash(haystack[..<length])
        var start = 0
        while true {
            if rolling == wanted, haystack[start..<(start + length)].elementsEqual(needle) { return start + length }
            guard start + length < haystack.count else { return nil }
            // Drop the window's first byte, take the one after its last.
            rolling = (rolling &- UInt64(haystack[start]) &* power) &* base &+ UInt64(haystack[start + length])
            start += 1
        }
    }
}
