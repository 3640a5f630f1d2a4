public import Icy

/// Cuts a stream of audio into numbered segments of one fixed size, and keeps track of the title.
///
/// Sources (the proxy and the station) feed it audio as it comes, in pieces of any size, and title changes;
/// it hands back each ``StreamSegment`` as soon as it is full. Its size is the `icy-metaint` of every listener
/// downstream, whatever the upstream used — so the framing listeners see never changes, even when the
/// proxy reconnects to a server with another `icy-metaint`.
public struct Cutter: Sendable {
    /// The audio bytes of one segment.
    public let segmentBytes: Int
    /// The number the next segment will get.
    public private(set) var next: Int
    /// What is playing now.
    public private(set) var title: Metadata?
    private var titleVersion = 0
    private var titleChanged = false
    private var buffer: [UInt8] = []

    /// A cutter whose first segment gets number `first`.
    public init(segmentBytes: Int, first: Int = 0) {
        precondition(IcyLimits.metaintRange.contains(segmentBytes), "segment size out of range")
        self.segmentBytes = segmentBytes
        self.next = first
        buffer.reserveCapacity(segmentBytes)
    }

    /// Sets what is playing; the next segment cut carries the change (if it is one).
    public mutating func setTitle(_ metadata: Metadata) {
        guard metadata != title else { return }
        title = metadata
        titleVersion += 1
        titleChanged = true
    }

    /// Adds audio, calling `emit` with every segment it completes, in order.
    public mutating func add(_ audio: ArraySlice<UInt8>, emit: (StreamSegment) -> Void) {
        var audio = audio
        while !audio.isEmpty {
            let take = min(segmentBytes - buffer.count, audio.count)
            buffer.append(contentsOf: audio.prefix(take))
            audio = audio.dropFirst(take)
            if buffer.count == segmentBytes { emit(cut()) }
        }
    }

    /// Notes that `count` segments' worth of the stream is lost (the source was away): the unfinished
    /// segment is dropped and the numbering jumps, so every receiver sees and counts the gap.
    public mutating func skip(_ count: Int) {
        buffer.removeAll(keepingCapacity: true)
        next += max(0, count)
    }

    private mutating func cut() -> StreamSegment {
        let segment = StreamSegment(
            number: next, time: wallClockMilliseconds(), audio: buffer, title: title,
            titleVersion: titleVersion, titleChanged: titleChanged)
        next += 1
        titleChanged = false
        buffer = []
        buffer.reserveCapacity(segmentBytes)
        return segment
    }
}
