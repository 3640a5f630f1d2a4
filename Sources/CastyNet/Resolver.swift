internal import Dispatch
internal import Glibc
internal import Synchronization

/// Turns a host name into socket addresses, without blocking Swift's cooperative thread pool.
///
/// `getaddrinfo` can block for seconds (it may ask a DNS server), so it runs on a dedicated
/// dispatch queue and the caller awaits the answer through a continuation. Numeric hosts such as
/// `"127.0.0.1"` or `"[::1]"` are parsed directly and never reach `getaddrinfo`.
public enum Resolver {
    /// The queue where `getaddrinfo` runs. Concurrent, so one slow lookup does not hold up others.
    private static let queue = DispatchQueue(label: "casty.resolver", attributes: .concurrent)

    /// Returns the TCP addresses of `host` with `port`, IPv4 and IPv6, in the order the system prefers.
    ///
    /// - Throws: ``SocketError/resolve(host:message:)`` when the name is unknown or the lookup fails.
    /// With a `timeout`, the answer is awaited that long at most (the lookup itself, which cannot be cut short, goes
    /// on in the background and its late answer is dropped).
    ///
    /// - Throws: ``SocketError/resolve(host:message:)`` when the name is unknown or the lookup fails,
    ///   ``SocketError/timedOut`` when it takes longer than `timeout`.
    public static func resolve(host: String, port: UInt16, timeout: Duration? = nil) async throws(SocketError) -> [SocketAddress] {
        if let numeric = SocketAddress(host: host, port: port) { return [numeric] }
        let result: Result<[SocketAddress], SocketError> = await withCheckedContinuation { continuation in
            // Whichever comes first — the lookup or the timeout — resumes; the other finds nothing left to resume.
            let waiting = Mutex<CheckedContinuation<Result<[SocketAddress], SocketError>, Never>?>(continuation)
            let answer: @Sendable (Result<[SocketAddress], SocketError>) -> Void = { result in
                waiting.withLock { $0.take() }?.resume(returning: result)
            }
            queue.async { answer(lookup(host: host, port: port)) }
            if let timeout {
                let (seconds, attoseconds) = timeout.components
                let nanoseconds = max(0, Int(seconds) * 1_000_000_000 + Int(attoseconds / 1_000_000_000))
                queue.asyncAfter(deadline: .now() + .nanoseconds(nanoseconds)) { answer(.failure(.timedOut)) }
            }
        }
        return try result.get()
    }

    /// The blocking `getaddrinfo` call. Runs on ``queue`` only.
    private static func lookup(host: String, port: UInt16) -> Result<[SocketAddress], SocketError> {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &list)
        guard status == 0 else {
            let message = status == EAI_SYSTEM
                ? SocketError.text(forErrno: errno) : String(cString: gai_strerror(status))
            return .failure(.resolve(host: host, message: message))
        }
        defer { freeaddrinfo(list) }
        var addresses: [SocketAddress] = []
        var node = list
        while let entry = node {
            if let pointer = entry.pointee.ai_addr,
               let address = SocketAddress(pointer: pointer, length: entry.pointee.ai_addrlen),
               !addresses.contains(address) {
                addresses.append(address)
            }
            node = entry.pointee.ai_next
        }
        guard !addresses.isEmpty else {
            return .failure(.resolve(host: host, message: "no IPv4 or IPv6 address found"))
        }
        return .success(addresses)
    }
}
