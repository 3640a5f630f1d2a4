/// One whole RTMP message, put back together from its chunks: its type, the message stream it belongs to, its
/// timestamp and its payload.
///
/// RTMP multiplexes messages over *chunk streams*; what a message means is told by its type id:
///
/// | id | message | | id | message |
/// |---|---|---|---|---|
/// | 1 | Set Chunk Size | | 8 | audio |
/// | 2 | Abort | | 9 | video |
/// | 3 | Acknowledgement | | 15 | data (AMF3) |
/// | 4 | User Control | | 17 | command (AMF3) |
/// | 5 | Window Acknowledgement Size | | 18 | data (AMF0): `@setDataFrame`, `onMetaData` |
/// | 6 | Set Peer Bandwidth | | 20 | command (AMF0): `connect`, `publish`, … |
package struct RTMPMessage: Sendable, Equatable {
    /// The message type id (see the table above).
    package var type: UInt8
    /// The message stream: 0 for the connection's own messages, the id `createStream` gave for a stream's.
    package var streamID: UInt32
    /// Milliseconds, as the sender counts them.
    package var timestamp: UInt32
    /// The length the header announced. Equal to `payload.count`, except for messages whose payload is not kept
    /// (video), where the payload is empty.
    package var length: Int
    /// The message's bytes.
    package var payload: [UInt8]

    /// A message; `length` defaults to the payload's.
    package init(type: UInt8, streamID: UInt32 = 0, timestamp: UInt32 = 0, length: Int? = nil, payload: [UInt8]) {
        self.type = type
        self.streamID = streamID
        self.timestamp = timestamp
        self.length = length ?? payload.count
        self.payload = payload
    }

    /// `Set Chunk Size`: chunks after it carry up to this many payload bytes.
    package static let setChunkSize: UInt8 = 1
    /// `Abort`: drop the unfinished message of a chunk stream.
    package static let abort: UInt8 = 2
    /// `Acknowledgement`: the bytes received so far, sent once per window.
    package static let acknowledgement: UInt8 = 3
    /// `User Control`: stream begin, ping, …
    package static let userControl: UInt8 = 4
    /// `Window Acknowledgement Size`: how many bytes may arrive between acknowledgements.
    package static let windowAcknowledgementSize: UInt8 = 5
    /// `Set Peer Bandwidth`.
    package static let setPeerBandwidth: UInt8 = 6
    /// An FLV audio tag's body.
    package static let audio: UInt8 = 8
    /// An FLV video tag's body.
    package static let video: UInt8 = 9
    /// Data in AMF3 (a leading 0 byte, then AMF0 values in practice).
    package static let dataAMF3: UInt8 = 15
    /// A command in AMF3 (a leading 0 byte, then AMF0 values in practice).
    package static let commandAMF3: UInt8 = 17
    /// Data in AMF0: `@setDataFrame`, `onMetaData`.
    package static let dataAMF0: UInt8 = 18
    /// A command in AMF0: a name, a transaction id, then arguments.
    package static let commandAMF0: UInt8 = 20

    /// Whether the chunk reader keeps the payload of messages of `type` (video is only counted).
    package static func keepsPayload(_ type: UInt8) -> Bool { type != video }
}
