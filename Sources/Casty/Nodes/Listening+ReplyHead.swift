internal import Icy
internal import Synchronization

extension Listening {
    /// The head of the reply that starts a listener's stream: status line and headers, for its wire form.
    ///
    /// The station's own headers come first (`icy-name`, `Content-Type`, …); a player that asked for titles
    /// learns `icy-metaint` (the segment size), a numbered peer the first number it gets (`X-Casty-Next`) and, for
    /// AAC, the sample clock there (`X-Casty-HLS-Clock`, the last header), the tree path and the stream's identity.
    /// `HTTP/1.0 200 OK` unless the port answers `ICY 200 OK`.
    func replyHead(next: Int, context: Context, port: PortContext) -> [UInt8] {
        // The head is the same for every listener of the stream asking the same way: made once, of the context
        // without what belongs to one reply. A numbered peer's also names its own first number and clock, added last.
        var shared = context
        shared.hlsClock = nil
        // At `/`, a browser's page load gets the player page instead (``PlayerPage/varying(_:_:)``).
        let varies = path == "/"
        let head = port.replyHeads.head(context: shared, form: form, origin: origin, varies: varies) {
            makeHead(context: shared, port: port, varies: varies)
        }
        guard form == .numbered, head.suffix(4) == Array("\r\n\r\n".utf8) else { return head }
        let clock = context.hlsClock.map { "\(Context.hlsClockHeader): \($0.headerValue)\r\n" } ?? ""
        return head.dropLast(2) + Array("X-Casty-Next: \(next)\r\n\(clock)\r\n".utf8)
    }

    private func makeHead(context: Context, port: PortContext, varies: Bool) -> [UInt8] {
        let options = port.options
        var headers = context.station
        if headers["Content-Type"] == nil { headers["Content-Type"] = "audio/mpeg" }
        if headers["icy-br"] == nil { headers["icy-br"] = String(context.bitrate) }
        if form != .audio { headers["icy-metaint"] = String(context.segmentBytes) }
        if form == .numbered {
            headers["X-Casty-Path"] = context.path.joined(separator: ",")
            headers[Context.streamHeader] = Context.streamText(context.stream)
            headers[Context.bitrateHeader] = String(context.bitrate)
            // The root's HLS target, passed down the tree (a root tells its own).
            if let target = context.hlsTarget ?? (port.hls.enabled ? port.hls.targetDuration : nil) {
                headers[Context.hlsTargetHeader] = String(target)
            }
            if let base = context.hlsBase { headers[Context.hlsBaseHeader] = String(base) }
            if let base = context.hlsDiscontinuityBase { headers[Context.hlsDiscontinuityHeader] = String(base) }
            if let first = context.hlsFirst { headers[Context.hlsFirstHeader] = String(first) }
            // A root of one stream plays it at every path, and so does whatever relays a root that does.
            if context.everyPath || port.playsOneStream { headers[Context.everyPathHeader] = "1" }
            if let mount = context.mount { headers[Context.mountHeader] = mount }
            if context.fallback { headers[Context.fallbackHeader] = "1" }
        }
        headers["Server"] = "Casty"
        if varies { headers["Vary"] = "Accept" }
        CORS.adding(to: &headers, origin: origin, allowed: options.corsOrigins)
        headers["Cache-Control"] = "no-cache, no-store"
        headers["Connection"] = "close"
        var bytes: [UInt8] = []
        sendReply(headers, status: options.icyStatusLine ? .icyOK : .httpOK) { bytes += $0 }
        return bytes
    }
}

/// The reply heads a port's players got lately, by stream context, wire form and page origin: at thousands of new
/// players a second, building each head anew (every header set, looked up and checked for line breaks) was half
/// of what the accepting loop did per player. A few entries (a port's mounts, asked with and without titles, from
/// a few origins); the oldest goes when it is full. Safe from any loop.
final class ReplyHeads: Sendable {
    private struct Entry {
        let context: Context
        let form: Listening.Form
        let origin: String?
        let varies: Bool
        let bytes: [UInt8]
    }

    /// How many heads are kept.
    static let capacity = 32
    private let entries = Mutex<[Entry]>([])

    /// The head for `context`, `form` and `origin`, saying `Vary: Accept` if it `varies` (asked at `/`): kept, or made
    /// by `make` and kept.
    func head(context: Context, form: Listening.Form, origin: String?, varies: Bool = false, make: () -> [UInt8]) -> [UInt8] {
        if let kept = entries.withLock({ $0.last { $0.form == form && $0.origin == origin && $0.varies == varies && $0.context == context } }) {
            return kept.bytes
        }
        let bytes = make()
        entries.withLock { entries in
            if entries.count >= Self.capacity { entries.removeFirst() }
            entries.append(Entry(context: context, form: form, origin: origin, varies: varies, bytes: bytes))
        }
        return bytes
    }
}
