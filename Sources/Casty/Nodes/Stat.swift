internal import Icy

/// What a distributor reports about itself: listeners, segments, bytes, skips and gaps.
public struct Stat: Sendable {
    /// Counters kept by the distributor itself.
    struct Counters: Sendable {
        var segments = 0
        var bytesIn = 0
        var gaps = 0
        var missing = 0
        var peakListeners = 0
    }

    /// Listeners connected now.
    public let listeners: Int
    /// The most listeners connected at once.
    public let peakListeners: Int
    /// Segments received from the source.
    public let segments: Int
    /// Audio bytes received from the source.
    public let bytesIn: Int
    /// Bytes sent to listeners.
    public let bytesOut: Int
    /// Segments skipped for listeners that could not keep up.
    public let skipped: Int
    /// Listeners disconnected because they stayed behind too long.
    public let dropped: Int
    /// Connections refused.
    public let refused: Int
    /// Times the numbering jumped (the source lost part of the stream).
    public let gaps: Int
    /// Segments lost in those gaps.
    public let missing: Int
    /// The station's context, once the source has replied.
    public let context: Context?
    /// The number of the next segment expected.
    public let next: Int?
    /// For a tree node: its address, and the branches it serves with their subtrees.
    public let tree: TreePlaces?
    /// For a tree node: the nodes above it, from the root down to its parent.
    public var path: [String] { context?.path ?? [] }

    init(
        listeners: Int, counters: Counters, bytesOut: Int, skipped: Int, dropped: Int, refused: Int, context: Context?,
        next: Int?, tree: TreePlaces?
    ) {
        self.tree = tree
        self.listeners = listeners
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
