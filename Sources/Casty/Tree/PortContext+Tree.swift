extension PortContext {
    /// The distributor whose place in the tree `GET /tree` shows, and the mount it serves (`nil` on a port of
    /// one stream): with `mount` (`/tree?mount=/live`), that mount's — a station server's mount, or a mount a
    /// branch relays already (none is made for it); without, the port's one stream, a branch's root path
    /// relay (or, where the root has no stream at its root path, the first mount it relays that has a place:
    /// ``BranchMounts/shownInTree``), or a station server's first mount. A branch of a root that plays one stream at every path answers
    /// for any mount with that stream, as its root does.
    func treeDistributor(mount: String?) -> (distributor: Distributor, mount: String?)? {
        if let mount, !mount.isEmpty {
            if let tree {
                return (tree.existing(at: mount)?.distributor ?? tree.carrying(mount) ?? tree.playingEveryPath).map { ($0, mount) }
            }
            if let mounts { return mounts.mount(at: mount).map { ($0.distributor, mount) } }
            return single.map { ($0, nil) }
        }
        if let tree { return tree.shownInTree.map { ($0.distributor, $0.mount) } ?? single.map { ($0, tree.defaultMount) } }
        if let single { return (single, nil) }
        return mounts?.all.first.map { ($0.distributor, $0.path) }
    }
}
