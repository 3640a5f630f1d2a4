// Chapter 1 — Encoding. Fill in the four functions marked EXERCISE; README.md says what each must do.
// Run the checks with:  swift test --filter Chapter01Checks

/// The head of a request or reply: the first line (`ICY 200 OK`, `GET /live HTTP/1.0`), one
/// `name: value` line per header, and an empty line — every line ending in CR LF.
///
/// A CR or LF inside the first line, a name or a value is replaced by a space, so a value can never end its
/// line early and smuggle in a header of its own.
public func headerLines(_ first: String, _ headers: [(name: String, value: String)]) -> [UInt8] {
    // EXERCISE: build the text line by line, then return Array(text.utf8).
    return []
}

/// The metadata text that names what is playing: `StreamTitle='<title>';`.
public func streamTitle(_ title: String) -> [UInt8] {
    // EXERCISE
    return []
}

/// Pads metadata with NUL bytes to a whole number of 16-byte units and returns that number `k` with the
/// padded bytes.
///
/// Empty metadata gives `k = 0` and no bytes: on the wire, the single byte 0 means "nothing changed". Metadata
/// whose length is already a multiple of 16 is not padded. More than ``maxMetadataBytes`` is an error.
public func padding(_ metadata: [UInt8]) throws(EncodingError) -> (k: UInt8, padded: [UInt8]) {
    // EXERCISE: check the limit first (throw .metadataTooLong(bytes:)), then round up to 16.
    throw .notImplemented("padding(_:)")
}

/// Sends one segment of a stream with `icy-metaint` = `audio.count`: the audio, then the metadata block —
/// the length byte `k` followed by the `16·k` padded bytes.
///
/// Nothing is sent when the metadata is too long: a half-sent segment would break the framing for good.
public func sendData(audio: [UInt8], metadata: [UInt8], to send: Sender) throws(EncodingError) {
    // EXERCISE: use padding(_:), then call send twice.
    throw .notImplemented("sendData(audio:metadata:to:)")
}
