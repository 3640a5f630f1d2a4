internal import CastyAudio

/// Joining two streams on a player's connection — a source returning after its fallback played, listeners moved
/// to another mount, segments skipped — without breaking a frame.
///
/// A segment's audio ends wherever its fixed size ends, most often inside a frame that goes on in the next
/// segment. When that next segment never comes (the stream left is not the one heard any more), the player has
/// the header and first bytes of a frame whose rest is missing: it reads the next stream's bytes as that frame's
/// body, and loses the frame chain ("illegal header", a resync several frames on). So the first segment of the
/// stream joined begins with the bytes that frame lacks (zeros: one frame of nothing much, and the chain holds),
/// then a tag that decoders skip, up to a frame of its own:
///
/// ```
/// heard   … [ frame ][ start of a frame ]
/// joined  [ zeros: the frame's missing bytes ][ ID3 tag … ][ frame ][ frame ] …
/// ```
///
/// The segment keeps its length, so the ICY framing stays exact.
///
/// The first frames of the stream joined may take their audio from the frames before them (MP3's bit reservoir),
/// which the player has of the other stream, or as those zeros: they are muted until one is decodable
/// (``joining(_:completing:format:)``).
extension StreamSegment {
    /// What the last frame begun in this segment's audio lacks (it goes on in the next segment), as bytes that
    /// complete it: zeros for its body — and, when the segment ends inside its header, the rest of the header as
    /// the frame before it had it (a stream's headers differ in little more than padding), so that the length the
    /// player reads is the one completed. Empty when the audio ends on a frame; `nil` when its frames of `format`
    /// cannot be followed from ``entryOffset``.
    func tailCompletion(_ format: FrameChain.Format) -> [UInt8]? {
        entryOffset.flatMap { Self.tailCompletion(of: audio, from: $0, format) }
    }

    /// What the last frame begun in `audio` lacks, its frames of `format` followed from the one at `start`
    /// (``tailCompletion(_:)``): a segment's, or a segment's and the pieces of the next one a player got
    /// (``StreamPiece``).
    static func tailCompletion(of audio: [UInt8], from start: Int, _ format: FrameChain.Format) -> [UInt8]? {
        let audio = audio[...]
        var at = start
        var previous: Int?
        while at < audio.count {
            guard let frame = format.frame(in: audio, at: at) else {
                // A header cut by the audio's end: completed from the frame before it, if it holds together.
                let cut = audio.count - at
                guard cut < format.headerBytes, let previous else { return nil }
                let header = Array(audio[at...]) + audio[(previous + cut)..<(previous + format.headerBytes)]
                guard let length = format.frame(in: header[...], at: 0)?.length else { return nil }
                return Array(header[cut...]) + [UInt8](repeating: 0, count: length - format.headerBytes)
            }
            if at + frame.length > audio.count { return [UInt8](repeating: 0, count: at + frame.length - audio.count) }
            previous = at
            at += frame.length
        }
        return []
    }

    /// `form` (the segment's audio, or a wire form beginning with it) as the first segment a player hears of this
    /// stream, after a frame of `format` that `completion` completes (``tailCompletion(_:)``): those bytes, then a
    /// tag up to the first frame of this segment that starts past them (``padding(_:)``). Without a frame to go
    /// to, the plain entry (``entering(_:)``).
    func entering(_ form: [UInt8], completing completion: [UInt8], format: FrameChain.Format) -> [UInt8] {
        entry(form, completing: completion, format: format).bytes
    }

    /// `form` as the first segment a player hears after a join — it heard audio before: another stream, or this one
    /// before segments it skipped —, after a frame that `completion` completes (empty when there is none): its entry
    /// (``entering(_:completing:format:)``), whose first frames are muted as long as their audio begins before the
    /// join, in bytes the player has of something else (``FrameChain/Format/muteAfterJoin(_:from:end:)``). The
    /// shared buffer is copied only where a frame is muted.
    func joining(_ form: [UInt8], completing completion: [UInt8], format: FrameChain.Format) -> [UInt8] {
        var (bytes, first) = entry(form, completing: completion, format: format)
        if let first { format.muteAfterJoin(&bytes, from: first, end: min(audio.count, bytes.count)) }
        return bytes
    }

    /// ``entering(_:completing:format:)``, and where its first frame is (`nil` when unknown).
    private func entry(_ form: [UInt8], completing completion: [UInt8], format: FrameChain.Format) -> (bytes: [UInt8], first: Int?) {
        let missing = completion.count
        guard missing > 0, var start = entryOffset else { return (entering(form), entryOffset) }
        // The first frame at or past the missing bytes, leaving room for a tag's header between them if any.
        while start < missing || (start > missing && start - missing < Self.minimumTagBytes) {
            guard let frame = format.frame(in: audio[...], at: start) else { return (entering(form), entryOffset) }
            start += frame.length
        }
        guard start <= audio.count, start <= form.count else { return (entering(form), entryOffset) }
        var bytes = completion
        bytes.reserveCapacity(form.count)
        bytes += Self.padding(start - missing)
        bytes += form[start...]
        return (bytes, start)
    }
}
