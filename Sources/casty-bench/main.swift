// casty-bench: release-mode benchmarks that print figures. Run with `swift run -c release casty-bench <name>`.

import CCastyFloor
import Glibc

/// One benchmark of the table: its name, a line for the list, its usage for `--help`, and what runs it.
struct Benchmark {
    /// `casty-bench <name>`.
    var name: String
    /// Its line in the list `casty-bench` prints.
    var summary: String
    /// What `casty-bench <name> --help` prints.
    var usage: Usage
    /// Runs it with the arguments after its name (never `--help`: the table's caller answers that).
    var run: ([String]) async throws -> Void
}

let benchmarks = [
    Benchmark(name: "icy", summary: "parse and encode a generated 256 MiB ICY stream (metaint 8192, 64 KiB reads)",
              usage: IcyBenchmark.usage, run: IcyBenchmark.run),
    Benchmark(name: "fanout", summary: "1k–19k network listeners of Casty (and Icecast 2, via scripts/bench/fanout.sh); --smoke: 200, 3 s",
              usage: Fanout.usage, run: Fanout.run),
    Benchmark(name: "dummies", summary: "10k–1M+ in-process dummy actors on one distributor, a segment every 500 ms; --smoke: 10k",
              usage: Dummies.usage, run: Dummies.run),
    Benchmark(name: "mounts", summary: "a station server, 20 mounts × 500 listeners, a PUT source each; next to 10k on one mount; --smoke: 2 × 20",
              usage: Mounts.usage, run: Mounts.run),
    Benchmark(name: "frames", summary: "a source's frame chain + cutter per MB (MP3, ADTS), reads of 1–16 KiB; --smoke: 4 MB",
              usage: Frames.usage, run: Frames.run),
    Benchmark(name: "hls", summary: "HLS: packaging CPU per segment (MP3, ADTS), then 1,000 players polling playlists and segments; --smoke: 50, 5 s",
              usage: HLSBenchmark.usage, run: HLSBenchmark.run),
    Benchmark(name: "loadgen", summary: "(used by fanout) epoll load generator: --port P [--path /] [--count N] [--rate R/s]",
              usage: LoadGenerator.usage, run: { try LoadGenerator.run($0) }),
    Benchmark(name: "floor", summary: "(used by fanout --floor) the C floor: one 8 KiB buffer to every socket every 500 ms: [--port P] [--threads N --accept handover|reuseport]",
              usage: Usage(measures: """
                  (Used by fanout --floor and --accept-floors.) The floor of a fan-out, in plain C: accepts listeners,
                  answers each with an ICY reply, and every 500 ms sends one shared buffer (8192 bytes and a
                  CastySeq/CastyTime block) to every socket with one non-blocking send each; nothing else. With
                  --threads N the sends are spread over N threads, the sockets reaching them one of two ways (--accept).
                  Prints `ready port=P`; runs until stdin closes.
                  """, options: [
                      ("--port P", "the port (0: any free one)"),
                      ("--threads N", "sending threads (0: one thread accepts and sends)"),
                      ("--accept handover", "one thread accepts and answers, then hands each socket to the least-loaded sender (Casty's way)"),
                      ("--accept reuseport", "each sender has its own SO_REUSEPORT listener and accepts, answers and sends itself"),
                  ]),
              run: { arguments in
                  let port = Int32(option("--port", in: arguments) ?? "0") ?? 0
                  let threads = Int32(option("--threads", in: arguments) ?? "0") ?? 0
                  let reusePort: Int32 = option("--accept", in: arguments) == "reuseport" ? 1 : 0
                  exit(casty_floor_serve_group(port, 500, threads, reusePort))
              }),
    Benchmark(name: "serve", summary: "(used by fanout, mounts, hls) a Casty relay on 127.0.0.1: [--upstream URL] [--port P] [--mounts N [--built-in]]",
              usage: Serve.usage, run: Serve.run),
    Benchmark(name: "sources", summary: "(used by mounts) PUT sources at 128 kbit/s: --port P [--mounts /m0,/m1] [--format mp3|adts]",
              usage: SourceFeeder.usage, run: { try SourceFeeder.run($0) }),
]

let arguments = Array(CommandLine.arguments.dropFirst())
guard let name = arguments.first, let benchmark = benchmarks.first(where: { $0.name == name }) else {
    print("usage: casty-bench <benchmark> [options]   (casty-bench <benchmark> --help: its options)\n\nbenchmarks:")
    for benchmark in benchmarks { print("  \(benchmark.name.padding(9))\(benchmark.summary)") }
    exit(arguments.isEmpty || Usage.isAsked(in: [arguments[0]]) ? 0 : 64)
}
let rest = Array(arguments.dropFirst())
if Usage.isAsked(in: rest) {
    print(benchmark.usage.text(name: benchmark.name))
    exit(0)
}
try await benchmark.run(rest)
