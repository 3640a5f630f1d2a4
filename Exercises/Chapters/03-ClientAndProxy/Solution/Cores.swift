// Chapter 3 — Client and proxy. A reference solution.

public import Icy
public import Kit

/// What the bytes from a station turned out to mean.
public enum ProxyEvent: Sendable, Equatable {
    /// The station sent us elsewhere (`Location:` of a 3xx).
    case redirect(String)
    /// The station's reply: what every listener will be told.
    case station(Context)
    /// Segment `N` of the stream, numbered from 0.
    case segment(Int, Kit.Segment)
}

/// The proxy's byte work: the station's reply, then its stream cut into numbered segments.
public struct ProxyCore: Sendable {
    /// The segment size for stations that send no `icy-metaint`.
    public let segmentBytes: Int
    private var replyStep: Icy.Continuation<Reply>?
    private var segments: StreamParser<Icy.Segment>?
    private var next = 0

    /// A core that cuts audio-only stations into segments of `segmentBytes`.
    public init(segmentBytes: Int = 8192) {
        self.segmentBytes = segmentBytes
    }

    /// Reads the next bytes from the station, in pieces of any size.
    ///
    /// First the reply: a redirect gives ``ProxyEvent/redirect(_:)``; a 200 gives ``ProxyEvent/station(_:)``
    /// with the name (`icy-name`, or empty), the segment size (`icy-metaint`, or ``segmentBytes``) and the
    /// bitrate (`icy-br`, or 128). Then each complete segment gives ``ProxyEvent/segment(_:_:)``, numbered
    /// 0, 1, 2, …, with its `StreamTitle` when its metadata block had one. Anything that is not a stream
    /// (a 404, garbage) throws the parser's `IcyError`.
    public mutating func receive(_ bytes: [UInt8]) throws -> [ProxyEvent] {
        if var parser = segments {
            var events: [ProxyEvent] = []
            try parser.feed(bytes) { segment in
                let title = segment.metadata.isEmpty ? nil : Metadata(parsing: segment.metadata).streamTitle
                events.append(.segment(next, Kit.Segment(audio: segment.audioBytes, title: title)))
                next += 1
            }
            segments = parser
            return events
        }
        let step = replyStep.map { $0(bytes) } ?? Icy.reply(bytes, segmentBytes: segmentBytes)
        switch step {
        case .more(let continuation):
            replyStep = continuation
            return []
        case .failed(let error):
            throw error
        case .done(.redirect(_, let location, _), _):
            return [.redirect(location)]
        case .done(.ok(_, let headers, let data), let rest):
            let context = Context(
                name: headers["icy-name"] ?? "", segmentBytes: try headers.metaint() ?? segmentBytes,
                bitrate: headers["icy-br"].flatMap { Int($0) } ?? 128)
            segments = StreamParser(data)
            return try [.station(context)] + receive(Array(rest))
        }
    }
}

/// The client's byte work: what its player gets on the wire.
public struct ClientCore: Sendable {
    /// The player's request.
    public let request: Request
    /// The number of the segment expected next.
    private var expected: Int?
    /// The title playing when the player joined (its reply's context), until its first metadata block states it.
    private var joinTitle: String?
    /// Gaps noticed in the numbering.
    public private(set) var gaps = 0

    /// A core for a player that sent `request`.
    public init(request: Request) {
        self.request = request
    }

    /// The reply's bytes: `ICY 200 OK`, `icy-name`, `icy-br`, `Content-Type: audio/mpeg`, and — only when the
    /// player asked with `Icy-MetaData: 1` — `icy-metaint` with the context's segment size. Remembers `next`
    /// as the first number expected, and the context's title for the first metadata block.
    public mutating func replyBytes(next: Int, context: Context) -> [UInt8] {
        expected = next
        joinTitle = context.title
        var headers: Headers = [
            "icy-name": context.name, "icy-br": String(context.bitrate), "Content-Type": "audio/mpeg",
        ]
        if request.wantsMetadata { headers["icy-metaint"] = String(context.segmentBytes) }
        var bytes: [UInt8] = []
        sendReply(headers, status: .icyOK) { bytes += $0 }
        return bytes
    }

    /// A segment's bytes: for a player that asked for titles, the audio and a metadata block
    /// (`StreamTitle='…';` when the segment has a title, the single byte 0 when not); for the others, the
    /// audio alone. The first block states the title playing when the player joined (the reply's context),
    /// unless the segment brings a newer one: a station sends a title only when it changes, so a player that
    /// joined after it would hear none until the next change. A number other than the one expected counts as a gap.
    public mutating func dataBytes(_ number: Int, _ segment: Kit.Segment) throws -> [UInt8] {
        if let expected, number != expected { gaps += 1 }
        expected = number + 1
        let title = segment.title ?? joinTitle
        joinTitle = nil
        let metadata = title.map { Metadata(streamTitle: $0).bytes } ?? []
        var bytes: [UInt8] = []
        try sendData(Icy.Segment(audio: segment.audio, metadata: metadata), metadata: request.wantsMetadata) { bytes += $0 }
        return bytes
    }
}
