/// Where a node lives. In the exercises it is just a name (`"root"`, `"branch-3"`); across machines it would be
/// `host:port/mount`, the URL a redirect names.
public typealias Address = String

/// What every listener is told about the stream it joins: the station, how the stream is cut, and the title
/// playing as it joins.
public struct Context: Sendable, Equatable {
    /// The station's name (`icy-name`).
    public var name: String
    /// Audio bytes per segment: the `icy-metaint` every listener of the relay sees.
    public var segmentBytes: Int
    /// The bitrate in kbit/s (`icy-br`).
    public var bitrate: Int
    /// The title playing, once a segment has set one. A segment carries a title only where it changes, so a
    /// listener that joins later learns the title from here: its first metadata block states it.
    public var title: String?

    /// Makes a context.
    public init(name: String, segmentBytes: Int = 8192, bitrate: Int = 128, title: String? = nil) {
        self.name = name
        self.segmentBytes = segmentBytes
        self.bitrate = bitrate
        self.title = title
    }

    /// How long one segment plays: `segmentBytes × 8 / bitrate` milliseconds (8192 bytes at 128 kbit/s = 512 ms).
    /// Every deadline in Casty derives from this number, never from a constant.
    public var segmentDuration: Duration {
        .milliseconds(segmentBytes * 8 / max(1, bitrate))
    }
}

/// One numbered piece of the stream's audio, with the title if it changed there.
public struct Segment: Sendable, Equatable {
    /// The audio bytes.
    public var audio: [UInt8]
    /// The new title, when this segment is where it changed; `nil` otherwise.
    public var title: String?

    /// Makes a segment.
    public init(audio: [UInt8], title: String? = nil) {
        self.audio = audio
        self.title = title
    }
}

/// The four messages every Casty node speaks.
///
/// ```
/// listener ──request(resume:)──────▶ source     "send me the stream (from segment N, if I say so)"
/// listener ◀─reply(next: N, context)─ source     "the next segment you get is N; this is the station"
/// listener ◀─redirect(to: address)─── source     "I am full: ask there"
/// listener ◀─data(N, segment)──────── source     "segment N", then N+1, N+2, …
/// ```
public enum Message: Sendable, Equatable {
    /// Ask to be sent the stream; `resume` is the first segment number wanted, or `nil` for "from now on".
    case request(resume: Int?)
    /// The answer to a request: the number of the next segment the requester gets, and the station.
    case reply(next: Int, context: Context)
    /// The answer to a request that cannot be served here: ask that node instead.
    case redirect(to: Address)
    /// Segment number `N`.
    case data(Int, Segment)
}

/// A message with the addresses of its sender and receiver: what travels on the in-memory ``Network``.
public struct Envelope: Sendable, Equatable, CustomStringConvertible {
    /// Who sent it.
    public var from: Address
    /// Who gets it.
    public var to: Address
    /// What it says.
    public var message: Message

    /// Makes an envelope.
    public init(from: Address, to: Address, _ message: Message) {
        self.from = from
        self.to = to
        self.message = message
    }

    /// `from → to: message`, short, for failure messages.
    public var description: String {
        let text: String
        switch message {
        case .request(let resume): text = "request(resume: \(resume.map(String.init) ?? "nil"))"
        case .reply(let next, _): text = "reply(next: \(next))"
        case .redirect(let to): text = "redirect(to: \(to))"
        case .data(let number, _): text = "data(\(number))"
        }
        return "\(from) → \(to): \(text)"
    }
}

/// Thrown (or returned) by a hole that has not been filled in yet.
public enum ExerciseError: Error, Equatable, Sendable, CustomStringConvertible {
    /// "Write this part", naming the hole and where it is:
    /// `notImplemented("ProxyCore.receive(_:)", in: "Chapter 3, Starter/Cores.swift")`, so that a check that fails
    /// on it says which one is still empty, and in which file.
    case notImplemented(String, in: String)

    /// One line that names the hole, says to write it and where.
    public var description: String {
        switch self {
        case .notImplemented(let hole, let file): "\(hole) is still empty: write it (\(file))"
        }
    }
}
