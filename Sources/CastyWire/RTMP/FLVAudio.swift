/// Turns the audio messages of an RTMP publisher into the frames Casty serves: MP3 frames as they are, AAC as
/// ADTS frames.
///
/// An RTMP audio message is the body of an FLV audio tag: one byte that says the format, then the audio.
///
/// ```
/// SSSS RR Z C   S sound format (2 MP3, 10 AAC, …)  R rate  Z sample size  C mono/stereo (ignored for AAC)
/// for AAC, one more byte: 0 = sequence header (the AudioSpecificConfig), 1 = one raw AAC frame
/// ```
///
/// Raw AAC frames carry no header of their own; each gets an ADTS header built from the sequence header, so a
/// listener (or a player joining mid-stream) can decode any frame alone. Frames before the sequence header are
/// dropped.
package struct FLVAudio: Sendable {
    /// The audio formats Casty relays.
    package enum Format: Sendable, Equatable {
        /// MPEG-1/2 Layer III: `audio/mpeg`.
        case mp3
        /// AAC, served as ADTS: `audio/aac`.
        case aac

        /// The `Content-Type` listeners are told.
        package var contentType: String {
            switch self {
            case .mp3: "audio/mpeg"
            case .aac: "audio/aac"
            }
        }
    }

    /// The name of FLV sound format `format` (the FLV specification's table), for people: `Nellymoser`.
    package static func soundFormatName(_ format: Int) -> String {
        switch format {
        case 0: "linear PCM (platform endian)"
        case 1: "ADPCM"
        case 2: "MP3"
        case 3: "linear PCM (little endian)"
        case 4: "Nellymoser 16 kHz mono"
        case 5: "Nellymoser 8 kHz mono"
        case 6: "Nellymoser"
        case 7: "G.711 A-law"
        case 8: "G.711 mu-law"
        case 10: "AAC"
        case 11: "Speex"
        case 14: "MP3 8 kHz"
        case 15: "device-specific sound"
        default: "an unknown format"
        }
    }

    /// The AAC configuration, once its sequence header came.
    package private(set) var config: AudioSpecificConfig?
    /// Messages dropped: AAC frames before the sequence header, empty messages.
    package private(set) var dropped = 0

    /// A converter that has seen nothing yet.
    package init() {}

    /// The frames of one audio message, in `format`; `nil` for a message that holds none (a sequence header, an
    /// empty message, AAC before its configuration).
    package mutating func frames(_ payload: [UInt8]) throws(RTMPError) -> (format: Format, bytes: [UInt8])? {
        guard let first = payload.first else {
            dropped += 1
            return nil
        }
        switch Int(first >> 4) {
        case 2:
            guard payload.count > 1 else { dropped += 1; return nil }
            return (.mp3, Array(payload.dropFirst()))
        case 10:
            guard payload.count > 2 else { dropped += 1; return nil }
            let body = payload.dropFirst(2)
            if payload[1] == 0 {
                config = try AudioSpecificConfig(body)
                return nil
            }
            guard let config, let header = config.adtsHeader(payloadBytes: body.count) else {
                dropped += 1
                return nil
            }
            return (.aac, header + body)
        case let format:
            throw .unsupportedSoundFormat(format)
        }
    }
}
