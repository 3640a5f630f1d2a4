internal import CastyAudio
internal import CastyNet
internal import Icy

/// Cuts a relayed stream into HLS segments: a pure state machine, fed the stream's numbered segments, that
/// hands back each HLS segment as soon as it is whole.
///
/// **Where the cuts fall.** An HLS segment holds whole frames, and which segment a frame goes to is decided by the
/// sample count (below) before it: HLS segment `g` holds the frames whose count lies in `[g·S, (g + 1)·S)`, where the
/// span `S` is the target duration in samples. A segment then lasts the target to within a frame, whatever the
/// frames' sizes — a variable-bitrate stream's quiet passages take fewer bytes a second, and a cut by bytes would
/// make their segments last far longer. Every node whose count is exact (below) gives every frame the same count,
/// so it cuts at the same places: the root and each branch make byte-identical segments, under the same name, and a
/// CDN may pull from any of them.
///
/// **Timestamps.** A segment's ID3 timestamp says when its first frame plays: a count of samples
/// (``HLSSampleCount``), anchored at the first frame followed (after a start or a gap) and growing by each frame's
/// samples, so consecutive segments follow exactly — also for variable-bitrate MP3, whose frames' header bitrates
/// say nothing about where they play, and for AAC, whose headers carry no bitrate at all. Where the count is
/// anchored decides the tags' bytes: a node whose count is *exact* — the root's own, or a branch's anchored at the
/// clock its parent told it (``HLSClock``, `X-Casty-HLS-Clock`) — has the tree's count, and its segments are
/// byte-identical to the root's; a node told nothing (a branch of an older root, one that lost segments since it
/// was told) anchors at an estimate from the frame's position at the stream's bitrate (for MP3 rounded to whole
/// frames, which is exact for a constant bitrate); at a variable bitrate its cuts and tags are then its own.
///
/// **Sequence numbers.** Segment `g` of a stream has the media sequence number `base + g`, where `base` is the
/// stream's: told by the tree's root (``Context/hlsBase``), else this node's own — for the first stream it
/// follows, `0` or the milliseconds since 2026 began (a live packager's: ``FirstSequence/clock``); for each later one, the number that gives its first whole segment the number after the last
/// segment's. The root does the same, so every node gives the same audio the same number, and the sequence goes
/// on rising by one across a new stream: a source that starts again (its first segment is `g = 0`), and a
/// fallback that takes over a mount after playing for an hour (its first whole segment `g` is large, and its
/// base below zero). The root decides a new stream's base before its first frame arrives — a branch may ask at
/// once — from the relay segment the stream starts at here (``firstWholeGroup(from:segmentBytes:bitrate:target:)``),
/// allowing for a frame more than that segment's start; a group that turns out to come before the one foreseen
/// would take a number already given, and is not published (``Base/first``). A node that lost segments jumps
/// over their numbers; a number that would go back (a root that restarted with a smaller base) becomes the one
/// after the last.
///
/// **Discontinuities.** A new stream (a source that restarts, a fallback that takes over) marks its first
/// segment `EXT-X-DISCONTINUITY`, and its segments' discontinuity sequence number is the stream's too (told by
/// the root, ``Context/hlsDiscontinuityBase``, else one more than the last): a node that joined after the
/// restart, and never saw the tag, still gives the segment the same number. A gap within a stream is no
/// discontinuity of the live window: the numbers jump, and a playlist never lists both sides of a jump
/// (``HLSPlaylist/liveWindow(_:count:lasting:)``) — nor of the jump in discontinuity numbers a restarted root
/// tells a branch that kept its players (its first stream's number is the clock's, above the branch's last). A group whose start was missed is not published, since it
/// would differ from the other nodes' segment of the same name. A branch that must number a segment above the
/// number its root told (the root restarted below the branch's last number) says so (``apartFromRoot``).
///
/// **Recording.** A segmenter in ``Mode/recording`` keeps every frame instead: it also publishes the groups
/// whose start it missed, cuts a group where the title changes, and ``finish()`` hands back the group being
/// filled — so a recording holds the audio up to its very end, and titles within a relay segment (~0.5 s). It
/// counts as its live packager does (told the packager's count with each relay segment, as a mount playing its
/// fallback is told the fallback's) and names what it counts on its own with the packager's mark: its whole
/// segments are the live ones, under the same names — on a branch too, whose own estimate is not the tree's count.
package struct HLSSegmenter {
    /// Which frames become segments.
    package enum Mode: Sendable {
        /// The live window: only whole groups, the same on every node.
        case live
        /// A recording: every frame, in groups cut also at title changes and at the end.
        case recording
    }

    private let mode: Mode
    /// The duration segments aim at, in seconds (`EXT-X-TARGETDURATION`): the tree root's when the stream says
    /// it (``Context/hlsTarget``), so that every node cuts the same segments, else this node's own.
    package private(set) var targetDuration: Int
    private let ownTarget: Int

    private var context: Context?
    private var format: FrameChain.Format?
    private var walker: FrameWalker?
    /// The number the next relay segment should have.
    private var expected: Int?
    private var stream: UInt64 = 0
    /// The index of the last group started in the stream: a group's index, and so its name, never goes back.
    private var lastIndex: Int?
    private var group: Group?
    /// The date of the last group begun in the stream (``date(at:context:)``): the next one's comes after it.
    private var lastDate: Int64?
    /// The cut time and title of recent relay segments, by number.
    private var recent: [(number: Int, time: Int64, title: String?)] = []
    /// The samples counted for the segments' timestamps.
    private var samples = HLSSampleCount()
    private var lastSequence: Int?
    /// The sequence numbers of the stream followed, when this node decides them (no root told them): `nil` until
    /// decided, at the stream's first relay segment (or when a branch asks before it, ``planned``).
    private var ownBase: Base?
    /// The numbers decided for a stream not followed yet, because a branch asked for them first.
    private var planned: (stream: UInt64, base: Base)?
    private var discontinuity = false
    private var discontinuities = 0
    /// This segmenter's own mark, which names the segments it counts on its own (``namePrefix(exact:)``): a
    /// recording's is its live packager's, so that its segments are named as the live ones also then.
    package let ownMark: UInt32
    /// Where this node's numbers left the tree root's, as of the last segment published with numbers the root told;
    /// `nil` while they agree (or no root tells them).
    package private(set) var apartFromRoot: Apart?

    /// A segment a branch numbered above the number its root gives it: the root restarted and took a base below
    /// the numbers the branch had given already, and since a playlist's numbers never go back (RFC 8216 §6.2.1),
    /// the branch goes on from its own — the same name under two numbers for a CDN that pulls from both.
    package struct Apart: Equatable, Sendable {
        /// The segment's name.
        package var name: String
        /// Its media sequence number here.
        package var own: Int
        /// Its media sequence number at the tree's root.
        package var root: Int
        /// How far this node's numbers run ahead of the root's.
        package var ahead: Int { own - root }
    }

    /// Where a stream's numbers start: the media sequence number of its segment 0 and the discontinuity
    /// sequence number of its segments.
    package struct Base: Equatable, Sendable {
        /// The media sequence number of the stream's segment 0 (``Context/hlsBase``).
        package var sequence: Int
        /// The discontinuity sequence number of the stream's segments (``Context/hlsDiscontinuityBase``).
        package var discontinuity: Int
        /// The lowest number a segment of the stream may have — the one after the last segment of the stream
        /// before — or `nil` for any (``Context/hlsFirst``): a group numbered below it is not published.
        package var first: Int?

        /// The numbers of a stream: segment `g` is `sequence + g`, none below `first`.
        package init(sequence: Int, discontinuity: Int, first: Int? = nil) {
            self.sequence = sequence
            self.discontinuity = discontinuity
            self.first = first
        }
    }

    /// The frames of the HLS segment being filled.
    private struct Group {
        let index: Int
        let whole: Bool
        let position: Int
        let timestamp: UInt64
        let time: Int64
        let title: String?
        /// Whether its count was the tree's (``HLSSampleCount/isTheTrees``) when it began: its name is then the tree's.
        let exact: Bool
        var bytes: [UInt8] = []
        var samples = 0
        var sampleRate = 44_100
        var frames = 0
    }

    /// Where the first stream's numbers start, when no root tells them.
    package enum FirstSequence: Sendable {
        /// At this number.
        case fixed(Int)
        /// At the milliseconds since 2026 began, read when that stream starts (``clockSequence(at:)``).
        case clock
    }

    /// A segmenter aiming at `targetDuration` seconds a segment, for the live window or a recording; its first
    /// stream numbered from `first`; the segments it counts on its own named with `mark` (a recording's: its live
    /// packager's), else with a mark of its own.
    package init(targetDuration: Int, mode: Mode = .live, first: FirstSequence = .fixed(0), mark: UInt32? = nil) {
        ownMark = mark ?? UInt32.random(in: 1...UInt32.max)
        self.targetDuration = max(1, targetDuration)
        self.ownTarget = self.targetDuration
        self.mode = mode
        self.firstSequence = first
    }

    private let firstSequence: FirstSequence

    /// The number of the first stream's first segment: fixed, or read from the clock now.
    private var firstNumber: Int {
        switch firstSequence {
        case .fixed(let number): number
        case .clock: Self.clockSequence(at: wallClockMilliseconds())
        }
    }

    /// The discontinuity sequence number of the first stream: 0, or from the clock as its sequence numbers — each
    /// stream after it adds one, and takes a sequence number at least, so a node that restarts never counts below its
    /// earlier run either, nor a root below the branches that kept their count through its restart.
    private var firstDiscontinuity: Int {
        switch firstSequence {
        case .fixed: 0
        case .clock: firstNumber
        }
    }

    /// The milliseconds from 2026-01-01 00:00 UTC to `milliseconds` (since 1970): a first sequence number that a
    /// node started later never gives below its earlier run's. A run's numbers grow by one a segment — a target
    /// duration, plus the last, shorter segment of every stream (a source that reconnects, a fallback that takes
    /// over) — far slower than one a millisecond; counted in target durations, they ran ahead of the clock with every
    /// stream change, and a root restarted within seconds (as a supervisor does) took a base below the numbers its
    /// surviving branches had given, which went on from their own for good. A root that restarts now numbers on above
    /// the numbers its branches kept (they take the root's, which no longer go back), and a CDN or player that saw the
    /// old run never sees `EXT-X-MEDIA-SEQUENCE` go back. Only a node's first stream is numbered so: a later one goes on
    /// from the last number, and a source's quick restart is no jump.
    package static func clockSequence(at milliseconds: Int64) -> Int {
        Int(max(0, milliseconds - 1_767_225_600_000))
    }

    /// The extension of its segments' names, `mp3` or `aac`; `nil` when the stream's frames are not followed.
    var fileExtension: String? {
        switch format {
        case .mpeg: "mp3"
        case .adts: "aac"
        case nil: nil
        }
    }

    /// The stream's context, as last told.
    var currentContext: Context? { context }

    /// The source's reply: the stream's station, framing and name. A stream other than the one followed
    /// starts the cutting again (with a discontinuity); a recording's segmenter hands back the group it was
    /// filling.
    @discardableResult
    package mutating func start(_ context: Context) -> [HLSSegment] {
        let format = FrameChain.Format(contentType: context.station["Content-Type"])
        let target = max(1, context.hlsTarget ?? ownTarget)
        var done: [HLSSegment] = []
        if self.context?.stream != context.stream || self.format != format || self.context?.segmentBytes != context.segmentBytes
            || target != targetDuration {
            targetDuration = target
            done = restart(stream: context.stream)
            self.format = format
            walker = format.map(FrameWalker.init)
        }
        self.context = context
        return done
    }

    /// The numbers of `stream`, whose context is `context` and whose first relay segment here is (or will be)
    /// `first`: what a tree node tells its branches (``Context/hlsBase``). For a stream not followed yet, those
    /// it will get: decided now, and kept for it.
    /// `group`, if known, is the index of the first whole group the stream will have here (a mount playing its
    /// fallback learns it from the fallback's count, ``firstWholeGroup(from:stream:)``), else it is foreseen from the
    /// bytes (``firstWholeGroup(from:segmentBytes:bitrate:target:)``).
    package mutating func sequenceBase(for stream: UInt64, from first: Int, context: Context, group: Int? = nil) -> Base {
        if stream == self.stream, self.context != nil {
            if ownBase == nil, told == nil { ownBase = nextBase(from: first, context: context, group: group) }
            return base
        }
        if let planned, planned.stream == stream { return planned.base }
        let base = nextBase(from: first, context: context, group: group)
        planned = (stream, base)
        return base
    }

    /// The numbers the context of the stream followed tells (a branch's, from its root), if it tells them.
    private var told: Base? {
        guard let context, context.stream == stream, let told = context.hlsBase else { return nil }
        return Base(sequence: told, discontinuity: context.hlsDiscontinuityBase ?? ownBase?.discontinuity ?? discontinuities,
                    first: context.hlsFirst)
    }

    /// The numbers of the stream followed: the root's, when the context tells them, else this node's own.
    private var base: Base {
        told ?? ownBase ?? Base(sequence: lastSequence.map { $0 + 1 } ?? firstNumber,
                                discontinuity: lastSequence == nil ? max(discontinuities, firstDiscontinuity) : discontinuities)
    }

    /// The numbers a new stream whose first relay segment here is `first` gets: its first whole segment follows
    /// the last segment, and it is a discontinuity (unless it is the first stream, numbered from ``FirstSequence``).
    private func nextBase(from first: Int, context: Context, group known: Int? = nil) -> Base {
        let (last, discontinuities) = atEnd
        guard let last else { return Base(sequence: firstNumber, discontinuity: max(discontinuities, firstDiscontinuity)) }
        let group = known ?? Self.firstWholeGroup(
            from: first, segmentBytes: context.segmentBytes, bitrate: context.bitrate, target: max(1, context.hlsTarget ?? ownTarget))
        return Base(sequence: last + 1 - group, discontinuity: discontinuities + 1, first: last + 1)
    }

    /// The number of the last segment of the stream followed, and the discontinuity count, once it ends: the
    /// group being filled is published then (``endStream()``) — a branch may ask for the next stream's numbers
    /// before.
    private var atEnd: (last: Int?, discontinuities: Int) {
        guard let group, let numbers = numbers(of: group) else { return (lastSequence, discontinuities) }
        return (numbers.sequence, numbers.discontinuities)
    }

    /// The index of the first whole HLS group a node whose count is its own makes of a stream it follows from
    /// relay segment `first` (of `segmentBytes`, at `bitrate` kbit/s, `target` seconds a group), foreseen before
    /// any frame is seen: group 0 when it follows from the stream's start (its first frame starts the count);
    /// else the group after the one the first frame falls in. That frame's count is estimated from its position
    /// at the bitrate (``HLSSampleCount/estimate(_:bitrate:)``), and it lies within a frame after the segment's
    /// start: the position foreseen is taken a slack later — two of the largest frames a stream of that bitrate
    /// may have (1,152 samples at 8 kHz: 18 bytes a kbit/s) — so the group foreseen is never before the real one.
    /// (It may be after it, by the slack's share of a group: that group then comes before its number, and is not
    /// published.)
    static func firstWholeGroup(from first: Int, segmentBytes: Int, bitrate: Int, target: Int) -> Int {
        guard first > 0 else { return 0 }
        let kbps = bitrate > 0 ? bitrate : 128
        let slack = 2 * 18 * kbps
        return (first * max(1, segmentBytes) + slack) * 8 / (kbps * 1_000 * max(1, target)) + 1
    }

    /// The index of the first whole group a node that follows the stream from relay segment `first` — a mount
    /// playing this one as its fallback, whose count is this one's (``HLSSampleCount/Authority/told(_:)``) — makes:
    /// the group its first frame begins, else the next. Known from this node's count while it is exact
    /// (``HLSSampleCount/first(in:segmentBytes:)``); `nil` otherwise, or for another stream than the one followed.
    package func firstWholeGroup(from first: Int, stream: UInt64) -> Int? {
        guard stream == self.stream, let context, format != nil,
              let frame = samples.first(in: first, segmentBytes: context.segmentBytes) else { return nil }
        let span = max(1, targetDuration * frame.rate)
        return frame.samples / span + (frame.samples % span < frame.frameSamples ? 0 : 1)
    }

    /// The recording is finished: the group being filled, as a last, shorter segment, for a recording's
    /// segmenter; nothing for the live window, whose segments must be whole (see ``endStream()``).
    package mutating func finish() -> HLSSegment? {
        guard mode == .recording else { return nil }
        return endStream()
    }

    /// The stream ended — its source left, or the next stream began: the group being filled, as a last, shorter
    /// segment, if its start was followed (a live window's too: players hear the show to its end). Every node that
    /// followed the stream to its end makes the same one, under the same name and number: the root when its
    /// source leaves, a branch when the next stream reaches it.
    package mutating func endStream() -> HLSSegment? {
        defer { group = nil }
        guard let group else { return nil }
        return close(group, complete: false)
    }

    /// Relay segment `number` of stream `stream`; returns the HLS segments it completed (at most one, as a rule).
    /// `clock` says who decides the stream's sample count (``HLSSampleCount/Authority``): this node, or its
    /// parent, with the clock it told.
    /// `before` tells, if it knows, when relay segment `number - 1` was cut: a node that begins with `number` (a
    /// mount playing its fallback, which gets no burst) dates the segments that start in it as the nodes that had it
    /// do.
    package mutating func add(
        _ number: Int, _ segment: StreamSegment, stream: UInt64, clock: HLSSampleCount.Authority = .own,
        before: (Int) -> Int64? = { _ in nil }
    ) -> [HLSSegment] {
        guard let context, var walker else { return [] }
        samples.follow(clock)
        var done: [HLSSegment] = []
        if stream != self.stream {
            done = restart(stream: stream)
            walker = FrameWalker(format: walker.format)
        } else if let expected, number != expected {
            done = restart(stream: stream)
        }
        if ownBase == nil { ownBase = nextBase(from: number, context: context) }
        expected = number + 1
        if recent.isEmpty, let cut = before(number) { recent.append((number - 1, cut, nil)) }
        recent.append((number, segment.time, segment.ownTitle?.streamTitle))
        if recent.count > 4 { recent.removeFirst() }
        walker.add(segment.audio, at: number * context.segmentBytes) { frame in
            if let finished = take(frame, context: context) { done.append(finished) }
        }
        self.walker = walker
        return done
    }

    /// The frame goes into its group; a frame of the next group closes the one being filled.
    private mutating func take(_ frame: FrameWalker.Frame, context: Context) -> HLSSegment? {
        // The context's bitrate, told to every node alike: a variable-bitrate MP3 frame's own would differ on a
        // node that joined at another frame.
        let bitrate = context.bitrate > 0 ? context.bitrate : frame.bitrate ?? 128
        let span = targetDuration * frame.sampleRate
        // A count anchored anew at an estimate after a gap starts no earlier than the group after the last one begun.
        let floor = lastIndex.map { ($0 + 1) * span }
        let before = samples.count(frame, segmentBytes: context.segmentBytes, bitrate: bitrate, floor: floor)
        let relaySegment = frame.position / context.segmentBytes
        let counted = before / span
        // Another sample rate: the group being filled ends here, published as a piece (a segment holds one rate: its
        // duration is its samples over that rate), and the rest of its group's time begins with this frame.
        let rateChanged = group.map { $0.sampleRate != frame.sampleRate && $0.frames > 0 } ?? false
        // A count anchored anew at a told clock after a gap may fall behind the groups started: its frames join the
        // last one, and a group's name never comes back with other frames.
        let index = max(counted, lastIndex ?? counted), behind = counted < lastIndex ?? counted
        let entry = recent.last { $0.number == relaySegment } ?? recent.last
        var finished: HLSSegment?
        var crossed = false
        if rateChanged, let group {
            finished = close(group, complete: false)
            self.group = nil
            crossed = true
        } else if let group, group.index != index {
            finished = close(group, complete: true)
            self.group = nil
            crossed = true
        } else if mode == .recording, let group, group.title != entry?.title {
            finished = close(group, complete: false)  // a recording's titles change where the audio does
            self.group = nil
        }
        if group == nil {
            // Whole when the frames before it were followed, or when following began right at its first frame.
            let whole = rateChanged || (!behind && (crossed || before % span < frame.samples))
            lastIndex = index
            let time = Self.following(date(at: frame.position, context: context), lastDate)
            lastDate = time
            group = Group(index: index, whole: whole, position: frame.position,
                          timestamp: Self.timestamp(samplesBefore: before, sampleRate: frame.sampleRate),
                          time: time, title: entry?.title, exact: samples.isTheTrees)
        }
        group!.bytes += frame.bytes
        group!.samples += frame.samples
        group!.sampleRate = frame.sampleRate
        group!.frames += 1
        return finished
    }

    /// When the frame at stream position `position` reached the tree's root, in milliseconds since 1970
    /// (`EXT-X-PROGRAM-DATE-TIME`): between the times its relay segment and the one before it were cut, in
    /// proportion to where in its segment it lies — a relay segment fills at the stream's pace, its bytes coming
    /// one after another between those two cuts. A quiet AAC source fills one in many seconds, and the HLS segments
    /// that start in it then get dates as far apart as their audio, not all the cut's. The times are the root's
    /// (`CastyTime`), so every node that has both segments finds the same date; after a start or a gap, with no
    /// segment before, the segment is taken to have filled in the time it lasts at the stream's bitrate. `0` (no
    /// date) before any segment.
    private func date(at position: Int, context: Context) -> Int64 {
        let bytes = max(1, context.segmentBytes), number = position / bytes
        guard let cut = (recent.last { $0.number == number } ?? recent.last)?.time else { return 0 }
        let before = recent.last { $0.number == number - 1 }?.time ?? cut - Int64(context.segmentDuration / .milliseconds(1))
        let span = min(max(0, cut - before), 3_600_000)  // a clock that went back, or an hour-long segment, is not believed
        return cut - span + span * Int64(position - number * bytes) / Int64(bytes)
    }

    /// A group's date `date`, moved to a millisecond after `last`, the date of the group begun before it, if it is
    /// not after it: the relay segments of a burst (a station's backlog, sent at once when a relay attaches or comes
    /// back) are cut in the same millisecond, and the groups that start in them would get the same date — a player
    /// that places segments by date (RFC 8216 §4.3.2.6) must find them in order. `0` (no date) stays.
    static func following(_ date: Int64, _ last: Int64?) -> Int64 {
        guard date > 0, let last, date <= last else { return date }
        return last + 1
    }

    /// The HLS segment of a finished group — `complete` when a frame of the next group closed it — or `nil`
    /// for a live group whose start was missed. A recording's piece of a group (its start missed, or cut at a
    /// title or at the end) is named after the relay segment it starts in too: `3fa2c1d0-1234-13585.mp3`.
    private mutating func close(_ group: Group, complete: Bool) -> HLSSegment? {
        guard let fileExtension, let numbers = numbers(of: group) else { return nil }
        let sequence = numbers.sequence
        lastSequence = sequence
        discontinuities = numbers.discontinuities
        defer { discontinuity = false }
        let tag = ID3Tag.segmentTag(timestamp: group.timestamp, title: group.title)
        let piece = group.whole && complete ? "" : "-\(group.position / max(1, context?.segmentBytes ?? 1))"
        let name = namePrefix(exact: group.exact) + "-\(group.index)\(piece).\(fileExtension)"
        if mode == .live, let told {
            let root = told.sequence + group.index
            apartFromRoot = sequence > root ? Apart(name: name, own: sequence, root: root) : nil
        }
        return HLSSegment(
            sequence: sequence, name: name, duration: Double(group.samples) / Double(group.sampleRate),
            timestamp: group.timestamp, date: group.time, discontinuity: discontinuity,
            discontinuitySequence: discontinuities, title: group.title,
            bytes: tag + group.bytes, frames: group.frames)
    }

    /// The first part of a segment's name: the stream's first 8 hex digits where the count is the tree's — every
    /// such node names the same audio the same —, else those digits mixed with this segmenter's own (``ownMark``):
    /// a node counting on its own (a branch that lost segments of a variable-bitrate stream, or whose count was
    /// raised past a gap) cuts other audio into its groups, and must not publish it under the names the root's
    /// segments have, which a CDN pulling from several nodes caches for a year.
    private func namePrefix(exact: Bool) -> String {
        let text = String(Context.streamText(stream).prefix(8))
        guard !exact, let value = UInt32(text, radix: 16) else { return text }
        let mixed = String(value ^ ownMark, radix: 16)
        return String(repeating: "0", count: 8 - mixed.count) + mixed
    }

    /// The sequence number and the discontinuity count `group` gets when it is closed now; `nil` for a group that is
    /// not published: a live group whose start was missed, or one foreseen to come later than it did (see the
    /// type's notes), whose number is given already.
    private func numbers(of group: Group) -> (sequence: Int, discontinuities: Int)? {
        guard group.whole || mode == .recording, fileExtension != nil else { return nil }
        if mode == .live, let first = base.first, base.sequence + group.index < first { return nil }
        // Counted here, or the stream's own number (a live window's) when that is more.
        let counted = max(discontinuities + (discontinuity ? 1 : 0), mode == .live ? base.discontinuity : 0)
        return (nextSequence(group: group.index), counted)
    }

    /// The sequence number of group `index`: the stream's base plus the index for the live window (never going
    /// back), one after the last for a recording, whose pieces are not the live groups.
    private func nextSequence(group index: Int) -> Int {
        let next = lastSequence.map { $0 + 1 }
        guard mode == .live else { return next ?? 0 }
        return max(base.sequence + index, next ?? 0)
    }

    /// Cutting starts again: the group being filled is dropped (a recording's is handed back). A new stream gets
    /// its numbers, and its first segment is a discontinuity; so is a recording's segment after a gap.
    private mutating func restart(stream: UInt64) -> [HLSSegment] {
        let newStream = stream != self.stream
        // A stream's last group ends with it; one a gap cut short is no segment of the live window (other nodes,
        // without the gap, have it whole).
        let pending = newStream ? endStream() : finish()
        if newStream {
            lastIndex = nil
            lastDate = nil
            ownBase = planned?.stream == stream ? planned?.base : nil
            planned = nil
        }
        self.stream = stream
        group = nil
        expected = nil
        recent = []
        samples.restart(newStream: newStream)
        if lastSequence != nil, newStream || mode == .recording { discontinuity = true }
        return pending.map { [$0] } ?? []
    }

    /// The clock to tell a numbered peer of `stream` whose first relay segment is `segment`, when this segmenter —
    /// counting on its own — has counted no frame of that stream and begins with that segment: its count will start
    /// at the segment's first frame (``HLSClock/startsCount``), and so may the peer's.
    package func startClock(at segment: Int, stream: UInt64) -> HLSClock? {
        let fresh = stream != self.stream || (!samples.hasCounted && (expected ?? segment) == segment)
        return fresh ? .start(at: segment) : nil
    }

    /// The 90 kHz timestamp of the frame that `samplesBefore` samples at `sampleRate` Hz come before.
    private static func timestamp(samplesBefore: Int, sampleRate: Int) -> UInt64 {
        // In two steps, so that no count of samples (up to 2⁵²) overflows when multiplied.
        let rate = UInt64(max(1, sampleRate)), count = UInt64(samplesBefore)
        return ((count / rate) * 90_000 + (count % rate) * 90_000 / rate) % ID3Tag.timestampModulus
    }

    /// The clock to tell a numbered peer of `stream` whose first relay segment is `segment`
    /// (``HLSSampleCount/clock(from:)``): only of the stream followed, and only while this node's count is exact.
    package func clock(from segment: Int, stream: UInt64) -> HLSClock? {
        guard stream == self.stream, format != nil else { return nil }
        return samples.clock(from: segment)
    }
}
