internal import CastyNet
public import Icy

/// What every listener of a stream is told about it, wherever it sits in the tree: the station's headers and
/// how the stream is cut.
public struct Context: Sendable, Equatable {
    /// The station's own headers, passed on to every listener: `icy-name`, `icy-genre`, `icy-br`, `icy-url`,
    /// `icy-description`, `icy-pub` and `Content-Type`.
    public var station: Headers
    /// The audio bytes in one segment: the `icy-metaint` every listener of this relay sees.
    public var segmentBytes: Int
    /// The stream's bitrate in kbit/s, from `icy-br` or the MP3 frame headers.
    public var bitrate: Int
    /// What is playing when the reply is sent.
    public var title: Metadata?
    /// The tree nodes the stream passed through from the root, as `host:port` (`X-Casty-Path`): a branch
    /// never takes one of these as its own branch, which would make a loop.
    public var path: [String]
    /// Which stream the segment numbers belong to: a random number drawn when a source starts numbering from
    /// scratch (a root that restarts numbers from 0 again, under a new stream), `0` while not named yet.
    ///
    /// A number means something only within its stream. A receiver told of another stream than the one it
    /// had restarts its numbering at the reply's `next`, counts the break as one gap, and keeps its
    /// listeners; a resume (`X-Casty-Resume`) asked within another stream is not honoured. On tree links it
    /// travels in the reply head as `X-Casty-Stream` (16 hex digits), and a re-attaching branch sends its own.
    public var stream: UInt64
    /// The HLS target duration of the tree's root, in seconds, when it publishes HLS: every node cuts its HLS
    /// segments at the same places only with the same target, so a branch takes its root's (told on tree links
    /// as `X-Casty-HLS-Target`) instead of its own `--hls-target`. `nil` outside a tree.
    public var hlsTarget: Int?
    /// The HLS media sequence number of this stream's segment 0 on the tree's root (its first segment, when the
    /// stream's numbers start at 0): a node numbers segment `g` of the stream `hlsBase + g`, so the same audio
    /// has the same `EXT-X-MEDIA-SEQUENCE` on every node, even on one that joined after the root's source
    /// restarted. Told on tree links as `X-Casty-HLS-Base`; `nil` outside a tree, or from a root without HLS.
    public var hlsBase: Int?
    /// The HLS discontinuity sequence number of this stream's segments on the tree's root (`0` for its first
    /// stream, one more for each later one): a branch that joined after the root's source restarted, and never
    /// saw the `EXT-X-DISCONTINUITY`, gives the same segments the same number. Told on tree links as
    /// `X-Casty-HLS-Discontinuity`, with ``hlsBase``.
    public var hlsDiscontinuityBase: Int?
    /// The lowest HLS media sequence number a segment of this stream may have on the tree's root: the one after
    /// the last segment of the stream before. The root foresees which segment of a stream that takes over (a
    /// fallback that has played a while) is its first whole one when it tells ``hlsBase``; a group before it is
    /// published nowhere, as its number is another segment's. Told on tree links as `X-Casty-HLS-First`, with
    /// ``hlsBase``; `nil` for the first stream.
    public var hlsFirst: Int?
    /// The sample clock of the stream at the first frame of the first segment a listener gets, from a node whose
    /// count is exact (``HLSSampleCount``): a branch's segments then carry its root's ID3 timestamps. Told to a
    /// numbered peer as `X-Casty-HLS-Clock`, after `X-Casty-Next` — it belongs to one reply, so it is never part of
    /// a head shared by listeners (``ReplyHeads``). `nil` from a node whose count is not exact.
    public var hlsClock: HLSClock?
    /// Whether the tree's root plays this one stream at every path (a root of one stream: `--source`, `--station`
    /// alone), so that a branch asked for `/listen` and `/stream.mp3` relays both on the link it has, instead of
    /// opening a link of its own for each path. Told on tree links as `X-Casty-Every-Path: 1`.
    public var everyPath = false
    /// The mount this stream is on the tree's root (`/live`), told on tree links as `X-Casty-Mount`: a branch that
    /// relays the root path of a root of one mount (whose `/` plays it) serves players asking for `/live` from that
    /// same link, rather than opening a second one to the same stream.
    public var mount: String?
    /// Whether the mount plays its fallback's stream on the tree's root (its own source away), told on tree links as
    /// `X-Casty-Fallback: 1` and passed on down the tree: a branch's `/api/mounts` says so as the root's does.
    public var fallback = false

    /// Makes a context.
    public init(
        station: Headers, segmentBytes: Int, bitrate: Int, title: Metadata? = nil, path: [String] = [], stream: UInt64 = 0
    ) {
        self.station = station
        self.segmentBytes = segmentBytes
        self.bitrate = bitrate
        self.title = title
        self.path = path
        self.stream = stream
    }

    /// The header that tells a branch its root's HLS target duration, on tree links.
    public static let hlsTargetHeader = "X-Casty-HLS-Target"

    /// The header that tells a branch the HLS sequence number of the stream's segment 0, on tree links.
    public static let hlsBaseHeader = "X-Casty-HLS-Base"

    /// The header that tells a branch the HLS discontinuity sequence number of the stream, on tree links.
    public static let hlsDiscontinuityHeader = "X-Casty-HLS-Discontinuity"

    /// The header that tells a branch the lowest HLS sequence number of the stream's segments (``hlsFirst``).
    public static let hlsFirstHeader = "X-Casty-HLS-First"

    /// The header that tells a numbered peer the sample clock at its first frame (``hlsClock``).
    public static let hlsClockHeader = "X-Casty-HLS-Clock"

    /// The header that tells a branch its root plays one stream at every path (``everyPath``), on tree links.
    public static let everyPathHeader = "X-Casty-Every-Path"

    /// The header that names the stream's mount on the root (``mount``), on tree links.
    public static let mountHeader = "X-Casty-Mount"

    /// The header that tells a branch the mount plays its fallback's stream (``fallback``), on tree links.
    public static let fallbackHeader = "X-Casty-Fallback"

    /// The header that names the stream on tree links, in the reply and in a re-attaching branch's request.
    public static let streamHeader = "X-Casty-Stream"
    /// The bitrate listeners are told (`icy-br`, the encoder's setting), in kbit/s: the station's header, else
    /// ``bitrate``.
    public var advertisedBitrate: Int {
        station["icy-br"].flatMap { Int($0.split(separator: ",").first ?? "") } ?? bitrate
    }

    /// The header that tells a numbered peer ``bitrate``, the one every node counts with, where `icy-br` tells
    /// listeners the encoder's setting (``NominalBitrate``: 96 for an AAC stream measured at 99).
    public static let bitrateHeader = "X-Casty-Bitrate"

    /// A new stream's name: random, never `0`.
    public static func newStream() -> UInt64 {
        UInt64.random(in: 1...UInt64.max)
    }

    /// A stream's name as sent: 16 lowercase hex digits.
    public static func streamText(_ stream: UInt64) -> String {
        let digits = String(stream, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }

    /// Reads a stream's name (``streamText(_:)``); `nil` unless it is 1 to 16 hex digits and not zero.
    public static func stream(parsing text: String) -> UInt64? {
        guard (1...16).contains(text.utf8.count), let value = UInt64(text, radix: 16), value != 0 else { return nil }
        return value
    }

    /// How long one segment lasts when played: `segmentBytes × 8 / bitrate` (8192 bytes at 128 kbit/s ≈ 0.5 s),
    /// never less than a millisecond (a node divides by it). Every deadline of a node derives from this, not from
    /// a constant.
    public var segmentDuration: Duration {
        .milliseconds(max(1, segmentBytes * 8 / max(1, bitrate)))
    }

    /// The header names a relay passes on from its source to its listeners.
    public static let stationHeaderNames = [
        "Content-Type", "icy-name", "icy-genre", "icy-br", "icy-url", "icy-description", "icy-pub", "ice-audio-info",
    ]

    /// Picks the station headers out of a source's reply, in the order of ``stationHeaderNames``.
    /// Control characters in the values (NUL, ESC, DEL, …) are removed: they are passed on to every listener.
    public static func stationHeaders(from headers: Headers) -> Headers {
        Headers(stationHeaderNames.compactMap { name in
            headers[name].map { HeaderField(name: name, value: SafeText.printable($0)) }
        })
    }

    /// `station`, named `name` if it names no station (no `icy-name`): VLC takes a stream without `icy-name` for a
    /// plain file (its HTTP module, which asks for no titles) and never shows a title. A source that names none is
    /// named by its mount (``SourceSession``), a relayed station that names none by its mount or its URL (``Proxy``).
    static func named(_ station: Headers, by name: String) -> Headers {
        guard station["icy-name"] == nil else { return station }
        var named = station
        named["icy-name"] = name
        return named
    }
}
