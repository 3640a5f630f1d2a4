internal import CastyNet
internal import CastyWire

extension TreeLine {
    /// A tree node's `/tree` line (`?mount=` for `mount`'s tree), asked of `authority` (`host:port`); `nil` when it
    /// does not answer a tree node's line within `timeout` (hung, gone, unreachable, or no tree node). Its
    /// subtree sizes (``SubtreeSurvey``) and how long its stream has been quiet (a silent branch asking the root)
    /// are read from it.
    static func fetch(from authority: String, mount: String?, timeout: Duration, loop: EventLoop) async -> TreeLine? {
        let query = mount.map { "?mount=" + URLQuery.encode($0) } ?? ""
        guard let url = StreamURL("http://\(authority)/tree\(query)"),
              let text = try? await Upstream.fetchText(url, loop: loop, timeout: timeout, limit: 4096) else { return nil }
        let line = TreeLine(text)
        return line.isTreeNode ? line : nil
    }
}
