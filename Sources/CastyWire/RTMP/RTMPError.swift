/// What can go wrong while a peer speaks RTMP to Casty. Every case ends the connection with one log line; none
/// of them crashes or grows memory, whatever the peer sends.
package enum RTMPError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The first byte of the handshake (C0) asks for a protocol version other than 3 (plain RTMP).
    case unsupportedVersion(UInt8)
    /// The handshake is an HTTP request line (`GET / HTTP/1.1`, its method given): a player or a browser at the
    /// RTMP port.
    case httpRequest(method: String)
    /// The handshake is a TLS one (`rtmps://`, which Casty does not take).
    case tlsHandshake
    /// A chunk continues a chunk stream that never had a full header (a type 1, 2 or 3 chunk came first).
    case noPreviousHeader(chunkStream: Int)
    /// A new message started on a chunk stream whose previous message was not finished.
    case interruptedMessage(chunkStream: Int)
    /// More chunk streams are in use at once than the limit.
    case tooManyChunkStreams(limit: Int)
    /// A message is longer than Casty keeps for its type.
    case messageTooLarge(length: Int, limit: Int)
    /// The messages being assembled hold more bytes, together, than the limit.
    case tooMuchBuffered(limit: Int)
    /// `Set Chunk Size` asked for 0, a size with the top bit set, or more than the limit.
    case badChunkSize(Int)
    /// A protocol control message is shorter than its fixed size.
    case shortControlMessage(type: UInt8, length: Int)
    /// An AMF0 value could not be read: what was wrong and at which byte of the message.
    case malformedAMF(String, at: Int)
    /// A command arrived in a state where it makes no sense (a `publish` before `connect`).
    case unexpectedCommand(String)
    /// The audio is in a format Casty cannot relay (FLV sound format number).
    case unsupportedSoundFormat(Int)
    /// The AAC sequence header (AudioSpecificConfig) cannot be read: cut short, or a reserved value.
    case badAudioSpecificConfig(String)
    /// The AAC sequence header describes AAC that ADTS cannot carry (`what`: `audio object type 0`), so Casty cannot
    /// serve it: audio in a format it does not serve, as ``unsupportedSoundFormat(_:)``.
    case unsupportedAAC(String)

    /// Whether the peer is well-formed, but its audio is in a format Casty does not serve (a refusal, `415`, not a
    /// malformed peer).
    package var isUnsupportedAudio: Bool {
        switch self {
        case .unsupportedSoundFormat, .unsupportedAAC: true
        default: false
        }
    }

    /// One phrase for a log line.
    package var description: String {
        switch self {
        case .unsupportedVersion(let version): "handshake asked for RTMP version \(version), not 3"
        case .httpRequest(let method):
            "it looks like an HTTP request (\(method)), not an RTMP handshake: players and HTTP sources go to the HTTP port"
        case .tlsHandshake: "it looks like a TLS handshake (rtmps://), not an RTMP one: Casty takes plain rtmp://"
        case .noPreviousHeader(let id): "chunk stream \(id) continued without a first header"
        case .interruptedMessage(let id): "chunk stream \(id) started a message before finishing the last one"
        case .tooManyChunkStreams(let limit): "more than \(limit) chunk streams in use"
        case .messageTooLarge(let length, let limit): "a message of \(length) bytes (at most \(limit) taken)"
        case .tooMuchBuffered(let limit): "more than \(limit) bytes of unfinished messages"
        case .badChunkSize(let size): "Set Chunk Size \(size) refused"
        case .shortControlMessage(let type, let length): "control message of type \(type) has only \(length) bytes"
        case .malformedAMF(let what, let at): "malformed AMF0 at byte \(at): \(what)"
        case .unexpectedCommand(let name): "command \(name) out of order"
        case .unsupportedSoundFormat(let format):
            "its audio is \(FLVAudio.soundFormatName(format)) (FLV sound format \(format)): publish MP3 or AAC"
        case .badAudioSpecificConfig(let what): "AAC AudioSpecificConfig: \(what)"
        case .unsupportedAAC(let what):
            "its audio is AAC that ADTS cannot carry (\(what)): publish AAC LC or HE-AAC at a standard sample rate, or MP3"
        }
    }
}
