import CastyNet
import Glibc

/// `casty-bench hls`: issue 14's benchmark — what packaging a mount as HLS costs per segment, and 1,000 HLS
/// players served by Casty directly.
///
/// 1. **Packaging** (``HLSPackaging``): minutes of synthetic MP3 and ADTS relay segments through an
///    ``HLSSegmenter``, alone and with the live playlist rendered per segment: CPU µs per HLS segment and per
///    relay segment, and the share of a core one mount costs in real time.
/// 2. **Players** (``HLSPlayers``): `casty-bench serve --mounts 1 --built-in` (a station server, the built-in
///    station on `/m0`, published as HLS) in a process of its own; once `/m0/index.m3u8` answers 200, the
///    players poll it for `--seconds` from this process, on one epoll thread — a connection per request, or
///    with `--keep-alive` one kept HTTP/1.1 connection per player, or with `--side-by-side` a run of each in
///    turn. Reported: requests a second, playlist and segment latency p50/p99/max, errors, connections opened,
///    and the server's CPU (and per request) and RSS over the run (from /proc); with `--runs` above 1, each run
///    on a fresh server and the medians (of each way, side by side).
enum HLSBenchmark {
    /// `casty-bench hls --help`.
    static let usage = Usage(
        measures: """
            HLS packaging CPU per segment (an HLSSegmenter fed minutes of synthetic MP3 and ADTS relay segments,
            alone and with the live playlist rendered), then N players of `casty-bench serve --mounts 1 --built-in`
            looping as live players do (GET /m0/index.m3u8, GET its newest segment if not fetched yet, wait half a
            target): requests/s, playlist and segment latency p50/p99/max, errors, the server's CPU and RSS. The
            players open a connection per request (HTTP/1.0), or keep one HTTP/1.1 connection each (--keep-alive).
            """,
        options: [
            ("--smoke", "2 min of audio, 1 round; 50 players for 5 s, target 1 s, side by side; exits 1 on any error"),
            ("--minutes M", "audio fed to the segmenter per format (60; smoke 2)"),
            ("--rounds N", "packaging rounds; medians are printed (5; smoke 1)"),
            ("--formats mp3,adts", "formats packaged (mp3,adts)"),
            ("--target S", "HLS target duration, packaging and server (6; smoke 1)"),
            ("--clients N", "players (1000; smoke 50)"),
            ("--seconds S", "seconds the players play, per run (60; smoke 5)"),
            ("--runs N", "player runs, each on a fresh server; medians are printed (3; smoke 1)"),
            ("--keep-alive", "each player keeps one HTTP/1.1 connection, reconnecting when the server closes it"),
            ("--side-by-side", "each run twice in turn: a connection per request, then kept connections (smoke: on)"),
            ("--no-packaging", "skip the packaging half"),
            ("--no-players", "skip the players half"),
        ])

    /// Runs the packaging half, then the players' runs, as the arguments say.
    static func run(_ arguments: [String]) async throws {
        let smoke = arguments.contains("--smoke")
        let minutes = Double(option("--minutes", in: arguments) ?? (smoke ? "2" : "60")) ?? 60
        let rounds = Int(option("--rounds", in: arguments) ?? (smoke ? "1" : "5")) ?? 5
        let formats = (option("--formats", in: arguments) ?? "mp3,adts").split(separator: ",").compactMap { SyntheticAudio.Format(rawValue: String($0)) }
        let target = Int(option("--target", in: arguments) ?? (smoke ? "1" : "6")) ?? 6
        let clients = Int(option("--clients", in: arguments) ?? (smoke ? "50" : "1000")) ?? 1000
        let seconds = Double(option("--seconds", in: arguments) ?? (smoke ? "5" : "60")) ?? 60
        let runs = Int(option("--runs", in: arguments) ?? (smoke ? "1" : "3")) ?? 3
        let ways = smoke || arguments.contains("--side-by-side") ? [false, true] : [arguments.contains("--keep-alive")]
        var failed = false

        if !arguments.contains("--no-packaging") {
            print("hls packaging: \(fixed(minutes, 0)) min of synthetic 128 kbit/s audio per format, 8192-byte relay segments,"
                + " target \(target) s, playlist of 6, \(rounds) round(s); thread CPU time, medians [rounds]")
            print("")
            let results = formats.map { HLSPackaging.measure($0, minutes: minutes, target: target, window: 6, rounds: rounds) }
            HLSPackaging.printTable(results, rounds: rounds)
            print("")
            for result in results where result.hlsSegments == 0 || result.wrong > 0 {
                print("hls: \(result.format): \(result.hlsSegments) segments made, \(result.wrong) without frames or too long")
                failed = true
            }
        }
        if !arguments.contains("--no-players") {
            raiseFileDescriptorLimit()
            print("hls players: \(clients) players of /m0/index.m3u8 (casty-bench serve --mounts 1 --built-in --hls-target \(target)),"
                + " \(fixed(seconds, 0)) s per run, a pause of \(fixed(Double(target) / 2, 1)) s after each playlist (and segment), \(runs) run(s)"
                + (ways.count > 1 ? " of each way in turn" : "") + "; " + ways.map(wayName).joined(separator: ", then "))
            print("")
            printHeader()
            var rows: [Bool: [Row]] = [:]
            for run in 1...max(1, runs) {
                for keepAlive in ways {
                    guard let row = measurePlayers(clients: clients, seconds: seconds, target: target, keepAlive: keepAlive) else {
                        print("hls: the server did not start or its playlist never answered 200")
                        exit(1)
                    }
                    rows[keepAlive, default: []].append(row)
                    printRow(row, label: ways.count > 1 ? "\(run), \(wayName(keepAlive))" : String(run))
                    // Kept connections that carried no second request mean the server did not keep them.
                    let requests = row.playlists + row.segments
                    if row.errors > 0 || row.segments == 0 || row.playlists == 0 || (keepAlive && row.connections >= requests) { failed = true }
                }
            }
            for keepAlive in ways where runs > 1 {
                printRow(Row.median(rows[keepAlive] ?? []), label: "**median**" + (ways.count > 1 ? ", \(wayName(keepAlive))" : ""))
            }
            print("")
        }
        if smoke, failed {
            print("hls: smoke failed")
            exit(1)
        }
    }

    /// The figures of one run of the players (a row of the table).
    struct Row {
        var requestsPerSecond = 0.0
        var playlists = 0, segments = 0, errors = 0, overflows = 0, connections = 0, reconnects = 0
        var playlistMs: [Double] = [], segmentMs: [Double] = []  // p50, p99, max
        var cpu = 0.0, cpuUser = 0.0, cpuMicrosPerRequest = 0.0, rssMiB = 0.0, rssBeforeMiB = 0.0, playersCPU = 0.0, waited = 0.0

        /// Each figure's median over the runs.
        static func median(_ rows: [Row]) -> Row {
            func of(_ value: (Row) -> Double) -> Double { casty_bench.median(rows.map(value)) }
            func ints(_ value: (Row) -> Int) -> Int { Int(of { Double(value($0)) }.rounded()) }
            return Row(
                requestsPerSecond: of(\.requestsPerSecond), playlists: ints(\.playlists), segments: ints(\.segments),
                errors: ints(\.errors), overflows: ints(\.overflows), connections: ints(\.connections), reconnects: ints(\.reconnects),
                playlistMs: (0..<3).map { index in of { $0.playlistMs[index] } }, segmentMs: (0..<3).map { index in of { $0.segmentMs[index] } },
                cpu: of(\.cpu), cpuUser: of(\.cpuUser), cpuMicrosPerRequest: of(\.cpuMicrosPerRequest), rssMiB: of(\.rssMiB),
                rssBeforeMiB: of(\.rssBeforeMiB), playersCPU: of(\.playersCPU), waited: of(\.waited))
        }
    }

    /// One run on a fresh server: its figures, or `nil` if the server never started or never served its playlist.
    static func measurePlayers(clients: Int, seconds: Double, target: Int, keepAlive: Bool) -> Row? {
        let server = Child(["serve", "--mounts", "1", "--built-in", "--hls-target", String(target)], name: "serve")
        defer { server.stop() }
        guard let ready = server.expect("ready", timeout: 20), let served = field("port", in: ready) else { return nil }
        let port = UInt16(served), playlist = "/m0/index.m3u8"
        let start = now(), deadline = start + UInt64((20 + 5 * Double(target)) * 1e9)
        while httpGet(port: port, path: playlist)?.code != 200 {
            guard now() < deadline else { return nil }
            pause(0.25)
        }
        var row = Row()
        row.waited = Double(now() - start) / 1e9
        row.rssBeforeMiB = Double(rssKiB(server.pid)) / 1024
        let cpuBefore = cpuSplit(server.pid), ownBefore = processCPUSeconds(), queueBefore = listenOverflows()
        var players = HLSPlayers(HLSPlayers.Options(
            port: port, playlist: playlist, count: clients, seconds: seconds, pause: Double(target) / 2, keepAlive: keepAlive))
        let report = players.run()
        let cpuAfter = cpuSplit(server.pid), ownAfter = processCPUSeconds()
        row.rssMiB = Double(rssKiB(server.pid)) / 1024
        row.overflows = listenOverflows().overflows - queueBefore.overflows
        row.cpu = (cpuAfter.user + cpuAfter.system - cpuBefore.user - cpuBefore.system) / report.seconds * 100
        row.cpuUser = (cpuAfter.user - cpuBefore.user) / report.seconds * 100
        row.playersCPU = (ownAfter - ownBefore) / report.seconds * 100
        row.playlists = report.playlists
        row.segments = report.segments
        row.errors = report.errorCount
        row.requestsPerSecond = Double(report.playlists + report.segments) / report.seconds
        row.cpuMicrosPerRequest = row.cpu / 100 * 1e6 / max(row.requestsPerSecond, 1e-9)
        row.connections = report.connections
        row.reconnects = report.reconnects
        row.playlistMs = latencies(report.playlistMicros)
        row.segmentMs = latencies(report.segmentMicros)
        for (reason, times) in report.errors.sorted(by: { $0.value > $1.value }).prefix(5) {
            Log.line("errors: \(times) × \(reason)")
        }
        for (reason, times) in report.closes.sorted(by: { $0.value > $1.value }) {
            Log.line("kept connections ended: \(times) × \(reason)")
        }
        Log.line("run: waited \(fixed(row.waited, 1)) s for the playlist; \(report.bytes / 1_000_000) MB received")
        return row
    }

    /// p50, p99 and max in milliseconds.
    static func latencies(_ micros: [Int32]) -> [Double] {
        let sorted = micros.sorted()
        return [percentile(sorted, 0.5), percentile(sorted, 0.99), Int(sorted.last ?? -1)].map { Double($0) / 1000 }
    }

    /// How the players use connections, for the table and its title.
    static func wayName(_ keepAlive: Bool) -> String { keepAlive ? "kept" : "per request" }

    /// The players' table head.
    static func printHeader() {
        print("| run | requests/s | playlists | segments | playlist p50 / p99 / max ms | segment p50 / p99 / max ms | errors | accept overflows"
            + " | connections (reconnects) | Casty CPU % of a core (user) | Casty CPU µs/request | Casty RSS MiB (before) | players CPU % |")
        print("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
    }

    /// One row of the players' table.
    static func printRow(_ row: Row, label: String) {
        func ms(_ values: [Double]) -> String { values.map { fixed($0, 1) }.joined(separator: " / ") }
        print("| \(label) | \(fixed(row.requestsPerSecond, 0)) | \(row.playlists) | \(row.segments) | \(ms(row.playlistMs))"
            + " | \(ms(row.segmentMs)) | \(row.errors) | \(row.overflows) | \(row.connections) (\(row.reconnects))"
            + " | \(fixed(row.cpu, 1)) (\(fixed(row.cpuUser, 1))) | \(fixed(row.cpuMicrosPerRequest, 0))"
            + " | \(fixed(row.rssMiB, 1)) (\(fixed(row.rssBeforeMiB, 1))) | \(fixed(row.playersCPU, 1)) |")
    }
}
