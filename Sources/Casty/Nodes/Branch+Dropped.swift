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
            lostBecause = "it closed the link and does not answer its /tree"
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

extension Branch {
    /// Whether the link just lost had been too slow for the stream — the branch told it so (``RealTimeWatch``), or
    /// the link fell behind the root by more than ``LinkLag/bound(segmentDuration:)`` before it went silent: what
    /// it says of it, else `nil`. A silence or a failure that follows is the link's, not
    /// a fault of the parent: named lost, a healthy parent would get no branch for a while, and a branch whose own
    /// link is too slow would have every healthy parent of the tree suspected in turn, and the root serve it past its
    /// fanout — as for a parent that drops the branch (``judgeClose(by:)``).
    var linkTrickled: String? {
        if realTime.isBehind { return "its audio came slower than it plays, as told" }
        let bound = LinkLag.bound(segmentDuration: context?.segmentDuration ?? .milliseconds(500))
        guard linkLag.growth > bound else { return nil }
        return "bringing the stream slower than it plays (\(formatted(seconds(linkLag.growth))) s further behind the root than at its best)"
    }

    /// Says, once per parent named, that the branch names `lost` lost to the tree (`X-Casty-Lost`) and why: the
    /// root's line about it (`branch … lost its parent …`) is on another machine, and it sends no branch there for
    /// 10 s — the engineer reading it should find here whether the parent was at fault.
    func tellNamedLost(_ lost: String) {
        guard !lostTold else { return }
        lostTold = true
        logger("branch \(address): names its parent \(lost) lost to the root (\(lostBecause)): the node above that parent sends"
            + " no branch there for 10 s")
    }
}
