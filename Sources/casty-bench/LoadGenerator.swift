import CastyNet
import CCastySystem
import Casty
import Glibc

/// `casty-bench loadgen`: many network listeners of one ICY stream in one process, cheap enough not to be the
/// limit of the server it loads.
///
/// One thread, one level-triggered epoll set with a batch of 4096 events, raw non-blocking sockets and one
/// shared 256 KiB receive buffer: per listener it keeps a few integers (and its metadata bytes while a block
/// straddles two reads), and per read it does one `recv` and walks the `icy-metaint` framing. It connects at
/// `--rate` per second from many loopback source addresses (`127.0.0.F` … `127.0.0.F+S-1`, with
/// `IP_BIND_ADDRESS_NO_PORT`, so ephemeral ports are chosen per destination and never run short). `--path`
/// may list several paths (`/m0,/m1,…`): the listeners take them in turn.
///
/// It asks for `Icy-MetaData: 1` and `X-Casty-Numbered: 1`, and reads every metadata block:
/// - `CastySeq='N'` (Casty) — a jump in the numbering is a gap: a segment this listener never got;
/// - `CastyTime='ms'` (Casty) — lag: the wall-clock time the segment's metadata block arrived, minus the time
///   the segment was cut at the server's source;
/// - `StreamTitle='cb ms'` — title lag: arrival minus the time the benchmark set that title at Icecast. A
///   title only shows at the listener's next metadata block, so one title lag also holds up to one block's
///   worth of waiting; the smallest over a window (titles come at random intervals) estimates the listener's
///   own lag behind the source, and `report` gives p50 and max of that per-listener minimum.
///
/// It talks to `casty-bench fanout` over its standard input and output, one line each way:
/// after the ramp it prints `ready …` (connect and header latencies); `mark` starts a measuring window
/// (answer `marked`), `report` ends it (answer `report …`), `quit` closes everything and exits.
enum LoadGenerator {
    /// `casty-bench loadgen --help`.
    static let usage = Usage(
        measures: """
            (Used by fanout and mounts.) Many ICY listeners in one epoll thread: connects at --rate, walks every
            metadata block (CastySeq gaps, CastyTime lag, title lag). Talks on stdin/stdout: prints `ready …` after
            the ramp; `mark` starts a window, `report` ends it, `quit` exits.
            """,
        options: [
            ("--port P", "the server's port on --host (required)"),
            ("--host A", "the server's IPv4 address (127.0.0.1)"),
            ("--path /P,/Q,…", "paths the listeners take in turn (/)"),
            ("--count N", "listeners (100)"),
            ("--rate R", "connections per second (5000)"),
            ("--first-source F", "first source address 127.0.0.F (2)"),
            ("--sources S", "source addresses used (50)"),
            ("--timeout S", "seconds a connection may take to get its reply head (30)"),
        ])

    static func run(_ arguments: [String]) throws {
        let host = option("--host", in: arguments) ?? "127.0.0.1"
        guard let port = option("--port", in: arguments).flatMap({ UInt16($0) }) else {
            fatalError("loadgen: --port P is required")
        }
        let options = Options(
            host: host, port: port, path: option("--path", in: arguments) ?? "/",
            count: Int(option("--count", in: arguments) ?? "100") ?? 100,
            rate: Double(option("--rate", in: arguments) ?? "5000") ?? 5000,
            firstSource: Int(option("--first-source", in: arguments) ?? "2") ?? 2,
            sources: Int(option("--sources", in: arguments) ?? "50") ?? 50,
            timeout: Double(option("--timeout", in: arguments) ?? "30") ?? 30)
        let limit = raiseFileDescriptorLimit()
        guard limit >= options.count + 16 else {
            fatalError("loadgen: \(options.count) listeners need more descriptors than the limit \(limit)")
        }
        var generator = Generator(options)
        generator.run()
    }

    struct Options {
        var host: String
        var port: UInt16
        var path: String
        var count: Int
        var rate: Double
        var firstSource: Int
        var sources: Int
        var timeout: Double
    }
}

/// One listener's state: a few integers, and its metadata while a block arrives in pieces.
private struct Listener {
    enum Phase: UInt8 { case idle, connecting, headers, streaming, closed }
    var fd: Int32 = -1
    var phase = Phase.idle
    var started: UInt64 = 0  // ns, when connect() was called
    var requested: UInt64 = 0  // ns, when the request was sent
    var metaint = 0
    var audioLeft = 0  // audio bytes before the next length byte
    var metaLeft = -1  // metadata bytes still to come; -1: the next byte is a length byte
    var expected = -1  // the CastySeq expected next; -1: not known yet
    var lastTitle: Int64 = 0
    var minTitleLag = Int32.max  // the smallest title lag seen in the window
    var buffer: [UInt8] = []  // the reply head until it is complete, then a metadata block in pieces
}

private struct Generator {
    let options: LoadGenerator.Options
    let epoll: Int32
    let events: UnsafeMutableRawPointer
    let batch: Int32 = 4096
    let scratch: UnsafeMutableRawBufferPointer
    /// The request of each path; listener `slot` asks for `requests[slot % requests.count]`.
    let requests: [[UInt8]]
    let target: sockaddr_in
    var listeners: [Listener]
    var started = 0, connected = 0, failed = 0, inFlight = 0
    var rampStart: UInt64 = 0
    var rampDone = false
    var failures: [String: Int] = [:]
    var connectMicros: [Int32] = []
    var headerMicros: [Int32] = []
    var stdinBuffer: [UInt8] = []
    var lastTimeoutScan: UInt64 = 0

    // The measuring window (reset by `mark`).
    var bytes = 0, segments = 0, gaps = 0, missing = 0, dropped = 0, titleChanges = 0
    var lags: [Int32] = []

    init(_ options: LoadGenerator.Options) {
        self.options = options
        epoll = casty_epoll_create()
        precondition(epoll >= 0, "epoll_create1 failed")
        events = UnsafeMutableRawPointer.allocate(byteCount: casty_epoll_event_size() * 4096, alignment: 16)
        scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 256 * 1024, alignment: 16)
        requests = options.path.split(separator: ",").map { path in
            Array(("GET \(path) HTTP/1.0\r\nHost: \(options.host):\(options.port)\r\n"
                + "User-Agent: casty-bench loadgen\r\nIcy-MetaData: 1\r\nX-Casty-Numbered: 1\r\n\r\n").utf8)
        }
        precondition(!requests.isEmpty, "loadgen: --path needs at least one path")
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = options.port.bigEndian
        precondition(inet_pton(AF_INET, options.host, &address.sin_addr) == 1, "loadgen: --host must be IPv4")
        target = address
        listeners = Array(repeating: Listener(), count: options.count)
        connectMicros.reserveCapacity(options.count)
        headerMicros.reserveCapacity(options.count)
        lags.reserveCapacity(1 << 20)
        // Commands arrive on standard input; token = UInt64.max.
        _ = casty_epoll_ctl(epoll, casty_epoll_ctl_add(), 0, casty_epollin(), UInt64.max)
    }

    mutating func run() {
        rampStart = now()
        while true {
            openDue()
            let timeout: Int32 = started < options.count ? 1 : 200
            let count = casty_epoll_wait(epoll, events, batch, timeout)
            if count < 0 {
                if errno == EINTR { continue }
                fatalError("loadgen: epoll_wait failed: errno \(errno)")
            }
            for index in 0..<count {
                var ready: UInt32 = 0
                var data: UInt64 = 0
                casty_epoll_event_at(events, index, &ready, &data)
                if data == UInt64.max {
                    if !readCommands() { return }
                } else {
                    handle(Int(data), ready)
                }
            }
            let time = now()
            if !rampDone, time - lastTimeoutScan > 100_000_000 {
                lastTimeoutScan = time
                expireSlowConnects(time)
            }
            if !rampDone, started == options.count, inFlight == 0 {
                rampDone = true
                reportRamp()
            }
        }
    }

    // MARK: Connecting

    /// Opens as many connections as the rate allows by now (at most 1000 handshakes in flight).
    mutating func openDue() {
        guard started < options.count else { return }
        let elapsed = Double(now() - rampStart) / 1e9
        let due = min(options.count, Int(elapsed * options.rate) + 1)
        while started < due, inFlight < 1000 {
            open(started)
            started += 1
        }
    }

    mutating func open(_ slot: Int) {
        let fd = socket(AF_INET, casty_sock_stream_nonblocking(), 0)
        guard fd >= 0 else { return fail(slot, "socket: errno \(errno)") }
        listeners[slot].fd = fd
        listeners[slot].started = now()
        var one: Int32 = 1
        // IP_BIND_ADDRESS_NO_PORT (24): choose the port at connect(), per destination.
        _ = setsockopt(fd, Int32(IPPROTO_IP), 24, &one, socklen_t(MemoryLayout<Int32>.size))
        var source = sockaddr_in()
        source.sin_family = sa_family_t(AF_INET)
        let last = UInt32(options.firstSource + slot % max(1, options.sources))
        source.sin_addr.s_addr = (UInt32(127) << 24 | last).bigEndian
        let bound = withUnsafePointer(to: &source) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { return fail(slot, "bind 127.0.0.\(last): errno \(errno)") }
        var address = target
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 || errno == EINPROGRESS else { return fail(slot, "connect: errno \(errno)") }
        listeners[slot].phase = .connecting
        inFlight += 1
        guard casty_epoll_ctl(epoll, casty_epoll_ctl_add(), fd, casty_epollout(), UInt64(slot)) == 0 else {
            return fail(slot, "epoll_ctl: errno \(errno)")
        }
    }

    /// Handshakes or replies that take longer than `--timeout` fail.
    mutating func expireSlowConnects(_ time: UInt64) {
        let limit = UInt64(options.timeout * 1e9)
        for slot in 0..<started where listeners[slot].phase == .connecting || listeners[slot].phase == .headers {
            if time - listeners[slot].started > limit { fail(slot, "no reply within \(Int(options.timeout)) s") }
        }
    }

    mutating func fail(_ slot: Int, _ reason: String) {
        let phase = listeners[slot].phase
        if phase == .connecting || phase == .headers { inFlight -= 1 }
        close(slot)
        if phase == .streaming {
            dropped += 1
            failures["dropped: " + reason, default: 0] += 1
        } else {
            failed += 1
            failures[reason, default: 0] += 1
        }
    }

    mutating func close(_ slot: Int) {
        if listeners[slot].fd >= 0 {
            _ = casty_epoll_ctl(epoll, casty_epoll_ctl_del(), listeners[slot].fd, 0, 0)
            _ = Glibc.close(listeners[slot].fd)
        }
        listeners[slot].fd = -1
        listeners[slot].phase = .closed
        listeners[slot].buffer = []
    }

    // MARK: Events

    mutating func handle(_ slot: Int, _ ready: UInt32) {
        switch listeners[slot].phase {
        case .connecting:
            let fd = listeners[slot].fd
            var error: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            _ = getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length)
            guard error == 0 else { return fail(slot, "connect: errno \(error)") }
            let request = requests[slot % requests.count]
            let sent = request.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard sent == request.count else { return fail(slot, "request not sent whole") }
            listeners[slot].requested = now()
            listeners[slot].phase = .headers
            _ = casty_epoll_ctl(epoll, casty_epoll_ctl_mod(), fd, casty_epollin(), UInt64(slot))
        case .headers, .streaming:
            receive(slot)
        case .idle, .closed:
            break
        }
    }

    mutating func receive(_ slot: Int) {
        let count = recv(listeners[slot].fd, scratch.baseAddress, scratch.count, 0)
        if count < 0 {
            if errno == EAGAIN || errno == EINTR { return }
            return fail(slot, "recv: errno \(errno)")
        }
        if count == 0 { return fail(slot, "closed by the server") }
        let bytes = UnsafeRawBufferPointer(rebasing: scratch[..<count])
        if listeners[slot].phase == .headers {
            listeners[slot].buffer.append(contentsOf: bytes)
            guard let end = headEnd(listeners[slot].buffer) else {
                if listeners[slot].buffer.count > 16384 { fail(slot, "reply head too long") }
                return
            }
            let head = String(decoding: listeners[slot].buffer[..<end], as: UTF8.self)
            let rest = Array(listeners[slot].buffer[end...])
            listeners[slot].buffer = []
            guard let firstLine = head.split(separator: "\r\n").first, firstLine.contains(" 200") else {
                return fail(slot, "reply: \(head.split(separator: "\r\n").first ?? "")")
            }
            let time = now()
            connectMicros.append(Int32(clamping: (listeners[slot].requested - listeners[slot].started) / 1000))
            headerMicros.append(Int32(clamping: (time - listeners[slot].requested) / 1000))
            inFlight -= 1
            connected += 1
            listeners[slot].phase = .streaming
            listeners[slot].metaint = metaint(in: head)
            listeners[slot].audioLeft = listeners[slot].metaint
            rest.withUnsafeBytes { stream(slot, $0) }
        } else {
            stream(slot, bytes)
        }
    }

    /// Walks the `icy-metaint` framing of what arrived.
    mutating func stream(_ slot: Int, _ bytes: UnsafeRawBufferPointer) {
        self.bytes += bytes.count
        let metaint = listeners[slot].metaint
        guard metaint > 0 else { return }
        var index = 0
        let count = bytes.count
        while index < count {
            let audioLeft = listeners[slot].audioLeft
            if audioLeft > 0 {
                let take = min(audioLeft, count - index)
                listeners[slot].audioLeft = audioLeft - take
                index += take
            } else if listeners[slot].metaLeft < 0 {
                let length = Int(bytes[index]) * 16
                index += 1
                if length == 0 {
                    segments += 1
                    listeners[slot].audioLeft = metaint
                } else {
                    listeners[slot].metaLeft = length
                    listeners[slot].buffer.removeAll(keepingCapacity: true)
                }
            } else {
                let take = min(listeners[slot].metaLeft, count - index)
                listeners[slot].buffer.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[index..<(index + take)]))
                listeners[slot].metaLeft -= take
                index += take
                if listeners[slot].metaLeft == 0 {
                    listeners[slot].metaLeft = -1
                    listeners[slot].audioLeft = metaint
                    segments += 1
                    metadata(slot)
                }
            }
        }
    }

    /// Reads the numbering, the cut time and the title out of a metadata block.
    mutating func metadata(_ slot: Int) {
        let block = listeners[slot].buffer
        let arrived = wallClockMilliseconds()
        if let number = value(of: Self.sequenceKey, in: block) {
            let expected = listeners[slot].expected
            if expected >= 0, number != expected {
                gaps += 1
                missing += max(0, Int(number) - expected)
            }
            listeners[slot].expected = Int(number) + 1
        }
        if let cut = value(of: Self.timeKey, in: block) {
            lags.append(Int32(clamping: arrived - cut))
        }
        if let set = value(of: Self.titleKey, in: block), set != listeners[slot].lastTitle {
            if listeners[slot].lastTitle != 0 {
                titleChanges += 1
                listeners[slot].minTitleLag = min(listeners[slot].minTitleLag, Int32(clamping: arrived - set))
            }
            listeners[slot].lastTitle = set
        }
    }

    static let sequenceKey = Array("CastySeq='".utf8)
    static let timeKey = Array("CastyTime='".utf8)
    static let titleKey = Array("StreamTitle='cb ".utf8)

    // MARK: Commands

    /// Reads commands from standard input; returns `false` when it is time to exit.
    mutating func readCommands() -> Bool {
        var chunk = [UInt8](repeating: 0, count: 1024)
        let count = read(0, &chunk, chunk.count)
        if count <= 0 { return quit() }
        stdinBuffer += chunk[..<count]
        while let newline = stdinBuffer.firstIndex(of: 10) {
            let line = String(decoding: stdinBuffer[..<newline], as: UTF8.self)
            stdinBuffer.removeSubrange(...newline)
            switch line {
            case "mark":
                bytes = 0; segments = 0; gaps = 0; missing = 0; dropped = 0; titleChanges = 0
                lags.removeAll(keepingCapacity: true)
                for slot in listeners.indices { listeners[slot].minTitleLag = .max }
                say("marked")
            case "report":
                let open = listeners.reduce(0) { $0 + ($1.phase == .streaming ? 1 : 0) }
                let sorted = lags.sorted()
                let titles = listeners.map(\.minTitleLag).filter { $0 != .max }.sorted()
                say("report open=\(open) bytes=\(bytes) segments=\(segments) gaps=\(gaps) missing=\(missing)"
                    + " dropped=\(dropped) lag_samples=\(sorted.count) lag_p50_ms=\(percentile(sorted, 0.5))"
                    + " lag_p99_ms=\(percentile(sorted, 0.99)) lag_max_ms=\(sorted.last.map { Int($0) } ?? -1)"
                    + " title_changes=\(titleChanges) title_listeners=\(titles.count) title_lag_p50_ms=\(percentile(titles, 0.5))"
                    + " title_lag_max_ms=\(titles.last.map { Int($0) } ?? -1)")
            case "quit":
                return quit()
            default:
                say("error unknown command '\(line)'")
            }
        }
        return true
    }

    mutating func quit() -> Bool {
        for slot in listeners.indices where listeners[slot].fd >= 0 { close(slot) }
        say("bye")
        return false
    }

    mutating func reportRamp() {
        let elapsed = Double(now() - rampStart) / 1e9
        let connects = connectMicros.sorted(), heads = headerMicros.sorted()
        var line = "ready connected=\(connected) failed=\(failed) dropped=\(dropped) ramp_s=\(fixed(elapsed, 2))"
            + " connect_p50_us=\(percentile(connects, 0.5)) connect_p99_us=\(percentile(connects, 0.99))"
            + " connect_max_us=\(connects.last.map { Int($0) } ?? -1)"
            + " header_p50_us=\(percentile(heads, 0.5)) header_p99_us=\(percentile(heads, 0.99))"
            + " header_max_us=\(heads.last.map { Int($0) } ?? -1)"
        if let (reason, times) = failures.max(by: { $0.value < $1.value }) {
            line += " first_failure=\"\(times)x \(reason)\""
        }
        say(line)
    }
}

// MARK: Helpers

/// Writes one line to standard output at once (the parent reads it through a pipe).
func say(_ line: String) {
    let bytes = Array((line + "\n").utf8)
    _ = bytes.withUnsafeBytes { write(1, $0.baseAddress, $0.count) }
}

/// Monotonic nanoseconds.
func now() -> UInt64 {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
}

/// The value at fraction `p` of sorted numbers, or -1 if there are none.
func percentile(_ sorted: [Int32], _ p: Double) -> Int {
    guard !sorted.isEmpty else { return -1 }
    return Int(sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))])
}

/// The offset just past `\r\n\r\n` in `bytes`, if it is there.
func headEnd(_ bytes: [UInt8]) -> Int? {
    guard bytes.count >= 4 else { return nil }
    for index in 3..<bytes.count where bytes[index] == 10 && bytes[index - 1] == 13 && bytes[index - 2] == 10 && bytes[index - 3] == 13 {
        return index + 1
    }
    return nil
}

/// The `icy-metaint` of a reply head, or 0.
private func metaint(in head: String) -> Int {
    for line in head.split(separator: "\r\n") {
        let parts = line.split(separator: ":", maxSplits: 1)
        if parts.count == 2, parts[0].lowercased() == "icy-metaint" {
            return Int(parts[1].trimmingPrefix(" ")) ?? 0
        }
    }
    return 0
}

/// The decimal number right after `key` in `block`, if there is one.
private func value(of key: [UInt8], in block: [UInt8]) -> Int64? {
    guard block.count > key.count else { return nil }
    var start = 0
    while start + key.count <= block.count {
        var match = true
        for offset in 0..<key.count where block[start + offset] != key[offset] {
            match = false
            break
        }
        if match {
            var value: Int64 = 0, digits = 0, index = start + key.count
            while index < block.count, block[index] >= 48, block[index] <= 57 {
                value = value * 10 + Int64(block[index] - 48)
                digits += 1
                index += 1
            }
            return digits > 0 ? value : nil
        }
        start += 1
    }
    return nil
}
