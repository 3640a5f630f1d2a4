internal import Glibc

extension Connection {
    /// Opens a TCP connection to `address`, registered on `loop`, without blocking any thread.
    ///
    /// The connect is non-blocking: the loop waits for the socket to become writable, then reads
    /// `SO_ERROR` to learn the outcome.
    /// - Throws: ``SocketError/timedOut`` if not connected within `timeout`; a
    ///   ``SocketError/failed(operation:errno:message:)`` whose text says "connection refused" when
    ///   nothing listens there; other socket errors as they come.
    /// - Note: cancelling the calling task does not cut the wait short; the timeout does.
    /// - Parameter receiveBuffer: `SO_RCVBUF`, set before the connect so that the window the peer is offered
    ///   stays that small (no autotuning): the peer's send buffer then fills, and it sees at once, when this side
    ///   stops reading.
    /// - Parameter source: the local address to bind first (another loopback address than 127.0.0.1, say, so that
    ///   the peer sees another host); `nil` lets the system choose.
    public static func connect(
        to address: SocketAddress,
        on loop: EventLoop = .shared,
        timeout: Duration = .seconds(10),
        receiveBuffer: Int? = nil,
        from source: SocketAddress? = nil
    ) async throws(SocketError) -> Connection {
        let result: Result<Connection, SocketError> = await withCheckedContinuation { continuation in
            loop.execute {
                Connector.start(address: address, loop: loop, timeout: timeout, receiveBuffer: receiveBuffer, from: source) { result in
                    continuation.resume(returning: result)
                }
            }
        }
        return try result.get()
    }
}

/// Drives one non-blocking connect on the loop until it succeeds, fails or times out.
///
/// Loop-confined (`@unchecked Sendable` only so that its timeout closure may capture it): created,
/// called and finished on the loop thread.
final class Connector: EventLoopHandler, @unchecked Sendable {
    private let address: SocketAddress
    private let loop: EventLoop
    private let socket: Socket
    private var completion: ((Result<Connection, SocketError>) -> Void)?
    private var timer: Scheduled?

    private init(address: SocketAddress, loop: EventLoop, socket: Socket,
                 completion: @escaping (Result<Connection, SocketError>) -> Void) {
        self.address = address
        self.loop = loop
        self.socket = socket
        self.completion = completion
    }

    /// Starts connecting (from `source`, if given); `completion` is called exactly once, on the loop thread.
    static func start(address: SocketAddress, loop: EventLoop, timeout: Duration, receiveBuffer: Int? = nil, from source: SocketAddress? = nil,
                      completion: @escaping (Result<Connection, SocketError>) -> Void) {
        loop.preconditionInEventLoop()
        let socket: Socket
        do {
            socket = try Socket.tcp(address.family)
        } catch {
            completion(.failure(error))
            return
        }
        do {
            if let receiveBuffer { try socket.setReceiveBufferSize(receiveBuffer) }
            if let source { try socket.bind(to: source) }
        } catch {
            socket.close()
            completion(.failure(error))
            return
        }
        let connector = Connector(address: address, loop: loop, socket: socket, completion: completion)
        do {
            if try socket.connect(to: address) {
                connector.succeed()
            } else {
                try loop.register(socket.fd, interest: .writable, handler: connector)
                // Named as a refused connect is (`connect to 10.0.0.9:80 failed: connection timed out`): a peer whose
                // listen queue is full, or a firewall that drops, is a connect that failed, not an answer that was slow.
                connector.timer = loop.schedule(after: timeout) { [connector, address] in
                    connector.fail(.fromErrno(ETIMEDOUT, "connect to \(address)"), registered: true)
                }
            }
        } catch {
            connector.fail(error, registered: false)
        }
    }

    func handleEvents(_ events: IOEvents) {
        loop.deregister(socket.fd)
        timer?.cancel()
        let code: Int32
        do {
            code = try socket.pendingError()
        } catch {
            fail(error, registered: false)
            return
        }
        if code == 0 {
            succeed()
        } else {
            fail(.fromErrno(code, "connect to \(address)"), registered: false)
        }
    }

    func eventLoopWillStop() {
        fail(.closed, registered: true)
    }

    private func succeed() {
        guard let completion else { return }
        self.completion = nil
        do {
            completion(.success(try Connection(socket: socket, loop: loop)))
        } catch {
            socket.close()
            completion(.failure(error))
        }
    }

    private func fail(_ error: SocketError, registered: Bool) {
        guard let completion else { return }
        self.completion = nil
        timer?.cancel()
        if registered { loop.deregister(socket.fd) }
        socket.close()
        completion(.failure(error))
    }
}
