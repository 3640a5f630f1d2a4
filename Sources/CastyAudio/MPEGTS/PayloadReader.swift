/// Reads what a source sends when nothing says what it is (an SRT stream has no `Content-Type`): an MPEG
/// transport stream (what ffmpeg and OBS send over SRT), de-multiplexed with a ``TSDemuxer``, or raw MP3 or
/// AAC in ADTS frames, passed on as they are.
///
/// The first bytes decide, and are held until they do (``start(of:final:)``): four 0x47 sync bytes 188 bytes
/// apart are a transport stream starting at the first of them, wherever it is — a first packet cut short or
/// garbage before it is skipped as the demuxer skips garbage between packets, and reported the same way; two
/// linked frame headers (ADTS first, then MPEG audio) are raw audio. Whichever starts first wins. A source whose
/// first ``decisionLimit`` bytes are neither is ``Output/unrecognized``, and the rest of what it sends is dropped.
package struct PayloadReader {
    /// What the reader hands on, in order.
    package enum Output {
        /// The audio's format is known (once, before its first bytes).
        case format(FrameChain.Format, transportStream: Bool)
        /// Audio bytes in that format.
        case audio(ArraySlice<UInt8>)
        /// An incident in the transport stream.
        case incident(MPEGTSError)
        /// Neither a transport stream nor MP3 nor ADTS in the first `after` bytes: nothing more comes out.
        case unrecognized(after: Int)
    }

    private enum Mode {
        case deciding([UInt8])
        case transportStream(TSDemuxer, announced: Bool)
        case raw
        case unrecognized
    }

    /// The bytes looked at before giving up on finding what the stream is.
    package static let decisionLimit = 64 * 1024
    private var mode = Mode.deciding([])

    package init() {}

    /// The transport stream's counters, if the stream is one.
    package var counters: TSDemuxer.Counters? {
        if case .transportStream(let demuxer, _) = mode { return demuxer.counters }
        return nil
    }

    /// Takes the next bytes, calling `output` with what comes out of them.
    package mutating func feed(_ bytes: ArraySlice<UInt8>, _ output: (Output) -> Void) {
        switch mode {
        case .deciding(var held):
            held.append(contentsOf: bytes)
            mode = .unrecognized  // not copied while it is changed
            let final = held.count >= Self.decisionLimit
            switch Self.start(of: held, final: final) {
            case .transportStream(let start):
                mode = .transportStream(TSDemuxer(skipped: start), announced: false)
                feed(held[start...], output)
            case .raw(let format):
                mode = .raw
                output(.format(format, transportStream: false))
                output(.audio(held[...]))
            case nil where final:
                output(.unrecognized(after: held.count))
            case nil:
                mode = .deciding(held)
            }
        case .transportStream(var demuxer, var announced):
            mode = .unrecognized
            demuxer.feed(bytes) { out in
                switch out {
                case .audio(let audio, let format):
                    if !announced {
                        announced = true
                        output(.format(format, transportStream: true))
                    }
                    output(.audio(audio))
                case .incident(let error):
                    output(.incident(error))
                }
            }
            mode = .transportStream(demuxer, announced: announced)
        case .raw:
            output(.audio(bytes))
        case .unrecognized:
            break
        }
    }
}

extension FrameChain.Format {
    /// The format of raw audio whose first bytes are `bytes`, and where its first frame starts: a frame header
    /// followed by another of the same stream where its length says (ADTS looked for first; MPEG audio's layer
    /// bits exclude it). `nil` when neither is found, or not yet.
    package static func sniff(_ bytes: [UInt8]) -> (format: FrameChain.Format, at: Int)? {
        for format in [FrameChain.Format.adts, .mpeg] {
            if let start = format.firstFrame(in: bytes[...]) { return (format, start) }
        }
        return nil
    }

    /// Where the first frame of this format in `bytes` starts that is followed by another of the same stream where
    /// its length says; `nil` when there is none, or not yet.
    package func firstFrame(in bytes: ArraySlice<UInt8>) -> Int? {
        var index = bytes.startIndex
        while index + headerBytes <= bytes.endIndex {
            if let first = frame(in: bytes, at: index), let next = frame(in: bytes, at: index + first.length), next.key == first.key {
                return index
            }
            index += 1
        }
        return nil
    }
}
