internal import CastyNet
internal import Icy

/// A mount's playlist files, as Icecast serves them beside each mount: `/live.m3u` (and `.pls`, `.xspf`) hold
/// the stream's URL, so that a link on a web page opens the station in the listener's own player (VLC, foobar,
/// a phone's radio app) instead of the browser downloading the endless stream.
///
/// The URL names the host the client asked (its `Host`, ``StatusRoutes/listenBase(_:)``), so a playlist fetched
/// through a public name points to that name; the mount's path is percent-encoded.
enum PlaylistRoutes {
    /// The playlist forms: the file extension, its content type, and how it writes one stream.
    enum Form: String, CaseIterable {
        case m3u, pls, xspf

        /// The content type players recognize the form by.
        var contentType: String {
            switch self {
            case .m3u: "audio/x-mpegurl"
            case .pls: "audio/x-scpls"
            case .xspf: "application/xspf+xml"
            }
        }

        /// The file for the stream at `url`, named `title`.
        func file(url: String, title: String) -> String {
            switch self {
            case .m3u:
                return "\(url)\n"
            case .pls:
                return "[playlist]\nNumberOfEntries=1\nFile1=\(url)\nTitle1=\(SafeText.printable(title))\nLength1=-1\nVersion=2\n"
            case .xspf:
                return """
                    <?xml version="1.0" encoding="UTF-8"?>
                    <playlist version="1" xmlns="http://xspf.org/ns/0/">
                      <trackList>
                        <track><location>\(xml(url))</location><title>\(xml(title))</title></track>
                      </trackList>
                    </playlist>

                    """
            }
        }

        private func xml(_ text: String) -> String {
            var out = ""
            for character in SafeText.printable(text) {
                switch character {
                case "&": out += "&amp;"
                case "<": out += "&lt;"
                case ">": out += "&gt;"
                case "\"": out += "&quot;"
                default: out.append(character)
                }
            }
            return out
        }
    }

    /// The mount, its distributor and the form a path asks for (`/live.m3u`: `/live`, `.m3u`), if the port has
    /// that mount.
    static func match(_ exchange: Exchange) -> (mount: String, distributor: Distributor, form: Form)? {
        let path = exchange.path
        guard let dot = path.lastIndex(of: "."), let form = Form(rawValue: String(path[path.index(after: dot)...])) else {
            return nil
        }
        let mount = String(path[..<dot])
        guard mount.count > 1, let distributor = exchange.port.mount(at: mount) else { return nil }
        return (mount, distributor, form)
    }

    /// `GET`/`HEAD /<mount>.m3u|.pls|.xspf`: the playlist of that mount's stream.
    static func serve(_ exchange: Exchange) {
        guard let (mount, distributor, form) = match(exchange) else { return StreamRoutes.noMount(exchange) }
        let name = distributor.assumeIsolated { $0.stat().context?.station["icy-name"] } ?? mount
        let url = StatusRoutes.listenBase(exchange) + URLQuery.encodePath(mount)
        exchange.answer(200, "OK", body: form.file(url: url, title: name),
                        headers: ["Content-Type": form.contentType, "Cache-Control": "no-cache"])
    }
}
