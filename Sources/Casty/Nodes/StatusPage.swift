internal import CastyAudio
internal import CastyNet
internal import Icy

/// The distributor's ``Stat`` as JSON, for `GET /status.json` on a client port.
///
/// The `icestats.source` object uses Icecast's own `status-json.xsl` field names where they fit, so tools
/// written for Icecast can read it; the `casty` object has the relay's own counters.
enum StatusPage {
    /// One stream's status: Icecast's `icestats.source`, Casty's counters in `casty`, its HLS audience in `hls`
    /// (``HLSPackager/audienceStatus(now:)``) and its place in the tree in `tree` (a branch's with `placed` and the
    /// `root` it asks: one with no place now shows depth 0 and no parent, as a root does).
    /// `listenBase` (`http://host:port`) gives the stream's `listenurl`.
    /// `serverStart` (ms since 1970) is when the node started, Icecast's `server_start`.
    static func json(_ stat: Stat, upstream: String? = nil, hls: [(String, JSONValue)]? = nil, listenBase: String? = nil,
                     serverStart: Int64? = nil) -> String {
        var members: [(String, JSONValue)] = [
            ("icestats", .object(server(started: serverStart) + [("source", .object(source(stat, listenURL: listenBase.map { $0 + "/" })))])),
            ("casty", .object(casty(stat, upstream: upstream))),
        ]
        if let hls { members.append(("hls", .object(hls))) }
        if let tree = stat.tree {
            // A branch says whether it has a place now, and the root it asks for one: with none, its depth 0 and empty
            // parent are not a root's (`root=` on its `/tree` line).
            let branch: [(String, JSONValue)] = tree.root.map { [("placed", .bool(!stat.path.isEmpty)), ("root", .text($0))] } ?? []
            members.append(("tree", .object([
                ("address", .text(tree.address)),
                ("depth", .number(stat.path.count)),
                ("parent", .text(stat.path.last ?? "")),
                ("subtree", .number(tree.subtree)),
                ("children", .list(tree.children.map { .object([("address", .text($0.address)), ("subtree", .number($0.subtree))]) })),
            ] + branch)))
        }
        return JSONValue.object(members).encoded
    }

    /// A station server's mounts as JSON: Icecast's `icestats.source` array (one object per mount, with its
    /// `listenurl` path as `mount`), each with Casty's counters in a `casty` object (an SRT source's in `srt`, the
    /// HLS audience in `hls`), and the RTMP port's counters as `rtmp` when the server has one. `listenBase`
    /// (`http://host:port`) gives each mount's `listenurl`; `serverStart` (ms since 1970), Icecast's `server_start`;
    /// `shapes`, the sample rate and channels of the mounts whose audio Casty knows (``source(_:listenURL:shape:)``).
    ///
    /// `icecastShape` writes `source` as Icecast 2.4 does at `/status-json.xsl`, where "now playing" widgets written for
    /// it read `icestats.source.title`: one object for one mount, an array for several, no `source` for none.
    static func serverJSON(_ mounts: [(path: String, stat: Stat, source: String, hls: [(String, JSONValue)]?)], refused: Int,
                           listenBase: String? = nil, ingest: [String: [(String, JSONValue)]] = [:], rtmp: JSONValue? = nil,
                           serverStart: Int64? = nil, icecastShape: Bool = false, shapes: [String: AudioShape] = [:]) -> String {
        let sources: [JSONValue] = mounts.map { mount in
            .object([("mount", .text(mount.path))]
                + source(mount.stat, listenURL: listenBase.map { $0 + URLQuery.encodePath(mount.path) }, shape: shapes[mount.path])
                + [("casty", .object(casty(mount.stat, upstream: mount.source)))]
                + (ingest[mount.path].map { [("srt", .object($0))] } ?? []) + (mount.hls.map { [("hls", .object($0))] } ?? []))
        }
        var stats = server(started: serverStart) + [("refused", .number(refused))]
        switch (icecastShape, sources.count) {
        case (true, 0): break
        case (true, 1): stats.append(("source", sources[0]))
        default: stats.append(("source", .list(sources)))
        }
        if let rtmp { stats.append(("rtmp", rtmp)) }
        return JSONValue.object([("icestats", .object(stats))]).encoded
    }

    /// Icecast's fields for the server: its name, and when it started (`server_start`, as Icecast writes it, and in
    /// ISO 8601), which uptime displays read.
    static func server(started: Int64?) -> [(String, JSONValue)] {
        var fields: [(String, JSONValue)] = [("server_id", .text("Casty"))]
        if let started { fields += dates("server_start", started) }
        return fields
    }

    /// `name` and `name_iso8601` for the moment `milliseconds` after 1970, as Icecast writes its dates.
    private static func dates(_ name: String, _ milliseconds: Int64) -> [(String, JSONValue)] {
        let time = CivilTime(milliseconds: milliseconds)
        return [(name, .text(time.icecastDate)), (name + "_iso8601", .text(time.icecastISO8601))]
    }

    /// Icecast's fields for one source (`listenurl`: where a player reaches it, when known). `channels` and
    /// `samplerate`, integers, where known: as Icecast gives them, from the source's `ice-audio-info`
    /// (`channels=2;samplerate=44100`, liquidsoap's; `ice-channels=`, `ice-samplerate=`, older libshout's), else from
    /// the `shape` of its audio, which Casty reads off its MP3 and AAC frames (an RTMP or SRT source declares none).
    static func source(_ stat: Stat, listenURL: String? = nil, shape: AudioShape? = nil) -> [(String, JSONValue)] {
        var source: [(String, JSONValue)] = [
            ("listeners", .number(stat.listeners)),
            ("listener_peak", .number(stat.peakListeners)),
        ]
        if let listenURL { source.append(("listenurl", .text(listenURL))) }
        if let context = stat.context {
            source += [
                ("server_name", .text(context.station["icy-name"] ?? "")),
                ("genre", .text(context.station["icy-genre"] ?? "")),
                ("server_description", .text(context.station["icy-description"] ?? "")),
                ("server_url", .text(context.station["icy-url"] ?? "")),
                ("server_type", .text(context.station["Content-Type"] ?? "audio/mpeg")),
                ("bitrate", .number(context.advertisedBitrate)),
                ("title", .text(context.title?.streamTitle ?? "")),
            ]
            let info = context.station["ice-audio-info"]
            if let info { source.append(("audio_info", .text(info))) }
            // AAC's channel configuration 0 (channels set in the stream) is no count.
            if let channels = declared("channels", in: info) ?? shape.map(\.channels).flatMap({ $0 > 0 ? $0 : nil }) {
                source.append(("channels", .number(channels)))
            }
            if let rate = declared("samplerate", in: info) ?? shape?.sampleRate { source.append(("samplerate", .number(rate))) }
            if let started = stat.streamStart { source += dates("stream_start", started) }
        }
        return source
    }

    /// The whole number `ice-audio-info` gives `key` (`channels=2`, or `ice-channels=2`), if it gives one above 0.
    static func declared(_ key: String, in info: String?) -> Int? {
        for pair in info?.split(separator: ";") ?? [] {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2, case let name = parts[0].trimmingPrefix(" "), name == key || name == "ice-" + key,
                  let value = Int(parts[1]), value > 0 else { continue }
            return value
        }
        return nil
    }

    /// Casty's own counters for one distributor.
    private static func casty(_ stat: Stat, upstream: String?) -> [(String, JSONValue)] {
        let context = stat.context
        return [
            ("branches", .number(stat.branches)),
            ("stream", .text(stat.stream.map(Context.streamText) ?? "")),
            ("segments", .number(stat.segments)),
            // While the stream is away, as they were when it went; null before it first came.
            ("segment_bytes", stat.lastKnown.segmentBytes.map(JSONValue.number) ?? .null),
            ("next", stat.lastKnown.next.map(JSONValue.number) ?? .null),
            ("bytes_in", .number(stat.bytesIn)),
            ("bytes_out", .number(stat.bytesOut)),
            ("skipped", .number(stat.skipped)),
            ("dropped", .number(stat.dropped)),
            ("refused", .number(stat.refused)),
            ("gaps", .number(stat.gaps)),
            ("missing", .number(stat.missing)),
            ("upstream", .text(upstream ?? (context == nil ? "connecting" : "streaming"))),
        ]
    }

    /// The tree node's state on one line, for `GET /tree` and `casty-cli tree`:
    /// `address=… depth=… parent=… listeners=… branches=… segments=… next=… stream=… gaps=… missing=… children=a:3,b:2`
    /// (`next` keeps its value while the stream is away, as `/status.json`'s does; `-` before it first came; `listeners` are the players; `branches` the links to this node's own branches), and `hls=N`, the HLS
    /// players of the stream here, when the node publishes it as HLS; `quiet=` and `whole=`, milliseconds since its stream
    /// last brought audio (a segment or a piece of one) and since its last whole segment; and `root=host:port` for a branch that has no
    /// place in the tree now (not placed yet, or its parent lost and its root not answering), so that it is not
    /// taken for a root.
    static func treeLine(_ stat: Stat, hlsPlayers: Int? = nil) -> String {
        let children = stat.tree?.children.map { "\($0.address):\($0.subtree)" }.joined(separator: ",") ?? ""
        return "address=\(stat.tree?.address ?? "-") depth=\(stat.path.count) parent=\(stat.path.last ?? "-")"
            + " listeners=\(stat.listeners) branches=\(stat.branches) segments=\(stat.segments)"
            + " next=\(stat.lastKnown.next.map(String.init) ?? "-")"
            + " stream=\(stat.stream.map(Context.streamText) ?? "-") gaps=\(stat.gaps)"
            + " missing=\(stat.missing) children=\(children)" + (hlsPlayers.map { " hls=\($0)" } ?? "")
            + (stat.quiet.map { " quiet=\(Int(($0 / .milliseconds(1)).rounded(.down)))" } ?? "")
            + (stat.sinceSegment.map { " whole=\(Int(($0 / .milliseconds(1)).rounded(.down)))" } ?? "")
            + (stat.path.isEmpty ? stat.tree?.root.map { " root=\($0)" } ?? "" : "")
    }
}

/// Just enough JSON to write a status page, with no Foundation.
enum JSONValue: Sendable {
    case number(Int)
    /// A number with a fraction (an RTT in milliseconds); 0 for infinities and NaN, which JSON cannot write.
    case decimal(Double)
    case bool(Bool)
    case text(String)
    case object([(String, JSONValue)])
    case list([JSONValue])
    /// No value: what was not said (an application that sent no `x-record`).
    case null

    var encoded: String {
        switch self {
        case .null: "null"
        case .number(let value): String(value)
        case .decimal(let value): value.isFinite ? String(value) : "0"
        case .bool(let value): value ? "true" : "false"
        case .text(let value): Self.quoted(value)
        case .object(let members): "{" + members.map { Self.quoted($0.0) + ":" + $0.1.encoded }.joined(separator: ",") + "}"
        case .list(let values): "[" + values.map(\.encoded).joined(separator: ",") + "]"
        }
    }

    private static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\t": out += " "
            case _ where SafeText.isControl(scalar):
                break  // titles and names from the upstream: a page shows no control characters
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
