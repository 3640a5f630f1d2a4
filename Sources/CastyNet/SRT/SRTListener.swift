internal import CCastySystem
internal import Glibc
internal import Icy
internal import Synchronization

/// An SRT connection's statistics (libsrt's `srt_bstats`, totals since it connected), as a receiver sees them.
package struct SRTStats: Sendable, Equatable {
    /// Data packets received, retransmitted ones included.
    package var packetsReceived = 0
    /// Packets detected lost (gaps in the sequence numbers), whether retransmitted later or not.
    package var packetsLost = 0
    /// Retransmitted packets received.
    package var packetsRetransmitted = 0
    /// Packets that came too late to play (or never came) within the latency, and were dropped.
    package var packetsDropped = 0
    /// Packets that could not be decrypted.
    package var packetsUndecrypted = 0
    /// Bytes received.
    package var bytesReceived = 0
    /// The round-trip time, in milliseconds.
    package var rttMilliseconds = 0.0
    /// The receiving rate, in Mbit/s.
    package var receiveRateMbps = 0.0
    /// The latency agreed with the caller (the larger of both sides'), in milliseconds.
    package var latencyMilliseconds = 0
    /// The maximum segment size (1500 unless configured otherwise).
    package var mss = 0

    package init() {}
}

/// A caller connected to an ``SRTListener``. Sendable: ``close()`` and ``stats`` may be used from any thread.
package final class SRTConnection: Sendable {
    /// libsrt's socket id (not a kernel descriptor).
    package let id: Int32
    /// The caller's stream ID (`SRTO_STREAMID`), as it sent it.
    package let streamID: String
    /// The caller's address.
    package let peer: SocketAddress?
    private let requestClose: @Sendable (Int32) -> Void
    private let claimed: @Sendable (Int32) -> Void
    let latest = Mutex<SRTStats?>(nil)

    init(
        id: Int32, streamID: String, peer: SocketAddress?, requestClose: @escaping @Sendable (Int32) -> Void,
        claimed: @escaping @Sendable (Int32) -> Void
    ) {
        self.id = id
        self.streamID = streamID
        self.peer = peer
        self.requestClose = requestClose
        self.claimed = claimed
    }

    /// The statistics as of the last second (`nil` before the first reading).
    package var stats: SRTStats? { latest.withLock { $0 } }

    /// Disconnects the caller (within 0.1 s, on the listener's thread); its receiver is told ``SRTReceiver/ended(_:)``.
    package func close() { requestClose(id) }

    /// The caller got what it came for (an SRT source, its mount): it no longer counts among the listener's
    /// callers waiting (``SRTListener/maxPending``). Calling it again does nothing.
    package func claim() { claimed(id) }
}

/// What an ``SRTListener`` tells about one connection, on the listener's own thread.
package protocol SRTReceiver: AnyObject {
    /// A message arrived (in live mode, up to 1456 bytes: seven 188-byte TS packets as ffmpeg sends them).
    func received(_ bytes: ArraySlice<UInt8>)
    /// The connection ended (the caller hung up or broke, ``SRTConnection/close()`` was called, or the listener
    /// closed); nothing more comes.
    func ended(_ reason: String)
}

/// An SRT listener (libsrt, loaded with ``SRTLibrary``): it takes callers on a UDP port, lets `decide` accept or
/// reject each one in libsrt's listen callback, and reads what every accepted caller sends.
///
/// **Threads.** libsrt's sockets are not kernel descriptors, so they cannot join the ``EventLoop``'s epoll: the
/// listener has one thread of its own (a pthread, never one of Swift's cooperative pool) that waits in
/// `srt_epoll_uwait`, accepts, receives, and calls the ``SRTReceiver`` of each connection; a receiver hands its
/// work to an event loop with ``EventLoop/execute(_:)``. `decide` runs on libsrt's own thread, during the
/// handshake: it must answer at once, from what it holds (a snapshot behind a lock), never wait for I/O.
///
/// **Decisions.** ``Decision/accept(passphrase:)`` sets the caller's passphrase (`SRTO_PASSPHRASE`) before the
/// handshake goes on: a caller with another passphrase, or none, is then rejected by SRT itself
/// (`SRT_REJ_BADSECRET`, `SRT_REJ_UNSECURE`). ``Decision/reject(code:)`` rejects with that code — 1403
/// (``forbidden``) for a stream ID that is not allowed, 1409 (``conflict``) for one in use, … — which the caller's
/// libsrt reports (`srt_getrejectreason`).
///
/// **Callers waiting.** Each caller holds libsrt's buffers from its handshake on, whether it sends anything or not:
/// at most ``maxPending`` callers may be in their handshake or accepted without having claimed anything yet
/// (``SRTConnection/claim()``), and at most ``maxPendingPerAddress`` of them from one address; the next ones are
/// rejected with 1402 (``overloaded``), and `tooManyPending` is told.
package final class SRTListener: @unchecked Sendable {
    // @unchecked Sendable: `connections` belongs to the listener's thread; everything shared is a Mutex or an Atomic.

    /// What to do with a caller.
    package enum Decision: Sendable, Equatable {
        /// Go on with the handshake, with this passphrase (`nil`: unencrypted).
        case accept(passphrase: String?)
        /// Reject the caller with `code` (1000 + an HTTP-like status for the application's reasons).
        case reject(code: Int32)
    }

    /// `SRT_REJX_UNAUTHORIZED`: the caller gave no credentials where some are needed (a key).
    package static let unauthorized = Int32(CASTY_SRT_REJX_UNAUTHORIZED)
    /// `SRT_REJX_OVERLOAD`: the server takes no more callers now.
    package static let overloaded = Int32(CASTY_SRT_REJX_OVERLOAD)
    /// `SRT_REJX_FORBIDDEN`: the stream ID is not allowed.
    package static let forbidden = Int32(CASTY_SRT_REJX_FORBIDDEN)
    /// `SRT_REJX_CONFLICT`: what the stream ID asks for is in use (a mount another source publishes).
    package static let conflict = Int32(CASTY_SRT_REJX_CONFLICT)

    /// The receive buffer and flow window of every caller, in packets (`SRTO_RCVBUF`, `SRTO_FC`): libsrt's 8192
    /// and 25,600 are sized for video, and cost each caller about 0.8 MB as soon as it connects, even one that
    /// sends nothing. 4096 packets (6 MB at most, filled only as packets wait for their play time) hold 7 s of a
    /// 6 Mbit/s stream (an encoder that sends video too, which Casty drops), or minutes of audio — well over the
    /// 10 s `--srt-latency` allows at audio bitrates — and bring an idle caller down to about 0.4 MB.
    package static let bufferPackets = 4096

    /// The address the listener is bound to: the port the system chose when port 0 was asked. Set once, before the
    /// listener's thread starts.
    package private(set) var address: SocketAddress
    /// The latency asked of callers (`SRTO_LATENCY`).
    package let latency: Duration
    /// How long a caller may send nothing before libsrt gives it up (`SRTO_PEERIDLETIMEO`).
    package let peerIdleTimeout: Duration
    /// The most callers in their handshake or accepted that have not claimed anything yet.
    package let maxPending: Int
    /// The most of those (``maxPending``) from one address.
    package let maxPendingPerAddress: Int

    private let socket: Int32
    private let epoll: Int32
    private let decide: @Sendable (_ streamID: String, _ peer: SocketAddress?) -> Decision
    private let accepted: @Sendable (SRTConnection) -> (any SRTReceiver)?
    private let rejected: (@Sendable (_ streamID: String, SocketAddress?, SRTRejection) -> Void)?
    private let tooManyPending: (@Sendable (_ streamID: String, SocketAddress?, SRTPending.Full) -> Void)?
    private let pending: Mutex<SRTPending>
    /// The callers in their handshake or accepted that have not claimed anything yet (``maxPending``).
    package var waitingCallers: Int { pending.withLock(\.count) }
    private let closing = Mutex<[Int32]>([])
    private let running = Atomic<Bool>(true)
    private var thread = pthread_t()
    /// Thread-confined: the accepted connections and their receivers.
    private var connections: [Int32: (connection: SRTConnection, receiver: any SRTReceiver)] = [:]
    /// When each caller last sent a data packet: a connection that breaks after the peer idle timeout of nothing was
    /// given up on (the caller stalled, or its network went), not closed by the caller (``endReason(quiet:peerIdleTimeout:)``).
    private var lastPacket: [Int32: ContinuousClock.Instant] = [:]

    /// Listens on `address` (UDP) and starts the listener's thread.
    ///
    /// - Parameters:
    ///   - latency: `SRTO_LATENCY`: how long the receiver waits for retransmissions before playing on (both
    ///     sides' largest value wins).
    ///   - peerIdleTimeout: `SRTO_PEERIDLETIMEO`: how long a caller may send nothing (an encoder that stalls,
    ///     a network that drops out) before libsrt breaks its connection — libsrt's own 5 s unless told.
    ///   - decide: called on libsrt's thread for each caller with its stream ID and address.
    ///   - accepted: called on the listener's thread for each accepted caller: its receiver, or `nil` to close it.
    ///   - rejected: called on libsrt's thread when SRT itself rejects a caller that `decide` let go on with a
    ///     passphrase (a wrong one, or none), or without one (the caller gave one), with the caller's stream ID and
    ///     address; never with the passphrase. libsrt tells
    ///     this only in its log, which the listener reads (``SRTRejection``).
    ///   - maxPending: the most callers in their handshake or accepted without having claimed anything.
    ///   - maxPendingPerAddress: the most of those from one address (its host).
    ///   - tooManyPending: called on libsrt's thread for each caller `decide` accepted but rejected for
    ///     `maxPending` or `maxPendingPerAddress`, with its stream ID, its address and the bound it met.
    /// - Throws: ``SRTError`` when libsrt is not loaded or the address cannot be bound.
    package init(
        address: SocketAddress, latency: Duration = .milliseconds(120), peerIdleTimeout: Duration = .seconds(5),
        maxPending: Int = 16, maxPendingPerAddress: Int = 4,
        decide: @escaping @Sendable (_ streamID: String, _ peer: SocketAddress?) -> Decision,
        accepted: @escaping @Sendable (SRTConnection) -> (any SRTReceiver)?,
        rejected: (@Sendable (_ streamID: String, SocketAddress?, SRTRejection) -> Void)? = nil,
        tooManyPending: (@Sendable (_ streamID: String, SocketAddress?, SRTPending.Full) -> Void)? = nil
    ) throws(SRTError) {
        guard casty_srt_loaded() != 0 else {
            throw .libraryMissing(tried: SRTLibrary.defaultNames, reason: "SRTLibrary.load() was not called")
        }
        self.address = address
        self.latency = latency
        self.peerIdleTimeout = peerIdleTimeout
        self.decide = decide
        self.accepted = accepted
        self.rejected = rejected
        self.maxPending = maxPending
        self.tooManyPending = tooManyPending
        self.maxPendingPerAddress = maxPendingPerAddress
        self.pending = Mutex(SRTPending(limit: maxPending, perAddress: maxPendingPerAddress))
        SRTCallers.installLogHandler()
        socket = casty_srt_create_socket()
        guard socket >= 0 else { throw .last("srt_create_socket") }
        epoll = casty_srt_epoll_create()
        guard epoll >= 0 else {
            _ = casty_srt_close(socket)
            throw .last("srt_epoll_create")
        }
        do throws(SRTError) {
            var no: Int32 = 0, yes: Int32 = 1
            var latencyMs = Int32(clamping: milliseconds(latency))
            var idle = Int32(clamping: milliseconds(peerIdleTimeout))
            // Non-blocking: accept and receive return at once (accepted sockets inherit the options).
            guard casty_srt_setsockflag(socket, Int32(CASTY_SRTO_RCVSYN), &no, 4) >= 0 else { throw .last("srt_setsockflag(SRTO_RCVSYN)") }
            guard casty_srt_setsockflag(socket, Int32(CASTY_SRTO_REUSEADDR), &yes, 4) >= 0 else { throw .last("srt_setsockflag(SRTO_REUSEADDR)") }
            guard casty_srt_setsockflag(socket, Int32(CASTY_SRTO_LATENCY), &latencyMs, 4) >= 0 else { throw .last("srt_setsockflag(SRTO_LATENCY)") }
            // The flow window first: libsrt caps the receive buffer at it.
            var fc = Int32(Self.bufferPackets)
            var rcvbuf = Int32(Self.bufferPackets * 1472)  // SRTO_RCVBUF counts bytes of MSS 1500 less the IP and UDP headers
            guard casty_srt_setsockflag(socket, Int32(CASTY_SRTO_FC), &fc, 4) >= 0 else { throw .last("srt_setsockflag(SRTO_FC)") }
            guard casty_srt_setsockflag(socket, Int32(CASTY_SRTO_RCVBUF), &rcvbuf, 4) >= 0 else { throw .last("srt_setsockflag(SRTO_RCVBUF)") }
            guard casty_srt_setsockflag(socket, Int32(CASTY_SRTO_PEERIDLETIMEO), &idle, 4) >= 0 else {
                throw .last("srt_setsockflag(SRTO_PEERIDLETIMEO)")
            }
            let bound = address.withSockAddr { pointer, length in casty_srt_bind(socket, pointer, Int32(length)) }
            guard bound >= 0 else { throw .last("srt_bind(\(address))") }
            var storage = sockaddr_storage()
            var length = Int32(MemoryLayout<sockaddr_storage>.size)
            if casty_srt_getsockname(socket, &storage, &length) >= 0, let actual = SocketAddress(storage: storage) {
                self.address = actual
            }
            let callback: casty_srt_listen_fn = { opaque, socket, _, peer, streamID in
                let listener = Unmanaged<SRTListener>.fromOpaque(opaque!).takeUnretainedValue()
                return listener.listenCallback(socket, peer: peer, streamID: streamID)
            }
            guard casty_srt_listen_callback(socket, callback, Unmanaged.passUnretained(self).toOpaque()) >= 0 else {
                throw .last("srt_listen_callback")
            }
            guard casty_srt_listen(socket, 16) >= 0 else { throw .last("srt_listen") }
            _ = casty_srt_epoll_set(epoll, Int32(CASTY_SRT_EPOLL_ENABLE_EMPTY))
            guard casty_srt_epoll_add_usock(epoll, socket, Int32(CASTY_SRT_EPOLL_IN | CASTY_SRT_EPOLL_ERR)) >= 0 else {
                throw .last("srt_epoll_add_usock")
            }
        } catch {
            _ = casty_srt_close(socket)
            _ = casty_srt_epoll_release(epoll)
            throw error
        }
        let retained = Unmanaged.passRetained(self).toOpaque()
        let result = pthread_create(&thread, nil, { argument in
            let listener = Unmanaged<SRTListener>.fromOpaque(argument!).takeRetainedValue()
            listener.run()
            return nil
        }, retained)
        guard result == 0 else {
            Unmanaged<SRTListener>.fromOpaque(retained).release()
            _ = casty_srt_close(socket)
            _ = casty_srt_epoll_release(epoll)
            throw .call("pthread_create", code: result, message: "no thread for the SRT listener")
        }
    }

    /// Stops listening and disconnects every caller (each receiver is told); returns once the thread has ended.
    /// Not from a receiver's callback.
    package func close() {
        guard running.exchange(false, ordering: .acquiringAndReleasing) else { return }
        pthread_join(thread, nil)
    }

    /// A stream ID's bytes as text: UTF-8 as it is, and each byte that is not UTF-8 as its `%XX` escape
    /// (``IcyText/decodeTarget(_:)``), as in an HTTP request's path — which names no mount —, never as `U+FFFD`, which
    /// would make `a\xFFb` and `a\xFEb` one mount's name.
    package static func streamIDText(_ bytes: some Collection<UInt8>) -> String {
        IcyText.decodeTarget(bytes)
    }

    // MARK: libsrt's thread

    /// The listen callback: the caller's stream ID and address, decided at once.
    private func listenCallback(_ socket: Int32, peer: UnsafePointer<sockaddr>?, streamID: UnsafePointer<CChar>?) -> Int32 {
        let id = streamID.map { text in
            Self.streamIDText(UnsafeBufferPointer(start: UnsafeRawPointer(text).assumingMemoryBound(to: UInt8.self), count: strlen(text)))
        } ?? ""
        var address: SocketAddress?
        if let peer {
            let length = Int32(peer.pointee.sa_family) == AF_INET6 ? MemoryLayout<sockaddr_in6>.size : MemoryLayout<sockaddr_in>.size
            address = SocketAddress(pointer: peer, length: socklen_t(length))
        }
        switch decide(id, address) {
        case .accept(let passphrase):
            if let full = pending.withLock({ $0.admit(socket, from: address?.host ?? "") }) {
                tooManyPending?(id, address, full)
                _ = casty_srt_setrejectreason(socket, Self.overloaded)
                return -1
            }
            if var bytes = passphrase.map({ Array($0.utf8) }),
               casty_srt_setsockflag(socket, Int32(CASTY_SRTO_PASSPHRASE), &bytes, Int32(bytes.count)) < 0 {
                pending.withLock { $0.forget(socket) }
                _ = casty_srt_setrejectreason(socket, Self.forbidden)
                return -1
            }
            // SRT may still reject it (a wrong passphrase): it then no longer waits.
            SRTCallers.started(socket, peer: address, passphrase: passphrase != nil) { [weak self, rejected] peer, reason in
                self?.pending.withLock { $0.forget(socket) }
                rejected?(id, peer, reason)
            }
            return 0
        case .reject(let code):
            _ = casty_srt_setrejectreason(socket, code)
            return -1
        }
    }

    // MARK: The listener's thread

    private func run() {
        _ = casty_set_thread_name("casty-srt")
        var events = [casty_srt_epoll_event](repeating: casty_srt_epoll_event(), count: 64)
        var buffer = [UInt8](repeating: 0, count: 2048)  // a live-mode message is at most 1456 bytes
        var lastStats = ContinuousClock.now
        while running.load(ordering: .acquiring) {
            let count = casty_srt_epoll_uwait(epoll, &events, Int32(events.count), 100)
            for id in closing.withLock({ ids in defer { ids.removeAll() }; return ids }) {
                drop(id, reason: "closed by the server")
            }
            if count > 0 {
                for event in events.prefix(Int(count)) {
                    if event.fd == socket {
                        acceptOne()
                    } else {
                        service(event.fd, events: event.events, buffer: &buffer)
                    }
                }
            }
            if ContinuousClock.now - lastStats >= .seconds(1) {
                lastStats = .now
                for (id, entry) in connections {
                    var raw = casty_srt_stats()
                    guard casty_srt_bstats(id, &raw) >= 0 else { continue }
                    var stats = SRTStats()
                    stats.packetsReceived = Int(raw.packets_received)
                    stats.packetsLost = Int(raw.packets_lost)
                    stats.packetsRetransmitted = Int(raw.packets_retransmitted)
                    stats.packetsDropped = Int(raw.packets_dropped)
                    stats.packetsUndecrypted = Int(raw.packets_undecrypted)
                    stats.bytesReceived = Int(raw.bytes_received)
                    stats.rttMilliseconds = raw.rtt_ms
                    stats.receiveRateMbps = raw.receive_rate_mbps
                    stats.latencyMilliseconds = Int(raw.latency_ms)
                    stats.mss = Int(raw.mss)
                    entry.connection.latest.withLock { $0 = stats }
                }
            }
        }
        for id in Array(connections.keys) { drop(id, reason: "the SRT listener closed") }
        _ = casty_srt_close(socket)
        _ = casty_srt_epoll_release(epoll)
    }

    /// Accepts one pending caller (epoll reports the listener again while more are pending).
    private func acceptOne() {
        var storage = sockaddr_storage()
        var length = Int32(MemoryLayout<sockaddr_storage>.size)
        let id = casty_srt_accept(socket, &storage, &length)
        guard id >= 0 else { return }
        SRTCallers.ended(id)
        var text = [CChar](repeating: 0, count: 600)
        var textLength = Int32(text.count - 1)
        let streamID = casty_srt_getsockflag(id, Int32(CASTY_SRTO_STREAMID), &text, &textLength) >= 0
            ? Self.streamIDText(text.prefix(Int(textLength)).map { UInt8(bitPattern: $0) }) : ""
        let peer = SocketAddress(storage: storage)
        pending.withLock { $0.accept(id, from: peer?.host ?? "") }
        let connection = SRTConnection(id: id, streamID: streamID, peer: peer) { [weak self] id in
            self?.closing.withLock { $0.append(id) }
        } claimed: { [weak self] id in
            self?.pending.withLock { $0.forget(id) }
        }
        guard let receiver = accepted(connection) else {
            pending.withLock { $0.forget(id) }
            _ = casty_srt_close(id)
            return
        }
        guard casty_srt_epoll_add_usock(epoll, id, Int32(CASTY_SRT_EPOLL_IN | CASTY_SRT_EPOLL_ERR)) >= 0 else {
            pending.withLock { $0.forget(id) }
            _ = casty_srt_close(id)
            receiver.ended("\(SRTError.last("srt_epoll_add_usock"))")
            return
        }
        connections[id] = (connection, receiver)
        lastPacket[id] = .now
    }

    private func service(_ id: Int32, events: Int32, buffer: inout [UInt8]) {
        guard let entry = connections[id] else { return }
        if events & Int32(CASTY_SRT_EPOLL_IN) != 0 {
            while true {
                let count = buffer.withUnsafeMutableBytes { raw in
                    casty_srt_recvmsg(id, raw.baseAddress!.assumingMemoryBound(to: CChar.self), Int32(raw.count))
                }
                guard count > 0 else { break }
                lastPacket[id] = .now
                entry.receiver.received(buffer[0..<Int(count)])
            }
        }
        let state = casty_srt_getsockstate(id)
        if events & Int32(CASTY_SRT_EPOLL_ERR) != 0 || state >= Int32(CASTY_SRTS_BROKEN) {
            let quiet = lastPacket[id].map { ContinuousClock.now - $0 } ?? .zero
            drop(id, reason: Self.endReason(quiet: quiet, peerIdleTimeout: peerIdleTimeout))
        }
    }

    /// Why a caller's connection broke, after `quiet` without a data packet. libsrt says "broken" both when the
    /// caller closed and when it gave up on one silent for `peerIdleTimeout` (nothing at all, not even SRT's
    /// keep-alives): a break well before that is the caller closing — an encoder that sent nothing for a few seconds
    /// and then closed properly has not stopped answering.
    static func endReason(quiet: Duration, peerIdleTimeout: Duration) -> String {
        quiet >= peerIdleTimeout * 0.9 ? "the caller stopped answering (nothing for \(formatted(seconds(quiet))) s)" : "the caller hung up"
    }

    private func drop(_ id: Int32, reason: String) {
        guard let entry = connections.removeValue(forKey: id) else { return }
        lastPacket[id] = nil
        pending.withLock { $0.forget(id) }
        _ = casty_srt_epoll_remove_usock(epoll, id)
        _ = casty_srt_close(id)
        entry.receiver.ended(reason)
    }
}
