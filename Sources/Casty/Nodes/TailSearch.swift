/// Looks for a run of bytes — the tail of the audio relayed before (``LinkJoin``) — in bytes handed in as they
/// come: a rolling hash over them, each hit checked byte for byte, so that the run is found wherever the pieces it
/// comes in are cut (a read, a segment), in linear time whatever the bytes (digital silence repeats one frame over
/// and over). The first place it ends is kept: audio that repeats (silence, a looped jingle) loses the least.
///
/// It keeps only the last ``needle``-long window of the bytes it was given, not the bytes themselves.
struct TailSearch {
    /// The bytes looked for.
    let needle: [UInt8]
    /// How many bytes it was given.
    private(set) var seen = 0
    /// How many bytes it was given up to the end of the first place ``needle`` was found, once it was.
    private(set) var end: Int?

    private static let base: UInt64 = 1_099_511_628_211
    /// base^(length - 1): the weight of a window's first byte.
    private let power: UInt64
    private let wanted: UInt64
    private var rolling: UInt64 = 0
    /// The last bytes given, up to the needle's length, as a ring: `window[seen % length]` is the oldest.
    private var window: [UInt8]

    /// A search for `needle` (not empty) in bytes to come.
    init(_ needle: [UInt8]) {
        precondition(!needle.isEmpty, "a tail is looked for")
        self.needle = needle
        var power: UInt64 = 1
        for _ in 1..<needle.count { power &*= Self.base }
        self.power = power
        self.wanted = needle.reduce(0) { $0 &* Self.base &+ UInt64($1) }
        self.window = [UInt8](repeating: 0, count: needle.count)
    }

    /// Looks at `bytes`, the next ones; returns ``end`` (found in them or before).
    @discardableResult
    mutating func feed(_ bytes: some Sequence<UInt8>) -> Int? {
        guard end == nil else { return end }
        let length = needle.count
        for byte in bytes {
            let slot = seen % length
            // Drops the window's first byte (once it is full), takes this one after its last.
            if seen >= length { rolling &-= UInt64(window[slot]) &* power }
            rolling = rolling &* Self.base &+ UInt64(byte)
            window[slot] = byte
            seen += 1
            if seen >= length, rolling == wanted, matches(oldestAt: (slot + 1) % length) {
                end = seen
                return end
            }
        }
        return nil
    }

    /// Whether the window, its oldest byte at `oldest`, holds the needle (a hash hit, checked).
    private func matches(oldestAt oldest: Int) -> Bool {
        window[oldest...].elementsEqual(needle.prefix(needle.count - oldest))
            && window[..<oldest].elementsEqual(needle.suffix(oldest))
    }

    /// The index just past the first place `needle` is found in `haystack`, or `nil`.
    static func end(ofFirst needle: [UInt8], in haystack: some Sequence<UInt8>) -> Int? {
        guard !needle.isEmpty else { return nil }
        var search = TailSearch(needle)
        return search.feed(haystack)
    }
}
