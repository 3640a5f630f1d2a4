internal import CastyAudio

/// Where a branch's new stream joins the audio it delivered before: what the new stream's start repeats is left out.
///
/// A root restarted within seconds (by a supervisor) relays its station anew, and a station with a burst — an
/// Icecast server sends every new listener the last 64 KB it had — begins the root's new stream with seconds that
/// the old one brought already: a branch would deliver them again, and its players hear them twice. So the branch,
/// as a relay does for its own upstream link (``LinkJoin``), keeps the last bytes of audio it delivered, looks for
/// them in the new stream's first segments, and delivers it from just after them.
///
/// Segments keep their numbers and sizes (the tree's numbering, and the ICY framing, hold): those whose audio was
/// all delivered before are left out, and the one in which the tail ends is delivered whole, its entry
/// (``StreamSegment/entryOffset``) moved to its first frame past the tail — a player gets the first segment of a
/// new stream from its entry (``StreamSegment/joining(_:completing:format:)``), the bytes before it a tag that
/// decoders skip. That entry goes down the tree in the segment (`CastyEntry`): a branch below, which finds its own
/// tail in the same bytes, enters it there too. A new stream that does not hold the tail is delivered whole.
///
/// Its start is held while it is looked at: until the tail is found in it, else ``patience`` from its first segment
/// (the repeated audio comes at once: a parent's burst, or its root's upstream burst cut as it came), or
/// ``LinkJoin/windowBytes``.
struct SegmentJoin {
    /// How long a new stream's first segments are held at most while the tail is looked for.
    static let patience = Duration.milliseconds(100)

    private var join = LinkJoin(patience: Self.patience)
    /// The new stream's segments that came while it is looked at.
    private var held: [StreamSegment] = []
    /// The frames of the stream, followed to find a segment's entry past the tail; `nil` when they are not (Ogg).
    private var format: FrameChain.Format?

    /// Whether a new stream's start is looked at: segments are held.
    var isLooking: Bool { join.isLooking }
    /// The number of the first segment held, if any: the next one to be delivered.
    var firstHeld: Int? { held.first?.number }

    /// A new stream begins, whose audio is `contentType`: its first segments are looked at for the audio delivered
    /// before (``finish()`` first, if segments are held).
    mutating func newStream(contentType: String?) {
        format = FrameChain.Format(contentType: contentType)
        join.newLink(droppingLast: 0)
    }

    /// The players that heard the audio delivered so far were let go: nothing is looked for in the next stream.
    mutating func forget() {
        held = []
        join.newStation()
    }

    /// What to deliver now that `segment` came, `now`: nothing while the new stream's start is looked at, then what
    /// of it is new — with how many of its bytes were delivered before (`nil` when it was not looked at, or the tail
    /// was not found).
    mutating func take(_ segment: StreamSegment, at now: ContinuousClock.Instant) -> (deliver: [StreamSegment], skipped: Int?) {
        guard join.isLooking else {
            join.relayed(segment.audio[...])
            return ([segment], nil)
        }
        held.append(segment)
        return settle(join.look(at: [segment.audio[...]], at: now))
    }

    /// What to deliver `now`, with no segment come since: the held segments, whole, once ``patience`` is up.
    mutating func timeUp(at now: ContinuousClock.Instant) -> (deliver: [StreamSegment], skipped: Int?) {
        guard !held.isEmpty else { return ([], nil) }
        return settle(join.look(at: [], at: now))
    }

    /// The look ends without a verdict (the link that brought the held segments ended, the stream ended): they are
    /// delivered whole. Nothing held, the look goes on at the next link's start.
    mutating func finish() -> [StreamSegment] {
        guard !held.isEmpty else { return [] }
        let whole = held
        held = []
        join.newStation()
        for segment in whole { join.relayed(segment.audio[...]) }
        return whole
    }

    private mutating func settle(_ verdict: LinkJoin.Verdict) -> (deliver: [StreamSegment], skipped: Int?) {
        if verdict == .looking { return ([], nil) }
        let segments = held
        held = []
        // All of them count as delivered: those left out were, before.
        for segment in segments { join.relayed(segment.audio[...]) }
        guard case .skip(let repeated) = verdict else { return (segments, nil) }
        return (Self.joined(segments, past: repeated, format: format), repeated)
    }

    /// `segments`, whose first `repeated` bytes of audio were delivered before, as they are to be delivered: those
    /// all delivered before are left out; the first one with new audio is entered at its first frame past them.
    static func joined(_ segments: [StreamSegment], past repeated: Int, format: FrameChain.Format?) -> [StreamSegment] {
        var left = repeated
        var dropped: [StreamSegment] = []
        for (index, segment) in segments.enumerated() {
            let rest = segments[(index + 1)...]
            if left >= segment.audio.count {
                left -= segment.audio.count
                dropped.append(segment)
                continue
            }
            guard left > 0 else { return [segment.carrying(dropped, entry: segment.entryOffset)] + rest }
            switch entry(of: segment, past: left, format: format) {
            case .at(let offset):
                return [segment.carrying(dropped, entry: offset)] + rest
            case .unknown:
                return [segment.carrying(dropped, entry: segment.entryOffset)] + rest
            case .none:
                // What it holds past the tail is the end of a frame begun in it: the next one is entered at its own.
                left = 0
                dropped.append(segment)
            }
        }
        return []
    }

    /// Where a player can enter `segment` past its first `repeated` bytes.
    private enum Entry {
        /// At this offset: a frame starts there, room for a tag before it.
        case at(Int)
        /// Nowhere: no frame starts past them in the segment.
        case none
        /// Not known: its frames are not followed (its format, or bytes that are no frame where one should be).
        case unknown
    }

    /// The first frame of `segment` at or past `repeated` bytes, with room for a tag before it.
    private static func entry(of segment: StreamSegment, past repeated: Int, format: FrameChain.Format?) -> Entry {
        guard let format, var at = segment.entryOffset else { return .unknown }
        let audio = segment.audio[...]
        while at < max(repeated, StreamSegment.minimumTagBytes) {
            guard let frame = format.frame(in: audio, at: at) else {
                return at + format.headerBytes > audio.count ? .none : .unknown
            }
            at += frame.length
        }
        return at < audio.count ? .at(at) : .none
    }
}

extension StreamSegment {
    /// The same segment entered at `entry`, carrying what the segments left out before it told: a title change,
    /// the path above the branches.
    fileprivate func carrying(_ dropped: [StreamSegment], entry: Int?) -> StreamSegment {
        guard !dropped.isEmpty || entry != entryOffset else { return self }
        return StreamSegment(
            number: number, time: time, audio: audio, title: title, titleVersion: titleVersion,
            titleChanged: titleChanged || dropped.contains { $0.titleChanged },
            path: path ?? dropped.last { $0.path != nil }?.path, entryOffset: entry, opensStream: opensStream, titleHeld: titleHeld)
    }
}
