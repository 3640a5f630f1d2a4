// Chapter 1 — Encoding. Given: read it, use it, no need to change it.

/// Where an encoder hands the bytes it produces, in order: a socket's send, or an array's `append` in a test.
public typealias Sender = (ArraySlice<UInt8>) -> Void

/// What can go wrong while encoding.
public enum EncodingError: Error, Equatable, Sendable {
    /// Metadata longer than 255 × 16 = 4080 bytes: one length byte cannot describe it.
    case metadataTooLong(bytes: Int)
    /// A hole of the exercise that is still empty.
    case notImplemented
}

/// The most metadata one block can carry: its length byte counts 16-byte units, at most 255 of them.
public let maxMetadataBytes = 255 * 16
