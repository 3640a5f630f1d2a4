import Casty
import CastyNet
import CastyWire
import Glibc

/// `casty-cli server`: Casty as the station — sources publish to it, several mounts, fallbacks, an admin API.
enum ServerCommand: Command {
    static let name = "server"
    static let summary = "be the station: sources publish mounts (Icecast's PUT/SOURCE), fallbacks, admin API"
    static let options: Set<String> = Set<String>([
        "port", "host", "source-password", "admin-password", "mounts", "relay", "fallback", "station", "mount-password", "mount-user",
        "source-timeout", "source-catch-up", "idle-mount-timeout", "segment-bytes", "burst", "config", "status-every", "title", "name", "title-every", "file",
        "max-listeners", "max-sources", "mount-max-listeners", "rtmp-port",
    ]).union(ControlOptions.names).union(PortOptions.names).union(SRTOptions.names)
    static let flags: Set<String> = Set(["accept-all", "rtmp"]).union(PortOptions.flags)
    static let usage = """
        usage: casty-cli server [options]

        Runs a station server: sources publish mounts to it the way they publish to Icecast (ffmpeg's
        icecast://, ezstream, liquidsoap, butt: PUT or SOURCE with Basic auth source:<password>), and players
        listen on the same port (GET /<mount>). A mount whose source drops falls back to another mount without
        its listeners being disconnected, and comes back when the source returns.

        options:
          --port P                  port for sources, players and the admin API (default 8000)
          --host ADDR               address to listen on (default 0.0.0.0; :: for IPv6 too)
          --source-password PW      the password sources give (any user name)
          --admin-password PW       the admin API's password (user admin)
          --mounts /a,/b            the mounts sources may publish (the whitelist)
          --accept-all              accept any mount instead
          --mount-password /m=PW    a password for one mount only (repeatable)
          --mount-user /m=USER      the user name an Icecast source of /m must log in as (repeatable; any, without)
          --fallback /m=/other      where /m's listeners go while it has no source (repeatable)
          --relay /m=URL            relay a Shoutcast/Icecast stream as mount /m (repeatable)
          --station /m              play the built-in station (or --file) as mount /m
          --file PATH               the MP3 the --station mount plays in a loop (default: a built-in tone)
          --title T, --name N       its title and icy-name; --title-every S: seconds between its title changes (0: none)
          --source-timeout S        drop a source that sends nothing for S seconds (default 10)
          --source-catch-up S       the most audio a source may send ahead of the clock — a stall's backlog,
                                    sent all at once — before its frames are dropped to keep listeners
                                    live (default 5; 0 passes everything on)
          --idle-mount-timeout S    forget a mount no option names (one a source made under --accept-all) once it
                                    has had no source, player, branch or title page for S seconds
                                    (default 60)
          --max-listeners N         the most listeners of the whole server (503 past it)
          --max-sources N           the most sources publishing at once (503 past it; /commands/capacity)
          --mount-max-listeners /m=N  the most listeners of one mount (repeatable)
          --rtmp                    take RTMP publishers (OBS, ffmpeg) on port 1935 too:
                                    rtmp://host:1935/<mount>/<key> publishes /<mount>, <key> being
                                    the source password (or the key the application verifies)
          --rtmp-port P             take RTMP publishers on port P instead of 1935
          --segment-bytes N         audio bytes per segment on every mount (default 8192)
          --burst N                 recent segments a new player gets at once (default 4)
          --status-every S          seconds between status lines (default 10)
          --config FILE             read options from FILE first (see below); the command line wins;
                                    SIGHUP reads them again: passwords, mounts, fallbacks and limits change
                                    at once, the other options at a restart

        Reverse proxies, browsers, event loops, live HLS (/<mount>/index.m3u8) and recordings:
        \(PortOptions.usage)

        SRT (libsrt is loaded at start-up: apt-get install libsrt1.5-gnutls; see README, "Publishing with SRT"):
        \(SRTOptions.usage)

        The platform's application (see README, "The control plane"):
        \(ControlOptions.usage)

        The config file has one option per line, without its dashes: `name value`, or `name` alone for a
        flag (accept-all, rtmp, no-hls, record-titles). Blank lines and # comments are skipped (a # after a
        blank starts one); a value in double quotes is what stands between them, blanks and # included
        (admin-password "my #1 pass"). For example:

          port 8000
          source-password hackme
          admin-password secret
          mounts /live,/backup
          fallback /live=/backup
          station /backup
        """

    /// A station server reads its options again on SIGHUP (``reloadOnHangup(_:_:runningKey:alsoChecking:logger:)``).
    static func readsAgainOnHangup(_ arguments: Arguments) -> Bool { true }

    static func run(_ arguments: Arguments) async throws {
        try arguments.none()
        let logger = EventLog.standardError
        let address = try listenAddress(arguments, defaultPort: 8000, defaultHost: "0.0.0.0")
        let interval = try statusInterval(arguments)
        let configuration = try await configuration(arguments, address: address, logger: logger)
        let server = try starting(configuration, on: address) {
            try StationServer.start(configuration, address: address, logger: logger)
        }
        try await feedMounts(server, arguments, configuration: configuration, logger: logger)
        reloadOnHangup(server, arguments, logger: logger)
        logger("server: listening on \(server.address)\(server.rtmpAddress.map { ", RTMP on \($0)" } ?? ""); \(describe(configuration))"
            + SRTOptions.describe(server, configuration))
        await reportStatus(of: server, every: interval, logger: logger)
    }

    /// The server `start` starts, or its error in the user's words: a port that cannot be listened on names the
    /// address, and a value the server refuses names its option (which a config file's line is then found for).
    static func starting(
        _ configuration: StationServer.Configuration, on address: SocketAddress, _ start: () throws -> StationServer
    ) throws -> StationServer {
        do {
            return try start()
        } catch let error as SocketError {
            throw ServeError("cannot listen on \(address)\(configuration.rtmpPort.map { " and RTMP port \($0)" } ?? ""): \(error)")
        } catch let error as ConfigurationError {
            throw optionNamed(error).map(ServeError.init) ?? error
        }
    }

    /// A value the server refuses, led by the option that gave it (which a config file's line is then found for);
    /// `nil` when the error names no option's value.
    static func optionNamed(_ error: ConfigurationError) -> String? {
        switch error {
        case .fallbackLoop(let circle): "--fallback \(circle[0])=\(circle[1]): \(error)"  // one of the circle's lines
        case .fallbackChain(let chain, _, _): "--fallback \(chain[0])=\(chain[1]): \(error)"  // the chain's first line
        case .srtPassphrase(let mount, _): "--srt-passphrase\(mount.map { " \($0)=…" } ?? ""): \(error)"
        case .srtLatency: "--srt-latency: \(error)"
        default: nil
        }
    }

    /// `--status-every`: the seconds between status lines.
    static func statusInterval(_ arguments: Arguments) throws(UsageError) -> Duration {
        .seconds(try arguments.integer("status-every", default: 10, in: 1...3600))
    }

    /// Logs the server's status line (``StationServer/statusLine()``) every `interval`, forever — one that says
    /// what the last one said only now and then (``RepeatedLine``).
    static func reportStatus(of server: StationServer, every interval: Duration, logger: EventLog) async -> Never {
        var repeated = RepeatedLine(heartbeat: RepeatedLine.statusHeartbeat(every: interval))
        while true {
            try? await Task.sleep(for: interval)
            let line = await server.statusLine()
            if repeated.shouldLog(line) { logger(line) }
        }
    }

    /// Everything a station server listening at `address` is told by its options — mounts, passwords, the control
    /// plane (started now, so that its first key verification finds it running) and SRT ingest —, once `--hls-dir`
    /// and `--record-dir` are made and the live HLS an earlier run left is deleted
    /// (``PortOptions/prepareDirectories(_:_:oneStream:mounts:)``): what
    /// `casty-cli server` and `casty-cli root` share. A server whose listed mounts are all fed by itself (relays,
    /// a built-in station) needs no source password (``stationConfiguration(_:needsSourcePassword:)``).
    static func configuration(
        _ arguments: Arguments, address: SocketAddress, logger: EventLog
    ) async throws -> StationServer.Configuration {
        var configuration = try withoutControl(arguments, address: address)
        configuration.control = try ControlOptions.controlPlane(arguments, address: address, logger: logger)
        warnOfPasswordsNotAsked(arguments, logger: logger)
        try PortOptions.prepareDirectories(arguments, &configuration.options, mounts: configuration.mounts)
        await configuration.control?.start()
        return configuration
    }

    /// ``configuration(_:address:logger:)`` without its control plane, and with nothing deleted nor started.
    private static func withoutControl(_ arguments: Arguments, address: SocketAddress) throws -> StationServer.Configuration {
        var configuration = try stationConfiguration(arguments, needsSourcePassword: !ControlOptions.verifiesKeys(arguments))
        // Both ports on one number would fail at start as "address already in use", sending the user after another process.
        if let rtmp = configuration.rtmpPort, rtmp != 0, rtmp == address.port {
            let option = arguments.value("rtmp-port") != nil ? "--rtmp-port \(rtmp)" : "--rtmp (port \(rtmp))"
            throw UsageError("\(option) is --port too: give RTMP publishers another port number (--rtmp-port P)")
        }
        try checkRelays(arguments, address: address)
        configuration.srt = try SRTOptions.configuration(arguments, host: address.host)
        if let listed = configuration.mounts, let srt = configuration.srt {
            for name in srt.passphrases.keys.sorted() where !listed.contains(name) {
                throw UsageError("--srt-passphrase \(name)=…: \(name) is not a mount of this server (\(listedMounts(listed)))")
            }
        }
        return configuration
    }

    /// Checks every option of `arguments` as a start of the server (``run(_:)``) checks it — those a running server
    /// takes only at a restart too —, starting, making, deleting and logging nothing: SIGHUP refuses a file the next start
    /// would refuse, rather than saying its new options are taken at a restart that then fails.
    static func checkAsAStart(_ arguments: Arguments) throws {
        let address = try listenAddress(arguments, defaultPort: 8000, defaultHost: "0.0.0.0")
        _ = try statusInterval(arguments)
        _ = try ControlOptions.settings(arguments, address: address)
        try withoutControl(arguments, address: address).check()  // what the server checks as it starts, --relay too
        if arguments.value("station") != nil { _ = try StationCommand.makeStation(arguments, logger: .silent, started: false) }
    }

    /// Each `--relay`'s URL: one that is no URL is a mistake, and so is one that certainly names this server itself
    /// (``namesItself(_:listening:)``), which would be answered `508 Loop Detected` for ever — the obvious case; a
    /// name (`localhost`) or another of the machine's addresses is found out as the relay asks.
    private static func checkRelays(_ arguments: Arguments, address: SocketAddress) throws {
        for (mount, text) in try pairs(arguments.all("relay"), "--relay").sorted(by: { $0.key < $1.key }) {
            let url = try StreamURL.given(text, in: "--relay \(mount)=…")
            guard namesItself(url, listening: address) else { continue }
            throw UsageError("--relay \(mount)=\(url.shown): that is this server itself (it listens on \(address)): a relay of its own"
                + " mount would feed itself; give it another server's URL")
        }
    }

    /// Whether `url` certainly reaches the server listening at `address`: its port (not 0, which the system picks),
    /// and its address as written, or a loopback IPv4 address while the server listens on every IPv4 interface.
    private static func namesItself(_ url: StreamURL, listening address: SocketAddress) -> Bool {
        guard address.port != 0, url.port == address.port, let host = SocketAddress(host: url.host, port: url.port)?.host else {
            return false
        }
        return host == address.host || (address.host == "0.0.0.0" && host.hasPrefix("127."))
    }

    /// With `--key-verification-url`, the application decides which keys publish: the source passwords and mount
    /// user names given too admit nobody, and are not asked for. Said in one line at start — a `--mount-password`
    /// added for one sensitive mount would otherwise be believed to protect it. (The passwords still let a title be
    /// set through `/admin/metadata`.) SIGHUP says it again when a reading changes them (`logger` prefixed).
    static func warnOfPasswordsNotAsked(_ arguments: Arguments, logger: EventLog) {
        guard ControlOptions.verifiesKeys(arguments) else { return }
        let given = ["source-password", "mount-password", "mount-user"].filter { !arguments.all($0).isEmpty }.map { "--" + $0 }
        guard !given.isEmpty else { return }
        logger("warning: the application (key verification) decides which keys publish: \(given.joined(separator: ", "))"
            + " admit\(given.count == 1 ? "s" : "") no source and \(given.count == 1 ? "is" : "are") not checked"
            + (given.contains("--mount-user") && given.count == 1 ? "" : " (a source password still sets titles through /admin/metadata)"))
    }

    /// The station server the options describe (`--source-password`, `--mounts`, `--fallback`, …): what
    /// `casty-cli server` and `casty-cli root` share. `needsSourcePassword`: whether a mount sources publish with
    /// no `--source-password` (nor its `--mount-password`) is a usage mistake — none is, when every listed mount is
    /// fed by the server itself (relays, a built-in station).
    static func stationConfiguration(_ arguments: Arguments, needsSourcePassword: Bool = true) throws -> StationServer.Configuration {
        var configuration = StationServer.Configuration()
        configuration.sourcePassword = arguments.value("source-password")
        configuration.adminPassword = arguments.value("admin-password")
        // `/a,/b` or `/a, /b`: blanks around the commas are no part of a mount's name.
        var mounts: [String]? = arguments.value("mounts").map {
            $0.split(separator: ",").map { $0.trimmingCharacters(in: " \t") }.filter { !$0.isEmpty }
        } ?? []
        if let text = arguments.value("mounts") {
            // `--mounts ,` lists nothing, as `--mounts ""` does: a list forgotten, not a server that refuses every source.
            guard mounts?.isEmpty == false else { throw UsageError("--mounts '\(text)' names no mount: give /a,/b") }
            for entry in mounts ?? [] { try refuseOtherSeparators(entry) }
        }
        if let listed = mounts, let twice = listed.enumerated().first(where: { listed[..<$0.offset].contains($0.element) })?.element {
            throw UsageError("--mounts names '\(twice)' twice: name each mount once")
        }
        if arguments.flag("accept-all") {
            // A whitelist and none at all: an operator who adds accept-all to a file with mounts would lose the list unawares.
            if arguments.value("mounts") != nil {
                throw UsageError("--mounts and --accept-all contradict each other: a whitelist, or any mount; give one of them")
            }
            mounts = nil
        }
        configuration.mountPasswords = try pairs(arguments.all("mount-password"), "--mount-password")
        configuration.mountUsers = try mountUsers(arguments.all("mount-user"))
        configuration.fallbacks = try pairs(arguments.all("fallback"), "--fallback")
        try refuseFallbackLists(configuration.fallbacks)
        let relays = try pairs(arguments.all("relay"), "--relay")
        let station = arguments.value("station")
        // Named with its option: a mount name alone (`'live' is not a mount name`) does not say which option gave it.
        if let station { try withOption("station", station) { try StationServer.Configuration.checkMount(station) } }
        try checkOneFeed(arguments)
        // The built-in station's options do nothing without it: a forgotten --station, not a choice.
        if station == nil, let unused = ["file", "title", "name", "title-every"].first(where: { arguments.value($0) != nil }) {
            throw UsageError("--\(unused) is for the built-in station: give --station /m too")
        }
        // Without a whitelist, or with nothing the server feeds, every mount is a source's: a password is needed.
        // (With both, ``checkListed`` names a listed mount no source could publish.)
        let feedsItself = mounts != nil && (!relays.isEmpty || station != nil)
        guard !needsSourcePassword || configuration.sourcePassword != nil || !configuration.mountPasswords.isEmpty || feedsItself else {
            throw UsageError("give --source-password (or --mount-password /m=PW for each mount)", ofTheWhole: true)
        }
        // Mounts fed by the server itself are on the whitelist too: they are where listeners go.
        if mounts != nil { mounts! += Array(relays.keys) + (station.map { [$0] } ?? []) }
        configuration.mounts = mounts.map { Array(Set($0)).sorted() }
        // No mount, and no admin API whose /admin/whitelist could add one, nor a --config file a SIGHUP could read
        // with some: no source could ever publish, and nothing would ever play — a server started for nothing.
        if configuration.mounts == [], configuration.adminPassword == nil, arguments.all("config").isEmpty {
            throw UsageError("no source could ever publish: no mount is listed, and without --admin-password no /admin/whitelist "
                + "call can add one; give --mounts /m (or --accept-all), or --admin-password", ofTheWhole: true)
        }
        if arguments.value("max-sources") != nil {
            configuration.maxSources = try arguments.integer("max-sources", default: 0, in: 1...1_000_000)
        }
        if arguments.value("max-listeners") != nil {
            configuration.maxListeners = try arguments.integer("max-listeners", default: 0, in: 1...10_000_000)
        }
        for (mount, text) in try pairs(arguments.all("mount-max-listeners"), "--mount-max-listeners") {
            guard let limit = Int(text), limit > 0 else { throw UsageError("--mount-max-listeners \(mount)=N: N must be a positive whole number, not \(Arguments.quoted(text, of: "mount-max-listeners"))") }
            configuration.mountMaxListeners[mount] = limit
        }
        try PortOptions.apply(arguments, to: &configuration.options)
        if let listed = configuration.mounts {
            try checkListed(listed, configuration: configuration, needsSourcePassword: needsSourcePassword,
                            fedByTheServer: Set(relays.keys).union(station.map { [$0] } ?? []))
        }
        if arguments.flag("rtmp") || arguments.value("rtmp-port") != nil {
            configuration.rtmpPort = UInt16(try arguments.integer("rtmp-port", default: 1935, in: 0...65535))
        }
        configuration.sourceTimeout = .seconds(try arguments.integer("source-timeout", default: 10, in: 1...3600))
        let catchUp = try arguments.integer("source-catch-up", default: 5, in: 0...3600)
        configuration.sourceCatchUp = catchUp > 0 ? .seconds(catchUp) : nil
        configuration.idleMountTimeout = .seconds(try arguments.integer("idle-mount-timeout", default: 60, in: 1...86_400))
        configuration.segmentBytes = try arguments.segmentBytes()
        configuration.distribution = try Distributor.Configuration(burst: try arguments.integer("burst", default: 4, in: 0...64))
        return configuration
    }

    /// With a whitelist, the mounts the other options name must be on it — a fallback to a mount no source may
    /// publish, a password or a recording of one, is a typing mistake that would otherwise show only as listeners refused —
    /// but the mount a fallback is of, which may be one taken off the list (``describe(_:)`` says so); and without
    /// `--source-password`, each listed mount a source publishes needs its `--mount-password`.
    private static func checkListed(
        _ listed: [String], configuration: StationServer.Configuration, needsSourcePassword: Bool, fedByTheServer: Set<String>
    ) throws(UsageError) {
        let whitelist = listedMounts(listed)
        // A mount taken off the list may keep its fallback — its listeners hear it, as `/admin/whitelist`'s remove
        // leaves them (MountTable's takeOff), while no source may publish it —; the fallback it leads to must play:
        // be listed, or lead on to one that is (`/old=/mid`, `/mid=/backup`).
        for (mount, fallback) in configuration.fallbacks.sorted(by: { $0.key < $1.key })
        where !listed.contains(fallback) && configuration.fallbacks[fallback] == nil {
            throw UsageError("--fallback \(mount)=\(fallback): \(fallback) is not a mount of this server (\(whitelist))")
        }
        for name in configuration.mountPasswords.keys.sorted() where !listed.contains(name) {
            throw UsageError("--mount-password \(name)=…: \(name) is not a mount of this server (\(whitelist))")
        }
        for name in configuration.mountUsers.keys.sorted() where !listed.contains(name) {
            throw UsageError("--mount-user \(name)=…: \(name) is not a mount of this server (\(whitelist))")
        }
        for name in configuration.options.recording.mounts.sorted() where !listed.contains(name) {
            throw UsageError("--record \(name): \(name) is not a mount of this server (\(whitelist))")
        }
        for name in configuration.mountMaxListeners.keys.sorted() where !listed.contains(name) {
            throw UsageError("--mount-max-listeners \(name)=…: \(name) is not a mount of this server (\(whitelist))")
        }
        guard needsSourcePassword, configuration.sourcePassword == nil else { return }
        let unreachable = listed.filter { configuration.mountPasswords[$0] == nil && !fedByTheServer.contains($0) }
        guard unreachable.isEmpty else {
            throw UsageError("no source could publish \(unreachable.joined(separator: ", ")): give --source-password, "
                + "or --mount-password \(unreachable[0])=PW for each", ofTheWhole: true)
        }
    }

    /// `mounts /a /b`, `mounts /a;/b`: a blank or a `;` where a comma was meant. No mount name holds a blank; one
    /// may hold a `;`, but not before a `/` — the second name of a list written as other formats write one, which
    /// would be one mount no source publishes. A blank before a word without its `/` (`/my show`) may be one name
    /// meant: both ways out are said.
    private static func refuseOtherSeparators(_ entry: String) throws(UsageError) {
        let parts = entry.split { $0 == ";" || $0 == " " || $0 == "\t" }
        if entry.contains(";"), parts.count > 1, parts.dropFirst().allSatisfy({ $0.hasPrefix("/") }) {
            throw UsageError("--mounts '\(entry)': a ';' does not separate mounts: separate them with commas (\(parts.joined(separator: ",")))")
        }
        guard entry.contains(where: { $0 == " " || $0 == "\t" }) else { return }
        let commas = parts.map { $0.hasPrefix("/") ? $0 : "/" + $0 }.joined(separator: ",")
        let oneName = parts.allSatisfy { $0.hasPrefix("/") } ? "" : "name it without one (\(parts.joined(separator: "-"))), or "
        throw UsageError("--mounts '\(entry)': a mount name holds no blank: \(oneName)separate mounts with commas (\(commas))")
    }

    /// `--fallback /a=/b,/c` (or `/a=/b /c`): a chain written as a list, which would be refused as no mount — a
    /// mount has one fallback, and a chain is each mount's own (`--fallback /a=/b --fallback /b=/c`).
    private static func refuseFallbackLists(_ fallbacks: [String: String]) throws(UsageError) {
        for (mount, fallback) in fallbacks.sorted(by: { $0.key < $1.key }) {
            let listed = fallback.split { $0 == "," || $0 == " " || $0 == "\t" }
            guard listed.count > 1, listed.allSatisfy({ $0.hasPrefix("/") }) else { continue }
            throw UsageError("--fallback \(mount)=\(fallback): a mount has one fallback: give a chain as one --fallback each "
                + "(--fallback \(mount)=\(listed[0]), then --fallback \(listed[0])=\(listed[1]))")
        }
    }

    /// Gives the mounts the server feeds itself their sources: a proxy for each `--relay /m=URL`, the station
    /// for `--station /m`.
    static func feedMounts(
        _ server: StationServer, _ arguments: Arguments, configuration: StationServer.Configuration, logger: EventLog
    ) async throws {
        for (mount, text) in try pairs(arguments.all("relay"), "--relay").sorted(by: { $0.key < $1.key }) {
            let url = try StreamURL.given(text, in: "--relay \(mount)=…")
            var proxyConfiguration = Proxy.Configuration()
            proxyConfiguration.segmentBytes = configuration.segmentBytes
            proxyConfiguration.name = mount  // a station that sends no icy-name is named by the mount, as a source is
            // Its lines name the mount (`mount /r1: proxy: title: …`): a server may relay many stations.
            let proxy = try Proxy(url: url, configuration: proxyConfiguration, logger: logger.prefixed("mount \(mount): "))
            server.attach(proxy, at: mount)
            await proxy.startInBackground()
            logger("server: \(mount) relays \(url.shown)")
        }
        if let station = arguments.value("station") {
            server.attach(try StationCommand.makeStation(arguments, logger: logger), at: station)
            logger("server: \(station) plays the \(arguments.value("file") == nil ? "built-in station" : "station of \(arguments.value("file")!)")")
        }
    }

    /// What the line that says the server listens tells of its mounts, and of what an operator may have left out:
    /// no mount at all (every source is refused until `/admin/whitelist` adds one), no admin password (the admin
    /// API answers `401` to everyone), a fallback of a mount not listed (its listeners hear the fallback, but no
    /// source publishes it: a mount taken off the list, or a typing mistake, seen here). Of hundreds of mounts, the
    /// first 20 are named, then how many more (``listed(_:most:)``): the line stays one a log collector keeps.
    static func describe(_ configuration: StationServer.Configuration) -> String {
        let mounts = configuration.mounts.map { $0.isEmpty ? "none yet: every source is refused until /admin/whitelist adds one "
            + "(give --mounts /m or --accept-all)" : listed($0) } ?? "any (--accept-all)"
        return "mounts \(mounts)"
            + (configuration.fallbacks.isEmpty ? "" : "; fallbacks " + listed(configuration.fallbacks.sorted { $0.key < $1.key }.map {
                "\($0.key)→\($0.value)" + StationServer.Configuration.unlistedNote($0.key, listed: configuration.mounts?.contains($0.key) != false)
            }))
            + (configuration.adminPassword == nil ? "; admin API off (no --admin-password)" : "")
    }

    /// The whitelist as a message names it: `--mounts /a,/b`, or that none was given.
    private static func listedMounts(_ listed: [String]) -> String {
        listed.isEmpty ? "no --mounts given" : "--mounts \(listed.joined(separator: ","))"
    }

    /// The options that give one mount a value, `/m=value` (``mountPair(_:)``): a config file reads a value
    /// in double quotes there as it reads a whole one (`mount-password /a="s p"` is `/a=s p`).
    static let mountPairOptions: Set<String> = ["fallback", "mount-max-listeners", "mount-password", "mount-user", "relay", "srt-passphrase"]

    /// The mount and the value of a repeatable option's `/m=value`, or `nil` when it is not of that form. Blanks
    /// around the `=` are no part of either (`fallback /live = /backup`, as many config formats write it).
    static func mountPair(_ text: String) -> (mount: String, value: String)? {
        guard let equals = text.firstIndex(of: "="), text.hasPrefix("/") else { return nil }
        return (text[..<equals].trimmingCharacters(in: " \t"), String(text[text.index(after: equals)...].drop { $0 == " " || $0 == "\t" }))
    }

    /// Refuses a mount fed both by the built-in station and by a relay (`--station /a`, `--relay /a=…`), as an
    /// option given twice is: one of them would run unheard — a relay holding a place at its upstream for nobody.
    static func checkOneFeed(_ arguments: Arguments) throws(UsageError) {
        guard let station = arguments.value("station"), try pairs(arguments.all("relay"), "--relay")[station] != nil else { return }
        throw UsageError("--station \(station) and --relay \(station)=… both feed \(station): give the mount one of them")
    }

    /// `/m=value` pairs of a repeatable option: one value per mount, as ``Arguments`` keeps them (the last place's;
    /// twice in one place is refused there).
    private static func pairs(_ values: [String], _ option: String) throws(UsageError) -> [String: String] {
        var result: [String: String] = [:]
        for text in values {
            guard let (mount, value) = mountPair(text) else {
                throw UsageError("\(option) takes /mount=value, not \(Arguments.quoted(text, of: String(option.drop { $0 == "-" })))")
            }
            // `--mount-password "/a=$UNSET"`: a value forgotten, as `--source-password ""` is — not a mount without
            // one (which would take the common password, or never be published). Nothing secret is quoted: it is empty.
            guard !value.isEmpty else { throw UsageError("\(option) '\(mount)=': needs a value, not an empty one") }
            result[mount] = value
        }
        return result
    }

    /// `--mount-user` pairs: as ``pairs(_:_:)``, and no user name holds a `:` — Basic auth's user name ends at
    /// the first one (`dj:x:pw` is user `dj`), so a source could never log in as it.
    private static func mountUsers(_ values: [String]) throws(UsageError) -> [String: String] {
        let users = try pairs(values, "--mount-user")
        if let (mount, user) = users.sorted(by: { $0.key < $1.key }).first(where: { $0.value.contains(":") }) {
            throw UsageError("--mount-user '\(mount)=\(user)': a user name cannot hold ':' (Basic auth ends the user name at the first one)")
        }
        return users
    }
}

extension StringProtocol {
    /// Without the characters of `set` at either end.
    func trimmingCharacters(in set: String) -> String {
        var text = Substring(self)
        while let first = text.first, set.contains(first) { text.removeFirst() }
        while let last = text.last, set.contains(last) { text.removeLast() }
        return String(text)
    }
}
