internal import CastyWire
internal import Icy

/// An SRT caller's stream ID (`SRTO_STREAMID`, `streamid=` in ffmpeg's `srt://` URL), read as the mount it
/// publishes and, optionally, a key for the platform's application:
///
/// | stream ID | mount | key |
/// |-----------|-------|-----|
/// | `live` or `/live` | `/live` | — |
/// | `live?key=K` | `/live` | `K` (like `?key=` in an HTTP source's URL) |
/// | `#!::r=live,m=publish` | `/live` | — (SRT's access control syntax: `r` is the resource) |
/// | `#!::r=live,key=K` or `#!::r=live,s=K` | `/live` | `K` (`key=`, else the session `s=`) |
///
/// In SRT's syntax `m` is what the caller wants: a caller that asks to receive (`m=request`, a player) or both
/// (`m=bidirectional`) is no source (``publishes``).
struct SRTStreamID: Sendable, Equatable {
    /// The mount: `/live`.
    let mount: String
    /// The key given with `?key=` (or `key=`, else `s=`, in SRT's syntax), if any.
    let key: String?
    /// What the caller says it wants (`m=`), if it says: `publish`, `request`, `bidirectional`.
    let mode: String?

    /// Whether the caller comes to publish: it says so, or says nothing.
    var publishes: Bool { mode == nil || mode == "publish" }

    /// The stream ID's mount and key; `nil` when it names no mount Casty could have. `%XX` escapes are decoded
    /// first: ffmpeg passes the `streamid=` of its URL as it is written there, and a `?`, `=` or `#` in it must be
    /// escaped (`streamid=live%3Fkey%3DK`, `streamid=%23!::r=live`).
    init?(_ text: String) {
        guard let parts = Self.parts(text), parts.mount.count > 1, StationServer.Configuration.isMountName(parts.mount) else { return nil }
        (mount, key, mode) = parts
    }

    /// Why `text` names no mount (``init(_:)`` gives `nil`), in the words of
    /// ``StationServer/Configuration/whyNotMountName(_:)``: `it holds a space`.
    static func whyNoMount(_ text: String) -> String {
        guard let mount = parts(text)?.mount else { return "SRT's access control syntax (#!::) without r=, the mount" }
        return (mount.count > 1 ? StationServer.Configuration.whyNotMountName(mount) : nil) ?? "the stream ID names none"
    }

    /// The mount `text` asks for (a name yet to check), its key and mode; `nil` for SRT's syntax without `r=`.
    private static func parts(_ text: String) -> (mount: String, key: String?, mode: String?)? {
        let text = unescaped(text)
        var path = Substring(text)
        var key: String?
        var mode: String?
        if text.hasPrefix("#!::") {
            let fields = text.dropFirst(4).split(separator: ",").map { $0.split(separator: "=", maxSplits: 1) }
            guard let resource = fields.first(where: { $0.count == 2 && $0[0] == "r" }) else { return nil }
            path = resource[1]
            mode = fields.first { $0.count == 2 && $0[0] == "m" }.map { $0[1].lowercased() }
            // The key: `key=`, else the session `s=` (``shown(_:)`` hides both).
            key = (fields.first { $0.count == 2 && $0[0] == "key" } ?? fields.first { $0.count == 2 && $0[0] == "s" }).map { String($0[1]) }
        } else if let question = text.firstIndex(of: "?") {
            path = text[..<question]
            for pair in text[text.index(after: question)...].split(separator: "&") where pair.hasPrefix("key=") {
                key = String(pair.dropFirst(4))
            }
        }
        return (path.hasPrefix("/") ? String(path) : "/" + path, key, mode)
    }

    /// `text` as it may be shown — in a log line, `/status.json`, the report — with every value Casty does not show
    /// on purpose replaced by `…`: after a `?`, each field's (`live?key=K&token=T` shows `live?key=…&token=…`: the key
    /// is a secret, and a field Casty does not read may be one too, ``notRead(_:)``); in SRT's access control syntax,
    /// each field's but the resource `r=` and the mode `m=` (`#!::r=live,s=S,u=U` shows `#!::r=live,s=…,u=…`). A
    /// stream ID with `%XX` escapes (ffmpeg passes `live%3Fkey%3DK` as it is) is shown decoded, so that its key is
    /// found too. A part of the mount that is the stream ID's own key, or one of `secrets` (the passphrases), is shown
    /// as `…` as well (`live/KEY?key=KEY` shows `live/…?key=…`): a key pasted into the mount by mistake.
    static func shown(_ text: String, hiding secrets: [String?] = []) -> String {
        let decoded = unescaped(text)
        let secrets = [parts(text)?.key] + secrets
        guard decoded.hasPrefix("#!::") else { return maskingQuery(maskingPath(decoded, secrets)) }
        let fields = decoded.dropFirst(4).split(separator: ",", omittingEmptySubsequences: false).map { field -> String in
            let name = field.prefix { $0 != "=" }
            if name == "r", field.count > 1 { return "r=" + maskingQuery(maskingPath(field.dropFirst(2), secrets)) }
            return name == "m" ? maskingQuery(String(field)) : masked(field)
        }
        return "#!::" + fields.joined(separator: ",")
    }

    /// The mount `text` asks for as it may be shown — in the access log's `PUBLISH /live SRT` —, whether or not it is
    /// one Casty could have: a part of it that is the stream ID's own key, or one of `secrets` (the passphrases), `…`,
    /// as ``shown(_:hiding:)`` shows it, and a query after it (SRT's syntax: `r=live?key=K`) `?…`; `nil` for SRT's
    /// syntax without `r=`, which names none.
    static func shownMount(_ text: String, hiding secrets: [String?] = []) -> String? {
        guard let parts = parts(text) else { return nil }
        return AccessLog.queryHidden(maskingPath(parts.mount, [parts.key] + secrets))
    }

    /// The words of a log line naming the fields of `text` Casty does not read, by name only
    /// (``URLQuery/notRead(_:reading:of:marker:)``): `?token= not read (of a stream ID's query, Casty reads ?key=
    /// only)`, or `u= not read (of SRT's access control syntax, Casty reads r=, m=, key=, s= only)`; `nil` when there
    /// are none.
    static func notRead(_ text: String) -> String? {
        let decoded = unescaped(text)
        if decoded.hasPrefix("#!::") {
            let names = decoded.dropFirst(4).split(separator: ",").map { String($0.prefix { $0 != "=" }) }
            return URLQuery.notRead(names, reading: ["r", "m", "key", "s"], of: "SRT's access control syntax", marker: "")
        }
        guard let question = decoded.firstIndex(of: "?") else { return nil }
        return URLQuery.notRead(URLQuery.names(in: decoded[decoded.index(after: question)...]), of: "a stream ID's query")
    }

    /// `text` with its `%XX` escapes decoded, or as it is when it has none, or a broken one. Escapes of bytes that are
    /// not UTF-8 stay escapes (``IcyText/decodeTarget(_:)``), as in an HTTP request's path: `a%FFb` names no mount
    /// (`it holds a %XX escape`), not `/a\u{FFFD}b`, which `a%FEb` would name too.
    private static func unescaped(_ text: String) -> String {
        guard text.contains("%"), let bytes = PercentEscapes.unescaped(Substring(text)) else { return text }
        return IcyText.decodeTarget(bytes)
    }

    /// `text` with each part of its path (up to its `?`) that is one of `secrets` replaced by `…`.
    private static func maskingPath(_ text: some StringProtocol, _ secrets: [String?]) -> String {
        let end = text.firstIndex(of: "?") ?? text.endIndex
        return (Secret.parts(of: text[..<end], among: secrets)?.shown ?? String(text[..<end])) + text[end...]
    }

    /// `text` with the value of each field after its `?` replaced by `…`.
    private static func maskingQuery(_ text: String) -> String {
        guard let question = text.firstIndex(of: "?") else { return text }
        let pairs = text[text.index(after: question)...].split(separator: "&", omittingEmptySubsequences: false)
        return text[...question] + pairs.map(masked).joined(separator: "&")
    }

    /// A field `name=value` shown as `name=…`; one without `=`, a name alone, as it is.
    private static func masked(_ field: Substring) -> String {
        let name = field.prefix { $0 != "=" }
        return name.count < field.count ? name + "=…" : String(field)
    }
}
