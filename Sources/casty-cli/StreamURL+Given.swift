import CastyWire

extension StreamURL {
    /// The URL an option or argument gives, or the usage error naming it — its query and password hidden
    /// (``StreamURL/shown(_:)``): a service manager keeps what a command prints, and they may be secrets.
    /// `what` says where it was given (`--relay /a=…`, `--event-callback-url`), if not alone on the line.
    static func given(_ text: String, in what: String? = nil) throws -> StreamURL {
        guard let url = StreamURL(text) else {
            let place = what.map { "\($0): " } ?? ""
            let why = outOfRangePort(text).map { "its port \($0) is out of range (0 to 65535)" } ?? "not an http(s)://host:port/path URL"
            throw UsageError(place + "\(why): \(StreamURL.shown(text))")
        }
        return url
    }

    /// The port `text` names when it is digits beyond 65535 (`http://host:99999/`): a URL of the right shape,
    /// whose one mistake is that number.
    private static func outOfRangePort(_ text: String) -> String? {
        guard let scheme = text.firstRange(of: "://") else { return nil }
        let authority = text[scheme.upperBound...].prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        let host = authority.split(separator: "@").last ?? authority[...]
        guard let colon = host.lastIndex(of: ":"), !host[colon...].contains("]") else { return nil }
        let port = host[host.index(after: colon)...]
        guard !port.isEmpty, port.allSatisfy({ $0.isASCII && $0.isNumber }), (Int(port) ?? .max) > 65535 else { return nil }
        return String(port)
    }
}
