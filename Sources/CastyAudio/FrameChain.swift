/// Follows the chain of frames of a compressed audio stream (MP3 or ADTS AAC) as it arrives in pieces, and
/// passes on only whole frames that are linked: each one's header sits exactly where the previous frame's
/// length says, and the header after it does too.
///
/// A relay needs this because a decoder that meets bytes that are not a frame where it expects one — a
/// stream joined in the middle of a frame, audio eaten by a metadata block whose length byte lied, garbage
/// from a broken server — loses sync and skips, audibly, until it finds a frame again. The chain does that
/// search once, for every listener:
///
/// ```
///  … frame │ frame │ 1234 bytes of garbage │ frame │ frame …      arrives
///  … frame │ frame │                         frame │ frame …      passed on, and: resynced(dropped: 1234)
/// ```
///
/// - **Searching**: a header counts only when another header of the same stream follows it where its length
///   says (random bytes pass that test about once in a few million tries). Bytes before it are dropped.
///   At the start of a stream that is the tail of a frame the server cut; later it is an incident, reported
///   once with the count of bytes dropped, when the chain is found again.
/// - **Locked**: each frame is passed on once all its bytes are in (and, for a source, the header after it:
///   ``waitsForNextHeader``). When the next header is not where the
///   frame's length says, or is of another sample rate or channel count, the chain is broken: search again from
///   there. Frames of another shape found at once are no incident but news (``Output/reshaped(from:to:)``).
/// - **Info frames**: an encoder's Xing, Info or VBRI frame (``MP3Frame/isInfo(_:)``), which says how long the file
///   it begins is, is dropped: a live stream is no file of that length.
/// - **Tags**: an ID3v2 tag (``ID3v2Header``) — what an MP3 file holds before its frames, cover art and all,
///   and a source streaming files as they are sends before each one — is skipped whole wherever a frame is
///   looked for, held nowhere and reported as no incident: decoders skip it too. Tags over ``maxTagBytes``
///   are taken for garbage.
/// - **Joins**: the first frames of a stream that follows another — after ``restart(format:)``, or a break in
///   the chain that dropped bytes or changed the shape — may take their audio from bytes of the frames before
///   them (MP3's bit reservoir), which a decoder that heard the stream before has of the old one, or lacks: they
///   are muted (``ReservoirJoin``) until a frame that is decodable passes, unless the caller says the new stream
///   goes on exactly where the old one ended (``continuesExactly()``). A chain's first stream is no join: a
///   decoder that starts knows it has no reservoir.
/// - **Another codec**: a relay's chain (``followsOtherFormat``) whose frames break and do not come back, but
///   frames of the other format (MP3 ↔ ADTS) follow, follows those (``Output/reformatted(_:)``).
/// - **Unchecked**: a stream whose first bytes hold no chain at all is not what its `Content-Type` says; it is
///   passed on as it is (the bytes held while looking are not lost), and so are streams of other types (Ogg) —
///   unless it begins as text does (``AudioSignature/isText(_:)``): a web page or JSON, an error page a server sends
///   under the stream's type, is no audio of any kind; nothing of it is passed on (``Output/text(after:)``).
///
/// It copies only the bytes of the one frame that straddles two reads; the rest is passed on as slices of
/// the reads themselves, so the scan allocates nothing.
package struct FrameChain {
    /// The frame formats the chain can follow.
    package enum Format: Sendable, Equatable {
        /// MPEG audio: MP3 (and MP1, MP2), `audio/mpeg`.
        case mpeg
        /// AAC in ADTS frames: `audio/aac`, `audio/aacp`.
        case adts

        /// The format of a `Content-Type`, or `nil` for types whose frames are not checked (Ogg, unknown).
        package init?(contentType: String?) {
            let type = (contentType ?? "audio/mpeg").split(separator: ";").first.map { $0.filter { $0 != " " }.lowercased() } ?? ""
            switch type {
            case "audio/mpeg", "audio/mp3", "audio/mpeg3", "audio/x-mpeg", "audio/x-mp3", "audio/x-mpeg-3", "audio/mpg", "audio/x-mpg": self = .mpeg
            case "audio/aac", "audio/aacp", "audio/x-aac": self = .adts
            default: return nil
            }
        }

        /// The `Content-Type` a listener is told for audio of this format.
        package var contentType: String {
            switch self {
            case .mpeg: "audio/mpeg"
            case .adts: "audio/aac"
            }
        }

        /// The format's name in a log line.
        package var name: String {
            switch self {
            case .mpeg: "MPEG audio (MP3)"
            case .adts: "AAC in ADTS frames"
            }
        }

        /// The format a stream announced as this one is most often sent in by mistake (MP3 ↔ ADTS).
        package var other: Format {
            switch self {
            case .mpeg: .adts
            case .adts: .mpeg
            }
        }

        /// Whether `bytes` hold two linked frames of this format (a header, and another where its length says).
        package func holdsChain(in bytes: ArraySlice<UInt8>) -> Bool {
            var index = bytes.startIndex
            while index + headerBytes <= bytes.endIndex {
                if linkedFrames(in: bytes, at: index) != nil { return true }
                index += 1
            }
            return false
        }

        /// The key of the frame whose header starts at `index` in `bytes`, if another header of the same stream
        /// follows it where its length says (``holdsChain(in:)`` at one place); `nil` when not, or not all in `bytes`.
        package func linkedFrames(in bytes: ArraySlice<UInt8>, at index: Int) -> UInt32? {
            guard let first = frame(in: bytes, at: index), let second = frame(in: bytes, at: index + first.length),
                  second.key == first.key else { return nil }
            return first.key
        }

        /// The bytes of a header that must be read to know the frame's length.
        package var headerBytes: Int {
            switch self {
            case .mpeg: MP3Frame.headerBytes
            case .adts: ADTSFrame.headerBytes
            }
        }

        /// The longest frame there can be.
        package var maxLength: Int {
            switch self {
            case .mpeg: MP3Frame.maxLength
            case .adts: ADTSFrame.maxLength
            }
        }

        /// The frame whose header starts at `index`: its length, and the bits that stay the same within one
        /// stream. `nil` when no valid header starts there (or its bytes are not all in `bytes`).
        package func frame(in bytes: ArraySlice<UInt8>, at index: Int) -> (length: Int, key: UInt32)? {
            guard index + headerBytes <= bytes.endIndex, bytes[index] == 0xFF else { return nil }
            switch self {
            case .mpeg:
                let b1 = bytes[index + 1], b2 = bytes[index + 2]
                let b3 = bytes[index + 3]
                guard let frame = MP3Frame(0xFF, b1, b2, b3) else { return nil }
                // Version, layer and sample rate, and whether it is mono: an encoder switches stereo and joint
                // stereo from frame to frame, but mono to stereo is another stream.
                return (frame.length, UInt32(b1 & 0x1E) << 8 | UInt32(b2 & 0x0C) | (b3 & 0xC0 == 0xC0 ? 1 : 0))
            case .adts:
                guard let frame = ADTSFrame(0xFF, bytes[index + 1], bytes[index + 2], bytes[index + 3], bytes[index + 4], bytes[index + 5])
                else { return nil }
                return (frame.length, frame.streamKey)
            }
        }

        /// How long the frame that starts `frame` plays, in seconds (its samples over its sample rate: 26 ms for
        /// MP3 at 44.1 kHz, 21 ms for AAC at 48 kHz), or `nil` when no valid header starts it.
        package func seconds(of frame: ArraySlice<UInt8>) -> Double? {
            let start = frame.startIndex
            guard frame.count >= max(headerBytes, 7) else { return nil }
            switch self {
            case .mpeg:
                guard let header = MP3Frame(frame[start], frame[start + 1], frame[start + 2], frame[start + 3]) else { return nil }
                return Double(header.samplesPerFrame) / Double(header.sampleRate)
            case .adts:
                guard let header = ADTSFrame(frame[start], frame[start + 1], frame[start + 2], frame[start + 3], frame[start + 4],
                                             frame[start + 5]) else { return nil }
                return Double(ADTSFrame.samples(seventh: frame[start + 6])) / Double(header.sampleRate)
            }
        }
    }

    /// What the chain hands on, in stream order.
    package enum Output {
        /// One whole frame, linked to the one before.
        case frame(ArraySlice<UInt8>)
        /// Audio passed on unchecked: the stream's type is not followed, or it held no chain.
        case audio(ArraySlice<UInt8>)
        /// The chain broke and is found again: `dropped` bytes between the two were left out.
        case resynced(dropped: Int)
        /// No chain was found (in the first `after` bytes of a stream, or for `after` bytes after a break):
        /// the rest of this stream is passed on unchecked. At the start, `lookedLike` names what the stream seems
        /// to be, when its first bytes say (``AudioSignature``).
        case gaveUp(after: Int, lookedLike: String?)
        /// No chain was found in the first `after` bytes of a stream, which begin as text does (a web page, JSON:
        /// ``AudioSignature/isText(_:)``): nothing of this stream is passed on, neither the bytes held nor those that
        /// follow, until ``restart(format:)`` (``holdsText``).
        case text(after: Int)
        /// A chain that ``identifies`` its format found none of its own at the start of the stream, but frames
        /// of the other format — or one that ``followsOtherFormat`` found them after a break, its own not back
        /// within ``otherFormatAfter`` bytes: it follows those from here (``format`` changed; ``shape`` is the new
        /// frames' once the first is passed on).
        case reformatted(Format)
        /// The frames go on in another sample rate or channel count than those before (an encoder restarted
        /// within one connection, an upstream's own fallback): told before the first frame of the new shape, and
        /// after ``resynced(dropped:)`` if bytes that were no frames came between. ``shape`` is `to` from here.
        case reshaped(from: AudioShape, to: AudioShape)
    }

    private enum Mode {
        /// Looking for two linked headers; `fresh` at the start of a stream.
        case searching(fresh: Bool)
        /// Following frames whose headers carry `key`.
        case locked(key: UInt32)
        /// Dropping the `remaining` bytes of an ID3v2 tag, then searching again (`fresh` as before the tag).
        case skippingTag(remaining: Int, fresh: Bool)
        /// Passing bytes on as they are.
        case unchecked
        /// Dropping every byte: the stream is text, not audio (``Output/text(after:)``).
        case text
    }

    /// The format followed, or `nil` for a stream passed on unchecked.
    package private(set) var format: Format?
    /// The sample rate and channels of the frames followed, once one was (``Output/reshaped(from:to:)``).
    package private(set) var shape: AudioShape?
    private var mode: Mode
    /// How many bytes of an ID3v2 tag are still to come, when the chain is inside one (its header said how long
    /// it is): a source whose tag says 1 MiB sends no frame until the mebibyte is through.
    package var tagBytesLeft: Int? {
        if case .skippingTag(let remaining, _) = mode { remaining } else { nil }
    }
    /// Bytes of the stream not yet passed on or dropped: a frame that straddles two reads, or the start of a
    /// stream while its first frame is looked for.
    private var held: [UInt8] = []
    /// Bytes dropped in the current search.
    private var dropped = 0
    /// Whether the chain has followed frames since the stream started: a give-up after that is garbage in a
    /// stream of frames, not a stream without any.
    package private(set) var hasFollowedFrames = false
    /// Whether a frame was passed on since the chain was made, in any stream: the streams after it are joins.
    private var passedFrames = false
    /// While the first frames after a join pass, in a format whose frames reach back across it: which of them must
    /// be muted (``ReservoirJoin``). `nil` once one is decodable.
    private var join: ReservoirJoin?
    /// Whether the chain is in the first frames after a join, which it mutes until one is decodable.
    package var isJoining: Bool { join != nil }
    /// Whether a stream whose start holds no frames of ``format`` is checked for frames of the other format
    /// (ADTS sent as `audio/mpeg`, which an encoder's default label makes common), and followed as such.
    package var identifies = false
    /// Whether each frame waits for the header after it (or a tag's) before it is passed on, and is dropped with the
    /// rest of the break when none starts where its length says: bytes lost inside it (an SRT uplink past its
    /// latency, a cut read) would reach decoders as a frame spliced with the next one's start. A source's chain
    /// does (its last frame goes on when the caller says the stream ends: ``feed(_:ending:_:)``); a relay's passes
    /// a frame as soon as its bytes are in, and finds a break at the next header.
    package var waitsForNextHeader = false
    /// Set while the bytes fed are the stream's last (``feed(_:ending:_:)``).
    private var ending = false
    /// Whether a stream whose frames break and go on in the other format (an Icecast mount moving its listeners to
    /// its fallback mount of another codec, on the same connection) is followed in that format
    /// (``Output/reformatted(_:)``), rather than searched for its own frames until the chain gives up — and the
    /// other codec passed on unchecked, under a type that is no longer its own.
    package var followsOtherFormat = false
    /// After a break, the bytes dropped without a frame of the chain's own format before frames of the other format
    /// are looked for too (``followsOtherFormat``): a glitch ends with the stream's own frames long before, and
    /// random bytes that pass for the other format's are not taken for a change of codec within it.
    package static let otherFormatAfter = 4096
    /// After a break, the bytes dropped before the chain gives up and passes the stream on unchecked.
    package static let giveUpBytes = 64 * 1024
    /// The longest ID3v2 tag skipped (cover art of a few megabytes fits); a longer one is taken for garbage.
    package static let maxTagBytes = 16 * 1024 * 1024

    /// A chain that follows `format`, or passes everything on when it is `nil`.
    package init(format: Format?) {
        self.format = format
        self.mode = format == nil ? .unchecked : .searching(fresh: true)
        held.reserveCapacity(holdLimit)
    }

    /// The most bytes held: enough to find and check a header after a frame's worth of junk at the start.
    private var holdLimit: Int {
        guard let format else { return 0 }
        return 2 * (format.maxLength + format.headerBytes)
    }

    /// Whether everything passed on so far ends at a frame boundary: the format is followed and the chain has
    /// not given up.
    package var isAligned: Bool {
        if case .unchecked = mode { return false }
        return true
    }

    /// Whether the stream since the chain was made or restarted is text, not audio: found so (``Output/text(after:)``),
    /// or its start, held while its first frames are looked for, begins as text does (``AudioSignature/isText(_:)``) —
    /// a short web page that ended before the chain gave up on it.
    package var holdsText: Bool {
        switch mode {
        case .text: true
        case .searching(fresh: true): AudioSignature.isText(held[...])
        default: false
        }
    }

    /// Starts a new stream (the upstream was replaced): whatever is held of the old one — its last, unfinished
    /// frame — is dropped, and the new stream is passed on from its first frame. If frames were passed on before,
    /// the new stream is joined to them: its first frames are muted until one is decodable (``isJoining``), unless
    /// ``continuesExactly()`` is called before they come. Returns the bytes dropped.
    @discardableResult
    package mutating func restart(format: Format?) -> Int {
        let count = held.count
        held.removeAll(keepingCapacity: true)
        dropped = 0
        hasFollowedFrames = false
        shape = nil
        self.format = format
        mode = format == nil ? .unchecked : .searching(fresh: true)
        joined()
        if held.capacity < holdLimit { held.reserveCapacity(holdLimit) }
        return count
    }

    /// The frames from here follow a join — a new stream, a break in the chain (bytes dropped, another shape or
    /// codec; not a tag alone, which leaves the frames around it whole) — after frames passed on: they may take their
    /// audio from bytes before it, which a decoder that heard those frames has of something else, or lacks
    /// (``ReservoirJoin``).
    private mutating func joined() {
        join = passedFrames && format?.reachesBack == true ? ReservoirJoin() : nil
    }

    /// The stream after ``restart(format:)`` goes on exactly where the one before ended, byte for byte (a relay's
    /// new link whose start held the bytes it relayed last: ``LinkJoin``): its first frames are decodable as they
    /// are, and are not muted.
    package mutating func continuesExactly() {
        join = nil
    }

    /// Takes the next bytes of the stream, calling `output` with what can be passed on, in order; `ending`: they are
    /// its last (none, if the stream simply ended), so a frame waiting for the header after it
    /// (``waitsForNextHeader``) and whole goes on.
    package mutating func feed(_ bytes: ArraySlice<UInt8>, ending: Bool = false, _ output: (Output) -> Void) {
        self.ending = ending
        defer { self.ending = false }
        if ending, bytes.isEmpty, !held.isEmpty {
            // Nothing more comes: what is held is looked at as it is.
            var buffer: [UInt8] = []
            swap(&buffer, &held)
            let stopped = scan(buffer[...], output)
            buffer.removeSubrange(..<stopped)
            swap(&buffer, &held)
            return
        }
        var rest = bytes
        // First finish what is held, topped up from the new bytes.
        while !held.isEmpty, !rest.isEmpty {
            var buffer: [UInt8] = []
            swap(&buffer, &held)
            let before = buffer.count
            let take = min(rest.count, max(holdLimit - before, format?.headerBytes ?? 1))
            buffer.append(contentsOf: rest.prefix(take))
            let stopped = scan(buffer[...], output)
            if stopped >= before {
                // Done with the held bytes: go on in the new bytes themselves, without copying them.
                rest = rest.dropFirst(stopped - before)
                buffer.removeAll(keepingCapacity: true)
                swap(&buffer, &held)
                break
            }
            rest = rest.dropFirst(take)
            buffer.removeSubrange(..<stopped)
            swap(&buffer, &held)
        }
        guard held.isEmpty, !rest.isEmpty else { return }
        let stopped = scan(rest, output)
        held.append(contentsOf: rest[stopped...])
    }

    /// Passes on what it can of `bytes`; returns where it stopped for want of more bytes.
    private mutating func scan(_ bytes: ArraySlice<UInt8>, _ output: (Output) -> Void) -> Int {
        guard let format else {
            if !bytes.isEmpty { output(.audio(bytes)) }
            return bytes.endIndex
        }
        let end = bytes.endIndex
        var index = bytes.startIndex
        while true {
            switch mode {
            case .unchecked:
                if index < end { output(.audio(bytes[index..<end])) }
                return end

            case .text:
                return end

            case .locked(let key):
                guard index + format.headerBytes <= end else { return index }
                guard let frame = format.frame(in: bytes, at: index), frame.key == key else {
                    mode = .searching(fresh: false)
                    continue
                }
                let next = index + frame.length
                guard next <= end else { return index }
                if waitsForNextHeader {
                    // A frame whose length leads to no header (nor a tag) lost bytes inside it: dropped with the break.
                    guard next + format.headerBytes <= end || (ending && next == end) else { return index }
                    if next < end, format.frame(in: bytes, at: next) == nil, !ID3v2Header.starts(bytes, at: next),
                       !(followsOtherFormat && format.other.frame(in: bytes, at: next) != nil) {
                        mode = .searching(fresh: false)
                        continue
                    }
                }
                // An encoder's Xing/Info frame, which a source streaming files as they are sends at each file's
                // start: no audio, and it would tell a player joining there that the stream ends with that file.
                // Its side information is zeros: a frame whose first byte of it is not (main_data_begin, which LAME's
                // audio frames almost always set) is looked at no further.
                if format == .mpeg, bytes[index + MP3Frame.headerBytes] == 0, let header = MP3Frame(bytes[index..<next].prefix(4)),
                   header.isInfo(bytes[index..<next]) {
                    index = next
                    continue
                }
                if shape == nil { shape = AudioShape(frame: bytes[index..<next], format: format) }
                passedFrames = true
                if join != nil, let muted = join!.muted(bytes[index..<next]) {
                    // Its audio begins before the join, in bytes the decoder has of another stream: silence instead.
                    output(.frame(muted[...]))
                    index = next
                    continue
                }
                join = nil
                output(.frame(bytes[index..<next]))
                index = next

            case .skippingTag(let remaining, let fresh):
                let count = min(remaining, end - index)
                index += count
                guard count == remaining else {
                    mode = .skippingTag(remaining: remaining - count, fresh: fresh)
                    return index
                }
                mode = .searching(fresh: fresh)
            case .searching(let fresh):
                // At the start of a stream, only the first `holdLimit` bytes are searched, however they came.
                let limit = fresh ? min(end, index + holdLimit) : end
                var candidate = index
                var found: UInt32?
                var tag: Int?
                var other: UInt32?
                while candidate < limit {
                    if let length = ID3v2Header.tagLength(bytes[..<limit], at: candidate), length <= Self.maxTagBytes {
                        tag = length
                        break
                    }
                    // A tag's header cut short, or a frame's: cannot tell yet, wait for more bytes here.
                    if ID3v2Header.mayBegin(bytes[..<limit], at: candidate) || candidate + format.headerBytes > limit { break }
                    if let frame = format.frame(in: bytes, at: candidate) {
                        let next = candidate + frame.length
                        if next + format.headerBytes > limit { break }  // cannot tell yet: wait for more bytes here
                        if let following = format.frame(in: bytes, at: next), following.key == frame.key {
                            found = frame.key
                            break
                        }
                    }
                    if !fresh, followsOtherFormat, dropped + candidate - index >= Self.otherFormatAfter,
                       let key = format.other.linkedFrames(in: bytes[..<limit], at: candidate) {
                        other = key
                        break
                    }
                    candidate += 1
                }
                if let tag {
                    // Bytes before the tag were not frames (an incident, unless at the start); the tag is no incident.
                    if !fresh { dropped += candidate - index }
                    index = candidate
                    mode = .skippingTag(remaining: tag, fresh: fresh)
                    continue
                }
                if fresh {
                    // The start of a stream: hold on to everything until the chain is found, in case there is none.
                    if let found {
                        index = candidate
                        mode = .locked(key: found)
                        hasFollowedFrames = true
                        continue
                    }
                    if end - index >= holdLimit {
                        if identifies, format.other.holdsChain(in: bytes[index..<end]) {
                            let other = format.other
                            self.format = other
                            identifies = false
                            output(.reformatted(other))
                            return scan(bytes[index...], output)
                        }
                        // The bytes searched, however many came. Text is dropped, it and all that follows: passed on,
                        // it would reach players as noise under an audio type.
                        if AudioSignature.isText(bytes[index..<end]) {
                            output(.text(after: holdLimit))
                            mode = .text
                            return end
                        }
                        output(.gaveUp(after: holdLimit, lookedLike: AudioSignature.name(of: bytes[index..<end])))
                        mode = .unchecked
                        continue
                    }
                    return index
                }
                dropped += candidate - index
                index = candidate
                if let other {
                    // Another codec from here on the same link: followed, its frames checked as the old ones were.
                    self.format = format.other
                    (dropped, shape) = (0, nil)
                    joined()
                    mode = .locked(key: other)
                    output(.reformatted(format.other))
                    return scan(bytes[index...], output)
                }
                // A run this long is no glitch, whether the chain comes back in the same read or never: checked
                // before a frame found is taken, so that the limit holds however the reads cut the bytes.
                if dropped >= Self.giveUpBytes {
                    output(.gaveUp(after: dropped, lookedLike: nil))
                    dropped = 0
                    mode = .unchecked
                    continue
                }
                if let found {
                    if dropped > 0 {
                        output(.resynced(dropped: dropped))
                        joined()  // the bytes dropped may have held audio of the frames after them
                    }
                    dropped = 0
                    mode = .locked(key: found)
                    if let before = shape, let after = AudioShape(frame: bytes[index...], format: format), after != before {
                        shape = after
                        output(.reshaped(from: before, to: after))
                        joined()
                    }
                    continue
                }
                return index
            }
        }
    }
}
