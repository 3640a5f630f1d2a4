import CastyNet
import Casty
import Glibc
import Icy

/// `casty-bench dummies`: N in-process ``Dummy`` actors on one ``Distributor``, fed one 8192-byte segment
/// every 500 ms (128 kbit/s) — the Erlang textbook's load test, in Swift.
///
/// Each N runs in a child process of its own (`casty-bench dummies --one N`), so its memory and CPU time are
/// its own. The child makes a loop, a distributor and N dummies — each its own actor, an isolation domain
/// that receives numbered messages in order — and one probe node that subscribes last, so the time the probe
/// gets segment k is the time segment k reached the last dummy. Then a timer on the loop hands the
/// distributor a segment every 500 ms, on a schedule that does not drift; for each segment it notes how late
/// the timer fired (the loop was still busy with the previous fan-out) and how long the fan-out took.
///
/// It reports: time to spawn (make the actors and subscribe them), bytes per dummy (RSS growth ÷ N, counting
/// the distributor's tables and the benchmark's own array of the dummies), fan-out time p50/max, lateness
/// max, CPU % of one core over the feeding, CPU per delivered message, and the gaps the dummies counted.
/// The machine "chokes" when a fan-out takes longer than the 500 ms a segment lasts, or a gap appears.
enum Dummies {
    /// `casty-bench dummies --help`.
    static let usage = Usage(
        measures: """
            N in-process dummy actors on one distributor, fed an 8192-byte segment every 500 ms, each N in a
            fresh child process: spawn time, bytes per dummy, fan-out p50/max, timer lateness, CPU, gaps. Stops
            at the first N that does not keep up.
            """,
        options: [
            ("--smoke", "10,000 dummies, 3 segments; exits 1 unless they keep up"),
            ("--counts N,N,…", "dummy counts (10000,100000,1000000,2000000,4000000)"),
            ("--segments N", "segments fed per N (20; smoke 3)"),
            ("--loops N", "spread the dummies over N loops besides the distributor's (0: all on its loop; default 0)"),
            ("--one N", "(internal) run one N in this process and print its result line"),
        ])

    static func run(_ arguments: [String]) async throws {
        let loops = option("--loops", in: arguments) ?? "0"
        if let one = option("--one", in: arguments).flatMap({ Int($0) }) {
            try await child(count: one, segments: Int(option("--segments", in: arguments) ?? "20") ?? 20, loops: Int(loops) ?? 0)
            return
        }
        let smoke = arguments.contains("--smoke")
        let counts = (option("--counts", in: arguments) ?? (smoke ? "10000" : "10000,100000,1000000,2000000,4000000"))
            .split(separator: ",").compactMap { Int($0) }
        let segments = option("--segments", in: arguments) ?? (smoke ? "3" : "20")
        print("dummies: \(segments) segments of 8192 bytes, one every 500 ms, per N; each N in a fresh process"
            + (loops == "0" ? "" : "; dummies spread over \(loops) loops besides the distributor's"))
        print("| dummies | spawn s | bytes/dummy | fan-out p50 ms | fan-out max ms | timer late max ms | CPU % of a core | CPU µs/message | received | gaps | keeps up |")
        print("|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|:-:|")
        var failed = false
        for count in counts {
            let child = Child(["dummies", "--one", String(count), "--segments", segments, "--loops", loops], name: "dummies \(count)")
            let timeout = 120 + Double(count) / 10_000 + (Double(segments) ?? 20) * 2
            guard let line = child.expect("result", timeout: timeout) else {
                child.stop()
                print("| \(count) | did not finish within \(Int(timeout)) s | | | | | | | | | no |")
                failed = true
                break
            }
            child.stop()
            let keepsUp = line.contains("keeps_up=yes")
            print("| \(count) | \(textField("spawn_s", in: line) ?? "-") | \(field("bytes_per_dummy", in: line) ?? -1)"
                + " | \(textField("fanout_p50_ms", in: line) ?? "-") | \(textField("fanout_max_ms", in: line) ?? "-")"
                + " | \(textField("late_max_ms", in: line) ?? "-") | \(textField("cpu_percent", in: line) ?? "-")"
                + " | \(textField("cpu_us_per_message", in: line) ?? "-") | \(textField("received", in: line) ?? "-")"
                + " | \(field("gaps", in: line) ?? -1) | \(keepsUp ? "yes" : "**no**") |")
            if !keepsUp {
                failed = true
                break  // "further while it holds"
            }
        }
        if smoke, failed { exit(1) }
    }

    /// One N, in this process: prints `result key=value …`. With `loops` > 0 the dummies live on that many
    /// loops besides the distributor's, and a probe on each loop notes when its batch reached its last dummy.
    static func child(count: Int, segments: Int, loops: Int = 0) async throws {
        let group = EventLoopGroup(count: 1 + loops, first: EventLoop(name: "dummies"))
        let loop = group.loops[0]
        let homes = loops > 0 ? Array(group.loops.dropFirst()) : [loop]
        let distributor = Distributor(loop: loop)
        let context = Context(station: ["icy-name": "casty-bench dummies"], segmentBytes: 8192, bitrate: 128)
        distributor.send(.reply(next: 0, context: context))
        let probes = homes.map { Probe(loop: $0) }
        let before = rssKiB(getpid())

        let spawnStart = now()
        let dummies = await loop.submit { () -> [Dummy] in
            var dummies: [Dummy] = []
            dummies.reserveCapacity(count)
            for id in 0..<count {
                let dummy = Dummy(id: id, loop: homes[id % homes.count])
                dummy.attach(to: distributor)
                dummies.append(dummy)
            }
            for probe in probes { distributor.send(.request(from: probe, resume: nil)) }
            return dummies
        }
        // The replies to dummies on other loops are still queued there: let each loop handle its queue, so that
        // the memory counted is what the dummies keep, not messages on their way.
        for home in homes where home !== loop { await home.submit {} }
        let spawnSeconds = Double(now() - spawnStart) / 1e9
        let after = rssKiB(getpid())

        let feeder = Feeder(loop: loop, distributor: distributor, segments: segments)
        let cpuStart = processCPUSeconds()
        let wallStart = now()
        let lateness = await feeder.run()
        let wall = Double(now() - wallStart) / 1e9
        let cpu = processCPUSeconds() - cpuStart

        // The batches on other loops may still be going out when the last tick returns: wait (a few seconds at
        // most) until every probe has every segment.
        for _ in 0..<100 {
            var complete = true
            for probe in probes where await probe.loop.submit({ probe.arrivals.count }) < segments { complete = false }
            if complete { break }
            try? await Task.sleep(for: .milliseconds(50))
        }
        // Each segment reached its last dummy when the last probe got it (each probe is last on its loop).
        var arrivals: [UInt64] = []
        for probe in probes {
            let times = await probe.loop.submit { probe.arrivals }
            arrivals = arrivals.isEmpty ? times : zip(arrivals, times).map { Swift.max($0, $1) }
        }
        let fanouts = zip(feeder.sentTimes, arrivals).map { Double($1 - $0) / 1e6 }.sorted()
        var received = 0, gaps = 0, missing = 0
        for (index, home) in homes.enumerated() {
            // Each loop sums its own dummies, with no hop per dummy.
            let mine = stride(from: index, to: dummies.count, by: homes.count).map { dummies[$0] }
            let (got, counted, lost) = await home.submit {
                var got = 0, counted = 0, lost = 0
                for dummy in mine {
                    dummy.assumeIsolated {
                        got += $0.received
                        counted += $0.gaps
                        lost += $0.missing
                    }
                }
                return (got, counted, lost)
            }
            received += got
            gaps += counted
            missing += lost
        }
        let messages = Double(count) * Double(segments)
        let p50 = fanouts.isEmpty ? .nan : fanouts[fanouts.count / 2]
        let max = fanouts.last ?? .nan
        let lateMax = lateness.max() ?? .nan
        let keepsUp = gaps == 0 && received == count * segments && max < 500 && lateMax < 500
        say("result count=\(count) spawn_s=\(fixed(spawnSeconds, 2)) bytes_per_dummy=\((after - before) * 1024 / Swift.max(1, count))"
            + " fanout_p50_ms=\(fixed(p50, 1)) fanout_max_ms=\(fixed(max, 1)) late_max_ms=\(fixed(lateMax, 1))"
            + " cpu_percent=\(fixed(cpu / wall * 100, 1)) cpu_us_per_message=\(fixed(cpu / messages * 1e6, 3))"
            + " received=\(received)/\(count * segments) gaps=\(gaps) missing=\(missing) keeps_up=\(keepsUp ? "yes" : "no")")
        _ = dummies.count
    }
}

/// A node that subscribes after every dummy, so it is handed each segment last (on its loop); it notes when.
private final class Probe: LoopBound, @unchecked Sendable {
    // @unchecked Sendable: `arrivals` is touched only on its loop's thread (where `send` is called).
    let loop: EventLoop
    var arrivals: [UInt64] = []

    init(loop: EventLoop) {
        self.loop = loop
    }

    func send(_ message: Message) {
        if case .data = message { arrivals.append(now()) }
    }

    func stop() {}
}

/// Hands the distributor one segment every 500 ms on the loop, on a schedule that does not drift.
private final class Feeder: @unchecked Sendable {
    // @unchecked Sendable: the mutable state is touched only on the loop thread, or after `run` returned.
    let loop: EventLoop
    let distributor: Distributor
    let segments: Int
    let audio = [UInt8](repeating: 0x55, count: 8192)
    var sentTimes: [UInt64] = []
    var lateness: [Double] = []
    var start: UInt64 = 0
    var next = 0
    var done: CheckedContinuation<[Double], Never>?

    init(loop: EventLoop, distributor: Distributor, segments: Int) {
        self.loop = loop
        self.distributor = distributor
        self.segments = segments
    }

    /// Feeds every segment; returns how late (ms) each timer fired.
    func run() async -> [Double] {
        await withCheckedContinuation { continuation in
            loop.execute { [self] in
                done = continuation
                start = now() + 100_000_000
                schedule()
            }
        }
    }

    private func schedule() {
        let due = start + UInt64(next) * 500_000_000
        let wait = due > now() ? due - now() : 0
        loop.schedule(after: .nanoseconds(Int64(wait))) { [self] in tick(due: due) }
    }

    private func tick(due: UInt64) {
        let segment = StreamSegment(
            number: next, time: wallClockMilliseconds(), audio: audio, title: nil, titleVersion: 0, titleChanged: false)
        let sent = now()
        lateness.append(Double(sent > due ? sent - due : 0) / 1e6)
        sentTimes.append(sent)
        distributor.send(.data(next, segment))  // on the loop: the whole fan-out happens in this call
        next += 1
        if next < segments {
            schedule()
        } else {
            // Let the last fan-out's stragglers (if any were queued) run, then finish.
            loop.execute { [self] in done?.resume(returning: lateness) }
        }
    }
}

/// CPU seconds (user + system) of this process so far.
func processCPUSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
        + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
}

