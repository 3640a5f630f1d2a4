import CastyNet
import Glibc

/// `casty-bench fanout`: thousands of network listeners of one 128 kbit/s MP3 stream, against Casty and —
/// when an Icecast is given, in the same run and fed the same stream — against Icecast 2.
///
/// For each listener count and each server it
/// 1. starts the server: Casty as `casty-bench serve` (a proxy of the Icecast mount, or the built-in station);
///    Icecast is started by `scripts/bench/fanout.sh`, fresh for each count;
/// 2. starts the load generators (`casty-bench loadgen`, two processes, each under the 20,000-descriptor
///    limit) which connect at `--rate` per second in all, and reads their ramp figures: refused listeners,
///    connect and header latencies, and the kernel's accept-queue overflows over the ramp;
/// 3. lets the bursts drain (`--settle` s), then measures a window (`--window` s): server CPU (utime + stime
///    from /proc), RSS, the load generators' CPU, segments, gaps and lag seen by the listeners, and Casty's
///    own skipped/dropped counters from its status page.
///
/// The parent only waits and reads /proc; it uses no CPU worth counting. Everything is on loopback.
enum Fanout {
    /// `casty-bench fanout --help`.
    static let usage = Usage(
        measures: """
            Thousands of network listeners of one 128 kbit/s MP3 stream (`casty-bench loadgen` processes) against
            `casty-bench serve` — and, when an Icecast is given (scripts/bench/fanout.sh starts one), against Icecast 2
            in the same run. Per count and server: ramp (refused, connect and header latency, accept-queue
            overflows), then a window: server CPU and RSS per listener, skipped/dropped, gaps, lag, title lag.
            """,
        options: [
            ("--smoke", "200 listeners, 3 s window, Casty only; exits 1 if a listener is lost or a segment skipped"),
            ("--counts N,N,…", "listener counts (1000,5000,10000,19000)"),
            ("--window S", "seconds measured (20; smoke 3)"),
            ("--settle S", "seconds after the ramp before the window (4; smoke 2)"),
            ("--rate R", "connections per second, in all (5000)"),
            ("--loadgens N", "load generator processes (2; smoke 1)"),
            ("--icecast-port P", "an Icecast to compare, on 127.0.0.1:P (with --icecast-pid)"),
            ("--icecast-pid PID", "its process, for CPU and RSS"),
            ("--icecast-mount /M", "its mount (/tone)"),
            ("--icecast-auth B64", "its admin credentials, base64 (admin:hackme)"),
            ("--icecast-rate R", "connections per second to Icecast (300)"),
            ("--casty-only", "measure Casty only, even with an Icecast given"),
            ("--loops N,N,…", "Casty with these listener loops, side by side (0: one loop; default 0)"),
            ("--burst N", "segments Casty sends a new player at once (4; 0 to compare with the floor, which sends none)"),
            ("--floor", "also the C floor (casty-bench floor): one buffer to every socket, nothing else"),
            ("--accept-floors N", "also the C floor on N sending threads, reached two ways: one accepting thread that hands"
                + " sockets over (floor/handover) and one SO_REUSEPORT listener per thread (floor/reuseport)"),
        ])

    struct Server {
        var name: String
        var icecast: Bool
        /// For Casty: its listener loops (`serve --loops N`; 0: every listener on the accepting loop).
        var loops = 0
        /// For Casty: the segments a new player gets at once (`serve --burst N`; nil: serve's default, 4).
        var burst: Int?
        /// The C floor (`casty-bench floor`) instead of Casty: one shared buffer sent to every socket, nothing else.
        var floor = false
        /// For the floor: its arguments past `floor` (sending threads and how sockets reach them).
        var floorArguments: [String] = []
    }

    struct Row {
        var server = "", count = 0
        var connected = 0, refused = 0, dropped = 0, open = 0
        var rampSeconds = 0.0, overflows = 0, drops = 0
        var connectP50 = 0, headerP50 = 0, headerP99 = 0
        var cpu = 0.0, cpuUser = 0.0, loadgenCPU = 0.0, rssKiB = 0, baseKiB = 0
        var segments = 0, gaps = 0, skipped: Int?, serverDropped: Int?
        var lagP50 = -1, lagP99 = -1, lagMax = -1, titleLagP50 = -1, titleLagMax = -1
        var perListenerKiB: Double { open > 0 ? Double(rssKiB - baseKiB) / Double(open) : .nan }
    }

    static func run(_ arguments: [String]) async throws {
        let smoke = arguments.contains("--smoke")
        let counts = (option("--counts", in: arguments) ?? (smoke ? "200" : "1000,5000,10000,19000"))
            .split(separator: ",").compactMap { Int($0) }
        let window = Double(option("--window", in: arguments) ?? (smoke ? "3" : "20")) ?? 20
        let settle = Double(option("--settle", in: arguments) ?? (smoke ? "2" : "4")) ?? 4
        let rate = Double(option("--rate", in: arguments) ?? "5000") ?? 5000
        // Icecast 2.4.4 listens with a backlog of 5: above about 400 connections/s its accept queue overflows and
        // clients wait for SYN retries (1 s, 3 s, …). The steady-state comparison loads it at 300/s so that every
        // listener gets in; `--icecast-rate 5000` compares accepting at Casty's rate.
        let icecastRate = Double(option("--icecast-rate", in: arguments) ?? "300") ?? 300
        let loadgens = Int(option("--loadgens", in: arguments) ?? (smoke ? "1" : "2")) ?? 2
        let icecastPort = option("--icecast-port", in: arguments).flatMap { UInt16($0) }
        let icecastPID = option("--icecast-pid", in: arguments).flatMap { pid_t($0) }
        let mount = option("--icecast-mount", in: arguments) ?? "/tone"
        // admin:hackme, the throwaway password of scripts/lib/peers.sh.
        let authorization = option("--icecast-auth", in: arguments) ?? "YWRtaW46aGFja21l"
        // `--loops 0,2`: Casty with one loop, then with two listener loops, side by side in the same run.
        let loopCounts = (option("--loops", in: arguments) ?? "0").split(separator: ",").compactMap { Int($0) }
        let burst = option("--burst", in: arguments).flatMap { Int($0) }
        var servers = loopCounts.map { Server(name: $0 == 0 ? "casty" : "casty/\($0)", icecast: false, loops: $0, burst: burst) }
        // `--floor`: the C program that only sends one buffer to every socket, measured in the same run.
        if arguments.contains("--floor") { servers.append(Server(name: "floor", icecast: false, floor: true)) }
        if let threads = option("--accept-floors", in: arguments) {
            for way in ["handover", "reuseport"] {
                servers.append(Server(name: "floor/\(way)", icecast: false, floor: true, floorArguments: ["--threads", threads, "--accept", way]))
            }
        }
        if icecastPort != nil, icecastPID != nil, !arguments.contains("--casty-only") {
            servers.append(Server(name: "icecast", icecast: true))
        }

        var nextTitle: UInt64 = 0
        // Every 1–1.7 s (at random, so titles do not lock to the metadata blocks' phase), a title that says when
        // it was set, so listeners of either server can tell their lag behind the source.
        let ticker = {
            guard let icecastPort, now() >= nextTitle else { return }
            nextTitle = now() + UInt64.random(in: 1_000_000_000...1_700_000_000)
            _ = httpGet(port: icecastPort, path: "/admin/metadata?mount=\(mount)&mode=updinfo&song=cb%20\(wallClockMilliseconds())",
                        authorization: authorization)
        }

        print("fanout: counts \(counts.map(String.init).joined(separator: ", ")), window \(fixed(window, 0)) s,"
            + " settle \(fixed(settle, 0)) s, \(loadgens) load generator(s), connect rate \(fixed(rate, 0))/s"
            + (servers.contains(where: \.icecast) ? " (Icecast \(fixed(icecastRate, 0))/s), Icecast on 127.0.0.1:\(icecastPort!)\(mount) pid \(icecastPID!)" : ", Casty only (built-in station)"))
        var rows: [Row] = []
        for count in counts {
            for server in servers {
                let row = measure(
                    server: server, count: count, window: window, settle: settle,
                    rate: server.icecast ? icecastRate : rate, loadgens: loadgens,
                    icecast: icecastPort.map { ($0, icecastPID!, mount) }, ticker: ticker)
                rows.append(row)
                printTable([row], header: rows.count == 1)
            }
        }
        print("")
        printTable(rows, header: true)
        let bad = rows.filter { $0.open < $0.count || ($0.server.hasPrefix("casty") && ($0.skipped ?? 0) > 0) }
        if smoke, !bad.isEmpty { exit(1) }
    }

    /// How Casty is started for a measurement: `casty-bench serve` with `serve`, listeners spread over `paths`,
    /// and, if `sources` is given, a `casty-bench sources` child (with `--port P` added) that publishes to the
    /// server before the listeners come. `warm` seconds more pass before the RSS the listeners' share is
    /// counted from, so that the rings (32 segments, 16 s) are full by then and their memory is not counted as
    /// the listeners'.
    struct CastySetup {
        var serve: [String] = ["serve"]
        var paths = "/"
        var sources: [String]?
        var warm = 0.0
    }

    static func measure(
        server: Server, count: Int, window: Double, settle: Double, rate: Double, loadgens: Int,
        icecast: (port: UInt16, pid: pid_t, mount: String)?, casty setup: CastySetup? = nil, ticker: () -> Void
    ) -> Row {
        var row = Row()
        row.server = server.name
        row.count = count
        // The server.
        var casty: Child?, feeder: Child?
        let port: UInt16, pid: pid_t, path: String
        if server.icecast, let icecast {
            (port, pid, path) = (icecast.port, icecast.pid, icecast.mount)
        } else {
            var setup = setup ?? CastySetup(serve: ["serve"] + (icecast.map { ["--upstream", "http://127.0.0.1:\($0.port)\($0.mount)"] } ?? []))
            if server.loops > 0 { setup.serve += ["--loops", String(server.loops)] }
            if let burst = server.burst { setup.serve += ["--burst", String(burst)] }
            if server.floor { setup.serve = ["floor"] + server.floorArguments }
            let child = Child(setup.serve, name: "serve")
            guard let ready = child.expect("ready", timeout: 20, idle: ticker), let served = field("port", in: ready) else {
                child.stop()
                fatalError("fanout: casty-bench serve did not start")
            }
            casty = child
            (port, pid, path) = (UInt16(served), child.pid, setup.paths)
            if let sources = setup.sources {
                let sourcesChild = Child(sources + ["--port", String(port)], name: "sources")
                feeder = sourcesChild
                guard let ready = sourcesChild.expect("ready", timeout: 20, idle: ticker) else {
                    sourcesChild.stop()
                    child.stop()
                    fatalError("fanout: the sources did not start publishing")
                }
                Log.line("\(server.name) \(count): sources \(ready)")
            }
            pause(2.5 + setup.warm, idle: ticker)  // the first segments, so new listeners get a burst
        }
        defer {
            feeder?.send("quit")
            feeder?.stop()
            casty?.stop()
        }
        row.baseKiB = rssKiB(pid)
        let queueBefore = listenOverflows()

        // The listeners.
        let generators = (0..<loadgens).map { index in
            let share = count / loadgens + (index < count % loadgens ? 1 : 0)
            return Child(
                ["loadgen", "--port", String(port), "--path", path, "--count", String(share),
                 "--rate", String(rate / Double(loadgens)), "--first-source", String(2 + index * 120), "--sources", "120"],
                name: "loadgen \(index)")
        }
        defer { for generator in generators { generator.send("quit"); generator.stop() } }
        var heads: [Int] = [], headP99: [Int] = [], connects: [Int] = []
        for generator in generators {
            guard let ready = generator.expect("ready", timeout: Double(count) / rate + 60, idle: ticker) else {
                Log.line("\(server.name) \(count): a load generator did not finish its ramp; its listeners count in 'open' only")
                continue
            }
            Log.line("\(server.name) \(count): \(ready)")
            row.connected += field("connected", in: ready) ?? 0
            row.refused += field("failed", in: ready) ?? 0
            row.rampSeconds = max(row.rampSeconds, Double(textField("ramp_s", in: ready) ?? "") ?? 0)
            heads.append(field("header_p50_us", in: ready) ?? -1)
            headP99.append(field("header_p99_us", in: ready) ?? -1)
            connects.append(field("connect_p50_us", in: ready) ?? -1)
        }
        let queueAfter = listenOverflows()
        row.overflows = queueAfter.overflows - queueBefore.overflows
        row.drops = queueAfter.drops - queueBefore.drops
        row.headerP50 = heads.max() ?? -1
        row.headerP99 = headP99.max() ?? -1
        row.connectP50 = connects.max() ?? -1

        // The window.
        pause(settle, idle: ticker)
        for generator in generators { generator.send("mark") }
        for generator in generators { _ = generator.expect("marked", timeout: 10, idle: ticker) }
        let statusBefore = server.icecast || server.floor ? nil : httpGet(port: port, path: "/status.json")?.body
        let cpuBefore = cpuSplit(pid)
        let loadCPUBefore = generators.map { cpuSeconds($0.pid) }
        let start = now()
        pause(window, idle: ticker)
        let cpuAfter = cpuSplit(pid)
        let loadCPUAfter = generators.map { cpuSeconds($0.pid) }
        let elapsed = Double(now() - start) / 1e9
        row.rssKiB = rssKiB(pid)
        let statusAfter = server.icecast || server.floor ? nil : httpGet(port: port, path: "/status.json")?.body
        for generator in generators { generator.send("report") }
        var lagP50s: [Int] = [], lagP99s: [Int] = [], titleP50s: [Int] = []
        for generator in generators {
            guard let report = generator.expect("report", timeout: 20, idle: ticker) else { continue }
            Log.line("\(server.name) \(count): \(report)")
            row.open += field("open", in: report) ?? 0
            row.segments += field("segments", in: report) ?? 0
            row.gaps += field("gaps", in: report) ?? 0
            row.dropped += field("dropped", in: report) ?? 0
            lagP50s.append(field("lag_p50_ms", in: report) ?? -1)
            lagP99s.append(field("lag_p99_ms", in: report) ?? -1)
            row.lagMax = max(row.lagMax, field("lag_max_ms", in: report) ?? -1)
            titleP50s.append(field("title_lag_p50_ms", in: report) ?? -1)
            row.titleLagMax = max(row.titleLagMax, field("title_lag_max_ms", in: report) ?? -1)
        }
        row.lagP50 = lagP50s.max() ?? -1
        row.lagP99 = lagP99s.max() ?? -1
        row.titleLagP50 = titleP50s.max() ?? -1
        row.cpu = (cpuAfter.user + cpuAfter.system - cpuBefore.user - cpuBefore.system) / elapsed * 100
        row.cpuUser = (cpuAfter.user - cpuBefore.user) / elapsed * 100
        row.loadgenCPU = zip(loadCPUBefore, loadCPUAfter).map { $1 - $0 }.reduce(0, +) / elapsed * 100
        if let statusBefore, let statusAfter {
            // Summed over every mount of a station server (a relay has one).
            if let before = jsonIntegerSum("skipped", in: statusBefore), let after = jsonIntegerSum("skipped", in: statusAfter) {
                row.skipped = after - before
            }
            if let before = jsonIntegerSum("dropped", in: statusBefore), let after = jsonIntegerSum("dropped", in: statusAfter) {
                row.serverDropped = after - before
            }
        }
        return row
    }

    static func printTable(_ rows: [Row], header: Bool) {
        if header {
            print("| server | listeners | connected (open in window) | refused | ramp s | accept overflows | connect p50 ms | headers p50 / p99 ms "
                + "| CPU % of a core (user) | RSS MiB | RSS/listener KiB | skipped | dropped | gaps | lag p50 / p99 / max ms "
                + "| min title lag p50 / max ms | loadgen CPU % |")
            print("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
        }
        for row in rows {
            func ms(_ micros: Int) -> String { micros < 0 ? "-" : fixed(Double(micros) / 1000, 1) }
            func lag(_ value: Int) -> String { value < 0 ? "-" : String(value) }
            print("| \(row.server) | \(row.count) | \(row.connected) (\(row.open)) | \(row.refused) | \(fixed(row.rampSeconds, 1))"
                + " | \(row.overflows) (drops \(row.drops)) | \(ms(row.connectP50)) | \(ms(row.headerP50)) / \(ms(row.headerP99))"
                + " | \(fixed(row.cpu, 1)) (\(fixed(row.cpuUser, 1))) | \(fixed(Double(row.rssKiB) / 1024, 1)) | \(fixed(row.perListenerKiB, 2))"
                + " | \(row.skipped.map(String.init) ?? "n/a") | \(row.dropped) | \(row.server.hasPrefix("casty") ? String(row.gaps) : "n/a")"
                + " | \(lag(row.lagP50)) / \(lag(row.lagP99)) / \(lag(row.lagMax)) | \(lag(row.titleLagP50)) / \(lag(row.titleLagMax))"
                + " | \(fixed(row.loadgenCPU, 1)) |")
        }
    }
}
