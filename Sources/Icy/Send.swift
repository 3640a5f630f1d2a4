/// Where encoders hand the bytes they produce, in order: a socket's send, an array's `append`, ….
///
/// Encoders never copy audio: ``sendData(_:metadata:to:)`` passes each audio chunk on as it is.
public typealias Sender = (ArraySlice<UInt8>) -> Void

/// Sends a listener's request for `feed` (the path, or Icecast's mount, `/` added when it has none; an absolute
/// `http://` or `https://` URL goes as it is, as to a proxy; spaces and non-ASCII go as `%XX`)
/// on `host`.
///
/// ```
/// GET /feed HTTP/1.0\r\n
/// Host: host\r\n
/// User-Agent: Casty\r\n
/// Icy-MetaData: 1\r\n          (when `metadata` is true: ask for titles)
/// …headers…\r\n
/// \r\n
/// ```
///
/// A header in `headers` named like one of the first three (`User-Agent: MyPlayer/1.0`) takes its place,
/// so each goes out once (given twice, in any case — `user-agent` and `User-Agent` —, the last one given); the
/// others follow in order.
public func sendRequest(host: String, feed: String, metadata: Bool = true, headers: Headers = [:], to send: Sender) {
    let absolute = feed.hasPrefix("/") || feed.hasPrefix("http://") || feed.hasPrefix("https://")
    let path = percentEncoded(absolute ? feed : "/" + feed)
    var all: Headers = ["Host": host, "User-Agent": "Casty"]
    if metadata { all.add(name: "Icy-MetaData", value: "1") }
    let defaults = all.count
    for field in headers {
        if let index = (0..<defaults).first(where: { sameName(all.fields[$0].name, field.name) }) {
            all.fields[index] = field
        } else {
            all.fields.append(field)
        }
    }
    sendLines("GET \(path) HTTP/1.0", all, to: send)
}

/// Sends a reply's status line and headers, up to and including the empty line that ends them.
///
/// `status` is ``StatusLine/icyOK`` (`ICY 200 OK`, what Shoutcast sends) by default; use ``StatusLine/httpOK``
/// for browsers and Icecast-like replies, or any other status (a `302 Found` redirect, a `404`).
public func sendReply(_ headers: Headers, status: StatusLine = .icyOK, to send: Sender) {
    sendLines("\(status.version.rawValue) \(status.code) \(status.reason)", headers, to: send)
}

/// Sends header lines, `Name: value\r\n` each. Line breaks inside a name or value are replaced by spaces,
/// so a value can never smuggle in a header of its own.
public func sendHeaders(_ headers: Headers, to send: Sender) {
    for field in headers {
        send(Array("\(oneLine(field.name)): \(oneLine(field.value))\r\n".utf8)[...])
    }
}

/// Sends one segment: its audio chunks, then (when `metadata` is true, i.e. the listener asked with
/// `Icy-MetaData: 1`) its metadata block. Fails when the metadata is longer than 4080 bytes.
public func sendData(_ segment: Segment, metadata: Bool = true, to send: Sender) throws(IcyError) {
    let block = metadata ? try metadataBlock(segment.metadata) : []
    for chunk in segment.audio where !chunk.isEmpty { send(chunk) }
    if metadata { send(block[...]) }
}

/// Pads metadata to whole 16-byte units with NULs: returns the length byte `k` and the `16·k` padded bytes.
///
/// Empty metadata gives `k = 0` and nothing else (the block is the single byte 0, "no change"); a length that
/// is already a multiple of 16 gets no padding; more than 255 × 16 = 4080 bytes is an error.
public func padding(_ metadata: [UInt8]) throws(IcyError) -> (k: UInt8, padded: [UInt8]) {
    guard metadata.count <= IcyLimits.maxMetadataBytes else { throw .metadataTooLong(bytes: metadata.count) }
    let k = (metadata.count + 15) / 16
    return (UInt8(k), metadata + [UInt8](repeating: 0, count: k * 16 - metadata.count))
}

/// The whole metadata block as it goes on the wire: the length byte, then the padded text.
public func metadataBlock(_ metadata: [UInt8]) throws(IcyError) -> [UInt8] {
    let (k, padded) = try padding(metadata)
    return [k] + padded
}

/// Sends a first line, the headers, and the empty line.
private func sendLines(_ first: String, _ headers: Headers, to send: Sender) {
    send(Array("\(oneLine(first))\r\n".utf8)[...])
    sendHeaders(headers, to: send)
    send(Array("\r\n".utf8)[...])
}

/// The path with spaces, controls and non-ASCII bytes written as `%XX`, so it is one word of the request line.
private func percentEncoded(_ path: String) -> String {
    let hex = Array("0123456789ABCDEF".utf8)
    var bytes: [UInt8] = []
    for byte in path.utf8 {
        if byte > 0x20 && byte < 0x7F {
            bytes.append(byte)
        } else {
            bytes += [UInt8(ascii: "%"), hex[Int(byte >> 4)], hex[Int(byte & 0xF)]]
        }
    }
    return String(decoding: bytes, as: UTF8.self)
}

/// The text with CR and LF replaced by spaces.
private func oneLine(_ text: String) -> String {
    guard text.utf8.contains(where: { $0 == 0x0D || $0 == 0x0A }) else { return text }
    return String(text.map { $0 == "\r" || $0 == "\n" || $0 == "\r\n" ? " " : $0 })
}
