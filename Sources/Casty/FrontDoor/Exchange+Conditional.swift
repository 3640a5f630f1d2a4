internal import Icy

/// Conditional and partial requests (RFC 9110 §13–14) for answers whose bytes are named by an entity tag: an HLS
/// segment, which never changes under its name, and a playlist, named by its newest segment.
///
/// - `If-None-Match` with the tag (or `*`): `304 Not Modified`, no body — how a CDN or nginx revalidates what it
///   cached (`proxy_cache_revalidate`) without fetching it again.
/// - `Range: bytes=…` on a `GET`: `206 Partial Content` with `Content-Range`, or `416` past the end
///   (``ByteRange``); `If-Range` with another tag asks for the whole body instead. Players that resume a segment,
///   and caches that fetch slices, use it.
extension Exchange {
    /// Answers `200` with `bytes` tagged `etag` (a quoted string), or `304`, `206` or `416` as the request's
    /// conditions ask. `headers` (type, caching) go on every one of them but `416`, which is not stored.
    func answer(tagged bytes: [UInt8], etag: String, headers: Headers) {
        var headers = headers
        headers["ETag"] = etag
        headers["Accept-Ranges"] = "bytes"
        if let tags = request.headers["If-None-Match"], Self.tags(tags, contain: etag) {
            headers["Content-Type"] = nil
            return answer(304, "Not Modified", bytes: [], headers: headers)
        }
        let rangeApplies = request.method == .get && (request.headers["If-Range"].map { Self.tags($0, contain: etag) } ?? true)
        switch ByteRange(header: rangeApplies ? request.headers["Range"] : nil, length: bytes.count) {
        case .whole:
            answer(200, "OK", bytes: bytes, headers: headers)
        case .part(let range):
            headers["Content-Range"] = "bytes \(range.lowerBound)-\(range.upperBound - 1)/\(bytes.count)"
            answer(206, "Partial Content", bytes: Array(bytes[range]), headers: headers)
        case .unsatisfiable:
            headers["Content-Range"] = "bytes */\(bytes.count)"
            headers["Content-Type"] = nil
            // An error about one request's range: a cache must not keep it for the resource (a segment's a year).
            headers["Cache-Control"] = "no-store"
            answer(416, "Range Not Satisfiable", body: "The range asked for starts past the \(bytes.count) bytes there are.",
                   headers: headers)
        }
    }

    /// Whether a list of entity tags (`"a", W/"b"`, or `*`) names `etag`; weak tags match too (a weak comparison,
    /// which is what `If-None-Match` uses).
    static func tags(_ list: String, contain etag: String) -> Bool {
        list.split(separator: ",").contains { item in
            let tag = item.trimmingSpaces
            return tag == "*" || (tag.hasPrefix("W/") ? tag.dropFirst(2) : tag) == etag[...]
        }
    }
}
