import Casty
import Glibc
import Icy

/// The first half of `casty-bench hls`: what packaging one mount as HLS costs in CPU, per HLS segment made and
/// per relay segment fed.
///
/// The stream is `minutes` of synthetic 128 kbit/s audio (``SyntheticAudio``, MP3 or ADTS), cut beforehand
/// into numbered 8192-byte relay segments with a title that changes every 25 of them — what a mount's
/// distributor hands its ``HLSPackager``. Each round feeds them all to a new ``HLSSegmenter`` (the packager's
/// state machine, `package` access), on this thread, and measures the thread's CPU time:
/// - **segmenter**: `HLSSegmenter.add` alone — following the frames, grouping them, the ID3 tag, the copy
///   into the segment's bytes;
/// - **+ playlist**: the same, plus what the packager does with each segment made: render the live media
///   playlist over the last `window` segments (`HLSPlaylist.media`).
///
/// Not measured: the packager's actor hop per relay segment and its master playlist (a few dozen bytes), and
/// bytes allocated (glibc keeps no running total); the bytes made per segment are given instead — each is
/// copied twice (into the group as frames arrive, then behind the tag).
enum HLSPackaging {
    /// The figures of one format: medians over the rounds.
    struct Result {
        var format: SyntheticAudio.Format
        var audioSeconds = 0.0
        var relaySegments = 0
        var hlsSegments = 0
        var bytesPerSegment = 0
        var segmenterMicros: [Double] = []  // CPU µs per HLS segment, per round
        var playlistMicros: [Double] = []  // the same with the playlist rendered
        var wrong = 0  // segments without frames, or more than a target long

        /// CPU µs per relay segment (segmenter + playlist), median.
        var perRelaySegment: Double { median(playlistMicros) * Double(hlsSegments) / Double(max(1, relaySegments)) }
        /// % of one core that one mount costs in real time (segmenter + playlist).
        var percentOfCore: Double { median(playlistMicros) * Double(hlsSegments) / max(1, audioSeconds) / 1e4 }
    }

    /// Feeds `minutes` of `format` to a segmenter `rounds` times, without and with the playlist.
    static func measure(_ format: SyntheticAudio.Format, minutes: Double, target: Int, window: Int, rounds: Int) -> Result {
        let (context, segments) = relaySegments(format, minutes: minutes)
        var result = Result(format: format)
        result.relaySegments = segments.count
        result.audioSeconds = Double(segments.count * context.segmentBytes) / Double(SyntheticAudio.bytesPerSecond)
        for _ in 0..<rounds {
            for playlist in [false, true] {
                var segmenter = HLSSegmenter(targetDuration: target)
                segmenter.start(context)
                var recent: [HLSSegment] = [], made = 0, bytes = 0, playlistBytes = 0, wrong = 0
                let start = threadCPUSeconds()
                for segment in segments {
                    for hls in segmenter.add(segment.number, segment, stream: context.stream) {
                        made += 1
                        bytes += hls.bytes.count
                        if hls.frames == 0 || hls.duration > Double(target) + 0.5 { wrong += 1 }
                        guard playlist else { continue }
                        recent.append(hls)
                        if recent.count > window { recent.removeFirst() }
                        playlistBytes += HLSPlaylist.media(recent, targetDuration: target).utf8.count
                    }
                }
                let micros = (threadCPUSeconds() - start) * 1e6 / Double(max(1, made))
                if playlist { result.playlistMicros.append(micros) } else { result.segmenterMicros.append(micros) }
                precondition(!playlist || playlistBytes > 0)
                result.hlsSegments = made
                result.bytesPerSegment = bytes / max(1, made)
                result.wrong = max(result.wrong, wrong)
            }
        }
        return result
    }

    /// The stream's context and its relay segments: `minutes` of `format`, 8192 bytes each, one title every 25.
    static func relaySegments(_ format: SyntheticAudio.Format, minutes: Double) -> (Context, [StreamSegment]) {
        let segmentBytes = 8192
        let audio = SyntheticAudio.stream(format, bytes: Int(minutes * 60) * SyntheticAudio.bytesPerSecond)
        let context = Context(station: ["Content-Type": format.contentType], segmentBytes: segmentBytes, bitrate: 128,
                              stream: 0x6361_7374_7962_6873)
        let segments = (0..<audio.count / segmentBytes).map { number in
            StreamSegment(number: number, time: 1_800_000_000_000 + Int64(number) * 512,
                          audio: Array(audio[number * segmentBytes..<(number + 1) * segmentBytes]),
                          title: Metadata(streamTitle: "casty-bench song \(number / 25)"),
                          titleVersion: number / 25, titleChanged: number % 25 == 0)
        }
        return (context, segments)
    }

    /// Prints the table of the results.
    static func printTable(_ results: [Result], rounds: Int) {
        print("| format | audio min | relay segments | HLS segments | KB/segment | segmenter µs/HLS segment | + playlist µs/HLS segment | with playlist, µs/relay segment | one mount in real time, % of a core |")
        print("|---|--:|--:|--:|--:|--:|--:|--:|--:|")
        for result in results {
            func runs(_ values: [Double]) -> String {
                fixed(median(values), 1) + (rounds > 1 ? " [" + values.map { fixed($0, 1) }.joined(separator: "/") + "]" : "")
            }
            print("| \(result.format) | \(fixed(result.audioSeconds / 60, 1)) | \(result.relaySegments) | \(result.hlsSegments)"
                + " | \(fixed(Double(result.bytesPerSegment) / 1000, 1)) | \(runs(result.segmenterMicros)) | \(runs(result.playlistMicros))"
                + " | \(fixed(result.perRelaySegment, 2)) | \(fixed(result.percentOfCore, 4)) |")
        }
    }
}

/// CPU seconds this thread has used so far.
func threadCPUSeconds() -> Double {
    var time = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
    return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
}
