import CastyNet
import Casty
import Glibc

/// `casty-cli station`: a built-in ICY station, so everything works with no internet.
enum StationCommand: Command {
    static let name = "station"
    static let summary = "serve an MP3 in a loop, in real time, as an ICY station"
    static let options: Set<String> = Set(["file", "port", "host", "title", "name", "title-every", "segment-bytes", "status-every"])
        .union(PortOptions.names)
    static let flags = PortOptions.flags
    static let usage = """
        usage: casty-cli station [options]

        Plays an MP3 in a loop in real time (each segment as fast as its frames play: CBR or VBR) as an ICY station,
        with a StreamTitle that changes now and then. Without --file it plays a built-in 4-second tone.

        options:
          --file PATH         the MP3 to play (default: the built-in tone)
          --port P            port for listeners (default 8000)
          --host ADDR         address to listen on (default 127.0.0.1)
          --title T           the title (default "Casty test tone"); changes read "T #2", "T #3", …
          --name N            the station's name, icy-name (default "Casty Station")
          --title-every S     seconds between title changes (default 15; 0: T stays, as a fallback loop's should)
          --segment-bytes N   audio bytes per segment (default 8192)
          --status-every S    seconds between status lines (default 10)

        Reverse proxies, browsers, event loops, live HLS (/index.m3u8) and recordings:
        \(PortOptions.usage)
        """

    static func run(_ arguments: Arguments) async throws {
        try arguments.none()
        let logger = EventLog.standardError
        var options = ClientOptions()
        try PortOptions.apply(arguments, to: &options, oneStream: true)  // a usage mistake ends before the station starts and logs
        let interval = try ServerCommand.statusInterval(arguments)
        let port = try arguments.port("port", default: 8000)
        let station = try makeStation(arguments, logger: logger, started: false)
        try PortOptions.prepareDirectories(arguments, &options, oneStream: true)
        let serving = try ServedStream.start(
            source: station, host: arguments.value("host") ?? "127.0.0.1", port: port,
            burst: 4, options: options, logger: logger, upstreamState: { "streaming" })
        await station.start()  // once its port is bound: a port in use is one error line
        let every = arguments.value("title-every") ?? "15"
        logger("station: \(station.bitrate) kbit/s, \(every == "0" ? "one title" : "titles every \(every) s")")
        logger(serving.listeningLine)
        await serving.reportStatus(
            every: interval, logger: logger,
            upstream: { "streaming" })
    }

    /// The station the options describe, started unless not `started` yet (a root starts it once its port is bound:
    /// a port in use is then one error line, not a station that seemed to play first).
    static func makeStation(_ arguments: Arguments, logger: EventLog, started: Bool = true) throws -> Station {
        let name = arguments.value("name") ?? "Casty Station"
        let titles = [arguments.value("title") ?? "Casty test tone"]
        let interval = Duration.seconds(try arguments.integer("title-every", default: 15, in: 0...86_400))
        let segmentBytes = try arguments.segmentBytes()
        let station = if let path = arguments.value("file") {
            try withOption("file", path) {
                try Station(mp3: try readFile(path), name: name, titles: titles, titleInterval: interval, segmentBytes: segmentBytes, logger: logger)
            }
        } else {
            try Station.builtIn(name: name, titles: titles, titleInterval: interval, segmentBytes: segmentBytes, logger: logger)
        }
        if started { Task { await station.start() } }
        return station
    }
}

/// What `body` returns, or its error said as a mistake in `--name`'s `value` — `--file x.mp3: no MPEG audio frames
/// found in 928 bytes` —, which a config file's line is then found for.
func withOption<Value>(_ name: String, _ value: String, _ body: () throws -> Value) throws -> Value {
    do {
        return try body()
    } catch let error as UsageError {
        throw error
    } catch {
        let text = "\(error)"
        throw ServeError("--\(name)\(text.contains(value) ? "" : " \(value)"): \(text)")
    }
}

/// The bytes of a file, at most `limit` of them: a longer one is refused (a `--config` of `/dev/zero` would never end).
/// A pipe is read to its end (`--config <(…)` at the start); `regularOnly`, anything but a regular file is refused
/// before a byte is read, as a key file is (``RegularFile``): read again at SIGHUP, a FIFO put in the file's place
/// would block the reading, and every later one behind it.
func readFile(_ path: String, limit: Int = .max, regularOnly: Bool = false) throws -> [UInt8] {
    let read: (bytes: [UInt8], more: Bool)
    if regularOnly {
        do { read = try RegularFile.read(path, atMost: limit) } catch { throw ServeError(error.description) }
    } else {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ServeError("cannot open \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        // A directory opens, and then fails to read (`EISDIR`): said, rather than going on with no bytes.
        guard let bytes = RegularFile.readUp(fd, atMost: limit) else {
            throw ServeError("cannot read \(path): \(String(cString: strerror(errno)))")
        }
        read = bytes
    }
    if read.more {
        throw ServeError("\(path) holds more than \(limit / 1024) KiB, which no station's options need: is it the right file?")
    }
    return read.bytes
}
