// casty-bench: release-mode benchmarks that print figures. Run with `swift run -c release casty-bench <name>`.

import Glibc

let benchmarks: [(name: String, summary: String, run: ([String]) async throws -> Void)] = [
    ("icy", "parse and encode a generated 256 MiB ICY stream (metaint 8192, 64 KiB reads)", IcyBenchmark.run),
]

let arguments = Array(CommandLine.arguments.dropFirst())
guard let name = arguments.first, let benchmark = benchmarks.first(where: { $0.name == name }) else {
    print("usage: casty-bench <benchmark> [options]\n\nbenchmarks:")
    for benchmark in benchmarks { print("  \(benchmark.name.padding(9))\(benchmark.summary)") }
    exit(arguments.isEmpty || arguments.first == "--help" ? 0 : 64)
}
try await benchmark.run(Array(arguments.dropFirst()))
