internal import CastyAudio

/// Notices a constant-bitrate MP3 stream that goes on at another constant bitrate on the same link: Icecast moving
/// its listeners to its fallback mount (a "be right back" loop at 64 kbit/s after the show at 128), in the same
/// sample rate and channels, so that no frame breaks the chain's shape (``FrameChain/Output/reshaped(from:to:)``).
///
/// Each MP3 frame's header says its bitrate. The stream is counted at one bitrate (measured on its first audio, or
/// declared in `icy-br`); frames of another that follow a run at that bitrate, each run lasting ``sustain`` of audio
/// at least, are a new bitrate. A variable bitrate, whose frames change from one to the next, shows a run shorter
/// than that at its first change: it is not watched again until ``restart()`` (its bitrate is an average, which no
/// run of frames shows).
///
/// A pure value: the caller hands it each frame passed on (``heard(_:format:counted:)``) and measures the stream anew
/// when told (``BitrateSniff``).
struct BitrateWatch {
    /// How much audio a run of frames of one bitrate must play to count: the one before a change, and the new one.
    static let sustain = 2.0

    /// The frames of one bitrate last passed on: that bitrate, how long they play, in seconds, and whether they
    /// began at a change (not where the watch began: a link's first run may be cut short by a change, not varying).
    private var run: (bitrate: Int, seconds: Double, afterChange: Bool)?
    /// The bitrate of the run before ``run``, when it lasted ``sustain``.
    private var steadyBefore: Int?
    /// Whether the frames showed a variable bitrate: a run shorter than ``sustain`` between two changes.
    private var varies = false

    /// Nothing heard yet.
    init() {}

    /// The stream is measured anew (a new link, another shape or codec, a change told): runs before are forgotten.
    mutating func restart() {
        self = Self()
    }

    /// Takes a frame of `format` passed on, of a stream counted at `counted` kbit/s (`nil` while it is measured);
    /// returns the bitrate it goes on at when its frames changed from `counted` to another bitrate for good.
    mutating func heard(_ frame: ArraySlice<UInt8>, format: FrameChain.Format?, counted: Int?) -> Int? {
        guard format == .mpeg, !varies, let header = MP3Frame(frame.prefix(MP3Frame.headerBytes)) else { return nil }
        let seconds = Double(header.samplesPerFrame) / Double(header.sampleRate)
        if let current = run, current.bitrate == header.bitrate {
            run = (current.bitrate, current.seconds + seconds, current.afterChange)
        } else {
            if let ended = run {
                guard ended.seconds >= Self.sustain || !ended.afterChange else {
                    varies = true
                    return nil
                }
                steadyBefore = ended.seconds >= Self.sustain ? ended.bitrate : nil
            }
            run = (header.bitrate, seconds, run != nil)
        }
        guard let counted, let current = run, current.bitrate != counted, current.seconds >= Self.sustain,
              steadyBefore == counted else { return nil }
        restart()
        return current.bitrate
    }
}
