public import CastyNet
internal import Icy

extension Upstream {
    /// Fetches a small document (a status page such as `/tree`) and returns its body as text.
    /// - Throws: ``CastyError`` when it cannot be fetched, or is longer than `limit` bytes.
    public static func fetchText(_ url: StreamURL, loop: EventLoop = .shared, timeout: Duration = .seconds(5), limit: Int = 1 << 20) async throws(CastyError) -> String {
        let opened = try await open(url, metadata: false, loop: loop, timeout: timeout, audioOnly: false)
        let body: Result<[UInt8], CastyError> = await withCheckedContinuation { continuation in
            loop.execute {
                let connection = opened.connection
                let collected = BodyCollector(Array(opened.rest)) { continuation.resume(returning: $0) }
                let timer = loop.schedule(after: timeout) {
                    collected.finish(.failure(.noReply(url, after: timeout)))
                    connection.close()
                }
                connection.onRead = { bytes in
                    if !collected.append(bytes, limit: limit) {
                        collected.finish(.failure(.notAStream(url, .headersTooLarge(limit: limit))))
                        connection.close()
                    }
                }
                connection.onClose = { _ in
                    timer.cancel()
                    collected.finish(.success(collected.bytes))
                }
            }
        }
        return String(decoding: try body.get(), as: UTF8.self)
    }
}

/// Collects a body until the server closes. Loop-confined.
private final class BodyCollector: @unchecked Sendable {
    private(set) var bytes: [UInt8]
    private var done: ((Result<[UInt8], CastyError>) -> Void)?

    init(_ bytes: [UInt8], done: @escaping (Result<[UInt8], CastyError>) -> Void) {
        self.bytes = bytes
        self.done = done
    }

    func append(_ more: [UInt8], limit: Int) -> Bool {
        bytes += more
        return bytes.count <= limit
    }

    func finish(_ result: Result<[UInt8], CastyError>) {
        guard let done else { return }
        self.done = nil
        done(result)
    }
}
