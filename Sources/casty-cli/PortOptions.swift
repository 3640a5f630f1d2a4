import Casty
import CastyNet
import CastyWire
import Glibc

/// The options every serving command shares about its port: who stands in front of it (trusted reverse proxies,
/// the pages allowed to use it), the loops its players are spread across, and what it publishes besides the ICY
/// stream (live HLS, recordings). Every command that listens takes them — the edge nodes listeners reach
/// through TLS and CDNs (`branch`, `proxy`, `station`) as much as `server` and `root`.
enum PortOptions {
    /// The option names that take a value.
    static let names: Set<String> = [
        "trusted-proxy", "cors-origins", "loops", "hls-dir", "hls-target", "hls-window", "record", "record-dir", "record-every", "access-log",
    ]
    /// The flags.
    static let flags: Set<String> = ["no-hls", "record-titles"]

    /// The usage lines.
    static let usage = """
          --trusted-proxy A,B       reverse proxies (addresses or ranges like 10.0.0.0/8) whose
                                    X-Forwarded-For / X-Real-IP name the real client
          --cors-origins A,B        pages of these origins only may use the streams from their scripts
                                    (CORS; default: any origin, *)
          --loops N                 event loops players are spread across, besides the one that accepts
                                    (default: one per core; 0 serves every player on the accepting loop)
          --hls-dir DIR             also write each mount's live HLS to DIR/<mount>/ (for nginx or a CDN origin)
          --hls-target S            HLS segments of about S seconds (default 6)
          --hls-window N            segments in a live playlist (default 6; at least 3 target durations)
          --no-hls                  do not publish /<mount>/index.m3u8
          --record /m               record mount /m (repeatable; / for a relay's one stream)
          --record-dir DIR          where recordings go (default ./recordings)
          --record-every S          start a new recording file every S seconds of audio (10 to 86400; default 3600)
          --record-titles           also start a new file at every title change
          --access-log FILE         append one line per listener that leaves, source session, refusal and
                                    request answered at once (Combined Log Format, as Icecast's access.log:
                                    address, user, time, request, status, bytes, referer, agent, seconds)
        """

    /// `--cors-origins`: `*` allows any origin (`nil`, the default); a list is read as browsers write origins
    /// (``CORS/origin(_:)``: `https://Radio.Example/` allows `https://radio.example`), and an entry that is not an
    /// origin is a usage error.
    static func corsOrigins(_ text: String) throws(UsageError) -> [String]? {
        let entries = text.split(separator: ",").map(\.withoutBlanks).filter { !$0.isEmpty }
        if entries == ["*"] { return nil }
        var origins: [String] = []
        for entry in entries {
            // `*` among origins would allow every site, whatever else is listed: it is given alone or not at all.
            guard entry != "*" else { throw UsageError("--cors-origins: * allows every origin and is given alone, not in a list ('\(text)')") }
            guard !entry.contains("*") else {
                throw UsageError("--cors-origins: '\(entry)': an origin is matched whole, without wildcards; list each site"
                    + " (https://www.example.com,https://example.com), or give * alone")
            }
            guard let origin = CORS.origin(entry) else {
                throw UsageError("--cors-origins takes * or origins such as https://radio.example,http://localhost:8080 "
                    + "(a scheme, a host and a port from 1 to 65535, no path), not '\(entry)'")
            }
            origins.append(origin)
        }
        return origins
    }

    /// What the port options given allow that may not be meant, one line each, logged as the command starts (and as
    /// SIGHUP reads them again): `null` in `--cors-origins` lets in the pages whose origin is `null` — a sandboxed
    /// iframe, a `data:` URL, a file —, which any site can make, so it allows every site's script in effect.
    static func warnings(_ arguments: Arguments) -> [String] {
        guard let text = arguments.value("cors-origins"), let origins = try? corsOrigins(text), origins.contains("null") else { return [] }
        return ["warning: --cors-origins null lets in every page whose origin is null (a sandboxed iframe, a data: URL, a file"
            + " opened from disk): any site can make one, so any site's script may use the streams and the API"]
    }

    /// What an option needs beside it to mean anything: one of some options given too, or one not given.
    private enum Company {
        /// One of these options (or flags) given too; the message names the first.
        case needs([String])
        /// This flag not given.
        case notWith(String)
    }

    /// The options that mean something only with another (or without one), with what each does: given without its
    /// company, each would be silently nothing — `--record-titles` records nothing without `--record`, and
    /// `--hls-target` sizes no segments under `--no-hls` —, so it is a usage mistake naming both. A recording
    /// is asked for by `--record`, or for a session by the application (`x-record: true` from key verification).
    private static let onlyWith: [(option: String, does: String, company: Company)] = [
        ("hls-dir", "writes the live HLS", .notWith("no-hls")),
        ("hls-target", "sets the live HLS segments' duration", .notWith("no-hls")),
        ("hls-window", "sets the segments in a live HLS playlist", .notWith("no-hls")),
        ("record", "cuts its files from the HLS segments", .notWith("no-hls")),
        ("record-dir", "says where recordings go", .needs(["record", "key-verification-url"])),
        ("record-every", "says when a recording starts a new file", .needs(["record", "key-verification-url"])),
        ("record-titles", "starts a new recording file at every title", .needs(["record", "key-verification-url"])),
    ]

    /// Refuses the first option of ``onlyWith`` given without its company.
    private static func refuseOptionsWithoutTheirCompany(_ arguments: Arguments) throws(UsageError) {
        let given = arguments.names
        for (option, does, company) in onlyWith where given.contains(option) {
            switch company {
            case .needs(let others) where given.isDisjoint(with: others):
                throw UsageError("--\(option) \(does): it does nothing without --\(others[0])")
            case .notWith(let other) where given.contains(other):
                throw UsageError("--\(option) \(does): it does not go with --\(other)")
            default:
                continue
            }
        }
    }

    /// The loops of the process, made once (the first command-line parse decides how many).
    nonisolated(unsafe) private static var group: EventLoopGroup?

    /// Sets `options.trustedProxies`, `options.corsOrigins`, `options.loops`, `options.hls` and
    /// `options.recording` from the arguments. A node of `oneStream` (a proxy, a station, a root or branch of one
    /// stream) records it as `/`, whatever path its players use: `--record` of another name would record nothing.
    /// Checks that `--hls-dir` and `--record-dir` are directories files can be made in, or can be made, and that
    /// `--access-log` can be opened, but makes, opens and deletes nothing — SIGHUP checks options it does not apply:
    /// the node makes them, opens the access log and deletes an earlier run's files, as it starts
    /// (``prepareDirectories(_:_:oneStream:mounts:)``).
    static func apply(_ arguments: Arguments, to options: inout ClientOptions, oneStream: Bool = false) throws(UsageError) {
        if let text = arguments.value("trusted-proxy") {
            guard let proxies = TrustedProxies(text.split(separator: ",").map(String.init)) else {
                throw UsageError("--trusted-proxy takes addresses or ranges such as 127.0.0.1,10.0.0.0/8, not '\(text)'")
            }
            options.trustedProxies = proxies
        }
        if let text = arguments.value("cors-origins") {
            options.corsOrigins = try corsOrigins(text)
        }
        if let path = arguments.value("access-log") {
            do {
                try AccessLog.check(path: path)  // opened (made) as the node starts (``prepareDirectories(_:_:oneStream:mounts:)``)
            } catch {
                throw UsageError("--access-log \(path): \(error)")
            }
        }
        let cores = Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        let loops = try arguments.integer("loops", default: cores, in: 0...256)
        if loops > 0 {
            if group == nil { group = EventLoopGroup(count: 1 + loops) }
            options.loops = group
        }
        try refuseOptionsWithoutTheirCompany(arguments)
        options.hls.enabled = !arguments.flag("no-hls")
        options.hls.targetDuration = try arguments.integer("hls-target", default: 6, in: HLSPackager.Settings.targetRange)
        options.hls.window = try arguments.integer("hls-window", default: 6, in: HLSPackager.Settings.windowRange)
        options.hls.directory = arguments.value("hls-dir")
        options.recording.mounts = Set(arguments.all("record").map { $0.hasPrefix("/") ? $0 : "/" + $0 })
        options.recording.directory = arguments.value("record-dir") ?? "recordings"
        options.recording.rotation = .seconds(try arguments.integer("record-every", default: 3_600, in: 10...86_400))
        options.recording.splitOnTitles = arguments.flag("record-titles")
        if oneStream, let other = options.recording.mounts.sorted().first(where: { $0 != "/" }) {
            throw UsageError("--record \(other): this node serves one stream, at every path: record it with --record /")
        }
        // A directory that cannot be written would be found out only once a source is live: say so now.
        for (path, option) in directories(arguments, options) {
            try writableDirectory(path, option)
        }
        if let directory = options.hls.directory, records(arguments, options) || ControlOptions.verifiesKeys(arguments) {
            try refuseLiveHLSAmongRecordings(directory, recordings: options.recording.directory)
        }
    }

    /// Whether the node records from its start: `--record`, or a `--record-dir` given for the application's
    /// recordings.
    private static func records(_ arguments: Arguments, _ options: ClientOptions) -> Bool {
        !options.recording.mounts.isEmpty || arguments.value("record-dir") != nil
    }

    /// The directories the node writes in from its start, with the option that names each: `--hls-dir`, and
    /// `--record-dir` when it records.
    private static func directories(_ arguments: Arguments, _ options: ClientOptions) -> [(path: String, option: String)] {
        (options.hls.directory.map { [($0, "--hls-dir")] } ?? [])
            + (records(arguments, options) ? [(options.recording.directory, "--record-dir")] : [])
    }

    /// `--hls-dir` that is the recordings' folder, or lies in it, is a usage mistake: the live HLS comes and goes
    /// (each segment deleted as it ages out, the whole of it at a restart), recordings stay, and one folder for
    /// both mixes what a web server serves live with the archive. `--record-dir` inside `--hls-dir` is fine (nginx
    /// serves both under one location): the live HLS's clean-up never goes into it.
    private static func refuseLiveHLSAmongRecordings(_ directory: String, recordings: String) throws(UsageError) {
        guard let live = plannedPath(directory), let kept = plannedPath(recordings) else { return }
        if live == kept {
            throw UsageError("--hls-dir \(directory) is the recordings' folder (--record-dir \(recordings)): give the live HLS a folder "
                + "of its own (the recordings' may lie in it, as --record-dir \(directory)/recordings)")
        }
        if live.hasPrefix(kept + "/") {
            throw UsageError("--hls-dir \(directory) lies in the recordings' folder (--record-dir \(recordings)): give the live HLS a "
                + "folder outside it (the recordings' may lie in it instead)")
        }
    }

    /// `path` as ``HLSDirectory/realPath(_:)`` resolves it, once made: the directories of it that are missing
    /// added to the real path of the deepest one that exists — `.` and `..` among them resolved by their text, as
    /// making the folders resolves them (nothing missing is a link) — so that two spellings of one folder not made
    /// yet compare equal too (`/x/hq` and `/x/hq/../hq` while `/x/hq` does not exist).
    private static func plannedPath(_ path: String) -> String? {
        if let real = HLSDirectory.realPath(path) { return real }
        let parts = path.split(separator: "/")
        guard let last = parts.last else { return nil }
        let above = (path.hasPrefix("/") ? "/" : "") + parts.dropLast().joined(separator: "/")
        return plannedPath(above.isEmpty ? "." : above).map { resolved in
            switch last {
            case ".": resolved
            case "..": parent(of: resolved)
            default: (resolved == "/" ? "" : resolved) + "/" + last
            }
        }
    }

    /// The folder above `path` (absolute, as a real path is), by its text; `/` above `/`.
    private static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/"), slash != path.startIndex else { return "/" }
        return String(path[..<slash])
    }

    /// Makes `--hls-dir` and `--record-dir` and opens `--access-log` into `options` (``apply(_:to:oneStream:)``
    /// checked them) — one that cannot be made after all is the usage mistake a check would have said —, then clears
    /// the live HLS of an earlier run (``clearEarlierRun(_:oneStream:mounts:)``). Called once, as the node starts.
    static func prepareDirectories(
        _ arguments: Arguments, _ options: inout ClientOptions, oneStream: Bool = false, mounts: [String]? = nil
    ) throws(UsageError) {
        if let path = arguments.value("access-log") {
            do {
                options.accessLog = try AccessLog(path: path, logger: .standardError)
            } catch {
                throw UsageError("--access-log \(path): \(error)")
            }
        }
        for (path, option) in directories(arguments, options) {
            var made = path.hasPrefix("/") ? "" : "."
            for part in path.split(separator: "/") {
                made += "/" + part
                if access(made, F_OK) != 0, mkdir(made, 0o755) != 0, errno != EEXIST {
                    throw UsageError("\(option) \(path): cannot make \(made): \(String(cString: strerror(errno)))")
                }
            }
        }
        clearEarlierRun(options, oneStream: oneStream, mounts: mounts)
    }

    /// Deletes the live HLS a run that was killed left in `--hls-dir`, with one line saying how many files: nothing
    /// would move its playlists until a source came. Only this node's own: a node of `oneStream` writes DIR, a
    /// server DIR/<mount> for each mount of its whitelist `mounts` — every mount's only when it takes any (another
    /// node may share the directory) —, never a recording's, nor anything in `--record-dir` when it lies in
    /// `--hls-dir`. Called once, as the node starts, never where options are read: SIGHUP reads them again while the
    /// files there are this run's, live.
    private static func clearEarlierRun(_ options: ClientOptions, oneStream: Bool = false, mounts: [String]? = nil) {
        guard let directory = options.hls.directory else { return }
        let folders = oneStream ? [directory] : mounts.map { $0.map { HLSPackager.path(settings: directory, mount: $0) } }
        let removed = HLSDirectory.clearEarlierRuns(in: folders ?? [directory], recursive: folders == nil, sparing: options.recording.directory)
        if removed > 0 { EventLog.standardError("--hls-dir \(directory): \(removed) files of an earlier run deleted (its live HLS)") }
    }

    /// Checks that `path` is a directory files can be made in — a regular file is said to be none (as root,
    /// `access` would find it writable, or not searchable, and say `Permission denied`) —, or, missing, that it can
    /// be made: a directory can be made in the deepest of its directories that exists — tried, and removed at once,
    /// since `access` tells root that it may write anywhere (`/proc` too). Leaves nothing made.
    private static func writableDirectory(_ path: String, _ option: String) throws(UsageError) {
        var made = path.hasPrefix("/") ? "" : "."
        var above = path.hasPrefix("/") ? "/" : "."
        for part in path.split(separator: "/") {
            made += "/" + part
            guard access(made, F_OK) == 0 else {
                // Missing: made at start, in `above` (a file there would have failed with ENOTDIR).
                if errno == ENOENT {
                    let probe = above + "/.casty-probe-\(getpid())"
                    if mkdir(probe, 0o700) == 0 || errno == EEXIST {
                        rmdir(probe)
                        return
                    }
                }
                throw UsageError("\(option) \(path): cannot make \(made): \(String(cString: strerror(errno)))")
            }
            above = made
        }
        var info = stat()
        if stat(path, &info) == 0, info.st_mode & S_IFMT != S_IFDIR {
            throw UsageError("\(option) \(path): is not a directory")
        }
        guard access(path, W_OK | X_OK) == 0 else {
            throw UsageError("\(option) \(path): cannot write in it: \(String(cString: strerror(errno)))")
        }
    }
}
