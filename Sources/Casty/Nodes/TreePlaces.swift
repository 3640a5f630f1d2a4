/// Where a tree node puts the branches that ask it for the stream: the balancing rule of the tree, as a pure
/// value that tests can drive without sockets.
///
/// A node serves at most `fanout` branches itself. Every further branch is redirected to the child whose
/// subtree is smallest (the first one on a tie), and that child counts it — the node sees every branch that goes
/// down through it, so it knows its children's subtrees without asking them. It counts branches by address: a
/// branch that restarts and is sent down again counts once, and one that comes back to this node (it lost its
/// parent below, or restarted) is taken off the child it was sent to before. A branch that is
/// the node itself or one of its ancestors is refused: taking it would close a loop with no source in it.
///
/// A child also tells its subtree's size when asked (its `/tree`, every ``Distributor/Configuration/subtreeRefresh``,
/// ``report(_:subtree:asked:)``): from then on that is its size, plus the branches sent down since the question —
/// so a branch that dies below a child, which no node above it hears of, stops counting there within one survey,
/// and new branches are not sent deeper than a balanced tree would. A branch sent down while the question was on
/// its way keeps counting: the answer may have been given before it arrived (counted twice until the next survey
/// at worst, which sends the next branch to the other child — never once too few, which would send it below a
/// full child, a level deeper).
///
/// A branch that lost its parent says so when it asks again (`X-Casty-Lost: <parent>`): a node that has that
/// parent as a child *suspects* it for a while and sends no branch there, so the branches cut off with a parent
/// whose link is down find a place in another subtree at once instead of being sent back to the parent they cannot
/// reach. When every child is suspected (both branches of the root hung at once), the node serves the branch itself,
/// past its fanout — a place that is freed when that branch leaves, as any other, or once a child within the fanout is
/// trusted again and answers (``pastFanout(now:)``: the node then has that branch ask again, to be placed below); the
/// next branches go below again as soon as one place there is trusted (the branch just taken is one).
public struct TreePlaces: Sendable, Equatable {
    /// One branch this node serves.
    public struct Child: Sendable, Equatable {
        /// Where the child serves its own branches (`host:port`).
        public let address: String
        /// The branches this node sent down to it since it was last asked its subtree's size, by address, with
        /// when: one sent again (a branch restarting) counts once, and one placed elsewhere since (it repaired away,
        /// came back to this node) no longer counts here.
        public var below: [String: ContinuousClock.Instant] = [:]
        /// The size of its subtree, itself included, as it last told it (``TreePlaces/report(_:subtree:)``).
        public var told: Int?
        /// When it took its place here, if known.
        public var since: ContinuousClock.Instant?
        /// When a branch last reported it lost (``TreePlaces/suspect(_:until:now:)``), if one did.
        public var reported: ContinuousClock.Instant?
        /// When it was last asked its subtree's size and answered (``TreePlaces/report(_:subtree:asked:)``): alive then.
        public var answered: ContinuousClock.Instant?
        /// How many branches are in its subtree, itself included, as far as this node knows.
        public var subtree: Int { (told ?? 1) + below.count }
    }

    /// What to do with a branch's request.
    public enum Decision: Sendable, Equatable {
        /// Serve it here.
        case serve
        /// Send it to this URL (`http://host:port/`), a child's.
        case redirect(String)
        /// Turn it down, for the reason given.
        case refuse(String)
    }

    /// This node's own address (`host:port`).
    public let address: String
    /// The most branches it serves itself — but for those it takes while every place below is suspected.
    public let fanout: Int
    /// For a branch: the root it asks for its place (`host:port` of its `--root`), which it never serves — two
    /// branches given each other as root would otherwise each wait for the other's stream, for ever.
    public var root: String?
    /// The branches it serves, in the order they came.
    public private(set) var children: [Child] = []
    /// Children reported lost by a branch, and until when no branch is sent to them.
    public private(set) var suspected: [String: ContinuousClock.Instant] = [:]

    /// The places of a node at `address` with room for `fanout` branches.
    public init(address: String, fanout: Int = 2) {
        self.address = address
        self.fanout = max(1, fanout)
    }

    /// Decides where the branch at `branch` goes; `path` is the nodes above this one (its ancestors).
    public mutating func place(_ branch: String, path: [String], now: ContinuousClock.Instant = .now) -> Decision {
        if isLoop(branch) || path.contains(branch) { return .refuse(loop(branch)) }
        // Wherever it goes now, it is no longer where it was sent before.
        for index in children.indices { children[index].below[branch] = nil }
        if children.contains(where: { $0.address == branch }) {
            suspected[branch] = nil  // it is back
            return .serve  // a child that re-attaches before its old link was noticed gone
        }
        if children.count < fanout {
            children.append(Child(address: branch, since: now))
            return .serve
        }
        let trusted = children.indices.filter { suspected[children[$0].address].map { $0 <= now } ?? true }
        guard let smallest = trusted.min(by: { children[$0].subtree < children[$1].subtree }) else {
            // Every place below is suspected: sent there, it would find the parent it lost (or one as cut off) again.
            // It is taken here for now, past the fanout: its place is freed when it leaves, as any other's.
            children.append(Child(address: branch, since: now))
            return .serve
        }
        children[smallest].below[branch] = now
        return .redirect("http://\(children[smallest].address)/")
    }

    /// Whether a branch at `branch` must be refused before any stream: it is this node, or this node's own root.
    func isLoop(_ branch: String) -> Bool {
        branch == address || branch == root
    }

    /// Why a branch at `branch` — this node or one above it — is refused.
    func loop(_ branch: String) -> String {
        "\(branch) is this node or above it: serving it would make a loop"
    }

    /// `child` told the size of its subtree, itself included (its `/tree`), asked at `asked`: that is its size from
    /// now on, plus the branches sent down to it since it was asked — the answer may not hold them yet.
    public mutating func report(_ child: String, subtree: Int, asked: ContinuousClock.Instant) {
        guard let index = children.firstIndex(where: { $0.address == child }) else { return }
        children[index].told = max(1, subtree)
        children[index].answered = max(children[index].answered ?? asked, asked)
        children[index].below = children[index].below.filter { $0.value >= asked }
    }

    /// Forgets a child that left (its branches will come back through the root and be counted again).
    public mutating func remove(_ branch: String) {
        children.removeAll { $0.address == branch }
        suspected[branch] = nil
    }

    /// How long after a child took its place here a branch that reports it lost is not believed: its own branches
    /// went silent while it found its place (the tree re-attaching after a root restart), and report it as they
    /// come back — it did not fail them, and suspected it would get none of them.
    public static let settling: Duration = .seconds(5)

    /// Sends no branch to the child at `child` until `until` (a branch reported it lost at `now`); `false` when it
    /// is not a child of this node, or took its place less than ``settling`` ago.
    @discardableResult
    public mutating func suspect(_ child: String, until: ContinuousClock.Instant, now: ContinuousClock.Instant = .now) -> Bool {
        guard let index = children.firstIndex(where: { $0.address == child }) else { return false }
        if let since = children[index].since, now - since < Self.settling { return false }
        suspected[child] = until
        children[index].reported = now
        return true
    }

    /// The branches served here past the fanout (taken while every place below was suspected) that may go below
    /// now: once one of the children within the fanout is trusted again — its suspicion over, and alive since it
    /// was reported lost (it answered a question about its subtree asked after that) — those taken past the fanout
    /// are to be placed again, below, so that the node serves no more than its fanout for good. None while every
    /// child within the fanout is suspected, or has not answered since (hung still, as far as this node knows).
    public func pastFanout(now: ContinuousClock.Instant = .now) -> [String] {
        guard children.count > fanout else { return [] }
        let trusted = children.prefix(fanout).contains { child in
            let suspicionOver = suspected[child.address].map { $0 <= now } ?? true
            let alive = child.reported.map { reported in child.answered.map { $0 > reported } ?? false } ?? true
            return suspicionOver && alive
        }
        return trusted ? children.dropFirst(fanout).map(\.address) : []
    }

    /// The branches in this node's subtree, itself included.
    public var subtree: Int {
        1 + children.reduce(0) { $0 + $1.subtree }
    }
}
