import CCastySystem
import CastyNet
import Glibc

/// `casty-bench sources`: sources that publish to a station server, as encoders do — one connection per mount,
/// `PUT /<mount>` with `Authorization: Basic source:<password>`, `Content-Type` and `ice-bitrate`, then the
/// audio in real time, one write per frame, at 128 kbit/s (``SyntheticAudio``: valid frame headers, random
/// bodies; the frames a mount gets loop over 60 s of audio).
///
/// The sources' clocks are spread over one segment's duration (source i starts i/N of 0.5 s ahead), so that
/// the mounts cut their segments at different moments, as independent encoders would, not all at once.
/// A process of its own, so that what writing the sources costs is not counted as the server's. It prints
/// `ready sources=N` once every mount took its source, answers `report` with the bytes sent, and ends at
/// `quit` or when its standard input closes.
enum SourceFeeder {
    /// `casty-bench sources --help`.
    static let usage = Usage(
        measures: """
            (Used by mounts.) One PUT source per mount, as an encoder publishes: Basic auth, then 128 kbit/s of
            synthetic frames in real time, one write per frame. Prints `ready sources=N`, answers `report`, ends at
            `quit` or when its standard input closes.
            """,
        options: [
            ("--port P", "the station server's port on 127.0.0.1 (required)"),
            ("--mounts /m0,/m1,…", "mounts to publish to (/m0)"),
            ("--password P", "the source password (bench)"),
            ("--format mp3|adts", "the audio (mp3)"),
        ])

    struct Source {
        var fd: Int32
        var mount: String
        var sent = 0  // bytes of audio sent
        var next = 0  // offset of the next frame in the stream
        var lead: Double  // seconds of audio ahead of the clock
    }

    static func run(_ arguments: [String]) throws {
        guard let port = option("--port", in: arguments).flatMap({ UInt16($0) }) else { fatalError("sources: --port P is required") }
        let mounts = (option("--mounts", in: arguments) ?? "/m0").split(separator: ",").map(String.init)
        let password = option("--password", in: arguments) ?? "bench"
        let format = SyntheticAudio.Format(rawValue: option("--format", in: arguments) ?? "mp3") ?? .mp3
        let stream = SyntheticAudio.stream(format, bytes: 60 * SyntheticAudio.bytesPerSecond)
        let frames = frameOffsets(stream, format: format)
        let credentials = base64(Array("source:\(password)".utf8))

        var sources: [Source] = []
        for (index, mount) in mounts.enumerated() {
            guard let fd = connectLoopback(port: port) else { fatalError("sources: connect to port \(port) failed: errno \(errno)") }
            let head = "PUT \(mount) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nAuthorization: Basic \(credentials)\r\n"
                + "User-Agent: casty-bench sources\r\nContent-Type: \(format.contentType)\r\nice-bitrate: 128\r\n"
                + "ice-name: casty-bench \(mount)\r\n\r\n"
            writeAll(fd, Array(head.utf8))
            let reply = readHead(fd)
            guard reply.hasPrefix("HTTP/1.0 200") || reply.hasPrefix("HTTP/1.1 200") else {
                fatalError("sources: \(mount) refused: \(reply.split(separator: "\r\n").first ?? "no reply")")
            }
            sources.append(Source(fd: fd, mount: mount, lead: 0.5 * Double(index) / Double(mounts.count)))
        }
        say("ready sources=\(sources.count) format=\(format.rawValue)")

        let start = now()
        var input: [UInt8] = []
        while true {
            // Every 10 ms: each source sends the frames that are due by its clock.
            var descriptor = pollfd(fd: 0, events: Int16(POLLIN), revents: 0)
            if poll(&descriptor, 1, 10) > 0 {
                var chunk = [UInt8](repeating: 0, count: 256)
                let count = read(0, &chunk, chunk.count)
                if count <= 0 { break }
                input += chunk[..<count]
                if let newline = input.firstIndex(of: 10) {
                    let line = String(decoding: input[..<newline], as: UTF8.self)
                    input.removeSubrange(...newline)
                    if line == "quit" { break }
                    if line == "report" { say("report bytes=\(sources.reduce(0) { $0 + $1.sent })") }
                }
            }
            let elapsed = Double(now() - start) / 1e9
            for index in sources.indices {
                let due = Int((elapsed + sources[index].lead) * Double(SyntheticAudio.bytesPerSecond))
                while sources[index].sent < due {
                    let offset = sources[index].next
                    let end = frames[offset] ?? stream.count
                    writeAll(sources[index].fd, Array(stream[offset..<end]))
                    sources[index].sent += end - offset
                    sources[index].next = end == stream.count ? 0 : end
                }
            }
        }
        for source in sources { close(source.fd) }
    }

    /// For each frame's offset, the next frame's (the last frame's is missing: it ends the stream).
    static func frameOffsets(_ stream: [UInt8], format: SyntheticAudio.Format) -> [Int: Int] {
        var offsets: [Int: Int] = [:]
        var offset = 0
        while offset < stream.count {
            let length: Int
            switch format {
            case .mp3: length = stream[offset + 2] & 0x02 != 0 ? 418 : 417
            case .adts: length = Int(stream[offset + 3] & 0x03) << 11 | Int(stream[offset + 4]) << 3 | Int(stream[offset + 5] >> 5)
            }
            if offset + length < stream.count { offsets[offset] = offset + length }
            offset += length
        }
        return offsets
    }

    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) {
        var done = 0
        while done < bytes.count {
            let count = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + done, $0.count - done, Int32(MSG_NOSIGNAL)) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { fatalError("sources: send failed: errno \(errno)") }
            done += count
        }
    }

    /// The reply head, read byte by byte up to its empty line (the server sends nothing after it).
    static func readHead(_ fd: Int32) -> String {
        var head: [UInt8] = []
        var byte: UInt8 = 0
        while head.count < 4096, recv(fd, &byte, 1, 0) == 1 {
            head.append(byte)
            if head.count >= 4, head.suffix(4).elementsEqual([13, 10, 13, 10]) { break }
        }
        return String(decoding: head, as: UTF8.self)
    }

    static func base64(_ bytes: [UInt8]) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
        var text = ""
        for start in stride(from: 0, to: bytes.count, by: 3) {
            let chunk = bytes[start..<min(start + 3, bytes.count)]
            let value = chunk.enumerated().reduce(0) { $0 | Int($1.element) << (16 - 8 * $1.offset) }
            for position in 0..<4 {
                text.append(position <= chunk.count ? alphabet[(value >> (18 - 6 * position)) & 0x3F] : "=")
            }
        }
        return text
    }
}
