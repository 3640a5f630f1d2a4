import CCastySystem
import Glibc

/// The second half of `casty-bench hls`: many HLS players of one live playlist, on one thread of this process
/// (never on Casty's loop: the server is another process).
///
/// Each player loops as a live player does: `GET` the media playlist; if its newest segment is one this player
/// has not fetched, `GET` it; then wait `pause` seconds (half the target duration) and start again. The first
/// requests are spread at random over one pause. One level-triggered epoll set, raw non-blocking sockets from the
/// loopback addresses `127.0.0.2` … (as `loadgen` does, so ephemeral ports never run short), one shared 256 KiB
/// receive buffer.
///
/// By default every request is a new connection (`HTTP/1.0`, so Casty answers `Connection: close`), and a
/// request's latency is from `connect` to the last byte of the answer (the server closes). With
/// ``Options/keepAlive`` each player keeps one `HTTP/1.1` connection and sends its requests on it one at a time,
/// reading each answer by its `Content-Length`; its latency is from `send` to the answer's last byte (plus the
/// handshake when the request needs a new connection). The player connects again when the server ended the
/// connection: after an answer with `Connection: close`, an EOF or reset while idle, or after an error. An EOF or
/// reset on a kept connection before any byte of the answer (the server closed it idle just as the request went
/// out) is not an error: the request is sent again on a new connection. Every new connection after a player's
/// first is a reconnect.
///
/// Errors: an answer other than 200, a body shorter (or, kept, longer) than its `Content-Length`, a connection
/// refused or reset, no whole answer within `timeout` seconds. Requests still open when the time is up are not
/// counted.
struct HLSPlayers {
    /// What the players ask and for how long.
    struct Options {
        var port: UInt16
        var playlist: String  // `/m0/index.m3u8`
        var count: Int
        var seconds: Double
        var pause: Double
        var timeout = 10.0
        /// One kept `HTTP/1.1` connection per player instead of one connection per request.
        var keepAlive = false
    }

    /// What they saw.
    struct Report {
        var playlists = 0, segments = 0, bytes = 0
        /// Connections opened, and how many of them were a player's second or later (kept connections only).
        var connections = 0, reconnects = 0
        /// Why kept connections ended before the time was up (not counting errors).
        var closes: [String: Int] = [:]
        var playlistMicros: [Int32] = [], segmentMicros: [Int32] = []
        var errors: [String: Int] = [:]
        var seconds = 0.0
        var errorCount: Int { errors.values.reduce(0, +) }
    }

    /// One player: where it is in its loop.
    private struct Player {
        enum Phase: UInt8 { case waiting, connecting, receiving }
        var phase = Phase.waiting
        var fd: Int32 = -1
        var due: UInt64 = 0  // waiting: when the next request starts
        var started: UInt64 = 0  // when the request's connect() (on a kept connection, its send()) was called
        var segment: String?  // the segment being fetched; nil: the playlist
        var newest = ""  // the newest segment fetched
        var connections = 0  // connections this player opened
        var reused = false  // the request went out on a connection kept from an earlier one
        var head: [UInt8] = []  // the answer's head until it is whole, then the playlist's body
        var headDone = false
        var status = 0, contentLength = -1, body = 0
        var closes = false  // the answer ends its connection (`Connection: close`, or HTTP/1.0 without keep-alive)
    }

    /// What the players ask and for how long.
    let options: Options
    private var players: [Player]
    private let epoll: Int32
    private let events: UnsafeMutableRawPointer
    private let scratch: UnsafeMutableRawBufferPointer
    private let directory: String
    private var report = Report()

    /// `options.count` players, none started yet.
    init(_ options: Options) {
        self.options = options
        players = Array(repeating: Player(), count: options.count)
        epoll = casty_epoll_create()
        precondition(epoll >= 0, "epoll_create1 failed")
        events = UnsafeMutableRawPointer.allocate(byteCount: casty_epoll_event_size() * 1024, alignment: 16)
        scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 256 * 1024, alignment: 16)
        directory = String(options.playlist[...(options.playlist.lastIndex(of: "/") ?? options.playlist.startIndex)])
    }

    /// Plays for `options.seconds`, then closes every connection and reports.
    mutating func run() -> Report {
        let start = now(), end = start + UInt64(options.seconds * 1e9)
        for slot in players.indices { players[slot].due = start + UInt64(Double.random(in: 0..<options.pause) * 1e9) }
        var lastScan = start
        while now() < end {
            let time = now()
            for slot in players.indices where players[slot].phase == .waiting && players[slot].due <= time { request(slot) }
            let count = casty_epoll_wait(epoll, events, 1024, 2)
            for index in 0..<max(0, Int(count)) {
                var ready: UInt32 = 0, data: UInt64 = 0
                casty_epoll_event_at(events, Int32(index), &ready, &data)
                handle(Int(data))
            }
            if now() - lastScan > 100_000_000 {
                lastScan = now()
                let limit = UInt64(options.timeout * 1e9)
                for slot in players.indices where players[slot].phase != .waiting && lastScan - players[slot].started > limit {
                    fail(slot, "no whole answer within \(Int(options.timeout)) s")
                }
            }
        }
        report.seconds = Double(now() - start) / 1e9
        for slot in players.indices where players[slot].fd >= 0 { Glibc.close(players[slot].fd) }
        Glibc.close(epoll)
        events.deallocate()
        scratch.deallocate()
        return report
    }

    /// Starts the player's next request — its pending segment, or the playlist — on its kept connection if it has
    /// one, else on a new connection.
    private mutating func request(_ slot: Int) {
        players[slot].started = now()
        players[slot].head.removeAll(keepingCapacity: true)
        players[slot].headDone = false
        players[slot].status = 0
        players[slot].contentLength = -1
        players[slot].body = 0
        players[slot].closes = false
        players[slot].reused = players[slot].fd >= 0
        if players[slot].reused { return send(slot) }
        connect(slot)
    }

    /// Opens a new connection for the player's request; ``send(_:)`` follows once it is connected.
    private mutating func connect(_ slot: Int) {
        let fd = socket(AF_INET, casty_sock_stream_nonblocking(), 0)
        guard fd >= 0 else { return fail(slot, "socket: errno \(errno)") }
        players[slot].fd = fd
        players[slot].phase = .connecting
        report.connections += 1
        if options.keepAlive, players[slot].connections > 0 { report.reconnects += 1 }
        players[slot].connections += 1
        var one: Int32 = 1
        // IP_BIND_ADDRESS_NO_PORT (24): choose the port at connect(), per destination.
        _ = setsockopt(fd, Int32(IPPROTO_IP), 24, &one, socklen_t(MemoryLayout<Int32>.size))
        var source = loopback(port: 0, last: UInt32(2 + slot % 120))
        var target = loopback(port: options.port, last: 1)
        let bound = withUnsafePointer(to: &source) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { return fail(slot, "bind: errno \(errno)") }
        let result = withUnsafePointer(to: &target) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 || errno == EINPROGRESS else { return fail(slot, "connect: errno \(errno)") }
        guard casty_epoll_ctl(epoll, casty_epoll_ctl_add(), fd, casty_epollout(), UInt64(slot)) == 0 else {
            return fail(slot, "epoll_ctl: errno \(errno)")
        }
    }

    /// Sends the player's request on its connection (new and connected, or kept); the answer is read next.
    private mutating func send(_ slot: Int) {
        let path = players[slot].segment.map { directory + $0 } ?? options.playlist
        let version = options.keepAlive ? "HTTP/1.1" : "HTTP/1.0"
        let request = Array("GET \(path) \(version)\r\nHost: 127.0.0.1:\(options.port)\r\nUser-Agent: casty-bench hls\r\n\r\n".utf8)
        let fd = players[slot].fd
        let sent = request.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        guard sent == request.count else {
            if sent < 0, players[slot].reused { return reconnect(slot, "closed before the request") }
            return fail(slot, "request not sent whole")
        }
        if players[slot].phase == .connecting { _ = casty_epoll_ctl(epoll, casty_epoll_ctl_mod(), fd, casty_epollin(), UInt64(slot)) }
        players[slot].phase = .receiving
    }

    /// The player's socket is ready: the request goes out once connected, then the answer is read. A kept
    /// connection that turns readable while its player waits has been closed by the server.
    private mutating func handle(_ slot: Int) {
        let fd = players[slot].fd
        guard fd >= 0 else { return }
        switch players[slot].phase {
        case .connecting:
            var error: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            _ = getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length)
            guard error == 0 else { return fail(slot, error == ECONNREFUSED ? "refused" : "connect: errno \(error)") }
            send(slot)
        case .waiting:
            let count = recv(fd, scratch.baseAddress, scratch.count, 0)
            if count < 0, errno == EAGAIN || errno == EINTR { return }
            report.closes[count == 0 ? "EOF while idle" : count < 0 ? "reset while idle" : "bytes while idle", default: 0] += 1
            closeConnection(slot)
        case .receiving:
            receive(slot)
        }
    }

    /// Reads what came of the answer: its head, then its body (the playlist's kept, a segment's only counted).
    private mutating func receive(_ slot: Int) {
        let count = recv(players[slot].fd, scratch.baseAddress, scratch.count, 0)
        let nothingYet = players[slot].reused && players[slot].head.isEmpty && !players[slot].headDone
        if count < 0 {
            if errno == EAGAIN || errno == EINTR { return }
            if nothingYet { return reconnect(slot, "reset before the answer") }
            return fail(slot, errno == ECONNRESET ? "reset" : "recv: errno \(errno)")
        }
        if count == 0 { return nothingYet ? reconnect(slot, "EOF before the answer") : finish(slot) }
        report.bytes += count
        let bytes = UnsafeRawBufferPointer(rebasing: scratch[..<count])
        if players[slot].headDone {
            players[slot].body += count
            if players[slot].segment == nil { players[slot].head.append(contentsOf: bytes) }
        } else {
            players[slot].head.append(contentsOf: bytes)
            guard let end = headEnd(players[slot].head) else { return }
            let head = String(decoding: players[slot].head[..<end], as: UTF8.self)
            let connection = headerValue("connection", in: head)?.lowercased() ?? ""
            players[slot].headDone = true
            players[slot].status = head.split(separator: " ", maxSplits: 2).dropFirst().first.flatMap { Int($0) } ?? 0
            players[slot].contentLength = headerValue("content-length", in: head).flatMap { Int($0) } ?? -1
            players[slot].closes = connection.contains("close") || (head.hasPrefix("HTTP/1.0") && !connection.contains("keep-alive"))
            players[slot].body = players[slot].head.count - end
            if players[slot].segment == nil { players[slot].head.removeSubrange(..<end) } else { players[slot].head = [] }
        }
        // A kept connection's answer ends at its Content-Length; otherwise at the server's close.
        let length = players[slot].contentLength
        if options.keepAlive, length >= 0, players[slot].body >= length { finish(slot) }
    }

    /// The answer is whole (by its length, or the server closed). Counts it, and moves the player on; the
    /// connection is kept if both sides want it.
    private mutating func finish(_ slot: Int) {
        let player = players[slot]
        if !options.keepAlive || player.closes || player.contentLength < 0 {
            if options.keepAlive, player.fd >= 0 { report.closes[player.closes ? "Connection: close" : "no Content-Length", default: 0] += 1 }
            closeConnection(slot)
        }
        guard player.status == 200 else { return fail(slot, "HTTP \(player.status)") }
        guard player.contentLength < 0 || player.body <= player.contentLength else { return fail(slot, "body past its Content-Length") }
        guard player.contentLength < 0 || player.body == player.contentLength else { return fail(slot, "short body") }
        let micros = Int32(clamping: (now() - player.started) / 1000)
        if let segment = player.segment {
            report.segments += 1
            report.segmentMicros.append(micros)
            players[slot].newest = segment
            players[slot].segment = nil
            wait(slot)
        } else {
            report.playlists += 1
            report.playlistMicros.append(micros)
            let text = String(decoding: player.head, as: UTF8.self)
            let newest = text.split(separator: "\n").last { !$0.hasPrefix("#") && !$0.isEmpty }.map(String.init)
            if let newest, newest != player.newest {
                players[slot].segment = newest
                request(slot)
            } else {
                wait(slot)
            }
        }
    }

    /// The server closed the kept connection before answering: the same request again, on a new connection.
    private mutating func reconnect(_ slot: Int, _ reason: String) {
        report.closes[reason, default: 0] += 1
        closeConnection(slot)
        request(slot)
    }

    /// A request failed: counted, and the player starts again with the playlist after a pause.
    private mutating func fail(_ slot: Int, _ reason: String) {
        closeConnection(slot)
        report.errors[(players[slot].segment == nil ? "playlist: " : "segment: ") + reason, default: 0] += 1
        players[slot].segment = nil
        wait(slot)
    }

    /// The player waits a pause before its next playlist.
    private mutating func wait(_ slot: Int) {
        players[slot].phase = .waiting
        players[slot].due = now() + UInt64(options.pause * 1e9)
    }

    /// Closes the player's connection, if it has one.
    private mutating func closeConnection(_ slot: Int) {
        guard players[slot].fd >= 0 else { return }
        _ = casty_epoll_ctl(epoll, casty_epoll_ctl_del(), players[slot].fd, 0, 0)
        Glibc.close(players[slot].fd)
        players[slot].fd = -1
    }
}

/// `127.0.0.<last>:<port>`.
private func loopback(port: UInt16, last: UInt32) -> sockaddr_in {
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = port.bigEndian
    address.sin_addr.s_addr = (UInt32(127) << 24 | last).bigEndian
    return address
}

/// The value of header `name` (lowercase) in a reply head.
private func headerValue(_ name: String, in head: String) -> String? {
    for line in head.split(separator: "\r\n") {
        let parts = line.split(separator: ":", maxSplits: 1)
        if parts.count == 2, parts[0].lowercased() == name { return String(parts[1].drop { $0 == " " }) }
    }
    return nil
}
