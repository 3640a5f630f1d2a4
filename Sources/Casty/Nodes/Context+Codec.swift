internal import CastyAudio
internal import Icy

/// A player decodes the codec its reply's `Content-Type` named, for as long as the connection lasts: a stream
/// that goes on in another codec on the same connection (an MP3 mount whose fallback or next source is AAC)
/// feeds its decoder bytes it cannot play. Icecast refuses such moves too ("different types, ignored").
extension Context {
    /// The `Content-Type` listeners are told (MP3 when the station names none).
    var contentType: String { station["Content-Type"] ?? "audio/mpeg" }

    /// Whether a player told `heard` can go on with a stream of type `next`: the same codec (MP3, or AAC in ADTS,
    /// whatever name the type gives it: `audio/aac` and `audio/aacp` are both ADTS), or the same type for others.
    /// An unknown type (no stream yet) is no reason to refuse.
    static func sameCodec(_ heard: String?, _ next: String?) -> Bool {
        guard let heard, let next else { return true }
        if let first = FrameChain.Format(contentType: heard), let second = FrameChain.Format(contentType: next) {
            return first == second
        }
        return heard.lowercased() == next.lowercased()
    }
}
