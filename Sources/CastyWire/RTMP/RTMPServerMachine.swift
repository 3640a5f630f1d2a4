/// The server's side of an RTMP connection that publishes, as a pure state machine: it takes the peer's bytes
/// and returns what to do — bytes to send, a publish request to decide, audio frames, stream metadata, the end.
/// It never touches a socket or a clock; an adapter on the event loop performs its actions (swift-nio style).
///
/// A publisher (ffmpeg, OBS) goes through these steps; Casty answers each:
///
/// ```
/// handshake            C0 C1 … C2                         S0 S1 S2
/// connect(app)         "connect", 1, {app, tcUrl, …}      Window Ack Size, Set Peer Bandwidth, Set Chunk Size,
///                                                         "_result", 1, {fmsVer, …}, {NetConnection.Connect.Success}
/// releaseStream(key)   "releaseStream", 2, null, key      "_result", 2, null, undefined
/// FCPublish(key)       "FCPublish", 3, null, key          "_result", 3, null, undefined
/// createStream         "createStream", 4, null            "_result", 4, null, 1  (the message stream id)
/// publish(key)         "publish", 5, null, key, "live"    → ``Action/publish(app:key:query:)``; then ``accept()``:
///                                                         onStatus NetStream.Publish.Start, or ``refuse(code:description:)``
/// metadata             "@setDataFrame", "onMetaData", {…} → ``Action/metadata(_:)``
/// audio / video        FLV tag bodies                     → ``Action/audio(_:_:)`` / counted
/// the end              "FCUnpublish", "deleteStream"      → ``Action/unpublish``
/// ```
///
/// Audio is passed on from `publish` on, not only once accepted: a publisher may send its first audio — an AAC
/// sequence header above all, sent once — right after `publish`, without waiting for `NetStream.Publish.Start`
/// (ffmpeg with some options, scripted clients), while the adapter is still deciding (the platform's application
/// asked about the key). The adapter holds that audio until the verdict.
package struct RTMPServerMachine: Sendable {
    /// What the adapter does next, in order.
    package enum Action: Sendable, Equatable {
        /// Write these bytes to the peer.
        case send([UInt8])
        /// The peer asks to publish `key` on application `app` (`rtmp://host/<app>/<key>`): answer with
        /// ``RTMPServerMachine/accept()`` or ``RTMPServerMachine/refuse(code:description:)``. `query`: what followed
        /// a `?` in the app and in the stream key, as sent (`a=1&b=2`, joined with `&`; empty when neither had one),
        /// which nginx-rtmp passes on as arguments (`rtmp://host/live/KEY?token=x`).
        case publish(app: String, key: String, query: String)
        /// Audio frames (MP3, or AAC in ADTS) ready to be served — or, before ``RTMPServerMachine/accept()``, to be
        /// held until the verdict on the publish request.
        case audio(FLVAudio.Format, [UInt8])
        /// The stream's metadata (`onMetaData`): its title, encoder and bitrate where given.
        case metadata(StreamInfo)
        /// The publisher said it is done (`FCUnpublish`, `deleteStream`, `closeStream`).
        case unpublish
    }

    /// What `onMetaData` tells about a stream.
    package struct StreamInfo: Sendable, Equatable {
        /// `title`, if the publisher sends one.
        package var title: String?
        /// `encoder`: the software publishing (`Lavf61.7.100`, `obs-output module (libobs version 30.0.2)`).
        package var encoder: String?
        /// `audiodatarate`, kbit/s.
        package var audioKbps: Int?

        /// Nothing known.
        package init(title: String? = nil, encoder: String? = nil, audioKbps: Int? = nil) {
            self.title = title
            self.encoder = encoder
            self.audioKbps = audioKbps
        }
    }

    /// Where the conversation is.
    private enum State: Sendable {
        case handshake(RTMPHandshake)
        /// Chunks flow; waiting for `connect`.
        case connecting
        /// Connected to `app`; waiting for `publish`.
        case connected(app: String, query: Substring)
        /// `publish` asked; waiting for the verdict. Audio is passed on, for the adapter to hold meanwhile.
        case deciding
        /// Publishing: audio is passed on.
        case publishing
        /// Refused or unpublished: nothing more is read.
        case over
    }

    /// The chunk size Casty sends with (announced with `Set Chunk Size` after `connect`).
    package static let outgoingChunkSize = 4096
    /// The acknowledgement window Casty asks for, and the peer bandwidth it announces.
    package static let window: UInt32 = 2_500_000
    /// The message stream id `createStream` hands out.
    package static let streamID: UInt32 = 1

    /// The `flashVer` the publisher's `connect` named (`FMLE/3.0 (compatible; Lavf61.7.100)`, OBS's
    /// `FMLE/3.0 (compatible; FMSc/1.0)`), its first 200 characters: who it is, before any `onMetaData`.
    package private(set) var flashVersion: String?
    private var state: State
    private var reader: RTMPChunkReader
    private var writer = RTMPChunkWriter()
    private var audio = FLVAudio()
    private let limits: RTMPLimits
    /// The peer's acknowledgement window (`Window Acknowledgement Size`), and the byte count last acknowledged.
    private var peerWindow: UInt64 = 0
    private var acknowledged: UInt64 = 0

    /// Audio messages received once `publish` was asked (while deciding, then publishing).
    package private(set) var audioMessages = 0
    /// Video messages received (never kept: Casty serves audio).
    package private(set) var videoMessages = 0
    /// `onMetaData` messages received (its title, encoder and bitrate are passed on: ``Action/metadata(_:)``).
    package private(set) var metadataMessages = 0
    /// Bytes received after the handshake.
    package var bytesReceived: UInt64 { reader.bytesReceived }
    /// Audio messages that held no frame: AAC frames before the AAC sequence header, empty messages.
    package var audioDropped: Int { audio.dropped }

    /// A machine at the start of the handshake.
    package init(handshake: RTMPHandshake = .random(), limits: RTMPLimits = RTMPLimits()) {
        self.state = .handshake(handshake)
        self.reader = RTMPChunkReader(limits: limits)
        self.limits = limits
    }

    /// Whether the handshake is over.
    package var isPastHandshake: Bool {
        if case .handshake = state { return false }
        return true
    }

    // MARK: Input

    /// Takes the next bytes from the peer.
    package mutating func receive(_ bytes: ArraySlice<UInt8>) throws(RTMPError) -> [Action] {
        var actions: [Action] = []
        var chunks = bytes
        if case .handshake(var handshake) = state {
            switch try handshake.receive(bytes) {
            case .more(let send):
                state = .handshake(handshake)
                if !send.isEmpty { actions.append(.send(send)) }
                return actions
            case .done(let send, let rest):
                state = .connecting
                if !send.isEmpty { actions.append(.send(send)) }
                chunks = rest[...]
            }
        }
        if case .over = state { return actions }
        for message in try reader.read(chunks) {
            try handle(message, into: &actions)
            if case .over = state { break }
        }
        if peerWindow > 0, reader.bytesReceived - acknowledged >= peerWindow {
            acknowledged = reader.bytesReceived
            actions.append(.send(control(RTMPMessage.acknowledgement, UInt32(truncatingIfNeeded: acknowledged))))
        }
        return actions
    }

    private mutating func handle(_ message: RTMPMessage, into actions: inout [Action]) throws(RTMPError) {
        switch message.type {
        case RTMPMessage.windowAcknowledgementSize:
            peerWindow = UInt64(try RTMPChunkReader.control(message))
        case RTMPMessage.userControl:
            // A ping request (event 6) is answered with a ping response (7) carrying the same time.
            if message.payload.count >= 6, message.payload[0] == 0, message.payload[1] == 6 {
                actions.append(.send(chunk(RTMPMessage(type: RTMPMessage.userControl, payload: [0, 7] + message.payload[2..<6]), on: 2)))
            }
        case RTMPMessage.audio:
            // From `publish` on: audio sent before the verdict (an AAC sequence header, sent once) is the adapter's to hold.
            switch state {
            case .deciding, .publishing: break
            default: return
            }
            audioMessages += 1
            if let (format, bytes) = try audio.frames(message.payload) { actions.append(.audio(format, bytes)) }
        case RTMPMessage.video:
            videoMessages += 1
        case RTMPMessage.dataAMF0, RTMPMessage.dataAMF3:
            let values = try AMF0Decoder.decodeAll(Self.amf(message), limits: limits)
            var rest = values[...]
            if rest.first?.string == "@setDataFrame" { rest = rest.dropFirst() }
            guard rest.first?.string == "onMetaData", let properties = rest.dropFirst().first else { return }
            metadataMessages += 1
            actions.append(.metadata(Self.info(properties)))
        case RTMPMessage.commandAMF0, RTMPMessage.commandAMF3:
            try command(AMF0Decoder.decodeAll(Self.amf(message), limits: limits), into: &actions)
        default:
            break  // chunk size and abort are the reader's; acknowledgements and bandwidth need nothing
        }
    }

    /// An AMF message's AMF0 bytes: AMF3 messages start with a 0 byte, then (as every encoder sends them) AMF0.
    private static func amf(_ message: RTMPMessage) -> ArraySlice<UInt8> {
        message.type == RTMPMessage.dataAMF3 || message.type == RTMPMessage.commandAMF3 ? message.payload.dropFirst() : message.payload[...]
    }

    private static func info(_ properties: AMF0Value) -> StreamInfo {
        StreamInfo(
            title: properties["title"]?.string, encoder: properties["encoder"]?.string,
            audioKbps: properties["audiodatarate"]?.number.flatMap(kbps))
    }

    /// The audio bitrate in kbit/s from `audiodatarate`, which encoders write two ways: OBS in kbit/s (`160`),
    /// ffmpeg in units of 1024 bit/s (`125` for 128 kbit/s). A value that is no usual bitrate but becomes one
    /// multiplied by 1.024 is ffmpeg's.
    static func kbps(_ datarate: Double) -> Int? {
        guard datarate >= 1, datarate <= 10_000 else { return nil }
        let usual: Set<Int> = [8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160, 192, 224, 256, 320, 384, 448, 512]
        let given = Int(datarate.rounded())
        let scaled = Int((datarate * 1.024).rounded())
        return !usual.contains(given) && usual.contains(scaled) ? scaled : given
    }

    /// `text` cut at its first `?`: what comes before, and the query after it (empty without one).
    private static func queried(_ text: String) -> (String, Substring) {
        guard let question = text.firstIndex(of: "?") else { return (text, "") }
        return (String(text[..<question]), text[text.index(after: question)...])
    }

    private mutating func command(_ values: [AMF0Value], into actions: inout [Action]) throws(RTMPError) {
        guard let name = values.first?.string else { throw .malformedAMF("a command without a name", at: 0) }
        let transaction = values.count > 1 ? values[1].number ?? 0 : 0
        let arguments = values.dropFirst(3)  // after the command object (usually null)
        switch name {
        case "connect":
            guard case .connecting = state else { throw .unexpectedCommand(name) }
            // The app and the stream key name a mount and a credential: bytes that are not UTF-8 stay escapes (``AMF0Value/name``).
            var (app, query) = Self.queried(values.count > 2 ? values[2]["app"]?.name ?? "" : "")
            while app.hasSuffix("/") { app.removeLast() }
            flashVersion = values.count > 2 ? values[2]["flashVer"]?.string.map { String($0.prefix(200)) } : nil
            state = .connected(app: app, query: query)
            actions.append(.send(control(RTMPMessage.windowAcknowledgementSize, Self.window)))
            actions.append(.send(chunk(RTMPMessage(type: RTMPMessage.setPeerBandwidth, payload: Self.bigEndian(Self.window) + [2]), on: 2)))
            actions.append(.send(control(RTMPMessage.setChunkSize, UInt32(Self.outgoingChunkSize))))
            writer.chunkSize = Self.outgoingChunkSize
            actions.append(.send(invoke([
                .string("_result"), .number(transaction),
                .object([AMF0Property("fmsVer", .string("FMS/3,0,1,123")), AMF0Property("capabilities", .number(31))]),
                .object([
                    AMF0Property("level", .string("status")), AMF0Property("code", .string("NetConnection.Connect.Success")),
                    AMF0Property("description", .string("Connection succeeded.")), AMF0Property("objectEncoding", .number(0)),
                ]),
            ])))
        case "releaseStream", "FCPublish":
            if transaction > 0 { actions.append(.send(invoke([.string("_result"), .number(transaction), .null, .undefined]))) }
        case "createStream":
            actions.append(.send(invoke([.string("_result"), .number(transaction), .null, .number(Double(Self.streamID))])))
        case "publish":
            guard case .connected(let app, let appQuery) = state else { throw .unexpectedCommand(name) }
            let (key, keyQuery) = Self.queried(arguments.first?.name ?? "")
            state = .deciding
            actions.append(.publish(app: app, key: key, query: [appQuery, keyQuery].filter { !$0.isEmpty }.joined(separator: "&")))
        case "FCUnpublish", "deleteStream", "closeStream":
            switch state {
            case .deciding, .publishing:
                state = .over
                actions.append(.unpublish)
            default:
                break
            }
        default:
            break  // other commands (getStreamLength, …) need no answer from a server that only takes publishers
        }
    }

    // MARK: Verdicts

    /// The publish request is accepted: `NetStream.Publish.Start`; audio is passed on as it was while deciding, to be
    /// served now.
    package mutating func accept() -> [Action] {
        guard case .deciding = state else { return [] }
        state = .publishing
        let begin = chunk(RTMPMessage(type: RTMPMessage.userControl, payload: [0, 0] + Self.bigEndian(Self.streamID)), on: 2)
        return [.send(begin + status(level: "status", code: "NetStream.Publish.Start", description: "Publishing."))]
    }

    /// The publish request is refused with `code` (`NetStream.Publish.BadName`, `NetStream.Publish.Unauthorized`):
    /// send the answer, then close the connection.
    package mutating func refuse(code: String, description: String) -> [Action] {
        state = .over
        return [.send(status(level: "error", code: code, description: description))]
    }

    // MARK: Output

    private func status(level: String, code: String, description: String) -> [UInt8] {
        let info: AMF0Value = .object([
            AMF0Property("level", .string(level)), AMF0Property("code", .string(code)), AMF0Property("description", .string(description)),
        ])
        let message = RTMPMessage(
            type: RTMPMessage.commandAMF0, streamID: Self.streamID, payload: AMF0Encoder.encode([.string("onStatus"), .number(0), .null, info]))
        return chunk(message, on: 5)
    }

    private func invoke(_ values: [AMF0Value]) -> [UInt8] {
        chunk(RTMPMessage(type: RTMPMessage.commandAMF0, payload: AMF0Encoder.encode(values)), on: 3)
    }

    private func control(_ type: UInt8, _ value: UInt32) -> [UInt8] {
        chunk(RTMPMessage(type: type, payload: Self.bigEndian(value)), on: 2)
    }

    private func chunk(_ message: RTMPMessage, on chunkStream: Int) -> [UInt8] {
        writer.chunks(message, chunkStream: chunkStream)
    }

    private static func bigEndian(_ value: UInt32) -> [UInt8] {
        var bytes: [UInt8] = []
        AMF0Encoder.appendUInt(value, count: 4, to: &bytes)
        return bytes
    }
}
