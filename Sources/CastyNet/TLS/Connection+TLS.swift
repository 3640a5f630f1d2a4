extension Connection {
    /// Runs the TLS handshake with `host` (an https:// server) and returns once it is done, from any thread: the
    /// awaited form of ``startTLS(host:timeout:_:)``.
    /// - Throws: what ended the handshake (OpenSSL missing, a certificate not accepted, the peer gone,
    ///   ``SocketError/timedOut``); the connection is then closed.
    package func startTLS(host: String, timeout: Duration) async throws(SocketError) {
        let result: Result<Void, SocketError> = await withCheckedContinuation { continuation in
            loop.execute {
                self.startTLS(host: host, timeout: timeout) { error in
                    continuation.resume(returning: error.map { .failure($0) } ?? .success(()))
                }
            }
        }
        try result.get()
    }
}
