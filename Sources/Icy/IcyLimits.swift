/// The bounds every Icy parser enforces, so that a peer can never make it use unbounded memory.
///
/// Real servers stay far inside them: Icecast's status line and headers are a few hundred bytes, and its
/// default `icy-metaint` is 16000.
public enum IcyLimits {
    /// The longest request line, status line or header line, in bytes (line ending excluded): 8 KiB.
    public static let maxLineBytes = 8 * 1024
    /// The most bytes all header lines of one request or reply may take together: 16 KiB.
    public static let maxHeaderBytes = 16 * 1024
    /// The most header lines one request or reply may have.
    public static let maxHeaderCount = 100
    /// The values `icy-metaint` may take: how many audio bytes stand between two metadata blocks.
    public static let metaintRange = 1...1_048_576
    /// The longest metadata a block can carry: its length byte counts 16-byte units, at most 255 of them.
    public static let maxMetadataBytes = 255 * 16
}
