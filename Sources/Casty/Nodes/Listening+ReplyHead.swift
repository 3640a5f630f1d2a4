internal import Icy

extension Listening {
    /// The head of the reply that starts a listener's stream: status line and headers, for its wire form.
    ///
    /// The station's own headers come first (`icy-name`, `Content-Type`, …); a player that asked for titles
    /// learns `icy-metaint` (the segment size), a numbered peer the first number it gets (`X-Casty-Next`), the
    /// tree path and the stream's identity. `HTTP/1.0 200 OK` unless the port answers `ICY 200 OK`.
    func replyHead(next: Int, context: Context, port: PortContext) -> [UInt8] {
        let options = port.options
        var headers = context.station
        if headers["Content-Type"] == nil { headers["Content-Type"] = "audio/mpeg" }
        if headers["icy-br"] == nil { headers["icy-br"] = String(context.bitrate) }
        if form != .audio { headers["icy-metaint"] = String(context.segmentBytes) }
        if form == .numbered {
            headers["X-Casty-Next"] = String(next)
            headers["X-Casty-Path"] = context.path.joined(separator: ",")
            headers[Context.streamHeader] = Context.streamText(context.stream)
            // The root's HLS target, passed down the tree (a root tells its own).
            if let target = context.hlsTarget ?? (port.hls.enabled ? port.hls.targetDuration : nil) {
                headers[Context.hlsTargetHeader] = String(target)
            }
            if let base = context.hlsBase { headers[Context.hlsBaseHeader] = String(base) }
            if let base = context.hlsDiscontinuityBase { headers[Context.hlsDiscontinuityHeader] = String(base) }
        }
        headers["Server"] = "Casty"
        for field in CORS.headers(origin: origin, allowed: options.corsOrigins).fields { headers[field.name] = field.value }
        headers["Cache-Control"] = "no-cache, no-store"
        headers["Connection"] = "close"
        var bytes: [UInt8] = []
        sendReply(headers, status: options.icyStatusLine ? .icyOK : .httpOK) { bytes += $0 }
        return bytes
    }
}
