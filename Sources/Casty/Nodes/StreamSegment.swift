internal import Glibc
public import Icy

/// One segment of the relayed stream, encoded once and shared by every listener.
///
/// The audio is copied into one contiguous buffer when the segment is cut, and its wire forms are encoded
/// right then, so delivering it to a listener is one non-blocking `send` of bytes that already exist:
///
/// | form        | bytes                                                  | for                               |
/// |-------------|--------------------------------------------------------|-----------------------------------|
/// | ``audio``    | the audio only                                         | players that did not ask for titles |
/// | ``icy``      | audio + metadata block (the title if it changed, else `0`) | players that sent `Icy-MetaData: 1` |
/// | ``numbered`` | audio + `CastySeq='N';CastyTime='ms';` (+ `CastyPath`, the title, if they changed) | tree links and dummies |
public final class StreamSegment: Sendable {
    /// The segment's number, given by whoever cut it.
    public let number: Int
    /// When it was cut, in milliseconds since 1970 (wall clock), so that any receiver can tell its lag.
    public let time: Int64
    /// The audio bytes.
    public let audio: [UInt8]
    /// What is playing during this segment.
    public let title: Metadata?
    /// Counts title changes: a listener that has seen a different version needs the current title sent.
    public let titleVersion: Int
    /// Whether this segment is where the title changed (so its ``icy`` form carries it).
    public let titleChanged: Bool
    /// Audio plus the ICY metadata block.
    public let icy: [UInt8]
    /// Audio plus the numbered metadata block used on tree links.
    public let numbered: [UInt8]
    /// The metadata block that states the current title, for a listener that has not seen it yet.
    public let titleBlock: [UInt8]
    /// The ICY form without a title even where it changed (audio + `0`): for a listener already told a newer
    /// title (a new listener's burst of older segments). The same bytes as ``icy`` where the title did not change.
    public let icyUnchanged: [UInt8]
    /// Where a player can start decoding in this segment: the offset of the first frame header that is at
    /// the very start or at least ``minimumTagBytes`` in (room for the tag that replaces the bytes before it);
    /// `nil` when unknown (a stream whose frames are not followed) or when no such frame starts here.
    public let entryOffset: Int?
    /// On a tree link: the nodes above the receiver (`host:port`, root first), sent when it changed — a
    /// branch whose ancestor moved up after a repair learns its new place this way (`CastyPath`).
    public let path: [String]?
    /// Whether it is the first segment of a new stream at its distributor (a source that returned, a fallback
    /// that took over): a player gets it as if it were starting anew — on a frame, told the title.
    public let opensStream: Bool
    /// Whether ``title`` is the stream before's, held for players while a new stream has told none of its own (a
    /// branch's grace, ``Branch/titleGraceBytes``): what the stream itself had, as its root made its HLS segments and
    /// recordings, is no title — so a branch's are the same, byte for byte.
    public let titleHeld: Bool
    /// The title as the stream itself tells it: ``title``, unless it is held from the stream before (``titleHeld``).
    public var ownTitle: Metadata? { titleHeld ? nil : title }

    /// Cuts a segment: copies nothing more than `audio` already is, and encodes its forms.
    public init(
        number: Int, time: Int64, audio: [UInt8], title: Metadata?, titleVersion: Int, titleChanged: Bool,
        path: [String]? = nil, entryOffset: Int? = nil, opensStream: Bool = false, titleHeld: Bool = false
    ) {
        self.path = path
        self.opensStream = opensStream
        self.titleHeld = titleHeld
        self.entryOffset = entryOffset.flatMap { $0 >= 0 && $0 < audio.count ? $0 : nil }
        self.number = number
        self.time = time
        self.audio = audio
        self.title = title
        self.titleVersion = titleVersion
        self.titleChanged = titleChanged
        let titleBytes = title?.bytes ?? []
        // Titles longer than a block can hold are cut at a character boundary rather than dropped.
        self.titleBlock = try! metadataBlock(Self.shortened(titleBytes, room: IcyLimits.maxMetadataBytes))
        self.icy = audio + (titleChanged ? titleBlock : [0])
        self.icyUnchanged = titleChanged ? audio + [0] : icy
        self.numbered = audio + Self.numberedBlock(
            number: number, time: time, title: titleChanged ? title : nil, path: path, entry: self.entryOffset)
    }

    /// The numbered metadata block: `CastySeq='N';CastyTime='ms';`, `CastyEntry='offset';` where a first
    /// frame is known, `CastyPath` if given, then the title's fields if given (cut off rather
    /// than dropped if they do not fit).
    private static func numberedBlock(
        number: Int, time: Int64, title: Metadata?, path: [String]?, entry: Int?, opens: Bool = false
    ) -> [UInt8] {
        var numbering = Metadata([
            Metadata.Field(key: sequenceKey, value: String(number)), Metadata.Field(key: timeKey, value: String(time)),
        ])
        if opens { numbering.fields.append(Metadata.Field(key: newStreamKey, value: "1")) }
        // 0 too: a branch that reads no entry takes it as unknown, and could not complete a cut frame before the
        // first segment of a new stream, which starts on a frame (``entering(_:completing:format:)``).
        if let entry { numbering.fields.append(Metadata.Field(key: entryKey, value: String(entry))) }
        if let path, path.joined(separator: ",").utf8.count < 1024 {
            numbering.fields.append(Metadata.Field(key: pathKey, value: path.joined(separator: ",")))
        }
        // The title gets the room the numbering leaves: a path near its 1,023 bytes leaves less than a long title
        // of a third-party station takes.
        let text = numbering.bytes + (title.map { shortened($0.bytes, room: IcyLimits.maxMetadataBytes - numbering.bytes.count) } ?? [])
        return try! metadataBlock(text)
    }

    /// The key that carries the segment number inside a metadata block on tree links.
    public static let sequenceKey = "CastySeq"
    /// The segment numbers a peer may tell (`CastySeq`, `X-Casty-Next`): 2⁴⁰ half-second segments last 17,000
    /// years, and a number past them is a mistake that would overflow once multiplied by a segment's bytes.
    public static let numberRange = 0...(1 << 40)
    /// The cut times a peer may tell (`CastyTime`, milliseconds since 1970): a number past them would overflow
    /// once subtracted from the time now.
    public static let timeRange: ClosedRange<Int64> = 0...(1 << 50)

    /// The number a peer told in `text` (``numberRange``), if it is one.
    static func number(_ text: String?) -> Int? {
        text.flatMap { Int($0) }.flatMap { numberRange.contains($0) ? $0 : nil }
    }

    /// The cut time a peer told in `text` (``timeRange``), if it is one.
    static func time(_ text: String?) -> Int64? {
        text.flatMap { Int64($0) }.flatMap { timeRange.contains($0) ? $0 : nil }
    }
    /// The key that carries the time the segment was cut.
    public static let timeKey = "CastyTime"
    /// The key that carries the path above the receiving branch, when it changed.
    public static let pathKey = "CastyPath"
    /// The key that carries ``entryOffset`` on a tree link, where it is known: a branch's players then start on a
    /// frame too, and a new stream's first segment completes the frame the last one cut.
    public static let entryKey = "CastyEntry"
    /// The key of the block that ends padding standing in for a segment that never came, on a tree link
    /// (``StreamPiece``): the receiver drops that segment.
    public static let voidKey = "CastyVoid"
    /// The numbered metadata block that says "this was no segment": `CastyVoid='1';`.
    public static let voidBlock = try! metadataBlock(Metadata([Metadata.Field(key: voidKey, value: "1")]).bytes)
    /// The key that says, in a void segment's block on a tree link, that the stream ended there (its source left):
    /// the branch publishes the HLS segment it was filling, as its root did, and tells its own branches.
    public static let endKey = "CastyEnd"
    /// The numbered metadata block that says "this was no segment, and the stream ended": `CastyVoid='1';CastyEnd='1';`.
    public static let endBlock = try! metadataBlock(
        Metadata([Metadata.Field(key: voidKey, value: "1"), Metadata.Field(key: endKey, value: "1")]).bytes)
    /// The key that says, in a void segment's block on a tree link, that the parent closes the link because its
    /// stream goes on as a new one (its source changed, a fallback began or ended): the branch asks again at once,
    /// to read the new one in the reply, and blames nobody.
    public static let newStreamKey = "CastyNew"
    /// The numbered metadata block that says "this was no segment, and a new stream follows: ask again":
    /// `CastyVoid='1';CastyNew='1';`.
    public static let newStreamBlock = try! metadataBlock(
        Metadata([Metadata.Field(key: voidKey, value: "1"), Metadata.Field(key: newStreamKey, value: "1")]).bytes)

    /// The ICY form that also states the current title (for a listener that missed the change).
    public var icyWithTitle: [UInt8] { audio + titleBlock }

    /// The metadata block that states `title` (or that there is none): for a new listener's first segment.
    public static func block(stating title: Metadata?) -> [UInt8] {
        try! metadataBlock(shortened(title?.bytes ?? [], room: IcyLimits.maxMetadataBytes))
    }

    /// The smallest ID3v2 tag that replaces bytes before a frame: its 10-byte header and 10 bytes of padding.
    /// Decoders skip a smaller one too, but mpg123 warns of it (`unrealistic small tag length`), once per stream
    /// change heard: a frame 10–19 bytes into a segment is no entry, the next one is.
    public static let minimumTagBytes = 20
    /// An ID3v2 tag's header: `ID3`, version, flags and the syncsafe size.
    static let tagHeaderBytes = 10

    /// `form` — the segment's audio, or one of its wire forms, which all begin with it — as a player's entry: for
    /// a player that starts here, or that did not get the segment before (a new stream, segments it skipped). The
    /// bytes before ``entryOffset`` — the tail of a frame that started in an earlier segment, which a decoder
    /// would have to skip as junk — are replaced by an ID3v2 tag of exactly that length, which every decoder
    /// skips silently. The length is unchanged, so the ICY framing stays exact.
    ///
    /// ```
    /// form   [ tail of a frame ][ frame ][ frame ] … [ start of a frame ][ block ]
    /// entry  [ ID3 4 0 0 size   zeros  ][ frame ][ frame ] … [ start of a frame ][ block ]
    /// ```
    ///
    /// The tag is ID3v2.4 with no frames and all padding: `ID3`, version 4.0, no flags, a syncsafe size
    /// (7 bits a byte) of `entryOffset − 10`, then that many zero bytes.
    public func entering(_ form: [UInt8]) -> [UInt8] {
        guard let offset = entryOffset, offset >= Self.minimumTagBytes, offset <= form.count else { return form }
        var bytes = Self.padding(offset)
        bytes.reserveCapacity(form.count)
        bytes += form[offset...]
        return bytes
    }

    /// `count` bytes that every decoder skips silently: an ID3v2.4 tag with no frames and all padding (`ID3`,
    /// version 4.0, no flags, the syncsafe size `count − 10`, then zeros) — or, for fewer bytes than a tag's
    /// header, zeros. Where audio must be made up (a segment's tail before its first frame, a segment that never
    /// came after its pieces), a player such as mpg123 gives up after 1 KiB of bytes that are not frames, but
    /// reads a tag of any size.
    public static func padding(_ count: Int) -> [UInt8] {
        guard count >= tagHeaderBytes else { return [UInt8](repeating: 0, count: max(0, count)) }
        let size = count - tagHeaderBytes
        var bytes: [UInt8] = [0x49, 0x44, 0x33, 4, 0, 0]
        bytes.reserveCapacity(count)
        for shift in [21, 14, 7, 0] { bytes.append(UInt8((size >> shift) & 0x7F)) }
        bytes += repeatElement(0, count: size)
        return bytes
    }

    /// The same segment, as the first of a new stream (``opensStream``).
    public func openingStream() -> StreamSegment {
        StreamSegment(number: number, time: time, audio: audio, title: title, titleVersion: titleVersion, titleChanged: titleChanged,
                      path: path, entryOffset: entryOffset, opensStream: true, titleHeld: titleHeld)
    }

    /// The numbered form of the first segment of a new stream (``opensStream``) for a numbered player — a load test's
    /// dummy, not a branch, whose link is closed to read the new stream —, with its title, saying `CastyNew='1'`:
    /// its numbering is the new stream's, so the jump to it is a break, not segments lost.
    public var numberedOpeningStream: [UInt8] {
        audio + Self.numberedBlock(number: number, time: time, title: ownTitle, path: path, entry: entryOffset, opens: true)
    }

    /// The numbered form that also states the current title (for a branch that has not seen it yet) — the stream's own
    /// (``ownTitle``): one held for players from the stream before is not handed down as the new stream's.
    public var numberedWithTitle: [UInt8] { audio + Self.numberedBlock(number: number, time: time, title: ownTitle, path: path, entry: entryOffset) }

    /// The text itself if it fits in `room` bytes, else cut at a character boundary and closed with `';`.
    private static func shortened(_ bytes: [UInt8], room: Int) -> [UInt8] {
        guard bytes.count > room else { return bytes }
        var cut = Array(bytes.prefix(room - 2))
        while let last = cut.last, last & 0xC0 == 0x80 { cut.removeLast() }
        if let last = cut.last, last >= 0xC0 { cut.removeLast() }
        return cut + Array("';".utf8)
    }
}
