internal import CastyNet
internal import Icy

/// The HLS routes of every port: each mount's live playlists and segments.
///
/// | path                          | answer                                                                  |
/// |-------------------------------|-------------------------------------------------------------------------|
/// | `/<mount>/index.m3u8`         | the live media playlist (`application/vnd.apple.mpegurl`, cached 1 s)    |
/// | `/<mount>/master.m3u8`        | the master playlist: bandwidth and codec (cached 5 s)                    |
/// | `/<mount>/<stream>-<n>.mp3`   | a segment (`audio/mpeg`, or `.aac` as `audio/aac`), immutable: cached a year |
///
/// Every answer carries an `ETag` (a segment's name; a playlist's newest segment) and honours `If-None-Match`
/// (`304`) and `Range` (`206`), and the connection is kept for the next request (``Exchange/keepsAlive``): an HLS
/// player or a CDN reloading the playlist every few seconds reuses one connection.
///
/// A relay's port (one stream) answers them at the root too: `/index.m3u8`. A segment's name holds its
/// stream's name, so a name never means other audio, even across restarts — which is what lets a CDN cache
/// segments for good.
enum HLSRoutes {
    /// What an HLS path asks for.
    enum Resource: Equatable {
        /// The live media playlist.
        case media
        /// The master playlist.
        case master
        /// A segment, by file name.
        case segment(String)
    }

    /// The mount and the resource a path names, or `nil` when it is not an HLS path.
    static func parse(_ path: String) -> (mount: String, resource: Resource)? {
        guard let slash = path.lastIndex(of: "/") else { return nil }
        let mount = String(path[..<slash])
        let name = String(path[path.index(after: slash)...])
        switch name {
        case "index.m3u8": return (mount, .media)
        case "master.m3u8": return (mount, .master)
        default: return isSegmentName(name) ? (mount, .segment(name)) : nil
        }
    }

    /// `3fa2c1d0-1234.mp3`: 8 hex digits, a dash, digits, `.mp3` or `.aac` — or `3fa2c1d0-1234-13585.mp3`, a
    /// stream's last segment, shorter, named after the relay segment it starts in too.
    static func isSegmentName(_ name: String) -> Bool {
        let parts = name.split(separator: ".")
        guard parts.count == 2, parts[1] == "mp3" || parts[1] == "aac" else { return false }
        let fields = parts[0].split(separator: "-", omittingEmptySubsequences: false)
        return (2...3).contains(fields.count) && fields[0].count == 8 && fields[0].allSatisfy(\.isHexDigit)
            && fields.dropFirst().allSatisfy { (1...18).contains($0.count) && $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }
    }

    /// Whether `exchange` asks for an HLS resource of one of the port's mounts.
    static func matches(_ exchange: Exchange) -> Bool {
        guard exchange.port.hls.enabled, let (mount, resource) = parse(exchange.path) else { return false }
        return distributor(of: mount, for: resource, at: exchange.port) != nil
    }

    /// The distributor that answers `resource` of `mount` on `port`: a playlist's while its window is live or waited
    /// for (``PortContext/hlsMount(at:)``), a segment's also while a withdrawn window's segments may still be fetched
    /// (``PortContext/hlsSegmentMount(at:)``).
    private static func distributor(of mount: String, for resource: Resource, at port: PortContext) -> Distributor? {
        let path = mount.isEmpty ? "/" : mount
        guard case .segment = resource else { return port.hlsMount(at: path) }
        return port.hlsSegmentMount(at: path)
    }

    /// Who asks, as the HLS audience counts players: the client's address (behind a trusted proxy, the real one)
    /// and its user agent (several players behind one address are told apart by it, roughly).
    static func client(_ exchange: Exchange) -> String {
        exchange.clientIP + " " + String((exchange.request.headers["User-Agent"] ?? "").prefix(120))
    }

    /// Answers a playlist or a segment. With listener authorization (``authorize(_:packager:control:mount:then:)``)
    /// a player's first live playlist waits for the application, and segments go only to admitted players.
    static func serve(_ exchange: Exchange) {
        guard let (mount, resource) = parse(exchange.path), let distributor = distributor(of: mount, for: resource, at: exchange.port) else {
            return exchange.answer(404, "Not Found", body: StreamRoutes.noMountBody(exchange.path), headers: ["Cache-Control": "no-cache"])
        }
        let packager = HLSPackager.attached(to: distributor, mount: mount, settings: exchange.port.hls, logger: exchange.port.logger)
        let control = exchange.port.control.flatMap { $0.authorizesListeners ? $0 : nil }
        packager.assumeIsolated { isolated in
            guard isolated.packs else {
                return exchange.answer(404, "Not Found", body: "This mount's audio is neither MP3 nor AAC: it is not published as HLS.")
            }
            switch resource {
            case .media, .master:
                // A branch's mount the root answered 404 for (it asks again meanwhile): 404, as there.
                if exchange.port.tree?.isMissing(mount.isEmpty ? "/" : mount) == true {
                    return exchange.answer(404, "Not Found", body: StreamRoutes.noMountBody(exchange.path), headers: ["Cache-Control": "no-cache"])
                }
                guard isolated.ready else {
                    return exchange.answer(503, "Service Unavailable", body: "The live playlist is not long enough yet: try again shortly.",
                                           headers: ["Retry-After": String(exchange.port.hls.targetDuration), "Cache-Control": "no-cache"])
                }
                guard resource == .media, let control else { return answerPlaylist(exchange, isolated, media: resource == .media) }
                authorize(exchange, packager: packager, control: control, mount: mount.isEmpty ? "/" : mount) { login in
                    packager.assumeIsolated { answerPlaylist(exchange, $0, media: true, login: login) }
                }
            case .segment(let name):
                guard let segment = isolated.segment(named: name) else {
                    return exchange.answer(404, "Not Found", body: "No such segment (any more): \(name)",
                                           headers: ["Cache-Control": "no-cache"])
                }
                if control != nil, !isolated.audience.isPlayer(client(exchange)) { return refuseSegment(exchange) }
                if !exchange.headOnly { isolated.audience.segment(bytes: segment.bytes.count) }
                exchange.answer(tagged: segment.bytes, etag: "\"\(name)\"", headers: [
                    "Content-Type": HLSPackager.type(ofSegment: name), "Cache-Control": "public, max-age=31536000, immutable",
                ])
            }
        }
    }

    /// Answers the live (`media`) or the master playlist; a live playlist counts its client — with the `login` it
    /// was admitted with, under listener authorization — as a player.
    private static func answerPlaylist(
        _ exchange: Exchange, _ packager: isolated HLSPackager, media: Bool, login: HLSAudience.Login = .none
    ) {
        if media {
            packager.audience.playlist(client: client(exchange), login: login, at: wallClockMilliseconds(), window: packager.audienceWindow)
        }
        // A playlist changes only when a segment is made: its newest segment names it.
        exchange.answer(tagged: media ? packager.playlist : packager.masterPlaylist,
                        etag: "\"\(media ? "index" : "master")-\(packager.newestSegment ?? "none")\"", headers: [
            "Content-Type": "application/vnd.apple.mpegurl", "Cache-Control": "public, max-age=\(media ? 1 : 5)",
        ])
    }
}

extension HLSPackager {
    /// The packager of `distributor`, made and started the first time it is asked for. On the loop.
    static func attached(to distributor: Distributor, mount: String, settings: Settings, logger: EventLog) -> HLSPackager {
        distributor.assumeIsolated { distributor in
            if let packager = distributor.packager { return packager }
            let packager = HLSPackager(distributor: distributor, mount: mount, settings: settings, logger: logger)
            distributor.packager = packager
            packager.assumeIsolated { $0.start() }
            return packager
        }
    }
}

extension Distributor {
    /// Its HLS players now, if it is published as HLS. On the loop.
    var hlsPlayers: Int? {
        packager?.assumeIsolated { $0.hlsPlayers() }
    }

    /// The `hls` object of its status, if it is published as HLS (``HLSPackager/audienceStatus(now:)``). On the loop.
    var hlsStatus: [(String, JSONValue)]? {
        packager?.assumeIsolated { $0.audienceStatus() }
    }
}
