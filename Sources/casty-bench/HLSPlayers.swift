import CCastySystem
import Glibc

/// The second half of `casty-bench hls`: many HLS players of one live playlist, on one thread of this process
/// (never on Casty's loop: the server is another process).
///
/// Each player loops as a live player does: `GET` the media playlist; if its newest segment is one this player
/// has not fetched, `GET` it; then wait `pause` seconds (half the target duration) and start again. The first
/// requests are spread at random over one pause. Casty answers HTTP/1.0 with `Connection: close`, so every
/// request is a new connection: one level-triggered epoll set, raw non-blocking sockets from the loopback
/// addresses `127.0.0.2` … (as `loadgen` does, so ephemeral ports never run short), one shared 256 KiB
/// receive buffer. A request's latency is from `connect` to the last byte of the answer (the server closes).
///
/// Errors: an answer other than 200, a body shorter than its `Content-Length`, a connection refused or reset,
/// no whole answer within `timeout` seconds. Requests still open when the time is up are not counted.
struct HLSPlayers {
    /// What the players ask and for how long.
    struct Options {
        var port: UInt16
        var playlist: String  // `/m0/index.m3u8`
        var count: Int
        var seconds: Double
        var pause: Double
        var timeout = 10.0
    }

    /// What they saw.
    struct Report {
        var playlists = 0, segments = 0, bytes = 0
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
        var started: UInt64 = 0  // when the request's connect() was called
        var segment: String?  // the segment being fetched; nil: the playlist
        var newest = ""  // the newest segment fetched
        var head: [UInt8] = []  // the answer's head until it is whole, then the playlist's body
        var headDone = false
        var status = 0, contentLength = -1, body = 0
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

    /// Connects for the player's next request: its pending segment, or the playlist.
    private mutating func request(_ slot: Int) {
        let fd = socket(AF_INET, casty_sock_stream_nonblocking(), 0)
        guard fd >= 0 else { return fail(slot, "socket: errno \(errno)") }
        players[slot].fd = fd
        players[slot].phase = .connecting
        players[slot].started = now()
        players[slot].head.removeAll(keepingCapacity: true)
        players[slot].headDone = false
        players[slot].status = 0
        players[slot].contentLength = -1
        players[slot].body = 0
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
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 || errno == EINPROGRESS else { return fail(slot, "connect: errno \(errno)") }
        guard casty_epoll_ctl(epoll, casty_epoll_ctl_add(), fd, casty_epollout(), UInt64(slot)) == 0 else {
            return fail(slot, "epoll_ctl: errno \(errno)")
        }
    }

    /// The player's socket is ready: the request goes out once connected, then the answer is read.
    private mutating func handle(_ slot: Int) {
        let fd = players[slot].fd
        guard fd >= 0 else { return }
        if players[slot].phase == .connecting {
            var error: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            _ = getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length)
            guard error == 0 else { return fail(slot, error == ECONNREFUSED ? "refused" : "connect: errno \(error)") }
            let path = players[slot].segment.map { directory + $0 } ?? options.playlist
            let request = Array("GET \(path) HTTP/1.0\r\nHost: 127.0.0.1:\(options.port)\r\nUser-Agent: casty-bench hls\r\n\r\n".utf8)
            let sent = request.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard sent == request.count else { return fail(slot, "request not sent whole") }
            players[slot].phase = .receiving
            _ = casty_epoll_ctl(epoll, casty_epoll_ctl_mod(), fd, casty_epollin(), UInt64(slot))
            return
        }
        let count = recv(fd, scratch.baseAddress, scratch.count, 0)
        if count < 0 {
            if errno == EAGAIN || errno == EINTR { return }
            return fail(slot, errno == ECONNRESET ? "reset" : "recv: errno \(errno)")
        }
        if count == 0 { return finish(slot) }
        report.bytes += count
        let bytes = UnsafeRawBufferPointer(rebasing: scratch[..<count])
        if players[slot].headDone {
            players[slot].body += count
            if players[slot].segment == nil { players[slot].head.append(contentsOf: bytes) }
            return
        }
        players[slot].head.append(contentsOf: bytes)
        guard let end = headEnd(players[slot].head) else { return }
        let head = String(decoding: players[slot].head[..<end], as: UTF8.self)
        players[slot].headDone = true
        players[slot].status = head.split(separator: " ", maxSplits: 2).dropFirst().first.flatMap { Int($0) } ?? 0
        players[slot].contentLength = headerValue("content-length", in: head).flatMap { Int($0) } ?? -1
        players[slot].body = players[slot].head.count - end
        // A playlist's body is kept to be read; a segment's is only counted.
        if players[slot].segment == nil { players[slot].head.removeSubrange(..<end) } else { players[slot].head = [] }
    }

    /// The server closed: the answer is whole. Counts it, and moves the player on.
    private mutating func finish(_ slot: Int) {
        let player = players[slot]
        closeConnection(slot)
        guard player.status == 200 else { return fail(slot, "HTTP \(player.status)", closed: true) }
        guard player.contentLength < 0 || player.body == player.contentLength else { return fail(slot, "short body", closed: true) }
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

    /// A request failed: counted, and the player starts again with the playlist after a pause.
    private mutating func fail(_ slot: Int, _ reason: String, closed: Bool = false) {
        if !closed { closeConnection(slot) }
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
