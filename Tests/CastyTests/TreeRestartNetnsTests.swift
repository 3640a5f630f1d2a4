import Testing

extension ScriptLaneOne {
    /// A closed tree whose root restarts, across network namespaces: runs `scripts/tree/root-restart.sh` (a root and
    /// four branches with a tree key; strangers get 403; the root is killed and started again, numbering from 0 under
    /// a new stream, and every leaf must play the new stream within two segment durations, with one gap counted and
    /// every player still connected). Same prerequisites as ``TreeNetnsTests``.
    @Suite(.serialized)
    struct TreeRestartNetnsTests {
        @Test(
            "A closed tree in network namespaces: strangers refused, a root restart reaches the leaves within 2 segments",
            .enabled(if: TreeNetns.shouldRun, "needs root, ip (iproute2) and mpg123 for network namespaces"),
            .timeLimit(.minutes(4))
        )
        func rootRestartAcrossNamespaces() async {
            let missing = TreeNetns.missingPrerequisites
            guard missing.isEmpty else {
                Issue.record("CI is set but the tree test cannot run: \(missing.joined(separator: ", "))")
                return
            }
            await TreeNetns.run(script: "root-restart")
        }
    }
}
