internal import CastyNet

extension StationServer {
    /// One line for the log, every `--status-every` seconds: how many mounts play a stream of their own (a source,
    /// the built-in station, a relay whose upstream streams), the
    /// listeners — in all, and on each mount that has some (the first 20 of them, then how many more) —, the bytes in and out, and the segments skipped for
    /// slow listeners and the listeners dropped, since the server started (forgotten mounts' included: the totals
    /// never go down). Asked on the mounts' loop.
    public func statusLine() async -> String {
        let table = table
        return await table.loop.submit {
            var live = 0, listeners = 0
            var totals = table.forgottenTotals
            var busy: [String] = []
            for mount in table.all {
                let stat = mount.distributor.assumeIsolated { $0.stat() }
                if table.feeds(mount) { live += 1 }
                listeners += stat.listeners
                totals.add(stat)
                if stat.listeners > 0 { busy.append("\(mount.path) \(stat.listeners)") }
            }
            return "status: \(live) of \(counted(table.all.count, "mount")) live, \(counted(listeners, "listener"))"
                + (busy.isEmpty ? "" : " (\(listed(busy)))")
                + ", \(megabytes(totals.bytesIn)) in, \(megabytes(totals.bytesOut)) out, \(totals.skipped) skipped, \(totals.dropped) dropped"
        }
    }
}
