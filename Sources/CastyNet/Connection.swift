/// One TCP connection registered on an ``EventLoop``: reads arrive as callbacks, writes never block.
///
/// **Loop-confined.** Everything about a connection — setting callbacks, writing, offering,
/// closing, reading its counters — happens on its loop's thread. Callbacks are called there too.
/// From another thread, hop over first with ``EventLoop/execute(_:)`` or ``EventLoop/submit(_:)``,
/// or work from an actor that runs on the loop (see ``EventLoop``).
///
/// **Reading.** Set ``onRead`` and the connection starts reading: each time the socket is
/// readable it receives once into the loop's shared 64 KiB scratch buffer and hands you an array
/// holding exactly the bytes read. With no ``onRead`` nothing is read
/// and the kernel buffers, then TCP pushes back on the peer.
///
/// **Writing.** Two ways, both without tasks, awaits or buffering of whole streams:
/// - ``write(_:)`` for small control messages (an HTTP reply): sends what it can now and keeps the
///   unsent tail, which goes out when the socket is writable again.
/// - ``offer(_:)`` for live audio: the segment goes out whole or not at all (see ``Offer``), so a
///   slow listener skips segments instead of making the server queue without bound.
///
/// **Closing.** ``onClose`` is called exactly once: with `nil` after an orderly close (end of
/// stream from the peer, or ``close()`` here), or with the error that broke the connection.
/// If the connection closed before any ``onClose`` was set, the first one set is called at once.
public final class Connection: EventLoopHandler, @unchecked Sendable {
    // @unchecked Sendable: all mutable state is loop-confined (touched only on `loop`'s thread,
    // checked with preconditions); the object may be passed between threads, not used from them.

    /// What happened to a segment handed to ``offer(_:)``.
    public enum Offer: Sendable, Hashable {
        /// The whole segment is in the kernel's send buffer.
        case sent
        /// Part of the segment is in the kernel; the rest is kept (without copying) and goes out as
        /// soon as the socket is writable. Until then, further offers are skipped.
        case queued
        /// Nothing of the segment was sent: the listener is still behind. Counted in
        /// ``skippedTotal`` and ``consecutiveSkips``.
        case skipped
        /// The connection is closed; nothing was sent.
        case closed
    }

    /// The default `SO_SNDBUF` request made by ``configure(sendBuffer:maxQueuedBytes:noDelay:)``:
    /// about one segment of audio.
    public static let defaultSendBuffer = 16 * 1024

    /// The loop this connection lives on.
    public let loop: EventLoop
    /// The connected socket. The connection owns it: do not close it yourself.
    package let socket: Socket

    /// Called with the bytes of each read (never empty). Setting it starts reading. Loop thread only.
    public var onRead: (@Sendable ([UInt8]) -> Void)? {
        didSet { updateInterest() }
    }

    /// Called once when the connection closes, with `nil` for an orderly close or the error that
    /// broke it. Set after the close, it is called at once (unless the close was already
    /// reported). Loop thread only.
    public var onClose: (@Sendable (SocketError?) -> Void)? {
        didSet { if isClosed { reportClose() } }
    }

    /// Called when a pending tail (from ``write(_:)`` or a `.queued` offer) has been fully sent.
    /// Loop thread only.
    public var onWritable: (@Sendable () -> Void)?

    /// ``offer(_:)`` skips a segment while more than this many bytes are still unacknowledged in
    /// the kernel (`SIOCOUTQ`). The kernel is asked only after an offer that was not sent whole (a
    /// listener that keeps up costs no `ioctl`). A negative value switches the check off. Loop thread only.
    public var maxQueuedBytes: Int = Connection.defaultSendBuffer

    /// Segments skipped by ``offer(_:)`` since the connection opened.
    public private(set) var skippedTotal = 0
    /// Segments skipped in a row; back to 0 when an offer is sent or queued. The layer above can
    /// disconnect a listener when this stays high for too long.
    public private(set) var consecutiveSkips = 0
    /// Whether the connection is closed.
    public private(set) var isClosed = false

    /// Whether the last offer was not sent whole (queued or skipped): only then is `SIOCOUTQ` worth asking.
    private var behind = false

    /// Bytes accepted by ``write(_:)``/``offer(_:)`` but not yet handed to the kernel.
    public var pendingBytes: Int { tail.count }

    /// Bytes written to the kernel that the peer has not acknowledged yet (`SIOCOUTQ`): with ``pendingBytes``,
    /// how far this peer is behind what was sent to it. Loop thread only.
    public var unsentInKernel: Int { socket.unsentBytes }

    /// Bytes the kernel received from the peer that the loop has not read yet (`SIOCINQ`): on a loaded host, a
    /// timer can run before the read that would have brought them. Loop thread only.
    public var unreadInKernel: Int { socket.unreadBytes }

    /// The unsent rest of the last write. Usually a slice of the caller's array: no copy.
    private var tail: ArraySlice<UInt8> = []
    private var interest: IOEvents = []
    /// The TLS session every read and write goes through, once ``startTLS(host:timeout:_:)`` was called.
    private var tls: TLSSession?
    /// Called when the TLS handshake ends; `nil` when none is under way.
    private var handshakeDone: ((SocketError?) -> Void)?
    /// What the handshake waits for.
    private var handshakeWants: IOEvents = []
    /// Ends a handshake that takes too long.
    private var handshakeTimer: Scheduled?
    private var closeReported = false
    /// The bytes a lingering close still throws away before it closes (``closeLingering(timeout:limit:)``).
    private var lingerBudget = 0
    private var closeError: SocketError?

    /// Wraps a connected, non-blocking socket and registers it on `loop`. Loop thread only.
    init(socket: Socket, loop: EventLoop) throws(SocketError) {
        self.socket = socket
        self.loop = loop
        try loop.register(socket.fd, interest: [], handler: self)
    }

    // MARK: Options

    /// Tunes the socket for low-latency fan-out: a small send buffer so that a slow listener shows
    /// up at once in ``offer(_:)``, `TCP_NODELAY` so segments leave without delay, and the
    /// ``maxQueuedBytes`` threshold. Pass `nil` as `sendBuffer` to keep the kernel's default.
    public func configure(
        sendBuffer: Int? = Connection.defaultSendBuffer,
        maxQueuedBytes: Int? = nil,
        noDelay: Bool = true
    ) throws(SocketError) {
        loop.preconditionInEventLoop()
        if let sendBuffer { try socket.setSendBufferSize(sendBuffer) }
        if let maxQueuedBytes { self.maxQueuedBytes = maxQueuedBytes }
        try socket.setNoDelay(noDelay)
    }

    /// The address of the peer, or `nil` if the socket can no longer tell.
    public var remoteAddress: SocketAddress? {
        try? socket.peerAddress()
    }

    /// The address this end is bound to (the port the peer reached), or `nil` if the socket can no longer tell.
    public var localAddress: SocketAddress? {
        try? socket.localAddress()
    }

    /// Whether the peer has hung up (end of stream, or a reset), even with bytes it sent before left unread — asked of
    /// the kernel without reading: how a connection that is not being read, such as a player waiting while the
    /// platform's application authorizes it, learns its peer has gone. A peer whose unread bytes fill the receive
    /// window cannot send its end until they are read (a source's audio is read while its key is verified, for
    /// that). `true` once closed. Loop thread only.
    public var peerHasHungUp: Bool {
        loop.preconditionInEventLoop()
        return isClosed || socket.peerHasHungUp()
    }

    /// Lets the kernel probe a quiet peer (TCP keepalive: after 1 s without traffic, then every second), so that
    /// ``peerAnswersWhileQuiet(within:)`` can tell a peer that is there but has nothing to send from a path that is gone.
    /// Loop thread only.
    public func probeWhenQuiet() throws(SocketError) {
        loop.preconditionInEventLoop()
        try socket.setKeepAlive(idle: 1, interval: 1, count: 10)
    }

    /// Whether the peer's kernel acknowledged something — a keepalive probe (``probeWhenQuiet()``) — after the
    /// last data it sent, and within `window` (2.5 s: a probe leaves every second): the path and the peer's host are
    /// up, whatever its program is doing. A link that has already seen its peer answer may believe it a few probes
    /// longer (an answer can be late on a loaded host; the kernel resets the connection after ten unanswered
    /// probes anyway). `false` when the kernel cannot tell. Loop thread only.
    public func peerAnswersWhileQuiet(within window: Duration = .milliseconds(2_500)) -> Bool {
        loop.preconditionInEventLoop()
        guard !isClosed, let last = socket.lastReceived else { return false }
        return last.acknowledgement <= window && last.acknowledgement + .milliseconds(250) <= last.data
    }

    // MARK: TLS

    /// Makes this a TLS connection to `host` (an https:// server): the handshake runs on the loop, then `done` is
    /// called once, with `nil`, or with the error that ended it (OpenSSL missing, a certificate not accepted, the
    /// peer gone, ``SocketError/timedOut`` after `timeout`; the connection is then closed). From then on every read
    /// and write is encrypted. Call it right after connecting, before reading or writing. Loop thread only.
    package func startTLS(host: String, timeout: Duration, _ done: @escaping (SocketError?) -> Void) {
        loop.preconditionInEventLoop()
        guard !isClosed else { return done(.closed) }
        do {
            tls = try TLSSession(fd: socket.fd, host: host)
        } catch {
            close(error: error)
            return done(error)
        }
        handshakeDone = done
        // A plain-HTTP server waits for a request and never answers the TLS hello: said so, not "timed out" alone.
        let seconds = Int((Double(timeout.components.seconds) + Double(timeout.components.attoseconds) / 1e18).rounded())
        handshakeTimer = loop.schedule(after: timeout) { [weak self] in
            self?.endHandshake(.tls("no handshake within \(seconds) s (is it an https:// server?)"))
        }
        stepHandshake()
    }

    /// Takes the handshake as far as it goes now.
    private func stepHandshake() {
        guard let tls, handshakeDone != nil else { return }
        do {
            let progress = try tls.handshake()
            guard progress == .wantRead || progress == .wantWrite else { return endHandshake(nil) }
            handshakeWants = progress == .wantRead ? [.readable] : [.writable]
            updateInterest()
        } catch {
            endHandshake(error)
        }
    }

    /// The handshake is over, with `error` or not: its caller is told, once; a failed one closes the connection.
    private func endHandshake(_ error: SocketError?) {
        guard let done = handshakeDone else { return }
        handshakeDone = nil
        handshakeTimer?.cancel()
        handshakeTimer = nil
        handshakeWants = []
        if let error { close(error: error) } else { updateInterest() }
        done(error)
    }

    // MARK: Writing

    /// Sends `bytes` now as far as the kernel takes them; the rest is kept and sent when the socket
    /// becomes writable. Bytes go out in order and are never dropped while the connection lives.
    ///
    /// Meant for small control messages. There is no limit on what it keeps, so use ``offer(_:)``
    /// for streams. Returns `false` if the connection is (or becomes) closed. Loop thread only.
    @discardableResult
    public func write(_ bytes: [UInt8]) -> Bool {
        loop.preconditionInEventLoop()
        guard !isClosed else { return false }
        guard !bytes.isEmpty else { return true }
        guard tail.isEmpty else {
            tail.append(contentsOf: bytes)  // rare: copies, since the tail may share another array
            return true
        }
        switch send(bytes[...]) {
        case .success(let count):
            if count < bytes.count { keepTail(bytes[count...]) }
            return true
        case .failure(.blocked):
            keepTail(bytes[...])
            return true
        case .failure(let error):
            close(error: error)
            return false
        }
    }

    /// Offers one segment for lossy, low-latency delivery: it is sent whole or skipped whole, never
    /// cut into a part followed by the next segment, so the stream's framing stays intact.
    ///
    /// In order: if a tail of the previous segment is still pending, try to send it; if it is still
    /// pending, skip. If the listener was behind and more than ``maxQueuedBytes`` still sit
    /// unacknowledged in the kernel, skip. Else
    /// send once: all of it is ``Offer/sent``; part of it is ``Offer/queued`` (the tail is kept
    /// as a slice of `segment`, no copy, and flushed when writable); none is ``Offer/skipped``.
    ///
    /// One non-blocking `send` per call (plus one `ioctl` while the listener is behind), no allocation.
    /// Loop thread only.
    public func offer(_ segment: [UInt8]) -> Offer {
        loop.preconditionInEventLoop()
        guard !isClosed else { return .closed }
        if !tail.isEmpty {
            flushTail()
            if isClosed { return .closed }
            if !tail.isEmpty { return skip() }
        }
        if behind, maxQueuedBytes >= 0, socket.unsentBytes > maxQueuedBytes { return skip() }
        guard !segment.isEmpty else { return .sent }
        switch send(segment[...]) {
        case .success(let count) where count == segment.count:
            consecutiveSkips = 0
            behind = false
            return .sent
        case .success(let count) where count > 0:
            consecutiveSkips = 0
            behind = true
            keepTail(segment[count...])
            return .queued
        case .success, .failure(.blocked):
            return skip()
        case .failure(let error):
            close(error: error)
            return .closed
        }
    }

    private func skip() -> Offer {
        behind = true
        skippedTotal += 1
        consecutiveSkips += 1
        return .skipped
    }

    private func send(_ bytes: ArraySlice<UInt8>) -> Result<Int, SocketError> {
        bytes.withUnsafeBytes { buffer in
            Result { () throws(SocketError) -> Int in
                guard let tls else { return try socket.send(buffer) }
                switch try tls.write(buffer) {
                case .done(let count): return count
                case .wantRead, .wantWrite: throw .blocked
                case .closed: throw .closed
                }
            }
        }
    }

    private func keepTail(_ rest: ArraySlice<UInt8>) {
        tail = rest
        updateInterest()
    }

    /// Sends as much of the pending tail as the kernel takes.
    private func flushTail() {
        while !tail.isEmpty {
            switch send(tail) {
            case .success(let count):
                tail = tail[(tail.startIndex + count)...]
            case .failure(.blocked):
                return
            case .failure(let error):
                close(error: error)
                return
            }
        }
        tail = []  // let go of the segment's storage
        updateInterest()
    }

    // MARK: Closing

    /// Closes the connection: stops watching it, closes the socket and calls ``onClose`` with `nil`.
    /// Calling it again does nothing. Pending unsent bytes are dropped. Loop thread only.
    public func close() {
        loop.preconditionInEventLoop()
        close(error: nil)
    }

    /// Closes the connection gently when the peer may still be sending (a request body nobody reads): the
    /// sending direction ends first, so the peer reads everything sent and then the end of the stream, and what
    /// the peer still sends is read and thrown away — up to `limit` bytes, for at most `timeout` — until it
    /// closes too. Closing at once with unread bytes in the kernel would send a reset, and a reset can destroy the
    /// answer before the peer has read it (RFC 9112 §9.6, Apache's "lingering close"). Call it once everything
    /// written is out (``pendingBytes`` is 0). A TLS connection closes at once. Loop thread only.
    public func closeLingering(timeout: Duration, limit: Int) {
        loop.preconditionInEventLoop()
        guard !isClosed else { return }
        guard tls == nil, tail.isEmpty else { return close() }
        socket.shutdownWriting()
        let timer = loop.schedule(after: timeout) { [weak self] in self?.close() }
        let previous = onClose
        onClose = { error in
            timer.cancel()
            previous?(error)
        }
        lingerBudget = limit
        onRead = { [weak self] bytes in
            guard let self else { return }
            lingerBudget -= bytes.count
            if lingerBudget < 0 { close() }
        }
    }

    /// Hands the socket over to `other`: it leaves this loop now, and `then` gets a new connection of the same
    /// socket, registered on `other`, on `other`'s thread. This connection is done with (closed, without
    /// closing the socket, and without calling ``onClose``); bytes it had not sent yet go first on the new
    /// one. Loop thread only.
    ///
    /// If `other` cannot take it — it has stopped, or the socket cannot be registered there (out of epoll
    /// resources) —, the socket is closed and `failed` gets why, back on this loop: the peer is gone, as one whose
    /// connection closed, and whoever counted it as come must count it as gone.
    public func handOver(
        to other: EventLoop, _ then: @escaping @Sendable (Connection) -> Void, failed: @escaping @Sendable (String) -> Void
    ) {
        loop.preconditionInEventLoop()
        guard !isClosed else { return }
        precondition(tls == nil, "a TLS connection stays on its loop")
        isClosed = true
        closeReported = true
        onRead = nil
        onWritable = nil
        onClose = nil
        loop.deregister(socket.fd)
        let socket = socket
        let maxQueuedBytes = maxQueuedBytes
        let unsent = Array(tail)
        tail = []
        let home = loop
        // Counted as the other loop's until it registers the connection (or cannot): see `EventLoop.incoming`.
        other.connectionComing()
        let taken = other.executeIfRunning {
            defer { other.connectionCame() }
            do {
                let moved = try Connection(socket: socket, loop: other)
                moved.maxQueuedBytes = maxQueuedBytes
                moved.write(unsent)
                then(moved)
            } catch {
                socket.close()
                home.execute { failed("\(other.name) cannot take it: \(error)") }
            }
        }
        guard !taken else { return }
        other.connectionCame()
        socket.close()
        failed("\(other.name) has stopped")
    }

    private func close(error: SocketError?) {
        guard !isClosed else { return }
        isClosed = true
        closeError = error
        loop.deregister(socket.fd)
        socket.close()
        loop.connectionClosed()
        tail = []
        // Drop callbacks that may capture this connection, to break reference cycles.
        onRead = nil
        onWritable = nil
        reportClose()
    }

    private func reportClose() {
        guard !closeReported, let onClose else { return }
        closeReported = true
        self.onClose = nil
        onClose(closeError)
    }

    // MARK: Events

    /// Asks the loop for exactly what is needed: readable while someone reads, writable only while a
    /// tail is pending (level-triggered epoll would otherwise wake the loop for every idle socket).
    private func updateInterest() {
        loop.preconditionInEventLoop()
        guard !isClosed else { return }
        var wanted = handshakeWants
        if onRead != nil, handshakeDone == nil { wanted.insert(.readable) }
        if !tail.isEmpty { wanted.insert(.writable) }
        guard wanted != interest else { return }
        do {
            try loop.reregister(socket.fd, interest: wanted)
            interest = wanted
        } catch {
            close(error: error)
        }
    }

    /// Called by the loop when the socket is ready.
    package func handleEvents(_ events: IOEvents) {
        if handshakeDone != nil {
            if !events.isDisjoint(with: handshakeWants.union([.error, .hangup])) { stepHandshake() }
            return
        }
        if interest.contains(.readable), !events.isDisjoint(with: [.readable, .error, .hangup]) {
            readOnce()
        }
        guard !isClosed else { return }
        if events.contains(.writable), !tail.isEmpty {
            flushTail()
            if !isClosed, tail.isEmpty { onWritable?() }
        }
        guard !isClosed else { return }
        if !interest.contains(.readable), !events.isDisjoint(with: [.error, .hangup]) {
            // Broken while nobody was reading: report the socket's own error. (While reading, the
            // next receive reports the error or the end of stream itself, after any data left.)
            let code = (try? socket.pendingError()) ?? 0
            close(error: code == 0 ? nil : .fromErrno(code, "connection"))
        }
    }

    private func readOnce() {
        let scratch = loop.scratch
        if let tls { return readTLS(tls, into: scratch) }
        do {
            let count = try socket.receive(into: scratch)
            if count == 0 {
                close(error: nil)
            } else {
                onRead?(Array(UnsafeRawBufferPointer(rebasing: scratch[..<count])))
            }
        } catch .blocked {
            return
        } catch {
            close(error: error)
        }
    }

    /// Reads what the TLS session has, a few records at most (each fits the scratch buffer whole, so none is left
    /// half read: what is still in the socket wakes the loop again).
    private func readTLS(_ tls: TLSSession, into scratch: UnsafeMutableRawBufferPointer) {
        for _ in 0..<8 {
            guard !isClosed, let onRead else { return }
            do {
                switch try tls.read(into: scratch) {
                case .done(let count): onRead(Array(UnsafeRawBufferPointer(rebasing: scratch[..<count])))
                case .wantRead, .wantWrite: return
                case .closed: return close(error: nil)
                }
            } catch {
                return close(error: error)
            }
        }
    }

    /// Closes the connection with ``SocketError/closed`` when its loop shuts down.
    public func eventLoopWillStop() {
        close(error: .closed)
    }
}
