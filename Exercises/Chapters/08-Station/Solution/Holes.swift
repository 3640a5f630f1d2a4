// Chapter 8 — The station. A reference solution.

public import Icy

extension Credentials {
    /// The credentials of an `Authorization` header's value, or `nil` when there is none or it is not Basic.
    ///
    /// `Basic ` (the word in any case), then base64 of `user:password`. The user name ends at the *first* `:`;
    /// the password is all the rest and may hold `:` itself. Not base64, not text, or no `:` at all: `nil`.
    public init?(authorization value: String?) {
        guard let value else { return nil }
        let parts = value.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "basic",
              let bytes = Base64.decode(parts[1].filter { $0 != " " }),
              let text = String(validating: bytes, as: UTF8.self),
              let colon = text.firstIndex(of: ":") else { return nil }
        self.init(user: String(text[..<colon]), password: String(text[text.index(after: colon)...]))
    }
}

extension SourceRequest {
    /// What a `PUT` or `SOURCE` request says, or `nil` for any other method (a listener's `GET`, say).
    ///
    /// The mount is the path without its `?query`; the credentials come from `Authorization`; `Expect:
    /// 100-continue` (in any case) sets ``expectsContinue``; `ice-name` gives ``name``.
    public init?(_ request: Request) {
        guard request.method == .put || request.method == .source else { return nil }
        self.init(
            method: request.method,
            mount: String(request.path.prefix { $0 != "?" }),
            credentials: Credentials(authorization: request.headers["authorization"]),
            contentType: request.headers["content-type"],
            expectsContinue: request.headers["expect"]?.lowercased() == "100-continue",
            name: request.headers["ice-name"])
    }
}

/// The station's answer to a source, in this order — the order matters, because each answer tells the source
/// something:
///
/// 1. no credentials, or a password other than ``StationRules/password(for:)`` (compared with
///    ``constantTimeEquals(_:_:)``): ``Admission/unauthorized``. First, so that a stranger learns nothing
///    about which mounts exist or are live. The user name is not asked: these rules name no user of a mount,
///    and Casty then takes any (``Credentials`` tells Icecast's rule);
/// 2. a whitelist that does not hold the mount: ``Admission/notOnWhitelist``;
/// 3. a `Content-Type` other than `audio/mpeg` (any case, parameters after `;` ignored), or none:
///    ``Admission/unsupportedType`` — this station can only cut MP3 on its frames;
/// 4. a mount that is live: ``Admission/mountInUse``;
/// 5. otherwise ``Admission/admit(mount:)``.
public func admission(_ source: SourceRequest, rules: StationRules) -> Admission {
    guard let credentials = source.credentials,
          constantTimeEquals(credentials.password, rules.password(for: source.mount)) else { return .unauthorized }
    if let whitelist = rules.whitelist, !whitelist.contains(source.mount) { return .notOnWhitelist }
    let type = source.contentType?.split(separator: ";").first.map { $0.trimmingCharacters(in: " ").lowercased() }
    guard type == "audio/mpeg" else { return .unsupportedType }
    guard !rules.live.contains(source.mount) else { return .mountInUse }
    return .admit(mount: source.mount)
}

extension Substring {
    /// The text without `characters` at either end.
    func trimmingCharacters(in characters: String) -> String {
        String(drop { characters.contains($0) }.reversed().drop { characters.contains($0) }.reversed())
    }
}

extension MP3Header {
    /// Reads the header at the start of `bytes`, or `nil` when those 4 bytes are not a Layer III header this
    /// station can frame: fewer than 4 bytes, no sync, the reserved version, a layer other than III, the bitrate
    /// index 0 ("free") or 15, the reserved sample rate index 3, or the reserved emphasis `10`.
    public init?(_ bytes: ArraySlice<UInt8>) {
        guard bytes.count >= 4 else { return nil }
        let b = Array(bytes.prefix(4))
        guard b[0] == 0xFF, b[1] & 0xE0 == 0xE0, (b[1] >> 1) & 0b11 == 0b01, b[3] & 0b11 != 0b10 else { return nil }
        let version: Version
        switch (b[1] >> 3) & 0b11 {
        case 0b11: version = .mpeg1
        case 0b10: version = .mpeg2
        case 0b00: version = .mpeg25
        default: return nil
        }
        let bitrateIndex = Int(b[2] >> 4), rateIndex = Int((b[2] >> 2) & 0b11)
        guard bitrateIndex != 0, bitrateIndex != 15, rateIndex != 3,
              let bitrate = Self.bitrates[version]?[bitrateIndex], let rate = Self.sampleRates[version]?[rateIndex]
        else { return nil }
        self.init(version: version, bitrate: bitrate, sampleRate: rate, padding: b[2] & 0b10 != 0)
    }
}

/// The offsets in `audio` where a frame starts that the stream confirms: its header reads, and either the next
/// header sits exactly `length` bytes later and ``MP3Header/continues(_:)`` it, or the frame ends exactly at
/// the end of `audio`.
///
/// The search starts at offset 0 and moves one byte at a time until it finds a confirmed frame, then jumps
/// frame by frame; where the chain breaks (garbage in the middle), it moves one byte at a time again until the
/// next confirmed frame. A frame that runs past the end is not reported: its end has not arrived yet.
public func frameStarts(in audio: [UInt8]) -> [Int] {
    var starts: [Int] = []
    var offset = 0
    while offset + 4 <= audio.count {
        guard let header = MP3Header(audio[offset...]) else {
            offset += 1
            continue
        }
        let end = offset + header.length
        if end == audio.count || (end < audio.count && MP3Header(audio[end...]).map(header.continues) == true) {
            starts.append(offset)
            offset = end
        } else {
            offset += 1
        }
    }
    return starts
}
