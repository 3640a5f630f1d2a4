import CCastySystem
import Glibc

/// A child process of the benchmark (`/proc/self/exe` with other arguments), with its standard input and
/// output on pipes: the parent sends command lines and reads answer lines.
final class Child {
    let pid: pid_t
    let name: String
    private let input: Int32
    private let output: Int32
    private var pending: [UInt8] = []

    /// Starts `casty-bench <arguments>`; standard error is shared with the parent.
    init(_ arguments: [String], name: String) {
        self.name = name
        var toChild: [Int32] = [0, 0], fromChild: [Int32] = [0, 0]
        precondition(pipe(&toChild) == 0 && pipe(&fromChild) == 0, "pipe failed")
        for fd in toChild + fromChild { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        posix_spawn_file_actions_adddup2(&actions, toChild[0], 0)
        posix_spawn_file_actions_adddup2(&actions, fromChild[1], 1)
        let argv: [UnsafeMutablePointer<CChar>?] = (["casty-bench"] + arguments).map { strdup($0) } + [nil]
        var pid: pid_t = 0
        let result = posix_spawn(&pid, "/proc/self/exe", &actions, nil, argv, environ)
        posix_spawn_file_actions_destroy(&actions)
        for pointer in argv { free(pointer) }
        precondition(result == 0, "posix_spawn failed: \(result)")
        Glibc.close(toChild[0])
        Glibc.close(fromChild[1])
        self.pid = pid
        input = toChild[1]
        output = fromChild[0]
    }

    /// Sends one command line.
    func send(_ line: String) {
        let bytes = Array((line + "\n").utf8)
        _ = bytes.withUnsafeBytes { write(input, $0.baseAddress, $0.count) }
    }

    /// The next line the child prints, or `nil` after `timeout` seconds or at its end. `idle` runs every
    /// 100 ms while waiting.
    func readLine(timeout: Double, idle: () -> Void = {}) -> String? {
        let deadline = now() + UInt64(timeout * 1e9)
        while true {
            if let newline = pending.firstIndex(of: 10) {
                let line = String(decoding: pending[..<newline], as: UTF8.self)
                pending.removeSubrange(...newline)
                return line
            }
            guard now() < deadline else { return nil }
            var descriptor = pollfd(fd: output, events: Int16(POLLIN), revents: 0)
            if poll(&descriptor, 1, 100) > 0 {
                var chunk = [UInt8](repeating: 0, count: 4096)
                let count = read(output, &chunk, chunk.count)
                if count <= 0 { return nil }
                pending += chunk[..<count]
            }
            idle()
        }
    }

    /// Reads lines until one starts with `prefix` (others are echoed to standard error).
    func expect(_ prefix: String, timeout: Double, idle: () -> Void = {}) -> String? {
        let deadline = now() + UInt64(timeout * 1e9)
        while now() < deadline {
            guard let line = readLine(timeout: Double(deadline - min(deadline, now())) / 1e9, idle: idle) else { return nil }
            if line.hasPrefix(prefix) { return line }
            Log.line("\(name): \(line)")
        }
        return nil
    }

    /// Ends the child (SIGTERM, then SIGKILL after 5 s) and reaps it.
    func stop() {
        Glibc.close(input)
        var status: Int32 = 0
        for step in 0..<100 {
            if waitpid(pid, &status, WNOHANG) == pid { break }
            if step == 0 { kill(pid, SIGTERM) }
            if step == 50 { kill(pid, SIGKILL) }
            usleep(100_000)
        }
        Glibc.close(output)
    }
}

/// Diagnostics on standard error (the tables go to standard output).
enum Log {
    static func line(_ text: String) {
        let bytes = Array(("  · " + text + "\n").utf8)
        _ = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
    }
}

/// The text of a small file such as `/proc/<pid>/stat`, or "".
func readText(_ path: String) -> String {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return "" }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let count = read(fd, &chunk, chunk.count)
        if count <= 0 { break }
        bytes += chunk[..<count]
    }
    return String(decoding: bytes, as: UTF8.self)
}

/// CPU seconds (user + system) a process has used so far, from `/proc/<pid>/stat`.
func cpuSeconds(_ pid: pid_t) -> Double {
    let (user, system) = cpuSplit(pid)
    return user + system
}

/// CPU seconds a process has used so far in user space and in the kernel (utime, stime).
func cpuSplit(_ pid: pid_t) -> (user: Double, system: Double) {
    let text = readText("/proc/\(pid)/stat")
    guard let close = text.lastIndex(of: ")") else { return (.nan, .nan) }
    let fields = text[text.index(after: close)...].split(separator: " ")
    // After the name: state is field 3 (index 0 here); utime and stime are fields 14 and 15.
    guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return (.nan, .nan) }
    let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
    return (user / ticks, system / ticks)
}

/// Resident memory of a process in KiB (`VmRSS`), or 0.
func rssKiB(_ pid: pid_t) -> Int {
    for line in readText("/proc/\(pid)/status").split(separator: "\n") where line.hasPrefix("VmRSS:") {
        return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
    }
    return 0
}

/// The kernel's accept-queue counters for this network namespace: `TcpExt: ListenOverflows ListenDrops`.
func listenOverflows() -> (overflows: Int, drops: Int) {
    let lines = readText("/proc/net/netstat").split(separator: "\n").filter { $0.hasPrefix("TcpExt:") }
    guard lines.count == 2 else { return (0, 0) }
    let names = lines[0].split(separator: " "), values = lines[1].split(separator: " ")
    func value(_ name: String) -> Int {
        names.firstIndex { $0 == name }.flatMap { Int(values[$0]) } ?? 0
    }
    return (value("ListenOverflows"), value("ListenDrops"))
}

/// A blocking TCP connection to 127.0.0.1:`port`, closed on exec; `nil` (the socket closed) if it fails.
func connectLoopback(port: UInt16) -> Int32? {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return nil }
    _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = port.bigEndian
    address.sin_addr.s_addr = (UInt32(127) << 24 | 1).bigEndian
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard connected == 0 else {
        close(fd)
        return nil
    }
    return fd
}

/// A blocking HTTP/1.0 GET to 127.0.0.1:`port` with a 2 s timeout: the status code and the body.
func httpGet(port: UInt16, path: String, authorization: String? = nil) -> (code: Int, body: String)? {
    guard let fd = connectLoopback(port: port) else { return nil }
    defer { close(fd) }
    var timeout = timeval(tv_sec: 2, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    var request = "GET \(path) HTTP/1.0\r\nHost: 127.0.0.1:\(port)\r\nUser-Agent: casty-bench\r\n"
    if let authorization { request += "Authorization: Basic \(authorization)\r\n" }
    request += "\r\n"
    let bytes = Array(request.utf8)
    guard bytes.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }) == bytes.count else { return nil }
    var reply: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 16384)
    while reply.count < 1 << 20 {
        let count = recv(fd, &chunk, chunk.count, 0)
        if count <= 0 { break }
        reply += chunk[..<count]
    }
    let text = String(decoding: reply, as: UTF8.self)
    guard let status = text.split(separator: " ", maxSplits: 2).dropFirst().first.flatMap({ Int($0) }) else { return nil }
    let body = split(text, at: "\r\n\r\n").map { String($0.after) } ?? ""
    return (status, body)
}

/// The integer after `"key":` in a JSON text (enough for Casty's status page).
func jsonInteger(_ key: String, in text: String) -> Int? {
    guard let (_, after) = split(text, at: "\"\(key)\":") else { return nil }
    return Int(after.prefix { $0 == "-" || $0.isNumber })
}

/// The sum of the integers after every `"key":` in a JSON text, or `nil` if there is none.
func jsonIntegerSum(_ key: String, in text: String) -> Int? {
    var rest = Substring(text), sum: Int?
    while let (_, after) = split(String(rest), at: "\"\(key)\":") {
        if let value = Int(after.prefix { $0 == "-" || $0.isNumber }) { sum = (sum ?? 0) + value }
        rest = after
    }
    return sum
}

/// The integer value of `key=` in a `key=value key=value` line.
func field(_ key: String, in line: String) -> Int? {
    for part in line.split(separator: " ") where part.hasPrefix(key + "=") {
        return Int(part.dropFirst(key.count + 1))
    }
    return nil
}

/// The text value of `key=` in a `key=value` line.
func textField(_ key: String, in line: String) -> String? {
    for part in line.split(separator: " ") where part.hasPrefix(key + "=") {
        return String(part.dropFirst(key.count + 1))
    }
    return nil
}

/// Sleeps `seconds`, calling `idle` every 100 ms.
func pause(_ seconds: Double, idle: () -> Void = {}) {
    let deadline = now() + UInt64(seconds * 1e9)
    while now() < deadline {
        usleep(UInt32(min(100_000, (deadline - min(deadline, now())) / 1000)))
        idle()
    }
}

/// The text before and after the first `separator` in `text`, if it occurs.
func split(_ text: String, at separator: String) -> (before: Substring, after: Substring)? {
    let characters = Array(separator)
    var index = text.startIndex
    while index < text.endIndex {
        if text[index...].starts(with: characters) {
            return (text[..<index], text[text.index(index, offsetBy: characters.count)...])
        }
        index = text.index(after: index)
    }
    return nil
}
