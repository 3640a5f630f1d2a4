internal import CCastySystem
internal import Glibc

/// A TCP socket: a thin value wrapper around a non-blocking file descriptor.
///
/// `Socket` does no bookkeeping of its own: it turns each system call into a Swift method that
/// throws a typed ``SocketError``. Calls that would have to wait throw ``SocketError/blocked``
/// instead of waiting; the event loop tells you when to try again. `EINTR` is retried for you.
///
/// A `Socket` is a plain value, so copies share the same descriptor: close it exactly once.
/// ``Connection`` and ``Listener`` own their sockets and close them for you.
package struct Socket: Sendable, Hashable {
    /// The file descriptor number.
    package let fd: Int32

    /// Wraps an existing descriptor. The socket does not take ownership; you decide when to ``close()``.
    package init(fd: Int32) {
        self.fd = fd
    }

    /// Ignores `SIGPIPE` for the whole process, once.
    ///
    /// Writing to a socket whose peer has gone raises `SIGPIPE`, which kills the process by default.
    /// Sends use `MSG_NOSIGNAL` as well; ignoring the signal also covers any other write path.
    static let ignoreSIGPIPE: Void = {
        _ = signal(SIGPIPE, SIG_IGN)
    }()

    /// Opens a new non-blocking, close-on-exec TCP socket of `family`.
    package static func tcp(_ family: SocketAddress.Family) throws(SocketError) -> Socket {
        Socket.ignoreSIGPIPE
        let fd = Glibc.socket(family.rawValue, casty_sock_stream_nonblocking(), 0)
        guard fd >= 0 else { throw .lastError("socket") }
        guard DescriptorReserve.admits(fd) else {
            _ = Glibc.close(fd)
            throw .outOfDescriptors
        }
        return Socket(fd: fd)
    }

    // MARK: Options

    /// `SO_REUSEADDR`: lets a listener bind a port that still has connections in TIME_WAIT.
    package func setReuseAddress(_ enabled: Bool = true) throws(SocketError) {
        try setOption(SOL_SOCKET, SO_REUSEADDR, enabled ? 1 : 0, "SO_REUSEADDR")
    }

    /// `TCP_NODELAY`: sends small writes at once instead of waiting to coalesce them (Nagle).
    package func setNoDelay(_ enabled: Bool = true) throws(SocketError) {
        try setOption(Int32(IPPROTO_TCP), TCP_NODELAY, enabled ? 1 : 0, "TCP_NODELAY")
    }

    /// Sets `SO_SNDBUF`, the kernel's send buffer in bytes. Linux doubles the value set (to leave room for its
    /// bookkeeping) and enforces a minimum of about 4.5 KiB. Setting it also switches off the kernel's auto-tuning.
    package func setSendBufferSize(_ bytes: Int) throws(SocketError) {
        try setOption(SOL_SOCKET, SO_SNDBUF, Int32(clamping: bytes), "SO_SNDBUF")
    }

    /// Sets `SO_RCVBUF`. Set it before `connect`/`listen` to influence the advertised TCP window.
    package func setReceiveBufferSize(_ bytes: Int) throws(SocketError) {
        try setOption(SOL_SOCKET, SO_RCVBUF, Int32(clamping: bytes), "SO_RCVBUF")
    }

    /// `SO_LINGER` with a zero timeout: ``close()`` then resets the connection (RST) instead of
    /// a graceful FIN. Useful to drop an abusive peer at once, and in tests.
    package func setResetOnClose() throws(SocketError) {
        var value = linger(l_onoff: 1, l_linger: 0)
        guard setsockopt(fd, SOL_SOCKET, SO_LINGER, &value, socklen_t(MemoryLayout<linger>.size)) == 0 else {
            throw .lastError("setsockopt(SO_LINGER)")
        }
    }

    /// Turns TCP keepalive on: the kernel probes a quiet peer after `idle` seconds, then every `interval` seconds,
    /// and resets the connection after `count` unanswered probes. A live peer's kernel answers each probe, even
    /// when its program sends nothing, and the answer shows in ``lastReceived``.
    package func setKeepAlive(idle: Int, interval: Int, count: Int) throws(SocketError) {
        guard casty_keepalive(fd, Int32(idle), Int32(interval), Int32(count)) == 0 else {
            throw .lastError("setsockopt(SO_KEEPALIVE)")
        }
    }

    /// How long ago the connection last received data, and last received an acknowledgement (a keepalive probe's
    /// answer is one), from `TCP_INFO`; `nil` if the kernel cannot tell.
    package var lastReceived: (data: Duration, acknowledgement: Duration)? {
        var data: UInt32 = 0, acknowledgement: UInt32 = 0
        guard casty_tcp_last_received(fd, &data, &acknowledgement) == 0 else { return nil }
        return (.milliseconds(data), .milliseconds(acknowledgement))
    }

    /// The pending socket error (`SO_ERROR`), cleared by reading it. `0` means none.
    ///
    /// After a non-blocking connect becomes writable, this says whether it succeeded.
    package func pendingError() throws(SocketError) -> Int32 {
        try getOption(SOL_SOCKET, SO_ERROR, "SO_ERROR")
    }

    /// Bytes written to the socket that the peer has not acknowledged yet (`SIOCOUTQ`).
    ///
    /// A number that stays high means the listener is not keeping up. Returns `0` if the query fails.
    package var unsentBytes: Int {
        Int(max(0, casty_unsent_bytes(fd)))
    }

    /// Bytes the kernel received that were not read yet (`SIOCINQ`); `0` if the query fails.
    package var unreadBytes: Int {
        Int(max(0, casty_unread_bytes(fd)))
    }

    private func setOption(_ level: Int32, _ name: Int32, _ value: Int32, _ label: String) throws(SocketError) {
        var value = value
        guard setsockopt(fd, level, name, &value, socklen_t(MemoryLayout<Int32>.size)) == 0 else {
            throw .lastError("setsockopt(\(label))")
        }
    }

    private func getOption(_ level: Int32, _ name: Int32, _ label: String) throws(SocketError) -> Int32 {
        var value: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(fd, level, name, &value, &length) == 0 else {
            throw .lastError("getsockopt(\(label))")
        }
        return value
    }

    // MARK: Data

    /// Sends as many of `bytes` as the kernel takes now, without waiting, and returns that count.
    ///
    /// Always uses `MSG_NOSIGNAL`, so a vanished peer gives an error (`EPIPE`) rather than `SIGPIPE`.
    /// - Throws: ``SocketError/blocked`` when the send buffer is full; other errors mean the
    ///   connection is broken.
    package func send(_ bytes: UnsafeRawBufferPointer) throws(SocketError) -> Int {
        while true {
            let sent = Glibc.send(fd, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL))
            if sent >= 0 { return sent }
            if errno == EINTR { continue }
            throw .lastError("send")
        }
    }

    /// Receives into `buffer` what is available now and returns the count; `0` means the peer
    /// closed its side (end of stream).
    /// - Throws: ``SocketError/blocked`` when nothing is available yet.
    package func receive(into buffer: UnsafeMutableRawBufferPointer) throws(SocketError) -> Int {
        while true {
            let count = recv(fd, buffer.baseAddress, buffer.count, 0)
            if count >= 0 { return count }
            if errno == EINTR { continue }
            throw .lastError("recv")
        }
    }

    /// Whether the peer has hung up: shut its sending side (its FIN has come) or reset the connection — even if
    /// bytes it sent before are still unread, which a peek at the next byte would find instead. A `poll` with
    /// `POLLRDHUP` that does not wait; consumes nothing. `false` if `poll` itself fails.
    package func peerHasHungUp() -> Bool {
        let gone = casty_pollrdhup() | Int16(POLLHUP) | Int16(POLLERR) | Int16(POLLNVAL)
        var descriptor = pollfd(fd: fd, events: casty_pollrdhup(), revents: 0)
        while true {
            let ready = poll(&descriptor, 1, 0)
            if ready >= 0 { return descriptor.revents & gone != 0 }
            if errno != EINTR { return false }
        }
    }

    // MARK: Connection set-up

    /// Binds the socket to a local `address` (port `0` lets the kernel pick a free port).
    package func bind(to address: SocketAddress) throws(SocketError) {
        let result = address.withSockAddr { pointer, length in Glibc.bind(fd, pointer, length) }
        guard result == 0 else { throw .lastError("bind to \(address)") }
    }

    /// Starts listening; `backlog` is the queue length of connections waiting to be accepted
    /// (the kernel caps it at `net.core.somaxconn`).
    package func listen(backlog: Int32 = 4096) throws(SocketError) {
        guard Glibc.listen(fd, backlog) == 0 else { throw .lastError("listen") }
    }

    /// Accepts one waiting connection, non-blocking and close-on-exec from birth (`accept4`).
    ///
    /// Aborted handshakes (`ECONNABORTED`, `EPROTO`) and `EINTR` are skipped over.
    /// - Throws: ``SocketError/blocked`` when no connection is waiting,
    ///   ``SocketError/outOfDescriptors`` on EMFILE/ENFILE.
    package func accept() throws(SocketError) -> Socket {
        while true {
            let fd = casty_accept(self.fd, nil, nil)
            if fd >= 0 { return Socket(fd: fd) }
            switch errno {
            case EINTR, ECONNABORTED, EPROTO: continue
            default: throw .lastError("accept")
            }
        }
    }

    /// Starts connecting to `address`. Returns `true` if connected at once, `false` if the
    /// connection is in progress (wait until the socket is writable, then check ``pendingError()``).
    package func connect(to address: SocketAddress) throws(SocketError) -> Bool {
        while true {
            let result = address.withSockAddr { pointer, length in Glibc.connect(fd, pointer, length) }
            if result == 0 { return true }
            switch errno {
            case EINTR: continue
            case EINPROGRESS: return false
            case let code: throw .fromErrno(code, "connect to \(address)")
            }
        }
    }

    /// The local address the socket is bound to (`getsockname`), for example to learn the port the
    /// kernel picked.
    package func localAddress() throws(SocketError) -> SocketAddress {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let result = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard result == 0, let address = SocketAddress(storage: storage) else { throw .lastError("getsockname") }
        return address
    }

    /// The address of the connected peer (`getpeername`).
    package func peerAddress() throws(SocketError) -> SocketAddress {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let result = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getpeername(fd, $0, &length) }
        }
        guard result == 0, let address = SocketAddress(storage: storage) else { throw .lastError("getpeername") }
        return address
    }

    /// Ends the sending direction (`shutdown(SHUT_WR)`): the peer reads the end of the stream after what was
    /// sent, while this side may still read. Errors (a peer already gone) are ignored: a close follows anyway.
    package func shutdownWriting() {
        _ = Glibc.shutdown(fd, Int32(SHUT_WR))
    }

    /// Closes the descriptor. Call it once; the number may be reused by the next socket at once.
    package func close() {
        // Linux releases the descriptor even when close reports EINTR, so never retry.
        _ = Glibc.close(fd)
    }
}
