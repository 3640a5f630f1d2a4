@testable import CastyNet
import Glibc
import Testing

extension ScriptLaneOne {
    /// The distribution tree across separate hosts (DESIGN.md, "Crossing machines: ICY over HTTP"): runs
    /// `scripts/tree/netns-test.sh`, which puts a root and seven branches of `casty-cli` in Linux network namespaces of
    /// their own (a private 10.213.0.0/24 on a bridge, inside those namespaces only), plays the leaves with mpg123 and
    /// `casty-cli dummy`, compares raw captures of every leaf, then kills an interior branch and takes another one's
    /// link down for 2 s. The script prints `PASS:`/`FAIL:`/`INFO:` lines and exits 0 only when every check passed;
    /// on failure it prints the logs of every node and listener, and this test shows the tail of its output.
    ///
    /// Network namespaces need root, `ip` (iproute2) and mpg123. Without them the test is skipped, unless the
    /// environment variable `CI` is set: there a missing prerequisite is a failure. The script runs the `casty-cli`
    /// that `swift test` built next to the test bundle (`CASTY_CLI`, unless already set).
    @Suite(.serialized)
    struct TreeNetnsTests {
        @Test(
            "A tree of 7 branches in network namespaces: balanced, same bytes at every leaf, repairs a kill and a link down",
            // Skipped without root, ip or mpg123, but never when CI is set: there it must run (and fails without them).
            .enabled(if: TreeNetns.shouldRun, "needs root, ip (iproute2) and mpg123 for network namespaces"),
            .timeLimit(.minutes(4))
        )
        func treeAcrossNamespaces() async {
            let missing = TreeNetns.missingPrerequisites
            guard missing.isEmpty else {
                Issue.record("CI is set but the tree test cannot run: \(missing.joined(separator: ", "))")
                return
            }
            await TreeNetns.run(script: "netns-test")
        }
    }
}

/// The tree script's prerequisites.
enum TreeNetns {
    /// Run when the prerequisites are there, and always when `CI` is set (a missing one then fails the test).
    static var shouldRun: Bool {
        ScriptRun.inCI || missingPrerequisites.isEmpty
    }

    /// What the script needs and this machine lacks: root (network namespaces), `ip`, `mpg123`, `curl`, `python3`.
    static var missingPrerequisites: [String] {
        var missing: [String] = []
        if geteuid() != 0 { missing.append("not running as root") }
        for tool in ["ip", "mpg123", "curl", "python3"] where !ScriptRun.onPath(tool) {
            missing.append("\(tool) not found")
        }
        return missing
    }

    /// Runs `bash scripts/tree/<script>.sh`; 200 s, then SIGTERM (its trap removes every namespace it made).
    static func run(script: String, sourceLocation: SourceLocation = #_sourceLocation) async {
        await ScriptRun(script: "scripts/tree/\(script).sh", arguments: [], deadline: .seconds(200), tailLines: 250)
            .run(sourceLocation: sourceLocation)
    }
}
