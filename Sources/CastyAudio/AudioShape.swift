/// What a decoder sets itself up for from a stream's first frame: its sample rate and its number of channels.
///
/// A player that opened a stream as 44.1 kHz mono is not always ready for stereo frames after it (VLC fails on
/// every one of them, and stays failing): a server that moves listeners from one stream to another — a source to
/// its fallback, and back — can tell when the two differ.
package struct AudioShape: Sendable, Equatable, CustomStringConvertible {
    /// Samples per second per channel, in Hz.
    package let sampleRate: Int
    /// One for mono, two for stereo (an ADTS frame may say more).
    package let channels: Int

    /// A shape of `sampleRate` Hz and `channels` channels.
    package init(sampleRate: Int, channels: Int) {
        self.sampleRate = sampleRate
        self.channels = channels
    }

    /// The shape of the frame whose header starts `frame`, in `format`; `nil` if it is no header.
    package init?(frame: ArraySlice<UInt8>, format: FrameChain.Format) {
        switch format {
        case .mpeg:
            guard let header = MP3Frame(frame.prefix(MP3Frame.headerBytes)) else { return nil }
            sampleRate = header.sampleRate
            channels = header.channelMode == .mono ? 1 : 2
        case .adts:
            guard let header = ADTSFrame(frame) else { return nil }
            sampleRate = header.sampleRate
            channels = header.channels
        }
    }

    /// What a log line about a change of shape within what players hear adds: the players it troubles.
    package static let changeWarning = "some players (VLC, a browser's <audio>) cannot follow such a change"

    /// A log line's news that the frames of a stream went on in shape `to` after `from`, which its nodes take for
    /// another stream: listeners count a gap, HLS goes on after a discontinuity.
    package static func change(from: AudioShape, to: AudioShape) -> String {
        "the audio went on in \(to) after \(from): another stream, which listeners are told; \(changeWarning)"
    }

    /// `44100 Hz stereo`, `22050 Hz mono`, `48000 Hz 6 channels` — and for AAC's channel configuration 0 (the
    /// channels named in a program config element, which ADTS and an AudioSpecificConfig may carry instead of a
    /// count), `44100 Hz, channels set in the stream`.
    package var description: String {
        "\(sampleRate) Hz" + (channels == 0 ? ", channels set in the stream" : " " + (channels == 1 ? "mono" : channels == 2 ? "stereo" : "\(channels) channels"))
    }
}
