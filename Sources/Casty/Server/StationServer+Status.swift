internal import CastyNet

extension StationServer {
    /// One line for the log, every `--status-every` seconds: how many mounts play a source or a relay, the
    /// listeners — in all, and on each mount that has some —, the bytes in and out, and the segments skipped for
    /// slow listeners and the listeners dropped. Asked on the mounts' loop.
    public func statusLine() async -> String {
        let table = table
        return await table.loop.submit {
            var live = 0
            var listeners = 0, bytesIn = 0, bytesOut = 0, skipped = 0, dropped = 0
            var busy: [String] = []
            for mount in table.all {
                let stat = mount.distributor.assumeIsolated { $0.stat() }
                if mount.source != nil || mount.permanent != nil { live += 1 }
                listeners += stat.listeners
                bytesIn += stat.bytesIn
                bytesOut += stat.bytesOut
                skipped += stat.skipped
                dropped += stat.dropped
                if stat.listeners > 0 { busy.append("\(mount.path) \(stat.listeners)") }
            }
            return "status: \(live) of \(table.all.count) mounts live, \(listeners) listeners"
                + (busy.isEmpty ? "" : " (\(busy.joined(separator: ", ")))")
                + ", \(megabytes(bytesIn)) in, \(megabytes(bytesOut)) out, \(skipped) skipped, \(dropped) dropped"
        }
    }
}
