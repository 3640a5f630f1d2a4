/// The first line of a reply: `ICY 200 OK` from Shoutcast, `HTTP/1.0 200 OK` from Icecast.
public struct StatusLine: Sendable, Equatable {
    /// `ICY`, `HTTP/1.0` or `HTTP/1.1`.
    public var version: Version
    /// The status code: 200 for a stream, 3xx for a redirect.
    public var code: Int
    /// The words after the code (`OK`, `Found`, …).
    public var reason: String

    /// Makes a status line.
    public init(version: Version, code: Int, reason: String) {
        self.version = version
        self.code = code
        self.reason = reason
    }

    /// `ICY 200 OK`: what Shoutcast servers answer, and what most players expect.
    public static let icyOK = StatusLine(version: .icy, code: 200, reason: "OK")
    /// `HTTP/1.0 200 OK`: what Icecast answers; browsers accept only this form.
    public static let httpOK = StatusLine(version: .http10, code: 200, reason: "OK")

    /// The status codes that send the client elsewhere, with a `Location` header.
    public static let redirectCodes: Set<Int> = [301, 302, 303, 307, 308]

    /// The status code a status line's second word states: exactly three ASCII digits (RFC 9112 §4,
    /// `status-code = 3DIGIT`), so `+200`, `0200`, ` 200` or `２００` are no code; `nil` for anything else.
    public static func code(_ word: some Collection<UInt8>) -> Int? {
        guard word.count == 3, word.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else { return nil }
        return word.reduce(0) { $0 * 10 + Int($1 - UInt8(ascii: "0")) }
    }
}

/// What a server answers to a listener's request.
public enum Reply: Sendable {
    /// `200`: the station's headers, and the continuation that parses the audio after them into segments
    /// (feed it the `rest` of the reply first).
    case ok(StatusLine, Headers, data: Continuation<Segment>)
    /// `301`/`302`/`303`/`307`/`308`: ask again at `location`.
    case redirect(StatusLine, location: String, Headers)

    /// The status line, whichever the case.
    public var status: StatusLine {
        switch self {
        case .ok(let status, _, _), .redirect(let status, _, _): status
        }
    }

    /// The headers, whichever the case.
    public var headers: Headers {
        switch self {
        case .ok(_, let headers, _), .redirect(_, _, let headers): headers
        }
    }
}

/// Starts parsing a server's reply from its first bytes.
///
/// A `200` (with `ICY`, `HTTP/1.0` or `HTTP/1.1`) is done with ``Reply/ok(_:_:data:)`` once the headers are
/// complete; its `data` continuation cuts the audio into segments of `icy-metaint` bytes, or of
/// `segmentBytes` when the server sends no metadata. A redirect is done with its `Location`. Any other
/// status fails at once with ``IcyError/status(code:reason:)``. A `200` whose headers cannot be followed fails
/// too: two `icy-metaint` values that disagree, or a `Transfer-Encoding` other than `identity` (a live ICY
/// stream is never chunked; reading chunk sizes as audio would corrupt it).
///
/// ``StreamReader`` does the whole job — this reply, then its segments — in one loop.
public func reply(_ bytes: ArraySlice<UInt8>, segmentBytes: Int = 8192) -> Parse<Reply> {
    mapHead(HeadReader(parseFirst: parseStatusLine).read(bytes)) { head in
        let status = head.first, headers = head.headers
        if StatusLine.redirectCodes.contains(status.code) {
            guard let location = headers["location"], !location.isEmpty else {
                return .failure(.redirectWithoutLocation(code: status.code))
            }
            return .success(.redirect(status, location: location, headers))
        }
        if let coding = headers.unsupportedTransferEncoding {
            return .failure(.unsupportedTransferEncoding(coding))
        }
        return Result { () throws(IcyError) in
            .ok(status, headers, data: segments(metaint: try headers.metaint(), segmentBytes: segmentBytes))
        }
    }
}

/// Starts parsing a server's reply from its first bytes (an array rather than a slice).
public func reply(_ bytes: [UInt8], segmentBytes: Int = 8192) -> Parse<Reply> {
    reply(bytes[...], segmentBytes: segmentBytes)
}

/// `ICY 200 OK` or `HTTP/1.x code reason`: succeeds for 200 and redirects, fails for every other status.
@Sendable private func parseStatusLine(_ line: ArraySlice<UInt8>) -> Result<StatusLine, IcyError> {
    let parts = words(line, limit: 3)
    let text = IcyText.decode(line)
    guard parts.count >= 2, let code = StatusLine.code(parts[1]) else {
        return .failure(.malformedStatusLine(text))
    }
    let versionText = String(decoding: parts[0], as: UTF8.self)
    guard let version = Version(rawValue: versionText) else {
        return .failure(versionText.hasPrefix("HTTP/") ? .unsupportedVersion(versionText) : .malformedStatusLine(text))
    }
    let reason = parts.count == 3 ? IcyText.decode(trimmed(parts[2])) : ""
    guard code == 200 || StatusLine.redirectCodes.contains(code) else {
        return .failure(.status(code: code, reason: reason))
    }
    return .success(StatusLine(version: version, code: code, reason: reason))
}

extension Headers {
    /// The value of the first `Transfer-Encoding` header that names any coding other than `identity`
    /// (`chunked`, `Chunked`, `gzip, chunked`, an empty value), or `nil` when every one is `identity`.
    var unsupportedTransferEncoding: String? {
        for field in fields where sameName(field.name, "transfer-encoding") {
            let codings = field.value.split(separator: ",", omittingEmptySubsequences: false)
            if !codings.allSatisfy({ sameName(String($0).trimmingBlanks, "identity") }) { return field.value }
        }
        return nil
    }
}

extension StatusLine: CustomStringConvertible {
    /// The line as it stands on the wire, without its line ending: `ICY 200 OK`, `HTTP/1.0 302 Found`.
    public var description: String {
        reason.isEmpty ? "\(version.rawValue) \(code)" : "\(version.rawValue) \(code) \(escaped(reason, limit: 200, asciiOnly: false))"
    }
}

extension Reply: CustomStringConvertible {
    /// One line: the status line, then how many headers came, or where a redirect points.
    public var description: String {
        switch self {
        case .ok(let status, let headers, _):
            "\(status) with \(headers.count) header\(headers.count == 1 ? "" : "s")"
        case .redirect(let status, let location, _):
            "\(status) to \(quoted(location, limit: 200))"
        }
    }
}
