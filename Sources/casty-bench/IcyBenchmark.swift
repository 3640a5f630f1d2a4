import CastyNet
import Icy

/// Parses and encodes a generated ICY stream to show what the Icy library costs per byte.
///
/// The stream is 256 MiB of audio with `icy-metaint: 8192` and a title every eighth block, fed to the parser
/// in 64 KiB reads as a socket would deliver it. Parsing keeps audio as slices of those reads; encoding
/// produces each parsed segment's wire form (audio + metadata block) in one buffer, as the relay does once
/// per segment — that copies the audio, from the parsed slices spread over the whole stream.
enum IcyBenchmark {
    /// `casty-bench icy --help`.
    static let usage = Usage(
        measures: """
            Parses a generated ICY stream (icy-metaint 8192, a title every eighth block) fed in 64 KiB reads, then
            encodes every parsed segment's wire form into one buffer: MB/s of each, medians over the rounds.
            """,
        options: [
            ("--mib N", "MiB of audio in the stream (256)"),
            ("--rounds N", "rounds of each; the median is printed (5)"),
        ])

    static func run(_ arguments: [String]) async throws {
        let megabytes = Int(option("--mib", in: arguments) ?? "256") ?? 256
        let rounds = Int(option("--rounds", in: arguments) ?? "5") ?? 5
        let metaint = 8192, readSize = 64 * 1024
        let (stream, segments) = generate(audioBytes: megabytes << 20, metaint: metaint)
        print("icy: \(megabytes) MiB of audio, metaint \(metaint), \(segments.count) segments, \(readSize / 1024) KiB reads, \(rounds) rounds")

        var parseRates: [Double] = []
        var parsed: [Segment] = []
        parsed.reserveCapacity(segments.count)
        for round in 0..<rounds {
            let clock = ContinuousClock()
            var count = 0, audio = 0, titles = 0
            let elapsed = try clock.measure {
                var parser = StreamParser(Icy.segments(metaint: metaint))
                var offset = 0
                while offset < stream.count {
                    let end = min(stream.count, offset + readSize)
                    try parser.feed(stream[offset..<end]) { segment in
                        count += 1
                        if round == 0 { parsed.append(segment) }
                        audio += segment.audioCount
                        if !segment.metadata.isEmpty { titles += 1 }
                    }
                    offset = end
                }
            }
            precondition(count == segments.count && audio == megabytes << 20, "parser lost data")
            parseRates.append(Double(stream.count) / seconds(elapsed) / 1e6)
        }

        var encodeRates: [Double] = []
        var wire: [UInt8] = []
        wire.reserveCapacity(metaint + 4096)
        for _ in 0..<rounds {
            let clock = ContinuousClock()
            var total = 0
            let elapsed = try clock.measure {
                for segment in parsed {
                    wire.removeAll(keepingCapacity: true)
                    try sendData(segment) { wire.append(contentsOf: $0) }
                    total += wire.count
                }
            }
            precondition(total == stream.count, "encoder lost data")
            encodeRates.append(Double(total) / seconds(elapsed) / 1e6)
        }
        print("parse:  median \(fixed(median(parseRates), 0)) MB/s  (rounds: \(parseRates.map { fixed($0, 0) }.joined(separator: ", ")))")
        print("encode: median \(fixed(median(encodeRates), 0)) MB/s  (rounds: \(encodeRates.map { fixed($0, 0) }.joined(separator: ", "))); wire form into one buffer, copying the parsed audio")
    }

    /// A stream of `audioBytes` audio in segments of `metaint`, with a changing title every eighth segment.
    static func generate(audioBytes: Int, metaint: Int) -> (stream: [UInt8], segments: [Segment]) {
        var rng = SystemRandomNumberGenerator()
        let block = (0..<metaint).map { _ in UInt8.random(in: 0...255, using: &rng) }
        var stream: [UInt8] = []
        stream.reserveCapacity(audioBytes + audioBytes / metaint * 64)
        var segments: [Segment] = []
        for number in 0..<(audioBytes / metaint) {
            let metadata = number % 8 == 0 ? Metadata(streamTitle: "Benchmark tone \(number)").bytes : []
            let segment = Segment(audio: block, metadata: metadata)
            try! sendData(segment) { stream.append(contentsOf: $0) }
            segments.append(segment)
        }
        return (stream, segments)
    }
}
