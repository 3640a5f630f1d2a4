internal import Glibc

/// A listening TCP socket on an ``EventLoop`` that hands each new client to you as a ``Connection``.
///
/// ```swift
/// let listener = try Listener(address: .any(.ipv6, port: 8000)) { connection in
///     connection.onRead = { bytes in ... }      // called on the loop thread
/// }
/// print("listening on", listener.localAddress)
/// ```
///
/// When the socket is readable the listener accepts until the kernel's queue is empty (`accept4`,
/// non-blocking and close-on-exec), registers each client on the loop and calls `onAccept` on the
/// loop thread. Set the connection's callbacks there.
///
/// **Out of descriptors.** When accept fails with EMFILE/ENFILE the waiting client would stay in
/// the queue and level-triggered epoll would report it again and again, burning a CPU. So the
/// listener keeps one spare descriptor open: it closes the spare, accepts the client, closes that
/// client at once (a clean refusal), and reopens the spare. Each refusal is counted in
/// ``refusedCount`` and reported to ``onRefuse``; everyone already connected is served as before.
/// If even the spare cannot be reopened, accepting pauses for 100 ms. A client whose descriptor would eat into the
/// process's own reserve (``DescriptorReserve``) is refused the same way, before the process runs out.
///
/// **Making room.** Before refusing such a client, the listener asks ``onShortage``: if it closes a connection
/// (one that has not said what it wants yet, say), the client is admitted in its place — on a descriptor below the
/// reserve — and the process holds no more descriptors than before.
///
/// **Confinement.** Loop-confined like ``Connection``, except ``localAddress`` and ``loop``.
public final class Listener: EventLoopHandler, @unchecked Sendable {
    // @unchecked Sendable: mutable state is touched only on `loop`'s thread.

    /// The loop the listener and its connections live on.
    public let loop: EventLoop
    /// The address actually bound, with the real port when you asked for port 0.
    public let localAddress: SocketAddress

    /// Called on the loop thread when a client is refused for lack of descriptors, or when
    /// accepting fails for another reason (the listener keeps going). Loop thread only.
    public var onRefuse: (@Sendable (SocketError) -> Void)?

    /// Called on the loop thread when a client comes and the process is out of descriptors (where it would be
    /// refused): close one connection to make room for it and return `true`, and it is admitted in that one's
    /// place; return `false` to have it refused. Loop thread only.
    public var onShortage: (@Sendable () -> Bool)?

    /// Clients accepted and handed to `onAccept`. Loop thread only.
    public private(set) var acceptedCount = 0
    /// Clients refused because the process or system ran out of descriptors. Loop thread only.
    public private(set) var refusedCount = 0
    /// Whether ``close()`` was called.
    public private(set) var isClosed = false

    private let socket: Socket
    private let onAccept: @Sendable (Connection) -> Void
    private var spareFD: Int32
    private var acceptPaused = false
    /// Tests set this to make the next accepts fail as if with EMFILE. Loop thread only.
    var simulatedDescriptorFailures = 0

    /// Binds `address`, starts listening and registers on `loop`. Safe from any thread: the bind
    /// happens now (so its errors are thrown here) and accepting starts on the loop right after.
    ///
    /// - Parameters:
    ///   - address: where to listen; port 0 picks a free port (see ``localAddress``). `[::]`
    ///     also takes IPv4 clients on a default Linux system.
    ///   - backlog: how many finished handshakes may wait to be accepted (capped by the kernel's
    ///     `net.core.somaxconn`).
    ///   - sendBuffer: if set, `SO_SNDBUF` for every accepted connection (inherited from the
    ///     listening socket, so it costs no call per client).
    ///   - onAccept: receives each new connection, on the loop thread.
    /// - Throws: a ``SocketError`` such as "bind to 0.0.0.0:8000 failed: address already in use".
    public init(
        address: SocketAddress,
        on loop: EventLoop = .shared,
        backlog: Int32 = 4096,
        sendBuffer: Int? = nil,
        onAccept: @escaping @Sendable (Connection) -> Void
    ) throws(SocketError) {
        let socket = try Socket.tcp(address.family)
        do {
            try socket.setReuseAddress()
            if let sendBuffer { try socket.setSendBufferSize(sendBuffer) }
            try socket.bind(to: address)
            try socket.listen(backlog: backlog)
            localAddress = try socket.localAddress()
        } catch {
            socket.close()
            throw error
        }
        self.socket = socket
        self.loop = loop
        self.onAccept = onAccept
        spareFD = Self.openSpare()
        if loop.inEventLoop {
            try register()
        } else {
            loop.execute { [self] in
                do throws(SocketError) {
                    try register()
                } catch {
                    onRefuse?(error)
                    close()
                }
            }
        }
    }

    private func register() throws(SocketError) {
        guard !isClosed else { return }
        try loop.register(socket.fd, interest: .readable, handler: self)
    }

    private static func openSpare() -> Int32 {
        open("/dev/null", O_RDONLY | O_CLOEXEC)
    }

    /// Stops listening and closes the socket. Connections already accepted stay open.
    /// Calling it again does nothing. Loop thread only.
    public func close() {
        loop.preconditionInEventLoop()
        guard !isClosed else { return }
        isClosed = true
        loop.deregister(socket.fd)
        socket.close()
        if spareFD >= 0 {
            _ = Glibc.close(spareFD)
            spareFD = -1
        }
    }

    /// Accepts every waiting client. Called by the loop when the socket is readable.
    package func handleEvents(_ events: IOEvents) {
        while !isClosed {
            let client: Socket
            do throws(SocketError) {
                if simulatedDescriptorFailures > 0 {
                    simulatedDescriptorFailures -= 1
                    throw .outOfDescriptors
                }
                client = try socket.accept()
            } catch .blocked {
                return
            } catch .outOfDescriptors {
                switch acceptWithSpare() {
                case .admitted(let admitted): admit(admitted)
                case .refused: break
                case .stop: return
                }
                continue
            } catch {
                onRefuse?(error)
                pauseAccepting()
                return
            }
            // The descriptors left are the process's own (``DescriptorReserve``): as for EMFILE.
            guard DescriptorReserve.admits(client.fd) else {
                if let admitted = inPlaceOfAnother(client) { admit(admitted) } else { refused() }
                continue
            }
            admit(client)
        }
    }

    /// Hands `client` over as a ``Connection``.
    private func admit(_ client: Socket) {
        do {
            let connection = try Connection(socket: client, loop: loop)
            acceptedCount += 1
            onAccept(connection)
        } catch {
            client.close()
            onRefuse?(error)
        }
    }

    /// Counts and reports a client refused for lack of descriptors (already closed).
    private func refused() {
        refusedCount += 1
        onRefuse?(.outOfDescriptors)
    }

    /// `client`, which the process has no descriptor for, admitted in the place of a connection ``onShortage``
    /// closes — moved to the lowest free descriptor, the one let go of, if its own is in the reserve —, or `nil`,
    /// `client` closed, if none is.
    private func inPlaceOfAnother(_ client: Socket) -> Socket? {
        guard let onShortage, onShortage() else {
            client.close()
            return nil
        }
        guard !DescriptorReserve.admits(client.fd) else { return client }
        let lower = fcntl(client.fd, F_DUPFD_CLOEXEC, 0)
        client.close()
        guard lower >= 0 else { return nil }
        guard DescriptorReserve.admits(lower) else {
            _ = Glibc.close(lower)
            return nil
        }
        return Socket(fd: lower)
    }

    /// What became of the client accepted with the spare descriptor.
    private enum SpareAccept {
        /// Admitted in the place of a connection ``onShortage`` closed.
        case admitted(Socket)
        /// Refused: the accept loop may go on.
        case refused
        /// The queue is empty, or the trick failed (then accepting pauses for a moment rather than spinning).
        case stop
    }

    /// Uses the spare descriptor to accept one client, which is then admitted in the place of another
    /// (``onShortage``) or refused; the spare is opened again after (on the descriptor let go of, if one was).
    private func acceptWithSpare() -> SpareAccept {
        if spareFD < 0 { spareFD = Self.openSpare() }
        guard spareFD >= 0 else {
            pauseAccepting()
            return .stop
        }
        _ = Glibc.close(spareFD)
        spareFD = -1
        defer { spareFD = Self.openSpare() }
        do {
            let client = try socket.accept()
            guard let admitted = inPlaceOfAnother(client) else {
                refused()
                return .refused
            }
            return .admitted(admitted)
        } catch .blocked {
            return .stop
        } catch {
            // Still no descriptor (ENFILE: another process took it), or another failure.
            onRefuse?(error)
            pauseAccepting()
            return .stop
        }
    }

    /// Stops accepting for a moment so a persistent error does not spin the loop.
    private func pauseAccepting() {
        guard !acceptPaused, !isClosed else { return }
        acceptPaused = true
        try? loop.reregister(socket.fd, interest: [])
        loop.schedule(after: .milliseconds(100)) { [self] in
            acceptPaused = false
            guard !isClosed else { return }
            try? loop.reregister(socket.fd, interest: .readable)
        }
    }

    /// Closes the listener when its loop shuts down.
    public func eventLoopWillStop() {
        close()
    }
}
