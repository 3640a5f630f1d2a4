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

    /// Makes a context.
    public init(station: Headers, segmentBytes: Int, bitrate: Int, title: Metadata? = nil, path: [String] = []) {
        self.station = station
        self.segmentBytes = segmentBytes
        self.bitrate = bitrate
        self.title = title
        self.path = path
    }

    /// How long one segment lasts when played: `segmentBytes × 8 / bitrate` (8192 bytes at 128 kbit/s ≈ 0.5 s).
    /// Every deadline of a node derives from this, not from a constant.
    public var segmentDuration: Duration {
        .milliseconds(segmentBytes * 8 / max(1, bitrate))
    }

    /// The header names a relay passes on from its source to its listeners.
    public static let stationHeaderNames = [
        "Content-Type", "icy-name", "icy-genre", "icy-br", "icy-url", "icy-description", "icy-pub",
    ]

    /// Picks the station headers out of a source's reply, in the order of ``stationHeaderNames``.
    /// Control characters in the values (NUL, ESC, DEL, …) are removed: they are passed on to every listener.
    public static func stationHeaders(from headers: Headers) -> Headers {
        Headers(stationHeaderNames.compactMap { name in
            headers[name].map { HeaderField(name: name, value: SafeText.printable($0)) }
        })
    }
}
