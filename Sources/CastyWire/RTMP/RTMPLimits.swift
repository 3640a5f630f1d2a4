/// The bounds Casty keeps to whatever an RTMP peer sends: no message, chunk stream or AMF value can make it use
/// more memory than these allow.
package struct RTMPLimits: Sendable, Equatable {
    /// The largest `Set Chunk Size` accepted. The protocol allows up to 2³¹ − 1; payload bytes are consumed as
    /// they arrive, so a large chunk size costs no memory by itself.
    package var maxChunkSize = 16 * 1024 * 1024
    /// The longest message kept (commands, metadata, audio). Video messages are never kept, only counted, so
    /// they may be as long as the 24-bit length field says.
    package var maxMessageBytes = 1024 * 1024
    /// The most bytes of unfinished kept messages across all chunk streams.
    package var maxBufferedBytes = 2 * 1024 * 1024
    /// The most chunk streams in use at once (encoders use a handful: 2 to 8).
    package var maxChunkStreams = 64
    /// How deep AMF0 objects and arrays may nest.
    package var maxAMFDepth = 16
    /// The most values in one AMF0 message, all levels together.
    package var maxAMFValues = 4096

    /// The default bounds.
    package init() {}
}
