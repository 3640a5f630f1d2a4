extension PortContext {
    /// The distributor whose place in the tree `GET /tree` shows: with `mount` (`/tree?mount=/live`), that
    /// mount's — a station server's mount, or a mount a branch relays already (none is made for it); without,
    /// the port's one stream, its root path's relay, or a station server's first mount.
    func treeDistributor(mount: String?) -> Distributor? {
        guard let mount, !mount.isEmpty else { return single ?? mounts?.all.first?.distributor }
        if let tree { return tree.existing(at: mount)?.distributor }
        if let mounts { return mounts.mount(at: mount)?.distributor }
        return single
    }
}
