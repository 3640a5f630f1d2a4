// Chapter 1 — Encoding. Given: read it, use it, no need to change it.

/// Where an encoder hands the bytes it produces, in order: a socket's send, or an array's `append` in a test.
public typealias Sender = (ArraySlice<UInt8>) -> Void

/// What can go wrong while encoding.
public enum EncodingError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Metadata longer than 255 × 16 = 4080 bytes: one length byte cannot describe it.
    case metadataTooLong(bytes: Int)
    /// A hole of the exercise that is still empty, named: `notImplemented("padding(_:)")`.
    case notImplemented(String)

    /// One line that names the problem — for a hole, which function to write and where, so that a check that
    /// fails on it says so.
    public var description: String {
        switch self {
        case .metadataTooLong(let bytes): "metadata of \(bytes) bytes, longer than the \(maxMetadataBytes) one length byte can describe"
        case .notImplemented(let hole): "\(hole) is still empty: write it (Chapter 1, Starter/Encoding.swift)"
        }
    }
}

/// The most metadata one block can carry: its length byte counts 16-byte units, at most 255 of them.
public let maxMetadataBytes = 255 * 16
