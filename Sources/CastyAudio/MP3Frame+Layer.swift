extension MP3Frame.Layer {
    /// The layer of the MPEG audio in `bytes`: of its first frame followed by another of the same stream (as
    /// ``FrameChain/Format/sniff(_:)`` finds them), else of a frame header at its start; `nil` when neither is there.
    package init?(ofAudio bytes: ArraySlice<UInt8>) {
        let start = FrameChain.Format.mpeg.firstFrame(in: bytes) ?? bytes.startIndex
        guard let header = MP3Frame(bytes[start...]) else { return nil }
        self = header.layer
    }

    /// How a publishing line names MPEG audio of this layer: `MP3`, or — for a layer that many browsers do not play,
    /// while mpg123, ffmpeg and VLC do — that layer and what to publish instead: `MP2 (MPEG audio Layer II, which
    /// many browsers do not play: …)`.
    package var named: String {
        switch self {
        case .layer3: "MP3"
        case .layer2: "MP2 (\(Self.unplayed("Layer II")))"
        case .layer1: "MP1 (\(Self.unplayed("Layer I")))"
        }
    }

    /// What a publishing line says of audio in `layer` (`Layer II`), which browsers may not play.
    private static func unplayed(_ layer: String) -> String {
        "MPEG audio \(layer), which many browsers do not play: publish MP3 or AAC for them (ffmpeg: -c:a libmp3lame or -c:a aac)"
    }
}
