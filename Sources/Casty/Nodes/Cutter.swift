internal import CastyAudio
internal import CastyNet
public import Icy

/// Cuts a stream of audio into numbered segments of one fixed size, and keeps track of the title.
///
/// Sources (the proxy and the station) feed it audio as it comes, in pieces of any size, and title changes;
/// it hands back each ``StreamSegment`` as soon as it is full. Its size is the `icy-metaint` of every listener
/// downstream, whatever the upstream used — so the framing listeners see never changes, even when the
/// proxy reconnects to a server with another `icy-metaint`.
///
/// Audio frames straddle segments. A source that knows where frames start (the proxy follows the frame
/// chain, the station plays whole frames) adds audio with ``addFrame(_:emit:)``, one frame at a time, and each
/// segment notes where a player can start in it (``StreamSegment/entryOffset``).
public struct Cutter: Sendable {
    /// The audio bytes of one segment.
    public let segmentBytes: Int
    /// The number the next segment will get.
    public private(set) var next: Int
    /// What is playing now: the last title set — a change that waits for the next segment included.
    public var title: Metadata? { waitingTitle ?? carriedTitle }
    /// The title the segment being filled carries.
    private var carriedTitle: Metadata?
    /// A change set while the segment being filled carries one already: the next segment carries it, so that each
    /// change reaches listeners, title events and the history — two `/admin/metadata` calls half a second apart are
    /// two titles, not the second alone. One waits at most: a later change replaces it.
    private var waitingTitle: Metadata?
    private var titleVersion = 0
    private var titleChanged = false
    private var buffer: [UInt8] = []
    /// Where a player can start in the segment being filled, once a frame starts at a usable offset.
    private var entryOffset: Int?
    /// What of the segment being filled was handed on ahead of it (``StreamPiece``).
    private var gauge = PieceGauge()
    /// After frames a source's pace dropped (``add(_:through:admit:emit:incident:)``): the frames after them may take
    /// their audio from the dropped ones (MP3's bit reservoir), and are muted until one is decodable.
    var afterDropped: ReservoirJoin?

    /// A cutter of segments of `segmentBytes` audio bytes, whose first segment gets number `first`.
    /// - Throws: ``ConfigurationError/segmentBytes(_:allowed:)`` when `segmentBytes` is not a possible
    ///   `icy-metaint` (``Icy/IcyLimits/metaintRange``: 1 byte to 1 MiB).
    public init(segmentBytes: Int, first: Int = 0) throws(ConfigurationError) {
        try ConfigurationError.check(segmentBytes, in: IcyLimits.metaintRange, else: ConfigurationError.segmentBytes)
        self.segmentBytes = segmentBytes
        self.next = first
        buffer.reserveCapacity(segmentBytes)
    }

    /// Sets what is playing; the next segment cut carries the change (if it is one) — or, if that segment carries a
    /// change already, the one after it.
    public mutating func setTitle(_ metadata: Metadata) {
        guard metadata != title else { return }
        guard !titleChanged else {
            waitingTitle = metadata == carriedTitle ? nil : metadata
            return
        }
        carriedTitle = metadata
        titleVersion += 1
        titleChanged = true
    }

    /// Adds audio, calling `emit` with every segment it completes, in order.
    public mutating func add(_ audio: ArraySlice<UInt8>, emit: (StreamSegment) -> Void) {
        var audio = audio
        while !audio.isEmpty {
            gauge.adding(to: buffer.count)
            let take = min(segmentBytes - buffer.count, audio.count)
            buffer.append(contentsOf: audio.prefix(take))
            audio = audio.dropFirst(take)
            if buffer.count == segmentBytes { emit(cut()) }
        }
    }

    /// Adds audio that starts with a frame header (a whole frame, or its start), calling `emit` with every
    /// segment it completes. The segment the frame starts in learns where a player can start, if it did not
    /// know yet.
    public mutating func addFrame(_ frame: ArraySlice<UInt8>, emit: (StreamSegment) -> Void) {
        let offset = buffer.count
        if entryOffset == nil, offset == 0 || offset >= StreamSegment.minimumTagBytes { entryOffset = offset }
        add(frame, emit: emit)
    }

    /// The audio of the segment being filled not handed on yet, as a ``StreamPiece`` — if the segment has been
    /// filling for `wait` or longer (a quiet source: see ``StreamPiece``). `nil` while it fills at its usual pace,
    /// or when nothing new came since the last piece.
    public mutating func piece(after wait: Duration, now: ContinuousClock.Instant = .now) -> StreamPiece? {
        gauge.piece(of: buffer, after: wait, now: now)
    }

    /// Notes that `count` segments' worth of the stream is lost (the source was away): the numbering jumps, so
    /// every receiver sees and counts the gap. The unfinished segment is dropped — unless
    /// `keepingUnfinished`, for a source whose audio so far ends at a frame boundary: then the next stream's
    /// frames follow the old ones in the same segment, and the joined audio stays one clean chain of frames.
    public mutating func skip(_ count: Int, keepingUnfinished: Bool = false) {
        if !keepingUnfinished {
            buffer.removeAll(keepingCapacity: true)
            entryOffset = nil
            gauge.reset()
        }
        next += max(0, count)
    }

    /// Cuts the unfinished segment now, its missing bytes made up with ``StreamSegment/padding(_:)`` (a tag that
    /// decoders skip); `nil` when nothing is unfinished. For a source that ended with its audio on a frame
    /// boundary: its last frames reach its listeners whole, and what they hear next (a fallback) follows whole
    /// frames instead of a frame cut short.
    public mutating func finish() -> StreamSegment? {
        guard !buffer.isEmpty else { return nil }
        buffer += StreamSegment.padding(segmentBytes - buffer.count)
        return cut()
    }

    private mutating func cut() -> StreamSegment {
        let segment = StreamSegment(
            number: next, time: wallClockMilliseconds(), audio: buffer, title: carriedTitle,
            titleVersion: titleVersion, titleChanged: titleChanged, entryOffset: entryOffset)
        next += 1
        titleChanged = false
        if let waiting = waitingTitle {
            waitingTitle = nil
            setTitle(waiting)
        }
        entryOffset = nil
        gauge.reset()
        buffer = []
        buffer.reserveCapacity(segmentBytes)
        return segment
    }
}

extension Cutter {
    /// Hands `subscribers` what the unfinished segment holds that they have not had, if it has been filling for far
    /// longer than its `segmentDuration` (a quiet source: ``StreamPiece``). A proxy and a source session call it
    /// every ``StreamPiece/interval``.
    mutating func handOnPieces(to subscribers: Subscribers, segmentDuration: Duration) {
        guard let piece = piece(after: StreamPiece.wait(segmentDuration: segmentDuration)) else { return }
        subscribers.publish(piece, of: next)
    }
}
