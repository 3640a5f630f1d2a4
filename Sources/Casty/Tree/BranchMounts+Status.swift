internal import CastyNet

extension BranchMounts {
    /// The status lines a branch logs every few seconds for the mounts it relays, but the root path's (whose line is
    /// the port's own): `status /live: 1 listener, 1 branch, 34 segments, 0 gaps, depth 1, upstream streaming`. A
    /// mount's line that says what its last one logged said is left out, as the port's own line is (``RepeatedLine``,
    /// one for each mount): a branch whose root's sources stopped does not write the same lines every 10 s.
    public struct StatusLines {
        private let heartbeat: Duration
        /// Each mount's last line logged, and when.
        private var repeated: [String: RepeatedLine] = [:]

        /// Lines logged every `interval`: the same line again only after ``RepeatedLine/statusHeartbeat(every:)``.
        public init(every interval: Duration) {
            heartbeat = RepeatedLine.statusHeartbeat(every: interval)
        }

        /// The lines to log now for `mounts`' relays, in the order they were made: those that differ from their mount's
        /// last one logged, and those not logged for a heartbeat.
        public mutating func next(of mounts: BranchMounts, at now: ContinuousClock.Instant = .now) async -> [String] {
            let relays = await mounts.relays().filter { $0.mount != mounts.defaultMount }
            // A mount dropped and made again later starts afresh.
            repeated = repeated.filter { entry in relays.contains { $0.mount == entry.key } }
            var lines: [String] = []
            for relay in relays {
                let stat = await relay.distributor.stat()
                let upstream = await relay.branch.status
                let line = "status \(relay.mount): \(counted(stat.listeners, "listener")), \(counted(stat.branches, "branch", plural: "branches")),"
                    + " \(counted(stat.segments, "segment")), \(counted(stat.gaps, "gap")), depth \(stat.path.count), upstream \(upstream)"
                if repeated[relay.mount, default: RepeatedLine(heartbeat: heartbeat)].shouldLog(line, at: now) { lines.append(line) }
            }
            return lines
        }
    }
}
