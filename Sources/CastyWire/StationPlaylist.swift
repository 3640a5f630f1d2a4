/// A station's playlist file — the `.pls` or `.m3u` link a station's web page offers ("Listen in your player")
/// rather than its stream — read for the stream it names, so that a relay given one follows it like a redirect.
///
/// Two formats are in use, both plain text:
/// - **PLS** (Shoutcast's, `audio/x-scpls`): an INI section, `[playlist]`, with `File1=http://…`, `Title1=…`,
///   `NumberOfEntries=…`.
/// - **M3U** (`audio/x-mpegurl`, `audio/mpegurl`): one location per line, `#` lines are comments (`#EXTM3U`,
///   `#EXTINF:-1,Station`).
///
/// The first `http://` or `https://` entry wins (the rest are usually the same stream on other servers); an entry
/// without a scheme is a path relative to the playlist's own URL. An M3U that holds HLS tags (`#EXT-X-…`) is an HLS playlist,
/// which is not an ICY stream (web servers send plain `.m3u` files with HLS's content type too, so the text
/// decides, not the type). Pure: bytes in, verdict out.
public enum StationPlaylist {
    /// The most bytes of a playlist read: a station's lists a few servers, and the first entries are the ones taken.
    public static let byteLimit = 64 * 1024

    /// What a playlist says.
    public enum Verdict: Sendable, Equatable {
        /// The stream to follow: an absolute `http://` or `https://` URL, or a path on the playlist's server (`/live`).
        case stream(String)
        /// An HLS playlist: segments to fetch, not a stream to relay.
        case hls
        /// No entry a relay can follow, and why.
        case noStream(String)
    }

    /// The content types servers give playlists (lower case).
    static let types: Set<String> = [
        "audio/x-scpls", "application/pls+xml", "audio/x-mpegurl", "audio/mpegurl", "application/x-mpegurl",
        "application/vnd.apple.mpegurl", "application/mpegurl", "video/x-mpegurl",
    ]

    /// Whether a reply is a playlist rather than a stream: by its `Content-Type`, or by the URL's ending
    /// (`.pls`, `.m3u`, `.m3u8`) when the type says nothing better (missing, `text/…`, `application/octet-stream`).
    public static func isPlaylist(contentType: String?, path: String) -> Bool {
        let type = (contentType ?? "").split(separator: ";").first.map { $0.withoutBlanks.lowercased() } ?? ""
        if types.contains(type) { return true }
        guard type.isEmpty || type.hasPrefix("text/") || type == "application/octet-stream" else { return false }
        let file = path.split(separator: "?").first.map(String.init)?.lowercased() ?? ""
        return [".pls", ".m3u", ".m3u8"].contains { file.hasSuffix($0) }
    }

    /// Reads a playlist found at `path` on its server (for entries relative to it).
    public static func read(_ bytes: some Collection<UInt8>, path: String) -> Verdict {
        let text = String(decoding: bytes.prefix(byteLimit), as: UTF8.self)
        let lines = text.split(whereSeparator: \.isNewline).map { String($0.withoutBlanks) }.filter { !$0.isEmpty }
        if lines.contains(where: { $0.uppercased().hasPrefix("#EXT-X-") }) { return .hls }
        let isPLS = lines.first?.lowercased() == "[playlist]"
        let entries: [String] = isPLS
            ? lines.compactMap { line in
                let parts = line.split(separator: "=", maxSplits: 1).map { String($0.withoutBlanks) }
                guard parts.count == 2, parts[0].lowercased().hasPrefix("file") else { return nil }
                return parts[1]
            }
            : lines.filter { !$0.hasPrefix("#") }
        var skipped: [String] = []
        for entry in entries {
            var scheme: String?
            if let colon = entry.firstIndex(of: ":"), entry[colon...].hasPrefix("://") { scheme = entry[..<colon].lowercased() }
            switch scheme {
            case "http"?, "https"?:
                return .stream(entry)
            case nil where !isPLS || entry.hasPrefix("/"):
                return .stream(entry.hasPrefix("/") ? entry : directory(of: path) + entry)
            default:
                skipped.append(scheme ?? "?")
            }
        }
        guard !skipped.isEmpty else {
            return .noStream(entries.isEmpty ? "that lists no stream" : "whose entries Casty cannot follow")
        }
        let schemes = Set(skipped).sorted().map { "\($0)://" }.joined(separator: ", ")
        return .noStream("that lists only \(schemes) streams, which Casty does not speak (http:// and https:// it does)")
    }

    /// The directory of a URL path, with its slash: `/radio/` of `/radio/listen.m3u`.
    private static func directory(of path: String) -> String {
        let file = path.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? path
        guard let slash = file.lastIndex(of: "/") else { return "/" }
        return String(file[...slash])
    }
}
