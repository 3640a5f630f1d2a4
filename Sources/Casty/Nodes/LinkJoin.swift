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
/// back to them) is relayed whole. The start of a new link is held while it is looked at: until they are found in
/// it (``TailSearch``, wherever the reads that bring it are cut), else at most ``lookingTime`` from its first audio,
/// or ``windowBytes``, since a burst comes at once, at the link's speed.
///
/// A pure value: the proxy feeds it the audio it relays and each new link's first audio, and relays what it hands back
/// (``take(_:at:)``). A branch whose parent tells of a new stream — its root restarted behind a station with a burst —
/// looks at that stream's first segments the same way (``SegmentJoin``), holding segments rather than bytes
/// (``look(at:at:)``).
package struct LinkJoin {
    /// What a look at a new start decided.
    package enum Verdict: Equatable, Sendable {
        /// Still looked at: nothing is relayed yet.
        case looking
        /// The tail was not found (or nothing is looked for): the new start is relayed whole.
        case whole
        /// The tail ends this many bytes into the new start: what follows them is relayed.
        case skip(Int)
    }

    /// The last bytes relayed that are looked for at the start of a new link: enough to be unique in compressed
    /// audio.
    package static let tailBytes = 1_024
    /// The shortest tail looked for: with less relayed, a new link is relayed whole.
    package static let minimumTailBytes = 256
    /// The most of a new link's start held while the tail is looked for (Icecast's burst is 64 KB by default).
    package static let windowBytes = 256 * 1_024
    /// How long after a new link's first audio it is held at most while the tail is looked for.
    package static let lookingTime = Duration.milliseconds(300)

    /// How long after a new start's first audio it is held at most: ``lookingTime`` for a relay's link.
    package let patience: Duration
    /// The last bytes relayed (between ``tailBytes`` and twice as many, trimmed as it grows).
    private var tail: [UInt8] = []
    /// While a new start is looked at: the search for the tail relayed before, and when its first audio came.
    private var looking: (search: TailSearch, since: ContinuousClock.Instant?)?
    /// What came of a relay's new link while it is looked at (``take(_:at:)``).
    private var held: [UInt8] = []

    /// Nothing relayed yet; a new start is held at most `patience` while it is looked at.
    package init(patience: Duration = Self.lookingTime) {
        self.patience = patience
    }

    /// Whether a new start is being looked at: what comes is held until it is decided.
    package var isLooking: Bool { looking != nil }

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
    /// not finish (dropped), so its start is looked at for the bytes before them. A link that ends while its start is
    /// looked at, having brought nothing, leaves the same tail to look for at the next one's.
    package mutating func newLink(droppingLast unfinished: Int) {
        held = []
        if let state = looking, state.search.seen == 0 {
            looking = (state.search, nil)
            return
        }
        let whole = tail.dropLast(unfinished).suffix(Self.tailBytes)
        looking = whole.count >= Self.minimumTailBytes ? (TailSearch(Array(whole)), nil) : nil
        tail = []
    }

    /// Another station on the new link: nothing of it was relayed, so nothing is looked for.
    package mutating func newStation() {
        looking = nil
        held = []
        tail = []
    }

    /// What the new start's next audio `chunks`, come `now`, decide: ``Verdict/looking`` until the tail relayed before
    /// is found in what came of it (``Verdict/skip(_:)``), or ``patience`` has passed since its first audio, or
    /// ``windowBytes`` came without it (``Verdict/whole``); ``Verdict/whole`` when nothing is looked at. Called with no
    /// chunks, it tells whether the time is up.
    package mutating func look(at chunks: [ArraySlice<UInt8>], at now: ContinuousClock.Instant) -> Verdict {
        guard var state = looking else { return .whole }
        for chunk in chunks where !chunk.isEmpty {
            if state.since == nil { state.since = now }
            if let end = state.search.feed(chunk) {
                looking = nil
                return .skip(end)
            }
        }
        guard let since = state.since, state.search.seen >= Self.windowBytes || now - since >= patience else {
            looking = state
            return .looking
        }
        looking = nil
        return .whole
    }

    /// What the new link's audio `chunks`, come `now`, gives to relay: nothing while its start is looked at, then
    /// what follows the tail relayed before — with how many bytes were left out (`nil` when none: the tail was not
    /// found, or the link is past its start).
    package mutating func take(_ chunks: [ArraySlice<UInt8>], at now: ContinuousClock.Instant) -> (relay: [ArraySlice<UInt8>], skipped: Int?) {
        guard isLooking else { return (chunks, nil) }
        for chunk in chunks { held.append(contentsOf: chunk) }
        let verdict = look(at: chunks, at: now)
        guard verdict != .looking else { return ([], nil) }
        defer { held = [] }
        guard case .skip(let end) = verdict else { return (held.isEmpty ? [] : [held[...]], nil) }
        return (end < held.count ? [held[end...]] : [], end)
    }
}
