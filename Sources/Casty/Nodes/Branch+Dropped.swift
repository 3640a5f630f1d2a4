internal import CastyNet
internal import CastyWire
internal import Icy

extension Branch {
    /// How long a parent that closed the link is given to answer its `/tree` (``judgeClose(by:)``): a second, as the
    /// root is given when a silence is checked with it. A killed parent's port refuses at once; a live one answers
    /// in a round trip — the link it dropped was drained before its close arrived.
    static let closeCheckTimeout: Duration = .seconds(1)

    /// The parent at `closed` (`host:port`) closed the link in order: it died — its process killed, its port closed —,
    /// or it dropped this branch, alive (the link behind past its patience: too slow for the stream). It is asked
    /// its `/tree`: one that does not answer within ``closeCheckTimeout`` is named lost to the tree (`X-Casty-Lost`),
    /// as a parent that went silent is; one that answers did nothing wrong — named lost, it would get no branch for
    /// a while, and a branch dropped again and again for its slow link would have every healthy parent of the tree
    /// suspected in turn, and the root serve it past its fanout. That branch asks the root again without blame. A
    /// parent that drops it again and again is told as a flapping link's losses are: the first few drops in a line
    /// each, then one line every ten seconds with how many there were (``UpstreamKeeper/flaps``).
    func judgeClose(by closed: String) async {
        let mount = context?.mount ?? root.path
        let answers = await Self.answers(closed, mount: mount, loop: loop)
        guard closedBy == closed else { return }  // placed again meanwhile
        guard answers else {
            lostParent = closed
            return
        }
        // Alive — or restarted at once (a supervisor's restart answers as fast): its log tells which.
        let line = "branch \(address): dropped by its parent \(closed): it closed the link and answers its /tree, alive or restarted"
            + " at once (a parent lets a branch go whose link is too slow for the stream: its log says why); asking the root again"
            + " without naming it lost"
        // A parent that drops the branch again and again: told as its link's losses are, the first few, then summed.
        if keeper.flaps <= Self.toldAttempts {
            logger(line)
        } else if let count = drops.occurred() {
            logger(line + "; \(count) time\(count == 1 ? "" : "s") since the last line, each link lasting under"
                + " \(Self.steadyLink.components.seconds) s (summed up every 10 s)")
        }
    }

    /// Whether the tree node at `authority` answers its `/tree` (for `mount`) within ``closeCheckTimeout``: any answer
    /// does — a branch of many mounts that no longer relays `mount` is alive too.
    private static func answers(_ authority: String, mount: String, loop: EventLoop) async -> Bool {
        guard let url = StreamURL("http://\(authority)/tree?mount=" + URLQuery.encode(mount)) else { return false }
        do {
            _ = try await Upstream.fetchText(url, loop: loop, timeout: closeCheckTimeout, limit: 4096)
            return true
        } catch .notAStream(_, .status(_, _)) {
            return true  // it answered, no
        } catch {
            return false
        }
    }
}
