// casty-bench: release-mode benchmarks that print figures. Run with `swift run -c release casty-bench <name>`.

import CCastyFloor
import Glibc

let benchmarks: [(name: String, summary: String, run: ([String]) async throws -> Void)] = [
    ("icy", "parse and encode a generated 256 MiB ICY stream (metaint 8192, 64 KiB reads)", IcyBenchmark.run),
    ("fanout", "1k–19k network listeners of Casty (and Icecast 2, via scripts/bench/fanout.sh); --smoke: 200, 3 s", Fanout.run),
    ("dummies", "10k–1M+ in-process dummy actors on one distributor, a segment every 500 ms; --smoke: 10k", Dummies.run),
    ("mounts", "a station server, 20 mounts × 500 listeners, a PUT source each; next to 10k on one mount; --smoke: 2 × 20", Mounts.run),
    ("frames", "a source's frame chain + cutter per MB (MP3, ADTS), reads of 1–16 KiB; --smoke: 4 MB", Frames.run),
    ("loadgen", "(used by fanout) epoll load generator: --port P [--path /] [--count N] [--rate R/s]", { try LoadGenerator.run($0) }),
    ("floor", "(used by fanout --floor) the C floor: one 8 KiB buffer to every socket every 500 ms: [--port P]", { arguments in
        exit(casty_floor_serve(Int32(option("--port", in: arguments) ?? "0") ?? 0, 500))
    }),
    ("serve", "(used by fanout, mounts) a Casty relay on 127.0.0.1: [--upstream URL] [--port P] [--mounts N [--built-in]]", Serve.run),
    ("sources", "(used by mounts) PUT sources at 128 kbit/s: --port P [--mounts /m0,/m1] [--format mp3|adts]", { try SourceFeeder.run($0) }),
]

let arguments = Array(CommandLine.arguments.dropFirst())
guard let name = arguments.first, let benchmark = benchmarks.first(where: { $0.name == name }) else {
    print("usage: casty-bench <benchmark> [options]\n\nbenchmarks:")
    for benchmark in benchmarks { print("  \(benchmark.name.padding(9))\(benchmark.summary)") }
    exit(arguments.isEmpty || arguments.first == "--help" ? 0 : 64)
}
try await benchmark.run(Array(arguments.dropFirst()))
