// Chapter 3 — Client and proxy. Fill in the three methods marked EXERCISE; README.md explains.
// Run the checks with:  swift test --filter Chapter03Checks
//
// You use Casty's real parser here: `Icy.reply(_:segmentBytes:)`, its `data` continuation, `StreamParser`,
// `Metadata`, `sendReply` and `sendData`. Two types are called `Segment`: `Icy.Segment` is what the parser
// reads (audio chunks + metadata bytes), `Kit.Segment` is what nodes pass around (audio + title).

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
    // EXERCISE: what must survive between two reads? (the reply's continuation, then a StreamParser, the
    // next number)

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
        // EXERCISE
        throw ExerciseError.notImplemented("ProxyCore.receive(_:)", in: "Chapter 3, Starter/Cores.swift")
    }
}

/// The client's byte work: what its player gets on the wire.
public struct ClientCore: Sendable {
    /// The player's request.
    public let request: Request
    /// Gaps noticed in the numbering.
    public private(set) var gaps = 0
    // EXERCISE: what must survive from the reply to the segments? (the number expected next, the title to state
    // in the first metadata block)

    /// A core for a player that sent `request`.
    public init(request: Request) {
        self.request = request
    }

    /// The reply's bytes: `ICY 200 OK`, `icy-name`, `icy-br`, `Content-Type: audio/mpeg`, and — only when the
    /// player asked with `Icy-MetaData: 1` — `icy-metaint` with the context's segment size. Remembers `next`
    /// as the first number expected, and the context's title for the first metadata block.
    public mutating func replyBytes(next: Int, context: Context) -> [UInt8] {
        // EXERCISE: sendReply(headers, status: .icyOK) { bytes += $0 }
        return []
    }

    /// A segment's bytes: for a player that asked for titles, the audio and a metadata block
    /// (`StreamTitle='…';` when the segment has a title, the single byte 0 when not); for the others, the
    /// audio alone. The first block states the title playing when the player joined (the reply's context),
    /// unless the segment brings a newer one: a station sends a title only when it changes, so a player that
    /// joined after it would hear none until the next change. A number other than the one expected counts as a gap.
    public mutating func dataBytes(_ number: Int, _ segment: Kit.Segment) throws -> [UInt8] {
        // EXERCISE: sendData(Icy.Segment(audio:metadata:), metadata: request.wantsMetadata) { bytes += $0 }
        throw ExerciseError.notImplemented("ClientCore.dataBytes(_:_:)", in: "Chapter 3, Starter/Cores.swift")
    }
}
