/// Joins of two streams in formats whose frames reach back into the bytes before them (MP3's bit reservoir: see
/// ``ReservoirJoin``), for callers that do not care which format they relay.
extension FrameChain.Format {
    /// Whether a frame of this format may take part of its audio from the frames before it (MP3's bit reservoir):
    /// where two streams are joined, the first frames of the second must then be looked at (``ReservoirJoin``). ADTS
    /// frames are self-contained.
    package var reachesBack: Bool { self == .mpeg }

    /// Mutes, in place, the first frames of a stream joined to another at `start` in `bytes` whose audio begins
    /// before the join (``ReservoirJoin``), up to the first one that does not — or to `end`, past which `bytes` are
    /// no frames of the stream (a metadata block). A frame cut by `end` is muted if its side information is before
    /// it. Frames are followed by their lengths from `start`; where no header is, the walk stops. Nothing changes
    /// for a format whose frames are self-contained, and the array is not written (so not copied, if shared) unless
    /// a frame is muted.
    package func muteAfterJoin(_ bytes: inout [UInt8], from start: Int, end: Int) {
        guard reachesBack else { return }
        let end = min(end, bytes.count)
        var join = ReservoirJoin()
        var at = start
        while at < end, let frame = frame(in: bytes[..<end], at: at) {
            let stop = min(end, at + frame.length)
            guard let muted = join.muted(bytes[at..<stop]) else { return }
            bytes.replaceSubrange(at..<stop, with: muted)
            at += frame.length
        }
    }
}
