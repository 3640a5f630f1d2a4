/// Cuts the messages Casty sends into chunks: the first with a full (type 0) header, the rest with a one-byte
/// type 3 header, each carrying at most ``chunkSize`` payload bytes.
package struct RTMPChunkWriter: Sendable {
    /// The chunk size the peer was told (128 until a `Set Chunk Size` is sent).
    package var chunkSize = 128

    /// A writer with the protocol's initial chunk size.
    package init() {}

    /// The chunks of `message` on chunk stream `chunkStream` (2 to 63 here: one-byte basic headers).
    package func chunks(_ message: RTMPMessage, chunkStream: Int) -> [UInt8] {
        let id = UInt8(min(max(chunkStream, 2), 63))
        let extended = message.timestamp >= 0xFFFFFF
        var bytes: [UInt8] = [id]
        AMF0Encoder.appendUInt(extended ? 0xFFFFFF : message.timestamp, count: 3, to: &bytes)
        AMF0Encoder.appendUInt(UInt32(message.payload.count), count: 3, to: &bytes)
        bytes.append(message.type)
        AMF0Encoder.appendUInt(message.streamID.byteSwapped, count: 4, to: &bytes)  // little-endian
        if extended { AMF0Encoder.appendUInt(message.timestamp, count: 4, to: &bytes) }
        var offset = 0
        repeat {
            if offset > 0 {
                bytes.append(0xC0 | id)
                if extended { AMF0Encoder.appendUInt(message.timestamp, count: 4, to: &bytes) }
            }
            let end = min(offset + chunkSize, message.payload.count)
            bytes += message.payload[offset..<end]
            offset = end
        } while offset < message.payload.count
        return bytes
    }
}
