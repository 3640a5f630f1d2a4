internal import CastyNet
/// What every connection of one port shares: its mounts, its options, its log and its router.
///
/// Loop-confined like the distributor it serves (`@unchecked Sendable` so that the listener's callback may
/// capture it): used only on that distributor's loop.
final class PortContext: @unchecked Sendable {
    /// The stream this port serves.
    let distributor: Distributor
    /// How its clients are served.
    let options: ClientOptions
    /// Where its log lines go.
    let logger: EventLog
    /// Listeners joining and leaving: logged one by one up to a budget, then summed up.
    let joinsAndLeaves: LogBudget
    /// The route table.
    let router: Router

    init(distributor: Distributor, options: ClientOptions, logger: EventLog, router: Router = .standard) {
        self.distributor = distributor
        self.options = options
        self.logger = logger
        self.joinsAndLeaves = LogBudget(loop: distributor.loop, logger: logger, what: "listener joins and leaves")
        self.router = router
    }

    /// The distributor of the mount at `path`: the port's one mount, whatever the path.
    func mount(at path: String) -> Distributor? {
        distributor
    }

    /// Counts a refused peer.
    func refused() {
        distributor.tally.refused += 1
    }
}
