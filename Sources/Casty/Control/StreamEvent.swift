internal import CastyAudio
internal import CastyNet

/// What the platform's application is told is live: a stream became available, or closed.
public struct StreamEvent: SpooledPost, Equatable {
    /// `stream-available` or `stream-closed`.
    public enum Kind: String, Sendable, Equatable {
        case available = "stream-available"
        case closed = "stream-closed"
    }

    /// The channel: the mount without its slash.
    public var channel: String
    /// The session's unique id.
    public var streamID: String
    /// What happened.
    public var kind: Kind
    /// For `stream-available`: the kind of output (`ICY-LIVE`; later `HLS-LIVE`, `HLS-VOD`).
    public var streamType: String?
    /// For `stream-available`: where it is heard (the listen URL, or a playlist path).
    public var indexFile: String?

    /// An event.
    public init(channel: String, streamID: String, kind: Kind, streamType: String? = nil, indexFile: String? = nil) {
        self.channel = channel
        self.streamID = streamID
        self.kind = kind
        self.streamType = streamType
        self.indexFile = indexFile
    }

    /// The headers of its callback: `x-streaming-channel` (beyond ASCII `%XX`-encoded, ``URLQuery/encodeChannel(_:)``),
    /// `x-streaming-id`, `x-event-type`, and for an
    /// available stream `x-stream-type` and `x-index-file`.
    public var headers: [(String, String)] {
        var headers = [("x-streaming-channel", URLQuery.encodeChannel(channel)), ("x-streaming-id", streamID), ("x-event-type", kind.rawValue)]
        if let streamType { headers.append(("x-stream-type", streamType)) }
        if let indexFile { headers.append(("x-index-file", indexFile)) }
        return headers
    }

    /// None: the headers say everything.
    public var body: [UInt8] { [] }

    /// A session's live outputs (`ICY-LIVE`, `HLS-LIVE`) open with their `stream-available` and close with its
    /// `stream-closed`; a recording (`HLS-VOD`) opens and closes on its own.
    public var pairing: (key: String, opens: Bool)? {
        (streamID + (streamType == "HLS-VOD" ? " vod" : " live"), kind == .available)
    }

    /// Its channel: the events of one channel are delivered in the order they happened — a session's
    /// `stream-closed` before the next session's `stream-available` —, those of other channels are not held back by
    /// them (``EventQueue``).
    public var lane: String? { channel }

    /// `stream-available of live (<stream id>, ICY-LIVE)`, for log lines: with its output's type, and a recording's
    /// file (`HLS-VOD live/2026-12-07/23-41-12.m3u8`) — a session's live outputs and each of its recordings are
    /// announced under the one stream id.
    public var summary: String {
        let output = streamType.map { ", " + $0 + ($0 == "HLS-VOD" ? indexFile.map { " " + $0 } ?? "" : "") } ?? ""
        return "\(kind.rawValue) of \(channel) (\(streamID)\(output))"
    }

    /// One line of the spool file: its fields, tab-separated (tabs and line breaks in them are replaced by spaces,
    /// other control characters dropped: ``SafeText/printable(_:)``), after the CRC-32 of the rest of the line (8
    /// hex digits, then a tab): a line cut short, or edited, is told from an event Casty wrote.
    public var spoolLine: String {
        let fields = [kind.rawValue, channel, streamID, streamType ?? "", indexFile ?? ""]
            .map(SafeText.printable)
            .joined(separator: "\t")
        return Self.checksum(fields[...]) + "\t" + fields
    }

    /// The event a spool line holds, or `nil` if it is not one Casty wrote: its checksum does not match the rest
    /// of it. A line of a Casty from before the checksums (the fields alone) is read if its fields are those of
    /// an event — a stream id of 32 hex digits, a type with where it is heard (a live `stream-closed` has neither)
    /// —, which tells some lines cut short, not all.
    public init?(spoolLine line: Substring) {
        if let tab = line.firstIndex(of: "\t"), line[..<tab] == Self.checksum(line[line.index(after: tab)...]) {
            self.init(fields: line[line.index(after: tab)...])
        } else {
            self.init(fields: line)
            guard streamID.utf8.count == 32, streamID.utf8.allSatisfy({ Self.hexDigits.contains($0) }),
                  streamType == nil ? kind == .closed && indexFile == nil : indexFile != nil else { return nil }
        }
    }

    /// The event of a spool line's fields (``spoolLine`` but for its checksum), or `nil` if they are not one.
    private init?(fields line: Substring) {
        let fields = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
        guard fields.count == 5, let kind = Kind(rawValue: fields[0]), !fields[1].isEmpty, !fields[2].isEmpty else { return nil }
        self.init(channel: fields[1], streamID: fields[2], kind: kind, streamType: fields[3].isEmpty ? nil : fields[3],
                  indexFile: fields[4].isEmpty ? nil : fields[4])
    }

    private static let hexDigits = Set("0123456789abcdef".utf8)

    /// The CRC-32/MPEG-2 (the MPEG transport stream's, not zlib's) of `text`'s UTF-8 bytes, as 8 lowercase hex digits.
    private static func checksum(_ text: Substring) -> String {
        let hex = String(CRC32MPEG.checksum(text.utf8), radix: 16)
        return String(repeating: "0", count: 8 - hex.count) + hex
    }
}
