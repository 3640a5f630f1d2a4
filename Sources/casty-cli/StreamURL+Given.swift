import CastyWire

extension StreamURL {
    /// The URL an option or argument gives, or the usage error naming it — its query and password hidden
    /// (``StreamURL/shown(_:)``): a service manager keeps what a command prints, and they may be secrets.
    /// `what` says where it was given (`--relay /a=…`, `--event-callback-url`), if not alone on the line.
    static func given(_ text: String, in what: String? = nil) throws -> StreamURL {
        guard let url = StreamURL(text) else {
            let place = what.map { "\($0): " } ?? ""
            throw UsageError(place + "not an http(s)://host:port/path URL: \(StreamURL.shown(text))")
        }
        return url
    }
}
