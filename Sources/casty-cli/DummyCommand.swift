import CastyNet
import CastyWire
import Casty
import Glibc
import Synchronization

/// `casty-cli dummy <url> --count N`: many network listeners, for load tests.
enum DummyCommand: Command {
    static let name = "dummy"
    static let summary = "connect N network listeners to a stream and report what they receive"
    static let options: Set<String> = ["count", "duration"]
    static let endsItselfWhenInterrupted = true
    static let usage = """
        usage: casty-cli dummy <url> [--count N] [--duration S]

        Connects N listeners to <url> over TCP, as media players would, and prints one status line per second:
        how many are connected, segments received, gaps in the numbering and lag behind the source. Against a
        Casty node the listeners ask for numbered metadata (X-Casty-Numbered: 1), so gaps and lag are exact;
        against another server they count segments only. --duration counts from the start, while listeners
        are still connecting. At the end (after --duration seconds, or Ctrl-C) a summary line goes to standard
        output. Exits non-zero when listeners could not connect or dropped (a listener whose socket would take
        one of the descriptors the process keeps for itself counts as one that could not connect).

        options:
          --count N       listeners (default 1)
          --duration S    seconds to run (default: until interrupted)
        """

    static func run(_ arguments: Arguments) async throws {
        let text = try arguments.single("the stream's URL")
        let url = try StreamURL.given(text)
        let count = try arguments.integer("count", default: 1, in: 1...1_000_000)
        let duration = try arguments.value("duration").map { _ in try arguments.integer("duration", default: 0, in: 1...86_400) }
        let dummies = (0..<count).map { _ in NetworkDummy(url: url) }
        let started = ContinuousClock.now
        // They connect while the clock runs and the status lines come.
        let connecting = Task {
            await withTaskGroup(of: Void.self) { group in
                for dummy in dummies { group.addTask { await dummy.start() } }
            }
        }
        Task {
            await connecting.value
            let first = await summary(dummies)
            if first.connected == 0, let error = first.errors.first {
                // The summary line a script reads goes out all the same.
                first.report(of: count)
                fail("dummy: no listener could connect: \(error.key)", code: 1)
            }
        }
        while !interrupted.load(ordering: .relaxed), duration.map({ ContinuousClock.now - started < .seconds($0) }) ?? true {
            try? await Task.sleep(for: .seconds(1))
            let line = await summary(dummies).line
            EventLog.standardError("dummy: \(line)")
        }
        connecting.cancel()
        let last = await summary(dummies)
        for dummy in dummies { await dummy.close() }
        last.report(of: count)
        if last.connected < count { exit(1) }
    }

    /// What all the dummies saw, added up.
    struct Summary {
        var connected = 0, segments = 0, gaps = 0, missing = 0
        var lags: [Int] = []
        var errors: [String: Int] = [:]

        var lagP50: Int? { lags.isEmpty ? nil : lags.sorted()[lags.count / 2] }
        var lagMax: Int? { lags.max() }

        /// Prints the summary line (`dummy summary: connected=3/4 …`, what scripts read) and a line per error to standard
        /// output, `count` listeners started.
        func report(of count: Int) {
            print("dummy summary: connected=\(connected)/\(count) segments=\(segments) gaps=\(gaps)"
                + " missing=\(missing) lag_p50_ms=\(lagP50.map(String.init) ?? "-") lag_max_ms=\(lagMax.map(String.init) ?? "-")")
            for (error, times) in errors.sorted(by: { $0.value > $1.value }) {
                print("dummy error (\(times)×): \(SafeText.logLine("\(error)"))")
            }
        }

        /// The status line of one second: `3 connected, 120 segments, 0 gaps (0 missing), lag p50 40 ms, max 90 ms`.
        var line: String {
            "\(connected) connected, \(segments) segments, \(gaps) gaps (\(missing) missing),"
                + " lag p50 \(lagP50.map { "\($0) ms" } ?? "-"), max \(lagMax.map { "\($0) ms" } ?? "-")"
                + errors.sorted(by: { $0.value > $1.value }).map { ", \($0.value) \(SafeText.logLine($0.key))" }.joined()
        }
    }

    static func summary(_ dummies: [NetworkDummy]) async -> Summary {
        var summary = Summary()
        for dummy in dummies {
            let report = await dummy.report
            if report.connected { summary.connected += 1 }
            summary.segments += report.segments
            summary.gaps += report.gaps
            summary.missing += report.missing
            // The lag of those still listening: one that was let go keeps its last figure, which is no longer true.
            if report.connected, let lag = report.lagMilliseconds { summary.lags.append(lag) }
            if let error = report.error { summary.errors[error, default: 0] += 1 }
        }
        return summary
    }
}
