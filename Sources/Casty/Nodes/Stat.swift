internal import Icy

/// What a distributor reports about itself: listeners, segments, bytes, skips and gaps.
///
/// In a tree, ``listeners`` counts the media players (and dummies) only; the links to the node's own branches
/// are counted apart, in ``branches``.
public struct Stat: Sendable {
    /// Counters kept by the distributor itself.
    struct Counters: Sendable {
        var segments = 0
        var bytesIn = 0
        var gaps = 0
        var missing = 0
        var peakListeners = 0
    }

    /// Listeners connected now: players, not branch links — those waiting for the stream too (one not started
    /// yet, or away), as Icecast counts every client of a mount. (A station server's Icecast-named pages count a
    /// fallback's listeners with those of the mounts that play it: ``MountTable/listed(asked:streaming:)``.)
    public internal(set) var listeners: Int
    /// Branches of the tree this node serves now (each one link).
    public let branches: Int
    /// The most listeners (players) connected at once (on a station server's pages, with those of the mounts playing it
    /// as their fallback: ``MountTable/listed(asked:streaming:)``).
    public internal(set) var peakListeners: Int
    /// Segments received from the source.
    public let segments: Int
    /// Audio bytes received from the source — its own: not a fallback's, which that mount counts.
    public let bytesIn: Int
    /// Bytes sent to listeners. (A station server's Icecast-named pages count a fallback's bytes where its listeners
    /// are counted: ``Tally/streamBytesOut``.)
    public internal(set) var bytesOut: Int
    /// Segments skipped for listeners that could not keep up.
    public let skipped: Int
    /// Listeners disconnected because they stayed behind too long.
    public let dropped: Int
    /// Connections refused.
    public let refused: Int
    /// Times the numbering jumped (the source lost part of the stream), or restarted with a new stream.
    public let gaps: Int
    /// Segments lost in those gaps.
    public let missing: Int
    /// The name of the stream the numbers belong to (``Context/stream``), once the source has replied.
    public var stream: UInt64? { context?.stream }
    /// The station's context, once the source has replied.
    public let context: Context?
    /// The number of the next segment expected.
    public let next: Int?
    /// The segment size and ``next`` of the stream now or, while it is away (``context`` and ``next`` are `nil` then),
    /// as they were when it went: what `/status.json` shows, so that a monitor graphing `next` does not see it fall
    /// to 0 at every outage. Each `nil` before the stream first came.
    public let lastKnown: (segmentBytes: Int?, next: Int?)
    /// For a tree node: its address, and the branches it serves with their subtrees.
    public let tree: TreePlaces?
    /// How long since the last of the stream's audio reached this node (a segment, or a piece of one), once any
    /// did: a branch whose link went silent asks its parent, whose own silence says the stream stopped upstream.
    public let quiet: Duration?
    /// How long since the stream's last whole segment reached this node, once one did: longer than ``quiet`` while the
    /// segment being filled is handed on in pieces (a stalled source's unfinished segment, a quiet AAC stream's), which
    /// reach a branch a level further down only later (``TreeLine/quiet(reaching:)``).
    public let sinceSegment: Duration?
    /// For a tree node: the nodes above it, from the root down to its parent — while the stream is away too, as the
    /// last stream told them.
    public let path: [String]
    /// When the stream began here, in milliseconds since 1970 (UTC): its source's first reply, or the reply that
    /// began a new stream; `nil` before any. Icecast's `stream_start`.
    public let streamStart: Int64?

    init(
        listeners: Int, branches: Int = 0, counters: Counters, bytesOut: Int, skipped: Int, dropped: Int, refused: Int, context: Context?,
        next: Int?, tree: TreePlaces?, quiet: Duration? = nil, sinceSegment: Duration? = nil, lastPath: [String] = [],
        lastKnown: (segmentBytes: Int?, next: Int?) = (nil, nil), streamStart: Int64? = nil
    ) {
        self.streamStart = streamStart
        self.lastKnown = lastKnown
        self.path = context?.path ?? lastPath
        self.tree = tree
        self.quiet = quiet
        self.sinceSegment = sinceSegment
        self.listeners = listeners
        self.branches = branches
        self.peakListeners = counters.peakListeners
        self.segments = counters.segments
        self.bytesIn = counters.bytesIn
        self.bytesOut = bytesOut
        self.skipped = skipped
        self.dropped = dropped
        self.refused = refused
        self.gaps = counters.gaps
        self.missing = counters.missing
        self.context = context
        self.next = next
    }
}
