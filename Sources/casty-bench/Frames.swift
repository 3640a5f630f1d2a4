import Casty
import CastyAudio
import CastyNet
import Glibc

/// `casty-bench frames`: what a source's audio costs the server per MB before any listener sees it — the path
/// every read of a publishing source (`SourceSession.take`) and of a proxy's upstream takes: the `FrameChain`
/// finds and checks the frames, and the `Cutter` packs whole frames into 8192-byte segments (each segment's
/// wire forms, plain and numbered, are encoded once as it is cut).
///
/// The stream is synthetic 128 kbit/s audio (``SyntheticAudio``: MP3 frames of 417/418 bytes, or ADTS AAC
/// frames of 371/372 bytes), fed in reads of a fixed size, as a socket would hand them over. For each format
/// and read size it measures, `--rounds` times each:
/// - **chain + cutter**: the source's path (what `Cutter.add(_:through:emit:incident:)` does — that function is
///   internal to Casty, so the benchmark makes the same two calls itself: `FrameChain.feed`, then
///   `Cutter.addFrame` for each frame);
/// - **chain**: `FrameChain.feed` alone, the frames counted and thrown away;
/// - **cutter**: `Cutter.add` alone on the same reads, no frame checks (what a stream of unchecked type costs);
/// - **+ sniff** (ADTS only): the source's path plus `MP3Frame.sniffBitrate` on every read, which is what
///   `SourceSession.take` does for a source that declared no bitrate (`ice-bitrate`/`ice-audio-info`) as long
///   as no MP3 bitrate is found — for AAC, never.
///
/// Figures are medians over the rounds; µs per MB also gives the CPU one source costs at 128 kbit/s
/// (16,000 bytes a second).
enum Frames {
    /// `casty-bench frames --help`.
    static let usage = Usage(
        measures: """
            A source's frame chain and cutter on synthetic 128 kbit/s MP3 and ADTS in reads of a fixed size:
            µs per MB of chain + cutter, of each alone, and (ADTS) with the bitrate sniffing; medians of the rounds.
            """,
        options: [
            ("--smoke", "4 MB per format, reads of 1 and 16 KiB, one round; exits 1 on a missing segment or an incident"),
            ("--mb N", "MB (10^6 bytes) per format (64; smoke 4)"),
            ("--rounds N", "rounds; medians are printed (5; smoke 1)"),
            ("--reads K,K,…", "read sizes in KiB (1,2,4,8,16; smoke 1,16)"),
            ("--formats mp3,adts", "formats measured (mp3,adts)"),
        ])

    static func run(_ arguments: [String]) async throws {
        let smoke = arguments.contains("--smoke")
        let megabytes = Int(option("--mb", in: arguments) ?? (smoke ? "4" : "64")) ?? 64
        let rounds = Int(option("--rounds", in: arguments) ?? (smoke ? "1" : "5")) ?? 5
        let reads = (option("--reads", in: arguments) ?? (smoke ? "1,16" : "1,2,4,8,16")).split(separator: ",").compactMap { Int($0) }
        let formats = (option("--formats", in: arguments) ?? "mp3,adts").split(separator: ",").compactMap { SyntheticAudio.Format(rawValue: String($0)) }
        let segmentBytes = 8192
        print("frames: \(megabytes) MB of synthetic 128 kbit/s audio per format, reads of \(reads.map { "\($0)" }.joined(separator: ", ")) KiB,"
            + " \(segmentBytes)-byte segments, \(rounds) round(s); medians")
        print("")
        print("| format | read KiB | chain + cutter µs/MB | MB/s | chain µs/MB | cutter µs/MB | + sniff µs/MB | one 128 kbit/s source, % of a core |")
        print("|---|--:|--:|--:|--:|--:|--:|--:|")
        var failed = false
        for format in formats {
            let stream = SyntheticAudio.stream(format, bytes: megabytes * 1_000_000)
            let expected = stream.count / segmentBytes
            for read in reads {
                let readBytes = read * 1024
                var full: [Double] = [], chainOnly: [Double] = [], cutterOnly: [Double] = [], sniffing: [Double] = []
                for _ in 0..<rounds {
                    let (time, segments, incidents) = try source(stream, format: format, readBytes: readBytes, segmentBytes: segmentBytes, sniff: false)
                    if segments != expected || incidents != 0 {
                        print("frames: \(format) \(read) KiB: \(segments) segments (expected \(expected)), \(incidents) incidents")
                        failed = true
                    }
                    full.append(perMB(time, stream.count))
                    chainOnly.append(perMB(chain(stream, format: format, readBytes: readBytes), stream.count))
                    cutterOnly.append(perMB(try cutter(stream, readBytes: readBytes, segmentBytes: segmentBytes), stream.count))
                    if format == .adts {
                        sniffing.append(perMB(try source(stream, format: format, readBytes: readBytes, segmentBytes: segmentBytes, sniff: true).time, stream.count))
                    }
                }
                let micros = median(full)
                print("| \(format) | \(read) | \(fixed(micros, 0)) | \(fixed(1e6 / micros, 0)) | \(fixed(median(chainOnly), 0))"
                    + " | \(fixed(median(cutterOnly), 0)) | \(sniffing.isEmpty ? "–" : fixed(median(sniffing), 0))"
                    + " | \(fixed(micros * Double(SyntheticAudio.bytesPerSecond) / 1e6 / 1e4, 4)) |")
            }
        }
        if failed { exit(1) }
    }

    /// µs per MB (10⁶ bytes).
    static func perMB(_ time: Duration, _ bytes: Int) -> Double {
        seconds(time) * 1e6 / (Double(bytes) / 1e6)
    }

    /// The source's path: every read through the chain, each frame into the cutter. Returns the time, the
    /// segments cut and the chain's incidents (resyncs, give-ups), which must be 0 for this stream.
    static func source(
        _ stream: [UInt8], format: SyntheticAudio.Format, readBytes: Int, segmentBytes: Int, sniff: Bool
    ) throws -> (time: Duration, segments: Int, incidents: Int) {
        var chain = FrameChain(format: format == .mp3 ? .mpeg : .adts)
        var cutter = try Cutter(segmentBytes: segmentBytes)
        var segments = 0, incidents = 0
        var bitrate: Int?
        let time = ContinuousClock().measure {
            var offset = 0
            while offset < stream.count {
                let end = min(stream.count, offset + readBytes)
                let bytes = stream[offset..<end]
                if sniff, bitrate == nil { bitrate = MP3Frame.sniffBitrate(bytes) }
                chain.feed(bytes) { output in
                    switch output {
                    case .frame(let frame): cutter.addFrame(frame) { _ in segments += 1 }
                    case .audio(let audio): cutter.add(audio) { _ in segments += 1 }
                    case .resynced, .gaveUp, .text, .reformatted, .reshaped: incidents += 1
                    }
                }
                offset = end
            }
        }
        return (time, segments, incidents)
    }

    /// The chain alone.
    static func chain(_ stream: [UInt8], format: SyntheticAudio.Format, readBytes: Int) -> Duration {
        var chain = FrameChain(format: format == .mp3 ? .mpeg : .adts)
        var frames = 0
        let time = ContinuousClock().measure {
            var offset = 0
            while offset < stream.count {
                let end = min(stream.count, offset + readBytes)
                chain.feed(stream[offset..<end]) { output in
                    if case .frame = output { frames += 1 }
                }
                offset = end
            }
        }
        precondition(frames > 0)
        return time
    }

    /// The cutter alone, audio added as it comes.
    static func cutter(_ stream: [UInt8], readBytes: Int, segmentBytes: Int) throws -> Duration {
        var cutter = try Cutter(segmentBytes: segmentBytes)
        var segments = 0
        let time = ContinuousClock().measure {
            var offset = 0
            while offset < stream.count {
                let end = min(stream.count, offset + readBytes)
                cutter.add(stream[offset..<end]) { _ in segments += 1 }
                offset = end
            }
        }
        precondition(segments == stream.count / segmentBytes)
        return time
    }
}
