internal import CastyNet
internal import Icy

/// Icecast's `/admin/stats` (and `/admin/stats.xml`): the server's counters and each streaming mount's, as the
/// XML that Icecast's monitoring tools read (munin and Nagios plugins, exporters written for Icecast) — the one
/// admin call answered in XML, since its only use is to be read by such a tool:
///
///     <?xml version="1.0"?>
///     <icestats>
///       <listeners>3</listeners><sources>1</sources><server_id>Casty</server_id>
///       <source mount="/live">
///         <listeners>3</listeners><listener_peak>5</listener_peak><listenurl>http://radio.example:8000/live</listenurl>
///         <server_name>Live FM</server_name>…<title>Artist - Song</title>
///         <total_bytes_read>…</total_bytes_read><total_bytes_sent>…</total_bytes_sent>
///       </source>
///     </icestats>
///
/// Like Icecast, it lists the mounts that stream; `?mount=/live` asks for that one. The top-level `listeners` and
/// `sources` are the server's whatever `mount=` asks for, as in Icecast 2.4.4 (a tool that polls one mount reads
/// the totals there too; the mount's own figures are in its `<source>`). The fields are those of
/// `/status-json.xsl` (``StatusPage/source(_:listenURL:shape:)``), under the same names.
enum AdminStats {
    /// The document for `mounts` as `exchange` asks for it.
    static func xml(_ exchange: Exchange, _ mounts: MountTable) -> String {
        let base = StatusRoutes.listenBase(exchange)
        let asked = exchange.mountQuery()
        let everyStreaming = mounts.listed(asked: nil, streaming: true)
        let streaming = everyStreaming.filter { asked == nil || $0.mount.path == asked }
        var lines = ["<?xml version=\"1.0\"?>", "<icestats>"]
        lines.append(element("listeners", String(mounts.playerCount)))
        lines.append(element("sources", String(everyStreaming.count)))
        for (name, value) in StatusPage.server(started: exchange.port.started) { lines.append(element(name, text(value))) }
        for (mount, stat) in streaming {
            let path = mount.path
            lines.append("<source mount=\"\(escaped(path))\">")
            for (name, value) in StatusPage.source(stat, listenURL: base + URLQuery.encodePath(path), shape: mounts.shape(of: mount)) {
                lines.append(element(name, text(value)))
            }
            lines.append(element("total_bytes_read", String(stat.bytesIn)))
            lines.append(element("total_bytes_sent", String(stat.bytesOut)))
            lines.append("</source>")
        }
        lines.append("</icestats>")
        return lines.joined(separator: "\n") + "\n"
    }

    /// Icecast's answer to an admin call that did nothing, for a tool that reads XML:
    /// `<iceresponse><message>no mount /zzz</message><return>0</return></iceresponse>`.
    static func response(_ message: String) -> String {
        "<?xml version=\"1.0\"?>\n<iceresponse>" + element("message", message) + element("return", "0") + "</iceresponse>\n"
    }

    private static func element(_ name: String, _ text: String) -> String {
        "<\(name)>\(escaped(text))</\(name)>"
    }

    /// A field's value as XML text.
    private static func text(_ value: JSONValue) -> String {
        switch value {
        case .text(let text): text
        case .number(let number): String(number)
        default: value.encoded
        }
    }

    /// `text` with XML's five special characters escaped, and without control characters, which XML 1.0 cannot
    /// hold (``SafeText/printable(_:)``).
    static func escaped(_ text: String) -> String {
        SafeText.printable(text).replacing("&", with: "&amp;").replacing("<", with: "&lt;").replacing(">", with: "&gt;")
            .replacing("\"", with: "&quot;").replacing("'", with: "&apos;")
    }
}
