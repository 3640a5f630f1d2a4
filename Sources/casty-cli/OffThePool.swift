import Dispatch

/// Where readings of files run (``offThePool(_:)``): one at a time, on a thread of their own.
private let fileQueue = DispatchQueue(label: "casty.files")

/// What `body` returns (or throws), run on a dispatch queue rather than on the cooperative pool: a reading of files
/// (a `--config` file, a key file) may wait on a disk, or on a file system that does not answer, and the pool's
/// few threads run every task of the process. SIGHUP's readings (``onHangup(_:)``) go through it.
func offThePool<Value: Sendable>(_ body: @escaping @Sendable () throws -> Value) async throws -> Value {
    try await withCheckedThrowingContinuation { continuation in
        fileQueue.async { continuation.resume(with: Result { try body() }) }
    }
}
