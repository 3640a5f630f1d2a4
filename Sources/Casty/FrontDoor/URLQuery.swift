internal import CastyNet
internal import CastyWire

/// Decoding of URL query values (`application/x-www-form-urlencoded`): `+` is a space and `%XX` a byte.
/// Titles sent to `/admin/metadata` arrive this way, in UTF-8 (or, from old and Windows sources, in the
/// `charset=` they name). Request paths are decoded too (``decodePath(_:)``): mounts are matched by name, whatever a client escaped.
enum URLQuery {
    /// `text` decoded; bytes that are not UTF-8 are read as Windows-1252 — or, with a `charset` (as Icecast's
    /// `/admin/metadata` takes it), in that charset (``Charset``); a `%` not followed by two hex digits is kept as it is.
    /// A `+` is a space, as a form sends it (`song=Artist+-+Title`), unless `plusIsSpace` is `false`: a stream key
    /// (`?key=`) is a token, whose `+` (a base64 key's) stays a `+`, as it does in an SRT stream ID.
    static func decode(_ text: Substring, charset: Charset = .utf8, plusIsSpace: Bool = true) -> String {
        charset.decode(unescaped(text, plusIsSpace: plusIsSpace))
    }

    /// A mount's name as a query value gives it (`mount=%2Fm%C3%BAsic` is `/músic`), decoded once, as UTF-8 only: a
    /// value whose bytes are not UTF-8 is kept as it came (`/%FF`), which no mount's name is
    /// (``StationServer/Configuration/isMountName(_:)``) — not read as Windows-1252, as a title is.
    static func decodeMount(_ text: Substring) -> String {
        String(validating: unescaped(text, plusIsSpace: true), as: UTF8.self) ?? String(text)
    }

    /// A request's path with its `%XX` escapes decoded, as players, browsers, ffmpeg and libshout send a mount
    /// whose name is not ASCII (`/m%C3%BAsic` is `/músic`; a `+` stays a `+` in a path); `nil` when it has no `%`
    /// or when its escapes decode to bytes that are not UTF-8, to a control character, or to a `/` (the path is then
    /// taken as it came: `/live%2Findex.m3u8` is no playlist of `/live`, whose segments a player would look for
    /// beside `/live%2Findex.m3u8`, at the top).
    static func decodePath(_ path: String) -> String? {
        guard path.utf8.contains(UInt8(ascii: "%")) else { return nil }
        guard !path.lowercased().contains("%2f") else { return nil }
        guard let text = String(validating: unescaped(Substring(path), plusIsSpace: false), as: UTF8.self),
              !text.unicodeScalars.contains(where: SafeText.isControl) else { return nil }
        return text
    }

    /// The value of `name` in `query` (`mount=/live&song=…`, without its `?`) as it was sent, its escapes not decoded
    /// (`""` for a name without `=`); `nil` if absent.
    static func escapedValue(_ name: String, in query: Substring) -> Substring? {
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            if decode(parts[0]) == name { return parts.count > 1 ? parts[1] : "" }
        }
        return nil
    }

    /// The names in `query` (`token=x&key=K` has `token` and `key`), decoded, in order.
    static func names(in query: Substring) -> [String] {
        query.split(separator: "&").map { decode($0.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)[0]) }
    }

    /// The words of a log line naming the fields Casty does not read, by name only: their values may be secrets (a
    /// `?token=` an encoder was given for another server) and are never shown. `names` are those given
    /// (``names(in:)``), `read` those Casty reads, `marker` what stands before each (`?` for a URL's query) and
    /// `whose` what holds them: `?token=, ?x= not read (of a stream key's query, Casty reads ?key= only)`; `nil` when
    /// Casty reads every one.
    static func notRead(_ names: [String], reading read: [String] = ["key"], of whose: String, marker: String = "?") -> String? {
        var ignored: [String] = []
        for name in names where !read.contains(name) && !ignored.contains(name) { ignored.append(name) }
        guard !ignored.isEmpty else { return nil }
        let fields = { (names: [String]) in names.map { marker + $0 + "=" }.joined(separator: ", ") }
        return fields(ignored) + " not read (of \(whose), Casty reads \(fields(read)) only)"
    }

    /// Whether `text` holds a `%XX` escape (`%2F` or `%2f`, any two hex digits): a `%` followed by anything else is
    /// no escape, and decoding keeps it as it is.
    static func holdsEscape(_ text: String) -> Bool {
        unescaped(Substring(text), plusIsSpace: false).count != text.utf8.count
    }

    /// The bytes of `text` with each `%XX` replaced by its byte (and, in a query, each `+` by a space).
    private static func unescaped(_ text: Substring, plusIsSpace: Bool) -> [UInt8] {
        PercentEscapes.unescaped(text, plusIsSpace: plusIsSpace) ?? Array(text.utf8)  // never nil unless strict
    }

    /// A mount's path as a URL writes it: each name between slashes ``encode(_:)``d (`/músic` is `/m%C3%BAsic`).
    static func encodePath(_ path: String) -> String {
        path.split(separator: "/", omittingEmptySubsequences: false).map { encode(String($0)) }.joined(separator: "/")
    }

    /// A channel (a mount's name without its slash) as a header carries it to the application: ASCII as it is, every
    /// byte of another character and `%` itself as `%XX` (`músic` is `m%C3%BAsic`, as in the stream's URL). A header
    /// value is bytes: beyond ASCII, frameworks read it as Latin-1, and the application would see `mÃºsic`.
    static func encodeChannel(_ channel: String) -> String {
        guard channel.utf8.contains(where: { $0 >= 0x80 || $0 == UInt8(ascii: "%") }) else { return channel }
        return percentEncoded(channel) { $0 < 0x80 && $0 != UInt8(ascii: "%") }
    }

    /// `text` encoded for a form or a query: letters, digits and `-_.~` as they are, every other byte `%XX`.
    static func encode(_ text: String) -> String {
        percentEncoded(text) { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"): true
            default: false
            }
        }
    }

    /// `text` with the bytes `kept` as they are and every other byte `%XX` (two uppercase hex digits).
    private static func percentEncoded(_ text: String, keeping kept: (UInt8) -> Bool) -> String {
        var out = ""
        for byte in text.utf8 {
            if kept(byte) {
                out.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                let hex = String(byte, radix: 16, uppercase: true)
                out += "%" + (hex.count == 1 ? "0" : "") + hex
            }
        }
        return out
    }
}
