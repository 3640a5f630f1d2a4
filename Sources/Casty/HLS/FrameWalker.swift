internal import CastyAudio

/// Follows the frames of a relayed stream across its segments and tells where each frame starts in the
/// stream, so that HLS segments can be cut on frames at places every node of a tree agrees on.
///
/// A stream's segments are numbered and all hold ``Context/segmentBytes`` bytes, so the byte at offset `o`
/// of segment `n` has the position `n × segmentBytes + o` — the same on the root and on every branch. The
/// walker is handed each segment's audio with its position, finds the chain of frames (a header whose length
/// leads to another header of the same stream), and hands back each whole frame with its position. Bytes that
/// are not frames are skipped. A segment that does not follow the previous one (a gap, a new stream) starts
/// the search again.
struct FrameWalker {
    /// One whole frame and where it starts.
    struct Frame {
        /// Its first byte's position in the stream.
        let position: Int
        /// Its bytes, header included.
        let bytes: ArraySlice<UInt8>
        /// How many samples (per channel) it decodes to.
        let samples: Int
        /// Its sample rate, in Hz.
        let sampleRate: Int
        /// Its bitrate in kbit/s, from the header (MP3); `nil` for ADTS, whose headers do not say.
        let bitrate: Int?
    }

    /// The frames followed: MP3 or ADTS.
    let format: FrameChain.Format
    private var buffer: [UInt8] = []
    /// The stream position of `buffer[0]`.
    private var start = 0
    /// The header bits that stay the same within the stream, once the chain is found.
    private var locked: UInt32?

    /// A walker of `format` frames.
    init(format: FrameChain.Format) {
        self.format = format
    }

    /// The position the next bytes should have to continue the stream.
    var end: Int { start + buffer.count }

    /// Adds `audio`, whose first byte has stream position `position`, and calls `frame` with every frame that
    /// is now whole, in order. Bytes that do not continue what came before drop what was held first.
    mutating func add(_ audio: [UInt8], at position: Int, frame: (Frame) -> Void) {
        if position != end {
            buffer.removeAll(keepingCapacity: true)
            locked = nil
            start = position
        }
        buffer += audio
        var head = 0
        while head + format.headerBytes <= buffer.count {
            guard let header = parse(at: head), locked == nil || header.key == locked else {
                // Not a header where the chain says one is (it broke), or not one here while searching.
                locked = nil
                head += 1
                continue
            }
            if locked != nil {
                guard head + header.length <= buffer.count else { break }
                frame(Frame(position: start + head, bytes: buffer[head..<head + header.length], samples: header.samples,
                            sampleRate: header.sampleRate, bitrate: header.bitrate))
                head += header.length
            } else {
                // A header counts once the next one sits where its length says.
                let next = head + header.length
                guard next + format.headerBytes <= buffer.count else { break }
                if let following = parse(at: next), following.key == header.key {
                    locked = header.key
                } else {
                    head += 1
                }
            }
        }
        if locked == nil {
            // Searching: keep no more than the longest frame and its successor's header could need.
            head = max(head, buffer.count - format.maxLength - format.headerBytes)
        }
        if head > 0 {
            buffer.removeFirst(head)
            start += head
        }
    }

    /// What the frame header at `index` says, or `nil` when no usable header starts there.
    private func parse(at index: Int) -> (length: Int, samples: Int, sampleRate: Int, bitrate: Int?, key: UInt32)? {
        let b = buffer
        switch format {
        case .mpeg:
            guard let header = MP3Frame(b[index], b[index + 1], b[index + 2], b[index + 3]), header.length > MP3Frame.headerBytes
            else { return nil }
            let key = UInt32(b[index + 1] & 0xFE) << 8 | UInt32(b[index + 2] & 0x0C)
            return (header.length, header.samplesPerFrame, header.sampleRate, header.bitrate, key)
        case .adts:
            guard let header = ADTSFrame(b[index], b[index + 1], b[index + 2], b[index + 3], b[index + 4], b[index + 5]) else { return nil }
            return (header.length, ADTSFrame.samples(seventh: b[index + 6]), header.sampleRate, nil, header.streamKey)
        }
    }
}
