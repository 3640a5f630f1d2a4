import Testing

extension ScriptLaneOne {
    /// A branch of an AAC mount whose source goes silent, across network namespaces: runs
    /// `scripts/tree/quiet-aac.sh` (ffmpeg's AAC encoder spends ~4.5 kbit/s on silence, so relay segments come 15 s
    /// apart; the branch must keep its link while the root's host answers keepalive probes, and still give it up
    /// within 5 s once the root's link goes down). Same prerequisites as ``TreeNetnsTests``, and ffmpeg.
    @Suite(.serialized)
    struct TreeQuietNetnsTests {
        @Test(
            "A branch keeps its link through an AAC source's silence, and still leaves a path that is gone",
            .enabled(if: TreeNetns.shouldRun, "needs root, ip (iproute2) and mpg123 for network namespaces"),
            .timeLimit(.minutes(4))
        )
        func quietAACAcrossNamespaces() async {
            let missing = TreeNetns.missingPrerequisites + (ScriptRun.onPath("ffmpeg") ? [] : ["ffmpeg not found"])
            guard missing.isEmpty else {
                Issue.record("CI is set but the tree test cannot run: \(missing.joined(separator: ", "))")
                return
            }
            await TreeNetns.run(script: "quiet-aac")
        }
    }
}
