public import CastyNet

/// A Casty node as the station itself: sources publish to it (Icecast's `PUT`/`SOURCE`), it serves many
/// mounts at once with fallbacks and a whitelist, and it has an admin API — what `casty-cli server` runs.
///
/// ```swift
/// var configuration = StationServer.Configuration()
/// configuration.sourcePassword = "hackme"
/// configuration.adminPassword = "secret"
/// configuration.mounts = ["/live", "/backup"]
/// configuration.fallbacks = ["/live": "/backup"]
/// let server = try StationServer.start(configuration, address: .any(port: 8000))
/// server.attach(try Station.builtIn(), at: "/backup")   // the built-in tone when /live has no source
/// ```
///
/// Every mount has its own distributor, ring, counters and listeners on the one port; `/status.json` lists
/// them all in Icecast's `icestats.source` array.
public final class StationServer: Sendable {
    /// How the server is set up.
    public struct Configuration: Sendable {
        /// What the start line and a reload's line add to a fallback of `path` when `path` is off the whitelist
        /// `listed` (allowed: a mount taken off keeps its listeners on its fallback; said, so that a typo is seen).
        package static func unlistedNote(_ path: String, listed: Bool) -> String {
            listed ? "" : " (\(path) not listed: no source publishes it)"
        }

        /// The password every source gives (`source:<password>`, any user name, like Icecast).
        public var sourcePassword: String?
        /// The admin password (`admin:<password>`); without one, the admin API answers `401` to everyone.
        public var adminPassword: String?
        /// The mounts sources may publish; `nil` accepts any mount (`--accept-all`).
        public var mounts: [String]? = []
        /// Per-mount source passwords, which replace ``sourcePassword`` for their mount.
        public var mountPasswords: [String: String] = [:]
        /// Per-mount source user names: an Icecast source of that mount must log in as it (`live:<password>`), as
        /// Icecast's `<username>` of a mount asks; elsewhere any user name is taken.
        public var mountUsers: [String: String] = [:]
        /// The fallback of each mount: where its listeners are moved, without being disconnected, while it has
        /// no source.
        public var fallbacks: [String: String] = [:]
        /// A source that sends nothing for this long is dropped (and its mount falls back).
        public var sourceTimeout: Duration = .seconds(10)
        /// How much audio a source may send ahead of the clock, if limited (`nil`: all it sends goes on). A source
        /// or network that stalls sends its backlog all at once when it is back; past this much, the frames are
        /// dropped before they are cut, so every listener and branch stays live and hears the same splice
        /// (``SourcePace``).
        public var sourceCatchUp: Duration?
        /// A mount no option names (one a source made under `--accept-all`, or one taken off the whitelist) is
        /// forgotten once it has had no source, no player, no branch and no title watcher for this long: its
        /// distributor, ring and HLS window are let go, so a platform that gives every session a mount of its
        /// own does not grow without bound.
        public var idleMountTimeout: Duration = .seconds(60)
        /// How long a relay whose upstream came back must stream before the listeners of its mount, hearing its
        /// fallback meanwhile, are taken back to it — with its audio still coming then: an Icecast upstream whose
        /// encoder froze answers the relay's reconnect with its burst (seconds the listeners heard already), then
        /// nothing until the relay's silence deadline says it lost again.
        public var relayReturnHold: Duration = .seconds(3)
        /// The audio bytes per segment, the same for every mount (so a fallback keeps a listener's framing).
        public var segmentBytes = 8192
        /// How each mount's distributor treats its listeners.
        public var distribution = Distributor.Configuration()
        /// How listeners are served.
        public var options = ClientOptions()
        /// The most sources publishing at once (any ingest: Icecast, RTMP, SRT); one more is refused, `503` (`nil`: no
        /// limit). The command API tells it as `capacity`, so that a platform sends its next broadcaster elsewhere.
        public var maxSources: Int?
        /// The most listeners the whole server takes (`503` past it); `nil` for no limit.
        public var maxListeners: Int?
        /// The most listeners of some mounts (`503` past it).
        public var mountMaxListeners: [String: Int] = [:]
        /// The platform's application, if one decides who publishes and is told what is live.
        public var control: ControlPlane?
        /// The SRT ingest (libsrt, loaded when the server starts), if sources may publish over SRT.
        public var srt: SRTIngest.Configuration?
        /// The port RTMP publishers (OBS, ffmpeg) connect to, on the same host as the server's address; `nil` for
        /// no RTMP. `rtmp://host:<port>/<app>/<key>` publishes mount `/<app>` with `<key>` as its password.
        public var rtmpPort: UInt16?

        /// No mounts, no passwords: set at least a source password and some mounts (or `mounts = nil`).
        public init() {}

        /// The most mounts a chain of fallbacks may hold (``ConfigurationError/fallbackChain(_:length:most:)``).
        public static let longestFallbackChain = 64

        /// Checks the mount names, that the fallbacks do not go round in a circle, nor make a chain longer than
        /// ``longestFallbackChain``.
        public func check() throws(ConfigurationError) {
            let names = (mounts ?? []) + Array(mountPasswords.keys) + Array(mountUsers.keys) + Array(fallbacks.keys) + Array(fallbacks.values)
            for name in names { try Self.checkMount(name) }
            try Self.checkFallbacks(fallbacks)
            _ = try Cutter(segmentBytes: segmentBytes)
            if let srt {
                for name in srt.passphrases.keys { try Self.checkMount(name) }
                try srt.check()
            }
        }

        /// Checks that `fallbacks` (each mount's fallback) do not go round in a circle, nor make a chain longer than
        /// ``longestFallbackChain``: what a configuration, a reading of it on SIGHUP and `/admin/fallbacks` all pass.
        static func checkFallbacks(_ fallbacks: [String: String]) throws(ConfigurationError) {
            for start in fallbacks.keys.sorted() {
                var seen = [start]
                var current = start
                while let next = fallbacks[current] {
                    // The circle alone: the mounts that only lead into it (`/a` of `/a → /b → /c → /b`) are not in it.
                    if let again = seen.firstIndex(of: next) { throw .fallbackLoop(Array(seen[again...]) + [next]) }
                    seen.append(next)
                    current = next
                }
                // Said of the chain's first mount: one that only continues a longer chain is not a chain of its own.
                if seen.count > longestFallbackChain, !fallbacks.values.contains(start) {
                    throw .fallbackChain(Array(seen.prefix(3)), length: seen.count, most: longestFallbackChain)
                }
            }
        }

        /// Checks that `name` names a mount (``isMountName(_:)``) that listeners can reach: no path the server
        /// answers itself.
        public static func checkMount(_ name: String) throws(ConfigurationError) {
            guard isMountName(name) else { throw .mountName(name) }
            guard Router.reservedRoute(of: name) == nil else { throw .reservedPath(name) }
        }

        /// Whether `name` can name a mount: `/` and then no space, `?`, `#` or control character, no `%XX` escape,
        /// and between slashes neither nothing (`//`, a trailing `/`) nor `.` or `..` — `/` alone aside, the root.
        ///
        /// This is the one rule every mount's name passes — `--mounts`, `/admin/whitelist`, a source under
        /// `--accept-all`, an RTMP or SRT publisher —, and it makes every mount the one name of one request path:
        /// request paths are matched decoded once (``URLQuery/decodePath(_:)``, `%2f` as `%2F`), so a name that holds
        /// an escape (`/a%2Fb`, `/a%00b`, `/%FF`: what a path keeps when its escapes decode to no name) could only be
        /// asked for escaped twice; and a mount's name is also a folder under `--hls-dir` and `--record-dir`, where
        /// `/a//b` and `/a/b/` would be `/a/b`'s folder and `/../../etc` outside them.
        public static func isMountName(_ name: String) -> Bool { whyNotMountName(name) == nil }

        /// Why `name` cannot name a mount (``isMountName(_:)``), said for the one who gave it — `it holds a space`,
        /// `it ends with /` —, or `nil` when it can: what a refusal of the name goes on to explain.
        public static func whyNotMountName(_ name: String) -> String? {
            guard name.hasPrefix("/") else { return "it does not start with /" }
            guard name.utf8.count <= 256 else { return "it is longer than 256 bytes" }
            guard name != "/" else { return nil }
            if let odd = name.unicodeScalars.first(where: { $0 == " " || $0 == "?" || $0 == "#" || SafeText.isControl($0) }) {
                switch odd {
                case " ": return "it holds a space"
                case "?": return "it holds a ?, where a URL's query starts"
                case "#": return "it holds a #, where a URL's fragment starts"
                default: return "it holds a control character"
                }
            }
            if URLQuery.holdsEscape(name) { return "it holds a %XX escape" }
            let parts = name.dropFirst().split(separator: "/", omittingEmptySubsequences: false)
            for (index, part) in parts.enumerated() {
                if part.isEmpty { return index == parts.count - 1 ? "it ends with /" : "it holds //" }
                if part == "." || part == ".." { return "it holds \(part) between slashes" }
            }
            return nil
        }
    }

    /// The address actually bound.
    public let address: SocketAddress
    /// The address RTMP publishers connect to, if the server takes them.
    public let rtmpAddress: SocketAddress?
    private let listener: Listener
    private let rtmpListener: Listener?
    let table: MountTable  // internal: StationServer+Tree.swift makes its mounts tree nodes
    /// What its connections share (the admin password a reload changes).
    let port: PortContext  // internal: a reload (StationServer+Reload.swift) changes its admin password
    /// The SRT listener, if SRT is on.
    private let srtListener: SRTListener?
    /// Who may publish over SRT, if SRT is on: a reload gives it new passphrases.
    let srtAllowList: SRTAllowList?  // internal: StationServer+Reload.swift

    private init(
        address: SocketAddress, listener: Listener, rtmpListener: Listener?, table: MountTable, port: PortContext,
        srt: (listener: SRTListener, allowList: SRTAllowList)?
    ) {
        self.address = address
        self.rtmpAddress = rtmpListener?.localAddress
        self.listener = listener
        self.rtmpListener = rtmpListener
        self.table = table
        self.port = port
        self.srtListener = srt?.listener
        self.srtAllowList = srt?.allowList
    }

    /// The address SRT callers connect to, if SRT is on.
    public var srtAddress: SocketAddress? { srtListener?.address }
    /// The SRT callers waiting to publish: in their handshake, or accepted with no audio yet.
    package var srtWaiting: Int { srtListener?.waitingCallers ?? 0 }

    /// Starts a station server on `address`.
    /// - Throws: ``ConfigurationError`` for a bad mount name, a circle of fallbacks or an SRT passphrase SRT would
    ///   not take; ``SocketError`` when the address cannot be bound; ``SRTError`` when SRT is asked for and libsrt
    ///   is missing (`SRT needs libsrt: apt-get install libsrt1.5-gnutls`) or its port cannot be bound.
    public static func start(
        _ configuration: Configuration, address: SocketAddress, loop: EventLoop = .shared, logger: EventLog = .silent
    ) throws -> StationServer {
        try configuration.check()
        let table = MountTable(rules: configuration.rules, loop: loop, logger: logger)
        let rtmp = configuration.rtmpPort.map { RTMPCounters(port: Int($0)) }
        let port = PortContext(
            mounts: table, adminPassword: configuration.adminPassword.flatMap(Secret.init), control: configuration.control, rtmp: rtmp,
            loop: loop, options: configuration.options, logger: logger)
        // SRT first, while nothing runs on the table yet (it is loop-confined once connections arrive).
        let srt = try configuration.srt.map { (srt) throws(SRTError) in
            try SRTIngest.start(srt, table: table, port: port, loop: loop, logger: logger)
        }
        let srtListener = srt?.listener
        let listener: Listener
        do {
            listener = try FrontDoor.listen(on: address, loop: loop, port: port)
        } catch {
            srtListener?.close()
            throw error
        }
        var rtmpListener: Listener?
        if let rtmp, let rtmpAddress = SocketAddress(host: address.host, port: UInt16(rtmp.port)) {
            do {
                let bound = try RTMPPublisher.listen(on: rtmpAddress, loop: loop, port: port, counters: rtmp)
                loop.execute { rtmp.port = Int(bound.localAddress.port) }  // the real port, when 0 was asked
                rtmpListener = bound
            } catch {
                loop.execute { listener.close() }
                srtListener?.close()
                throw error
            }
        }
        let server = StationServer(
            address: listener.localAddress, listener: listener, rtmpListener: rtmpListener, table: table, port: port, srt: srt)
        // Every session live when the process stops ends, with its end line (`… ended: the server is stopping`), and
        // the application, if there is one, is told stream-closed for it.
        Shutdown.register(.sources) { [weak server] _ in await server?.endSources() }
        return server
    }

    /// Gives `mount` a permanent source — a relay (``Proxy``) or the built-in ``Station`` — that feeds it
    /// whenever no source publishes there.
    public func attach(_ source: any Node, at mount: String) {
        let table = table
        listener.loop.execute { table.attachPermanent(source, at: mount) }
    }

    /// Stops taking new connections and ends every live source, as when the process stops: each session ends as
    /// if killed by an admin (the application hears `stream-closed`), but its mount does not fall back — its players
    /// and branches are about to be cut, and a branch told of a fallback's stream a moment before would re-attach
    /// for it. Returns once they have ended.
    public func endSources() async {
        closeTCPListeners()
        let table = table
        let sessions = await listener.loop.submit {
            table.stopping = true
            return table.all.compactMap(\.source)
        }
        for session in sessions { await session.stopNow() }
        // The SRT listener after the sessions: closing it drops its callers, whose sessions would end saying that the
        // listener closed, not that the server is stopping.
        srtListener?.close()
    }

    /// Stops taking new connections; those connected stay. SRT callers are disconnected (their mounts fall back).
    public func close() {
        closeTCPListeners()
        srtListener?.close()
    }

    /// Stops taking new connections on the HTTP and RTMP ports; those connected stay.
    private func closeTCPListeners() {
        let listener = listener, rtmpListener = rtmpListener
        listener.loop.execute {
            listener.close()
            rtmpListener?.close()
        }
    }
}
