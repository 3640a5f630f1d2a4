import Glibc
import Testing

/// End-to-end tests against real software nobody here wrote (DESIGN.md, "What counts as done"): each test
/// runs one script of `scripts/interop/` once per upstream — Icecast 2 fed by ffmpeg, and `casty-cli station` —
/// with `casty-cli proxy` in front and mpg123, ffmpeg, cvlc, streamripper and `casty-cli dummy` as listeners,
/// all on 127.0.0.1. The script prints `PASS:`/`FAIL:`/`MEASURE:` lines and exits 0 only when every check
/// passed; on failure it prints the logs of every peer, and this test shows the tail of its output.
///
/// The peers come from `scripts/install-peers.sh` (CI runs it before `swift test`). Without them (no `icecast2`
/// on the PATH) the tests are skipped, unless the environment variable `CI` is set: there a missing peer is a
/// failure. The scripts run the `casty-cli` that `swift test` built next to the test bundle (`CASTY_CLI`).
@Suite(.serialized)
struct InteropTests {
    @Test(
        "mpg123, ffmpeg, cvlc and streamripper play through casty-cli proxy; titles reach them",
        // Skipped without the peers (no icecast2 on the PATH), but never when CI is set: there it must run.
        .enabled(if: Interop.shouldRun, "peers not installed (no icecast2 on the PATH): run scripts/install-peers.sh"),
        .timeLimit(.minutes(3)),
        arguments: Interop.upstreams
    )
    func players(upstream: String) async {
        await Interop.run(script: "players", upstream: upstream)
    }

    @Test(
        "Listeners stay connected while the upstream dies and comes back, and audio resumes",
        // Skipped without the peers (no icecast2 on the PATH), but never when CI is set: there it must run.
        .enabled(if: Interop.shouldRun, "peers not installed (no icecast2 on the PATH): run scripts/install-peers.sh"),
        .timeLimit(.minutes(3)),
        arguments: Interop.upstreams
    )
    func outage(upstream: String) async {
        await Interop.run(script: "outage", upstream: upstream)
    }

    @Test(
        "A listener that stops reading does not delay the others",
        // Skipped without the peers (no icecast2 on the PATH), but never when CI is set: there it must run.
        .enabled(if: Interop.shouldRun, "peers not installed (no icecast2 on the PATH): run scripts/install-peers.sh"),
        .timeLimit(.minutes(3)),
        arguments: Interop.upstreams
    )
    func slowListener(upstream: String) async {
        await Interop.run(script: "slow-listener", upstream: upstream)
    }
}

/// Runs the interop scripts: finds them, spawns bash with posix_spawn, waits with a deadline, reports.
enum Interop {
    static let upstreams = ["icecast", "station"]

    /// A script gets this long before it is sent SIGTERM (its trap then ends every peer it started), which
    /// stays under the tests' time limit of 3 minutes; 15 s later it gets SIGKILL.
    static let deadline: Duration = .seconds(160)

    /// Lines of output shown when a script fails (its evidence: the logs of casty-cli and of the peers).
    static let tailLines = 200

    /// Run when the peers are installed, and always when `CI` is set (a missing peer then fails the test).
    static var shouldRun: Bool {
        getenv("CI") != nil || peersInstalled
    }

    /// Is `icecast2` an executable file in one of the PATH's directories (where the scripts look for it)?
    static var peersInstalled: Bool {
        let path = getenv("PATH").map { String(cString: $0) } ?? ""
        return path.split(separator: ":").contains { access("\($0)/icecast2", X_OK) == 0 }
    }

    /// The package root: three levels above this file (Tests/CastyTests/InteropTests.swift).
    static var repositoryRoot: String {
        var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(3)
        return parts.joined(separator: "/")
    }

    /// `casty-cli` next to the running test bundle (`swift test` builds every product into that directory).
    static var castyCLI: String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard count > 0 else { return "casty-cli" }
        let exe = String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let directory = exe.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
        return directory + "/casty-cli"
    }

    /// Runs `bash scripts/interop/<script>.sh <upstream>` and expects exit status 0.
    static func run(script: String, upstream: String, sourceLocation: SourceLocation = #_sourceLocation) async {
        let root = repositoryRoot
        let scriptPath = "\(root)/scripts/interop/\(script).sh"
        var template = Array("/tmp/casty-interop-\(script)-\(upstream).XXXXXX".utf8CString)
        let fd = mkstemp(&template)
        guard fd >= 0 else {
            Issue.record("mkstemp failed: \(String(cString: strerror(errno)))", sourceLocation: sourceLocation)
            return
        }
        close(fd)
        let outputPath = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        defer { unlink(outputPath) }

        let environment = childEnvironment(root: root)
        let started = ContinuousClock.now
        let outcome = await spawnAndWait(
            arguments: ["bash", scriptPath, upstream], environment: environment, outputPath: outputPath)
        let seconds = (ContinuousClock.now - started).components.seconds
        let output = readFile(outputPath)
        let lines = output.split(separator: "\n", omittingEmptySubsequences: false)

        // Every check, figure and verdict (with the time into the script), for the log of every run.
        let report = lines.filter { line in ["PASS:", "FAIL:", "INFO:", "MEASURE:"].contains { line.hasPrefix($0) } }
        print("interop \(script).sh \(upstream): \(outcome), \(seconds) s")
        for line in report { print("  \(line)") }

        let passed: Bool
        switch outcome {
        case .exited(let status): passed = status == 0
        default: passed = false
        }
        if !passed {
            let tail = lines.suffix(tailLines).joined(separator: "\n")
            print("----- last \(tailLines) lines of \(script).sh \(upstream) -----\n\(tail)")
            Issue.record(
                "\(script).sh \(upstream) \(outcome) after \(seconds) s; last \(tailLines) lines of its output:\n\(tail)",
                sourceLocation: sourceLocation)
        }
    }

    enum Outcome: CustomStringConvertible {
        case exited(Int32)
        case signalled(Int32)
        case timedOut
        case spawnFailed(Int32)

        var description: String {
            switch self {
            case .exited(let status): "exited with status \(status)"
            case .signalled(let signal): "was killed by signal \(signal)"
            case .timedOut: "ran past its deadline of \(Interop.deadline) and was stopped"
            case .spawnFailed(let error): "could not be started: \(String(cString: strerror(error)))"
            }
        }
    }

    /// This process's environment with `CASTY_CLI` set to the casty-cli next to the test bundle, unless the
    /// caller already set it (to try another build).
    static func childEnvironment(root: String) -> [String] {
        var result: [String] = []
        var index = 0
        while let entry = environ[index] {
            result.append(String(cString: entry))
            index += 1
        }
        if !result.contains(where: { $0.hasPrefix("CASTY_CLI=") }) {
            result.append("CASTY_CLI=\(castyCLI)")
        }
        return result
    }

    /// posix_spawn `arguments` (looked up on the PATH; the script finds its own directory), stdin from /dev/null, stdout and stderr
    /// into `outputPath`; polls for its end, and past `deadline` (or when the test is cancelled) sends SIGTERM,
    /// then SIGKILL 15 s later.
    static func spawnAndWait(
        arguments: [String], environment: [String], outputPath: String
    ) async -> Outcome {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)

        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.map { strdup($0) } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        // The child starts with no blocked signals and every signal at its default action: the test runner's
        // threads block or ignore some (SIGTERM, SIGPIPE, ...), and exec would pass that on, leaving the peers
        // deaf to the SIGTERM that ends them (each stop would then wait for SIGKILL).
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        var allSignals = sigset_t()
        sigfillset(&allSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        posix_spawnattr_setsigdefault(&attributes, &allSignals)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        var pid: pid_t = 0
        let error = posix_spawnp(&pid, arguments[0], &actions, &attributes, argv, envp)
        guard error == 0 else { return .spawnFailed(error) }

        let deadline = ContinuousClock.now + Interop.deadline
        var terminatedAt: ContinuousClock.Instant?
        var status: Int32 = 0
        while true {
            let result = waitpid(pid, &status, WNOHANG)
            if result == pid { break }
            if result < 0 && errno != EINTR { return .spawnFailed(errno) }
            let now = ContinuousClock.now
            if let terminatedAt {
                if now - terminatedAt > .seconds(15) {
                    kill(pid, SIGKILL)
                    _ = waitpid(pid, &status, 0)
                    return .timedOut
                }
            } else if now > deadline || Task.isCancelled {
                kill(pid, SIGTERM)   // the script's trap ends every peer it started
                terminatedAt = now
            }
            // Task.sleep throws only on cancellation, which the loop itself handles.
            try? await Task.sleep(for: .milliseconds(100))
        }
        if terminatedAt != nil { return .timedOut }
        let signal = status & 0x7f
        return signal == 0 ? .exited((status >> 8) & 0xff) : .signalled(signal)
    }

    /// The whole file as text (invalid UTF-8 repaired); empty when it cannot be read.
    static func readFile(_ path: String) -> String {
        guard let file = fopen(path, "rb") else { return "" }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = fread(&chunk, 1, chunk.count, file)
            if count <= 0 { break }
            bytes += chunk[0..<count]
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
