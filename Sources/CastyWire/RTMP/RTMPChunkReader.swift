/// Puts RTMP messages back together from the chunks they travel in: the de-multiplexing half of the chunk stream
/// protocol, as a pure state machine (bytes in, whole messages out).
///
/// Every chunk starts with a *basic header* (the format `fmt` in 2 bits and the chunk stream id in 6, 14 or 22
/// bits), then a *message header* whose size depends on `fmt`, then up to *chunk size* payload bytes:
///
/// ```
/// fmt 0  11 bytes  timestamp(3) length(3) type(1) stream id(4, little-endian)   a new message, all said
/// fmt 1   7 bytes  timestamp delta(3) length(3) type(1)                          same message stream
/// fmt 2   3 bytes  timestamp delta(3)                                            same length and type too
/// fmt 3   0 bytes  — the next chunk of the message, or a new message exactly like the last one
/// ```
///
/// A timestamp (or delta) of `0xFFFFFF` means the real value follows in 4 more bytes, the *extended timestamp*;
/// type 3 chunks of such a chunk stream repeat it (as ffmpeg, librtmp and OBS send it). Messages of different
/// chunk streams interleave chunk by chunk, so each chunk stream keeps its own state. `Set Chunk Size` (type 1)
/// takes effect at the next chunk; `Abort` (type 2) drops a chunk stream's unfinished message.
///
/// Bounded: payload bytes are consumed as they arrive (at most one header, 18 bytes, is held between reads),
/// kept messages are limited in size and together, video payloads are not kept at all, and the number of chunk
/// streams is limited (``RTMPLimits``).
package struct RTMPChunkReader: Sendable {
    /// What one chunk stream remembers between its chunks.
    private struct ChunkStream: Sendable {
        var timestamp: UInt32 = 0
        var delta: UInt32 = 0
        var length = 0
        var type: UInt8 = 0
        var streamID: UInt32 = 0
        /// Whether the last full header used an extended timestamp (type 3 chunks then carry one too).
        var extended = false
        /// The payload kept so far of the message being assembled.
        var payload: [UInt8] = []
        /// Payload bytes received so far of that message, kept or not.
        var received = 0
        /// Whether a message is half received.
        var inProgress: Bool { received > 0 && received < length }
    }

    /// The largest chunk payload the peer sends now (128 until it sends `Set Chunk Size`).
    package private(set) var chunkSize = 128
    /// Every byte taken so far (for acknowledgements).
    package private(set) var bytesReceived: UInt64 = 0
    private let limits: RTMPLimits
    private var streams: [Int: ChunkStream] = [:]
    /// The start of a header that straddles two reads.
    private var pending: [UInt8] = []
    /// The chunk stream whose chunk payload is being read, and how many of its bytes are still to come.
    private var current = 0
    private var chunkRemaining = 0
    /// Bytes of unfinished kept messages, all chunk streams together.
    private var buffered = 0

    /// The longest header: 3 bytes of basic header, 11 of message header, 4 of extended timestamp.
    static let maxHeaderBytes = 18

    /// A reader that keeps to `limits`.
    package init(limits: RTMPLimits = RTMPLimits()) {
        self.limits = limits
    }

    /// Takes the next bytes from the peer and returns the messages they complete, in order.
    package mutating func read(_ bytes: ArraySlice<UInt8>) throws(RTMPError) -> [RTMPMessage] {
        bytesReceived += UInt64(bytes.count)
        var input = bytes
        var messages: [RTMPMessage] = []
        while !input.isEmpty {
            if chunkRemaining > 0 {
                let count = min(chunkRemaining, input.count)
                try take(input.prefix(count), into: &messages)
                input = input.dropFirst(count)
                continue
            }
            let held = pending.count
            let source = held == 0 ? input : (pending + input.prefix(Self.maxHeaderBytes - held))[...]
            guard let consumed = try header(source, into: &messages) else {
                pending = Array(source)
                input = input.dropFirst(source.count - held)
                break
            }
            pending = []
            input = input.dropFirst(consumed - held)
        }
        return messages
    }

    /// Reads one chunk header at the start of `bytes` and applies it; returns the bytes it took, or `nil` when
    /// the header is not all there yet.
    private mutating func header(_ bytes: ArraySlice<UInt8>, into messages: inout [RTMPMessage]) throws(RTMPError) -> Int? {
        var reader = ByteReader(bytes)
        guard let first = reader.byte() else { return nil }
        let format = first >> 6
        var id = Int(first & 0x3F)
        if id == 0 {
            guard let next = reader.byte() else { return nil }
            id = 64 + Int(next)
        } else if id == 1 {
            guard let low = reader.byte(), let high = reader.byte() else { return nil }
            id = 64 + Int(low) + Int(high) << 8
        }
        let known = streams[id]
        if format != 0, known == nil { throw .noPreviousHeader(chunkStream: id) }
        if known == nil, streams.count >= limits.maxChunkStreams { throw .tooManyChunkStreams(limit: limits.maxChunkStreams) }
        var stream = known ?? ChunkStream()
        let continuing = stream.inProgress
        if format != 3, continuing { throw .interruptedMessage(chunkStream: id) }

        var time: UInt32 = 0
        if format <= 2 {
            guard let value = reader.uint(3) else { return nil }
            time = value
        }
        if format <= 1 {
            guard let length = reader.uint(3), let type = reader.byte() else { return nil }
            stream.length = Int(length)
            stream.type = type
        }
        if format == 0 {
            guard let little = reader.uint(4) else { return nil }
            stream.streamID = little.byteSwapped
        }
        let extended = format == 3 ? stream.extended : time == 0xFFFFFF
        if extended {
            guard let value = reader.uint(4) else { return nil }
            time = value
        }
        // The whole header is in: apply it.
        if format != 3 { stream.extended = extended }
        if continuing {
            streams[id] = stream  // a type 3 chunk continuing the message
        } else {
            switch format {
            case 0: stream.timestamp = time; stream.delta = 0
            case 1, 2: stream.delta = time; stream.timestamp &+= time
            default: stream.timestamp &+= stream.delta
            }
            if RTMPMessage.keepsPayload(stream.type), stream.length > limits.maxMessageBytes {
                throw .messageTooLarge(length: stream.length, limit: limits.maxMessageBytes)
            }
            stream.received = 0
            stream.payload = []
            streams[id] = stream
            if stream.length == 0 { try complete(id, into: &messages) }
        }
        current = id
        chunkRemaining = min(chunkSize, stream.length - stream.received)
        return reader.consumed
    }

    /// Takes payload bytes of the current chunk.
    private mutating func take(_ bytes: ArraySlice<UInt8>, into messages: inout [RTMPMessage]) throws(RTMPError) {
        chunkRemaining -= bytes.count
        guard var stream = streams.removeValue(forKey: current) else { return }
        stream.received += bytes.count
        if RTMPMessage.keepsPayload(stream.type) {
            buffered += bytes.count
            if buffered > limits.maxBufferedBytes { throw .tooMuchBuffered(limit: limits.maxBufferedBytes) }
            stream.payload += bytes
        }
        streams[current] = stream
        if stream.received == stream.length { try complete(current, into: &messages) }
    }

    /// The message of chunk stream `id` is whole: hand it on, and apply it if it is about chunking.
    private mutating func complete(_ id: Int, into messages: inout [RTMPMessage]) throws(RTMPError) {
        guard var stream = streams[id] else { return }
        let message = RTMPMessage(
            type: stream.type, streamID: stream.streamID, timestamp: stream.timestamp, length: stream.length, payload: stream.payload)
        buffered -= stream.payload.count
        stream.payload = []
        stream.received = stream.length
        streams[id] = stream
        switch message.type {
        case RTMPMessage.setChunkSize:
            let size = try Self.control(message)
            guard size & 0x8000_0000 == 0, (1...limits.maxChunkSize).contains(Int(size)) else { throw .badChunkSize(Int(size)) }
            chunkSize = Int(size)
        case RTMPMessage.abort:
            let aborted = Int(try Self.control(message))
            if var other = streams[aborted], other.inProgress {
                buffered -= other.payload.count
                other.payload = []
                other.received = other.length
                streams[aborted] = other
            }
        default:
            break
        }
        messages.append(message)
    }

    /// The 32-bit value a protocol control message carries first.
    package static func control(_ message: RTMPMessage) throws(RTMPError) -> UInt32 {
        var reader = ByteReader(message.payload[...])
        guard let value = reader.uint(4) else { throw .shortControlMessage(type: message.type, length: message.payload.count) }
        return value
    }
}
