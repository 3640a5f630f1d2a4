import Glibc

/// `casty-bench mounts`: a station server with many mounts, each with its own source and listeners — what
/// `casty-cli server` does for a host of stations — measured like `fanout` and next to it.
///
/// The server is `casty-bench serve --mounts M` (a ``StationServer`` with mounts `/m0` … `/m<M-1>`). Each mount
/// gets a source that publishes, as an encoder would (`casty-bench sources`: one `PUT` per mount with Basic
/// auth, 128 kbit/s of MP3 frames in real time, one write per frame; the mounts' clocks spread over half a
/// second) — or with `--built-in`, a built-in station attached as the mount's permanent source. Then the
/// same load generators as `fanout` connect, taking the mounts in turn, so each mount gets `--per-mount`
/// listeners, and the same window is measured: the server's CPU (which includes reading and cutting the
/// sources' audio), RSS per listener, skipped segments (summed over the mounts), gaps and lag. The RSS per
/// listener is counted from the server's RSS after `--warm` seconds of sources (17 s: the mounts' rings full).
///
/// Unless `--no-compare` (or `--smoke`), the same total of listeners on one mount (`fanout`'s set-up: one
/// built-in station, one distributor) is measured right after, so the two rows compare within one run.
enum Mounts {
    /// `casty-bench mounts --help`.
    static let usage = Usage(
        measures: """
            A station server (`casty-bench serve --mounts M`) with a PUT source per mount (`casty-bench sources`)
            or a built-in station each, and load generators spreading the listeners over the mounts; measured as
            fanout measures, then (unless --no-compare) the same listeners on one mount, in the same run.
            """,
        options: [
            ("--smoke", "2 mounts × 20 listeners, 3 s window, no comparison; exits 1 on a lost listener, skip or gap"),
            ("--mounts M", "mounts (20; smoke 2)"),
            ("--per-mount N", "listeners per mount (500; smoke 20)"),
            ("--window S", "seconds measured (20; smoke 3)"),
            ("--settle S", "seconds after the ramp before the window (4; smoke 2)"),
            ("--rate R", "connections per second, in all (5000)"),
            ("--loadgens N", "load generator processes (2; smoke 1)"),
            ("--warm S", "seconds of sources before the listeners' RSS is counted (17; smoke 0)"),
            ("--built-in", "a built-in station on every mount instead of PUT sources"),
            ("--format mp3|adts", "the sources' audio (mp3)"),
            ("--no-compare", "skip the one-mount row"),
        ])

    static func run(_ arguments: [String]) async throws {
        let smoke = arguments.contains("--smoke")
        let mounts = Int(option("--mounts", in: arguments) ?? (smoke ? "2" : "20")) ?? 20
        let perMount = Int(option("--per-mount", in: arguments) ?? (smoke ? "20" : "500")) ?? 500
        let window = Double(option("--window", in: arguments) ?? (smoke ? "3" : "20")) ?? 20
        let settle = Double(option("--settle", in: arguments) ?? (smoke ? "2" : "4")) ?? 4
        let rate = Double(option("--rate", in: arguments) ?? "5000") ?? 5000
        let loadgens = Int(option("--loadgens", in: arguments) ?? (smoke ? "1" : "2")) ?? 2
        let builtIn = arguments.contains("--built-in")
        let format = option("--format", in: arguments) ?? "mp3"
        let compare = !smoke && !arguments.contains("--no-compare")
        // Each mount's ring holds 32 segments (16 s) of ~25 KB (audio and its two wire forms): wait for the rings
        // to fill before the RSS the listeners' share is counted from.
        let warm = Double(option("--warm", in: arguments) ?? (smoke ? "0" : "17")) ?? 17
        let count = mounts * perMount
        let paths = (0..<mounts).map { "/m\($0)" }.joined(separator: ",")

        print("mounts: \(mounts) mounts × \(perMount) listeners = \(count), window \(fixed(window, 0)) s, settle \(fixed(settle, 0)) s,"
            + " \(loadgens) load generator(s), connect rate \(fixed(rate, 0))/s; sources: "
            + (builtIn ? "a built-in station per mount" : "\(mounts) × PUT \(format) at 128 kbit/s from casty-bench sources")
            + (compare ? "; then \(count) listeners on one mount (fanout's set-up)" : ""))
        var setup = Fanout.CastySetup(serve: ["serve", "--mounts", String(mounts)] + (builtIn ? ["--built-in"] : []), paths: paths, warm: warm)
        if !builtIn { setup.sources = ["sources", "--mounts", paths, "--format", format] }
        var rows = [
            Fanout.measure(
                server: Fanout.Server(name: "casty \(mounts) mounts", icecast: false), count: count, window: window,
                settle: settle, rate: rate, loadgens: loadgens, icecast: nil, casty: setup, ticker: {})
        ]
        Fanout.printTable(rows, header: true)
        if compare {
            rows.append(Fanout.measure(
                server: Fanout.Server(name: "casty 1 mount", icecast: false), count: count, window: window,
                settle: settle, rate: rate, loadgens: loadgens, icecast: nil, casty: Fanout.CastySetup(warm: warm), ticker: {}))
            Fanout.printTable(Array(rows.suffix(1)), header: false)
        }
        print("")
        Fanout.printTable(rows, header: true)
        print("")
        for row in rows {
            print("\(row.server): \(row.open) listeners, CPU \(fixed(row.cpu, 1)) % of a core"
                + " (\(fixed(row.cpu * 1e4 / Double(max(1, row.open)), 1)) µs per listener-second),"
                + " \(fixed(row.perListenerKiB, 2)) KiB RSS per listener (on \(fixed(Double(row.baseKiB) / 1024, 1)) MiB before them), skipped \(row.skipped.map(String.init) ?? "n/a"), gaps \(row.gaps)")
        }
        let bad = rows.filter { $0.open < $0.count || ($0.skipped ?? 0) > 0 || $0.gaps > 0 || $0.segments == 0 }
        if smoke, !bad.isEmpty {
            print("mounts: smoke failed")
            exit(1)
        }
    }
}
