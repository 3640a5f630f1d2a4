internal import CastyAudio

/// Finds the bitrate of a stream whose source or upstream declared none (no `ice-bitrate`, `ice-audio-info` or
/// `icy-br`), from its first audio — what the context tells every listener and branch as `icy-br`, and what HLS
/// segments are sized by (``HLSSegmenter``): a stream measured at the wrong bitrate gets segments as much longer
/// than `--hls-target` as the guess was too high.
///
/// MP3 headers say their bitrate, so three frames in a row of one bitrate tell it (``MP3Frame/sniffBitrate(_:)``), and
/// the frames of a variable bitrate are averaged over ``mpegWindow`` — held across reads:
/// a live encoder (ffmpeg) writes one frame at a time, so no single read holds two, and a stream measured read by
/// read was told 128 kbit/s whatever it played. MP3 that shows no frames in its first ``mpegWindow`` bytes keeps
/// the assumed bitrate. ADTS headers
/// do not: the first audio is held and the frames in it averaged (``ADTSFrame/Chain``) once they play
/// ``enoughAudio`` or fill a relay segment, whichever comes first — a quiet source (an encoder sending silence before
/// the show) fills a segment only after many seconds, and listeners would wait for it. The stream's reply waits
/// for that measure (``waits(for:)``), so that every node of a tree is told the same bitrate in the same reply, and
/// cuts the same HLS segments. ADTS that shows no chain of frames by then keeps the assumed bitrate.
struct BitrateSniff {
    /// The first audio, held until it is measured: ADTS until it fills a relay segment, MP3 until two frames.
    private var held: [UInt8] = []
    /// How much of an MP3 stream's first audio is held to find two frames in a row, at the most, and over which
    /// a variable bitrate is averaged: about a second at 128 kbit/s.
    static let mpegWindow = 16_384
    /// Whether it stopped looking: found, or an ADTS stream that showed none in its first segment.
    private(set) var done = false
    /// The bitrate listeners are told, once found: the encoder's setting (``NominalBitrate``) — for ADTS, measured
    /// without the frames' headers, which the bitrate found counts (it is the bytes' real rate, which the nodes count with).
    private(set) var nominal: Int?

    /// How much audio an ADTS measure needs, at the most: enough frames to average (``ADTSFrame/framesToSniff`` at
    /// least) over two seconds.
    static let enoughAudio = 2.0

    /// Nothing seen yet.
    init() {}

    /// Whether the reply of a stream of `format` whose bitrate is not declared waits until ``done``: ADTS until its
    /// first segment is measured, MP3 until three frames of one bitrate came (a few tens of milliseconds), or a
    /// variable bitrate's ``mpegWindow`` (about a second).
    func waits(for format: FrameChain.Format?) -> Bool {
        format != nil && !done
    }

    /// Takes the next audio bytes of a stream of `format`, cut into relay segments of `segmentBytes`; returns the
    /// bitrate in kbit/s once found (once), else `nil`. Called before the bytes are cut.
    mutating func take(_ bytes: some Collection<UInt8>, format: FrameChain.Format?, segmentBytes: Int) -> Int? {
        guard !done else { return nil }
        switch format {
        case .mpeg:
            held += bytes.prefix(max(0, Self.mpegWindow - held.count))
            // Three frames of one bitrate tell it; frames of several (VBR) are averaged over the whole window, not
            // over the first two (a loud start, or an encoder's header frame, told listeners far too much).
            let full = held.count >= Self.mpegWindow
            guard let found = MP3Frame.sniffBitrate(held), full || MP3Frame.bitrates(in: held)?.count == 1 else {
                if full { (done, held) = (true, []) }
                return nil
            }
            (done, held, nominal) = (true, [], NominalBitrate.of(found))
            return found
        case .adts:
            held += bytes.prefix(max(0, segmentBytes - held.count))
            let chain = ADTSFrame.Chain(held)
            let enough = chain.map { $0.frames >= ADTSFrame.framesToSniff && $0.seconds >= Self.enoughAudio } ?? false
            guard held.count >= segmentBytes || enough else { return nil }
            done = true
            held = []
            nominal = chain?.measuredKbps != nil ? chain?.nominalKbps : nil
            return chain?.measuredKbps
        case nil:
            return nil
        }
    }
}
