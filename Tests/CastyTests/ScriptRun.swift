import CCastySystem
@testable import CastyNet
import Glibc
import Testing

/// Runs one of the repository's test scripts (`scripts/interop/…`, `scripts/tree/…`) with bash and expects it to
/// exit 0: the end-to-end tests against real peers are scripts, and these tests are how `swift test` runs them.
///
/// The script gets the `casty-cli` that `swift test` built next to the test bundle (`CASTY_CLI`, unless set), its
/// output goes to a temporary file, and its check lines (`PASS:`, `FAIL:`, `INFO:`, `MEASURE:`) are printed for
/// the log of every run. On failure the tail of its output — the evidence it prints — is recorded as the issue.
struct ScriptRun {
    /// The script, relative to the repository root, and its arguments.
    let script: String
    let arguments: [String]
    /// The script gets this long before it is sent SIGTERM (its trap then ends every process it started and
    /// removes what it made); 15 s later it gets SIGKILL. Keep it under the test's time limit.
    let deadline: Duration
    /// Lines of output shown when the script fails.
    var tailLines = 200

    /// Runs the script and records an issue unless it exits with status 0.
    func run(sourceLocation: SourceLocation = #_sourceLocation) async {
        let name = ([script] + arguments).joined(separator: " ")
        var template = Array("/tmp/casty-script.XXXXXX".utf8CString)
        let fd = mkstemp(&template)
        guard fd >= 0 else {
            Issue.record("mkstemp failed: \(String(cString: strerror(errno)))", sourceLocation: sourceLocation)
            return
        }
        close(fd)
        let outputPath = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        defer { unlink(outputPath) }

        let started = ContinuousClock.now
        let outcome = await spawnAndWait(
            ["bash", "\(Self.repositoryRoot)/\(script)"] + arguments, environment: Self.childEnvironment(), outputPath: outputPath)
        let seconds = (ContinuousClock.now - started).components.seconds
        let lines = Self.readFile(outputPath).split(separator: "\n", omittingEmptySubsequences: false)

        print("\(name): \(outcome), \(seconds) s")
        for line in lines where ["PASS:", "FAIL:", "INFO:", "MEASURE:"].contains(where: { line.hasPrefix($0) }) {
            print("  \(line)")
        }
        guard case .exited(0) = outcome else {
            let tail = lines.suffix(tailLines).joined(separator: "\n")
            print("----- last \(tailLines) lines of \(name) -----\n\(tail)")
            Issue.record("\(name) \(outcome) after \(seconds) s; last \(tailLines) lines of its output:\n\(tail)", sourceLocation: sourceLocation)
            return
        }
    }

    /// How the script ended.
    enum Outcome: CustomStringConvertible {
        case exited(Int32)
        case signalled(Int32)
        case timedOut(Duration)
        case spawnFailed(Int32)

        var description: String {
            switch self {
            case .exited(let status): "exited with status \(status)"
            case .signalled(let signal): "was killed by signal \(signal)"
            case .timedOut(let deadline): "ran past its deadline of \(deadline) and was stopped"
            case .spawnFailed(let error): "could not be started: \(String(cString: strerror(error)))"
            }
        }
    }

    /// Closes every descriptor past standard error in a child spawned with `actions`. The test process holds many
    /// (other tests' sockets, libsrt's, pipes): one a child keeps open outlives its owner's wish to close it — an exit
    /// test (`#expect(processExitsWith:)`) reads its child's back channel until every writer is gone, blocking one of
    /// the two threads of a 2-core machine's cooperative pool the whole while, and an ffmpeg or a script spawned
    /// meanwhile would be such a writer for as long as it runs (a full run's SRT test was starved past its waits).
    static func inheritNothingElse(_ actions: inout posix_spawn_file_actions_t) {
        _ = casty_spawn_close_from(&actions, 3)
    }

    /// posix_spawn `arguments` (looked up on the PATH), stdin from /dev/null, stdout and stderr into `outputPath`;
    /// polls for its end, and past the deadline (or when the test is cancelled) sends SIGTERM, then SIGKILL 15 s later.
    private func spawnAndWait(_ arguments: [String], environment: [String], outputPath: String) async -> Outcome {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        Self.inheritNothingElse(&actions)

        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.map { strdup($0) } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        // The child starts with no blocked signals and every signal at its default action: the test runner's
        // threads block or ignore some (SIGTERM, SIGPIPE, …), and exec would pass that on, leaving the peers
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

        let end = ContinuousClock.now + deadline
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
                    return .timedOut(deadline)
                }
            } else if now > end || Task.isCancelled {
                kill(pid, SIGTERM)
                terminatedAt = now
            }
            // Task.sleep throws only on cancellation, which the loop itself handles.
            try? await Task.sleep(for: .milliseconds(100))
        }
        if terminatedAt != nil { return .timedOut(deadline) }
        let signal = status & 0x7f
        return signal == 0 ? .exited((status >> 8) & 0xff) : .signalled(signal)
    }

    /// Is `tool` an executable file in one of the PATH's directories (or /usr/bin, /usr/sbin, /bin, /sbin)?
    static func onPath(_ tool: String) -> Bool {
        let path = getenv("PATH").map { String(cString: $0) } ?? ""
        let directories = path.split(separator: ":").map(String.init) + ["/usr/bin", "/usr/sbin", "/bin", "/sbin"]
        return directories.contains { access($0 + "/" + tool, X_OK) == 0 }
    }

    /// Whether the environment variable `CI` is set: there a missing prerequisite fails a test instead of skipping it.
    static var inCI: Bool { getenv("CI") != nil }

    /// The package root: three levels above this file (Tests/CastyTests/ScriptRun.swift).
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
        return exe.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/") + "/casty-cli"
    }

    /// This process's environment with `CASTY_CLI` set to the casty-cli next to the test bundle, unless the caller
    /// already set it (to try another build).
    static func childEnvironment() -> [String] {
        var result: [String] = []
        var index = 0
        while let entry = environ[index] {
            result.append(String(cString: entry))
            index += 1
        }
        if !result.contains(where: { $0.hasPrefix("CASTY_CLI=") }) { result.append("CASTY_CLI=\(castyCLI)") }
        return result
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
