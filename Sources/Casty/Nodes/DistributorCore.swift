internal import Icy

internal import CastyNet
/// The decisions of a ``Distributor``, as a value: it takes one event — a listener's request, the source's
/// reply or segment, a listener leaving, a timer — and returns the actions to perform, in order.
///
/// It owns the listener list, the ring of recent segments, the numbering and the tree places; it performs
/// nothing itself (no sockets, no clock, no messages), so every rule is tested by feeding it events with a
/// made-up time. The ``Distributor`` actor carries its actions out.
///
/// `Listener` is whatever identifies a listener: the actor uses a reference to the node, tests use numbers.
///
/// **The hot path.** A segment from the source becomes one ``Action/fanOut(_:_:)`` action: the actor then walks
/// ``listeners`` and sends the shared segment to each, with no action, allocation or copy per listener.
struct DistributorCore<Listener: Hashable> {
    /// What the distributor must do.
    enum Action {
        /// Ask the source for the stream (once, at the first listener or at once).
        case requestSource
        /// Answer `listener`'s request: the next segment number it will get, and the station.
        case reply(Listener, next: Int, Context)
        /// Send one segment to one listener (its burst, or a resuming branch's replay).
        case send(Listener, Int, StreamSegment)
        /// Send one segment to every listener in ``listeners``.
        case fanOut(Int, StreamSegment)
        /// Send audio of segment `N` ahead of it, or word that what was sent of it will not be followed by it,
        /// to every listener in ``listeners`` (``StreamPiece``).
        case fanOutPiece(Int, StreamPiece)
        /// Send `listener` elsewhere: this tree node is full.
        case redirect(Listener, to: String)
        /// Tell `listener` to stop (refused, no stream in time, or shutting down), for `reason` if its leave line
        /// should tell one (`its stream went on in audio/aac, …`).
        case stop(Listener, reason: String? = nil)
        /// Tell `listener`, a branch link, that the stream goes on as a new one, or that its branch is to be placed
        /// again (``placeBelow(at:)``), then close it (``StreamSegment/newStreamBlock``): its branch asks again at once
        /// and reads the stream in the reply, blaming nobody. `reason` as for ``stop(_:reason:)``.
        case relink(Listener, reason: String? = nil)
        /// Tell `listener`, another mount relaying this one, to let go of its own listeners: this mount's were let
        /// go. It stays, and hears this mount's next stream.
        case release(Listener, reason: String? = nil)
        /// Tell `listener`, which waits for the stream, that there is no such stream upstream (`404`).
        case notFound(Listener)
        /// Tell `listener`, a branch, that it may not be served here, and why (`409`): asking again would not help.
        case conflict(Listener, String)
        /// The title changed (with the segment just fanned out): tell the title watchers.
        case titleChanged(String, at: Int64)
        /// Call ``waitingTimedOut(at:)`` after this long.
        case armWaitingTimer(Duration)
        /// Write a line to the log.
        case log(String)
    }

    /// A listener that is a mount's machinery rather than a player.
    enum Relay: Equatable {
        /// Another mount's distributor, relaying this one while its own source is away (this is its fallback).
        case mount
        /// The mount's HLS packager: told to stop as a player is, it asks again on its own.
        case packager
    }

    /// How listeners are treated.
    let configuration: Distributor.Configuration
    /// The listeners served, in order (a branch link is a listener too).
    private(set) var listeners: [Listener] = []
    private var positions: [Listener: Int] = [:]

    /// Whether `listener` is served now.
    func serves(_ listener: Listener) -> Bool { positions[listener] != nil }
    /// Which listeners are branches of the tree, and where they serve.
    private var branchOf: [Listener: String] = [:]
    /// Requests that came before the stream: they wait for the source's reply, for ``Distributor/Configuration/startWait``.
    private var waiting: [(listener: Listener, resume: Int?, branch: String?, relay: Relay?, since: ContinuousClock.Instant)] = []
    /// Other mounts that asked while there was no stream: they wait for one as long as it takes (their own
    /// source may be away as long as this one's), with no timer.
    private var waitingMounts: [Listener] = []
    /// Listeners that are a mount's machinery, not players: other mounts relaying this stream (a mount falling
    /// back to this one) and the mount's HLS packager. They are neither players nor branches, and are not
    /// counted as either.
    private var relays: [Listener: Relay] = [:]
    private var waitingTimerArmed = false
    /// Players and branches refused for want of a stream since the last line that said so: summed up every 10 s
    /// (a relay root whose upstream is down for hours has its branches ask every half second).
    private var refusedWaiting = (players: 0, branches: 0, told: ContinuousClock.Instant?.none)
    /// When each player admitted but not yet arrived was admitted (``promise(at:)``), oldest first.
    private var promises: [ContinuousClock.Instant] = []
    /// Whether the next segment is the first of a new stream: it is fanned out marked so
    /// (``StreamSegment/opensStream``), and no piece of it is passed on ahead of it (a player starts it on a frame).
    private var opening = false
    /// The station, once the source replied.
    private(set) var context: Context?
    /// The nodes above this one as the last stream told them (a tree node's place): kept while the stream is away,
    /// since the links to them may well stay open, waiting with it.
    private(set) var lastPath: [String] = []
    /// The stream whose source went (``sourceGone()``), while no other stream replaced it: the one thing every
    /// question about a stream that is away is answered from (``toldContentType``, ``lastKnown``, ``streamAway``).
    private var away: AwayStream?
    /// Whether the stream ended upstream for good (``streamLetGo()``), with no reply since: players are told `404`.
    private var letGoUpstream = false
    private var ring: Ring<StreamSegment>
    /// The number of the segment expected next from the source.
    private(set) var next: Int?
    /// The number the stream started at here (its source's first reply, or the reply that began a new stream).
    private(set) var streamFirst: Int?
    /// When the stream began here: its source's first reply, or the reply that began a new stream — not the same
    /// stream back after an outage (Icecast's `stream_start`).
    private(set) var streamStarted: ContinuousClock.Instant?
    /// Where branches are placed, for a tree node.
    private(set) var places: TreePlaces?
    /// Whether the source was asked for the stream, and whether there is a source to ask.
    private var requested = false
    private var hasSource = false
    private(set) var stopped = false
    private(set) var counters = Stat.Counters()
    /// When a listener — a player, a branch link, one waiting for the stream — last left: a branch's mount unlistened
    /// to is dropped ``BranchMounts/Settings/idleTimeout`` after its last listener left, not after its last request.
    private(set) var lastLeft: ContinuousClock.Instant?
    /// The name of the stream of a source that does not name its own (drawn anew for each source attached).
    private var sourceStream = Context.newStream()
    /// The last titles, newest last, with the time (ms since 1970) the segment that carried each was cut.
    private(set) var titles: [(title: String, at: Int64)] = []
    /// How many titles ``titles`` keeps.
    static var titleHistory: Int { 10 }
    /// Segments ignored because their number was already passed: told once, then summed up now and then.
    private var ignored = RepeatedEvent(interval: .seconds(10))
    /// Gaps in the stream: told at once, then summed up now and then (a flapping upstream makes one at each return).
    private var gapsTold = RepeatedEvent(interval: .seconds(10))
    /// The audio of segment ``next`` handed on in pieces so far: the segment must begin with it, or listeners are
    /// told the pieces are abandoned.
    private var ahead: [UInt8] = []

    init(configuration: Distributor.Configuration) {
        self.configuration = configuration
        ring = Ring(capacity: configuration.ringSize)
        places = configuration.treeAddress.map { TreePlaces(address: $0, fanout: configuration.fanout) }
    }

    // MARK: Events

    /// A source was attached: its stream is asked for now, or at the first listener when lazy.
    mutating func sourceAttached() -> [Action] {
        hasSource = true
        requested = false
        sourceStream = Context.newStream()
        return configuration.lazy ? [] : requestSource()
    }

    /// The node takes a place in a tree, reached by branches at `address`.
    mutating func setTreeAddress(_ address: String, root: String? = nil) {
        places = TreePlaces(address: address, fanout: configuration.fanout)
        places?.root = root
    }

    /// A listener asks for the stream.
    /// `relay`: the requester is a mount's machinery (another mount whose fallback this is, an HLS packager), not
    /// a player.
    mutating func request(
        from listener: Listener, resume: Int?, branch: String?, relay: Relay? = nil, at now: ContinuousClock.Instant
    ) -> [Action] {
        guard !stopped else { return [.stop(listener)] }
        // A branch that names this node itself (told its own address as its root) is refused at once, stream or not.
        if let branch, let places, places.isLoop(branch) { return refuseBranch(listener, places.loop(branch)) }
        if relay == nil, branch == nil, !promises.isEmpty { promises.removeFirst() }
        var actions = requestSource()
        // A branch's root let this stream go (``streamLetGo()``): a player is told 404 at once, as there.
        if context == nil, letGoUpstream, relay == nil { return actions + [.notFound(listener)] }
        if context == nil, relay == .mount {
            waitingMounts.append(listener)
        } else if context == nil {
            waiting.append((listener, resume, branch, relay, now))
            actions += armWaitingTimer(at: now)
        } else {
            actions += admit(listener, resume: resume, branch: branch, relay: relay, at: now)
        }
        return actions
    }

    /// The source answered: the stream's first number and its context. `relayed`: the source is another mount (a
    /// fallback), whose gaps are its own to say (``gap(_:relayed:at:)``).
    mutating func reply(first: Int, context new: Context, relayed: Bool = false, at now: ContinuousClock.Instant) -> [Action] {
        guard !stopped else { return [] }
        letGoUpstream = false
        var context = new
        if context.stream == 0 { context.stream = sourceStream }
        var actions: [Action] = []
        var newStream = false
        // A source that returns after one that ended (an RTMP or Icecast source reconnecting) starts a new stream
        // too: the ring of the old one must not be served as the new one's, nor pieces of its unfinished segment
        // be followed by the new one's. (A proxy that reconnected goes on with the same stream: its next segment
        // tells whether it begins with the pieces.)
        if let old = self.context?.stream ?? away?.context.stream, old != context.stream {
            newStream = true
            let heard = toldContentType
            actions += abandonAhead()
            // In another codec (a root whose mount went from MP3 to AAC, an upstream that came back so), its
            // listeners cannot go on: they are let go, to come back and be told the new type (a branch's players,
            // whose root let go of the branch only, as much as a proxy's).
            let otherCodec = heard.map { !Context.sameCodec($0, context.contentType) } ?? false
            if otherCodec, let heard { actions += dropPlayers(told: heard, now: context.contentType) }
            // A source that numbers on through its outage (a proxy whose station came back as another) jumped by the
            // segments it missed: counted as the same stream's return is. One that numbers anew (from 0) missed none.
            if let was = next ?? away?.next, first > was { counters.missing += first - was }
            actions += restartNumbering(at: first, stream: context.stream, playersLetGo: otherCodec)
        } else if self.context == nil || next == nil {
            // The same stream, back after an outage (a proxy's upstream, a branch's parent): its numbers jumped by the
            // time it lasted, which every listener counts as a gap — and so does the node.
            if let was = away?.next, first > was {
                counters.gaps += 1
                counters.missing += first - was
                actions += gap("the stream came back at segment \(first), expected \(was)", relayed: relayed, at: now)
            }
            next = first
            streamFirst = first
        }
        if newStream || (self.context == nil && away == nil) { streamStarted = now }
        away = nil
        self.context = context
        lastPath = context.path
        // Other mounts relaying this one (it is their fallback) are told the new stream as a reply, as a branch is
        // when it re-attaches: its numbers start again, and as segments of the old one they would be ignored.
        if newStream, let told = replyContext {
            for (listener, relay) in relays where relay == .mount && positions[listener] != nil {
                actions.append(.reply(listener, next: first, told))
            }
        }
        let queued = waiting
        waiting = []
        for entry in queued { actions += admit(entry.listener, resume: entry.resume, branch: entry.branch, relay: entry.relay, at: now) }
        let mounts = waitingMounts
        waitingMounts = []
        for mount in mounts { actions += admit(mount, resume: nil, branch: nil, relay: .mount, at: now) }
        return actions
    }

    /// A gap in the stream, counted always; said when someone could have heard it (a mount nobody listens to, whose
    /// fallback comes and goes with each reload of the options, is no fault to read about): at once, then summed up
    /// every 10 s. A gap `relayed` from another mount (a fallback, whose stream this mount plays) is that mount's,
    /// said there once: its numbering is not this one's to log too (one outage of a relay heard through a chain of
    /// fallbacks was a line on every mount of it).
    private mutating func gap(_ what: String, relayed: Bool, at now: ContinuousClock.Instant) -> [Action] {
        guard !relayed, listeners.contains(where: { relays[$0] == nil }), let count = gapsTold.occurred(at: now) else { return [] }
        let summed = count == 1 ? "" : "; \(count) gaps since the last line (summed up every \(gapsTold.interval.components.seconds) s)"
        return [.log("distributor: gap: \(what)\(summed)")]
    }

    /// The source sent segment `number`. `relayed`: the source is another mount (a fallback), whose input it is:
    /// it is not counted as this one's (``Stat/bytesIn``), or a server's total would count it twice — and its gaps,
    /// counted here too (every listener hears them), are said there only.
    mutating func data(_ number: Int, _ segment: StreamSegment, relayed: Bool = false, at now: ContinuousClock.Instant) -> [Action] {
        guard !stopped else { return [] }
        var segment = segment
        var actions: [Action] = []
        if let expected = next, number != expected {
            if opening, number > expected {
                // A new stream's first segment past the number its reply told (a branch left out those before it,
                // audio its listeners heard in the stream before): the break was counted as the numbering restarted.
                streamFirst = number
            } else if number > expected {
                counters.gaps += 1
                counters.missing += number - expected
                actions += gap("received segment \(number), expected \(expected)", relayed: relayed, at: now)
            } else {
                if let count = ignored.occurred(at: now) {
                    actions.append(.log(count == 1
                        ? "distributor: duplicate or old segment \(number) (expected \(expected)) ignored"
                        : "distributor: \(count) duplicate or old segments ignored in \(ignored.interval), the last \(number) (expected \(expected))"))
                }
                return actions
            }
        }
        actions += settleAhead(with: segment)
        if opening {
            opening = false
            segment = segment.openingStream()
        }
        next = number + 1
        counters.segments += 1
        if !relayed { counters.bytesIn += segment.audio.count }
        ring.append(segment)
        // A new stream that tells no title has none (its players are told so): the old one's is no longer current.
        if let title = segment.title?.streamTitle ?? (segment.opensStream ? "" : nil), title != titles.last?.title ?? "" {
            titles.append((title, segment.time))
            if titles.count > Self.titleHistory { titles.removeFirst() }
            actions.append(.fanOut(number, segment))
            actions.append(.titleChanged(title, at: segment.time))
            return actions
        }
        actions.append(.fanOut(number, segment))
        return actions
    }

    /// The source handed on audio of segment `number` ahead of it (``StreamPiece``): passed on to every listener
    /// if it continues what was passed on of the segment expected next; ignored otherwise. Word from a source (a
    /// mount this one falls back to) that its pieces are abandoned is passed on if pieces were.
    mutating func piece(_ number: Int, _ piece: StreamPiece) -> [Action] {
        guard !stopped, let context else { return [] }
        if piece.abandoned { return abandonAhead() }
        guard !opening, number == next, piece.offset == ahead.count, ahead.count + piece.audio.count < context.segmentBytes
        else { return [] }
        ahead += piece.audio
        return [.fanOutPiece(number, piece)]
    }

    /// The stream ended (its source left; a branch's parent said so): listeners are told, branches in any case
    /// (``StreamPiece/end``), and pieces handed on are abandoned.
    mutating func streamEnded() -> [Action] {
        // (Its context may be gone already: a mount whose source left forgets it in the same turn.)
        guard !stopped else { return [] }
        ahead = []
        return [.fanOutPiece(next ?? 0, .end)]
    }

    /// Listeners are told that what they got ahead of the next segment will not be followed by it, if they got any.
    private mutating func abandonAhead() -> [Action] {
        guard !ahead.isEmpty else { return [] }
        ahead = []
        return [.fanOutPiece(next ?? 0, .abandon)]
    }

    /// A segment comes after pieces: the pieces are abandoned unless it begins with them.
    private mutating func settleAhead(with segment: StreamSegment) -> [Action] {
        guard !ahead.isEmpty else { return [] }
        defer { ahead = [] }
        return segment.audio.starts(with: ahead) ? [] : abandonAhead()
    }

    /// A listener left (it closed, or was closed): it gets nothing more, and a branch's place is freed.
    mutating func leave(_ listener: Listener, at now: ContinuousClock.Instant = .now) {
        lastLeft = now
        waiting.removeAll { $0.listener == listener }
        waitingMounts.removeAll { $0 == listener }
        relays[listener] = nil
        // A branch that re-attached before its old link's close arrived is served by a new node with the same
        // address: its place stays.
        if let branch = branchOf.removeValue(forKey: listener), !branchOf.values.contains(branch) {
            places?.remove(branch)
        }
        guard let position = positions.removeValue(forKey: listener) else { return }
        let last = listeners.removeLast()
        if position < listeners.count {
            listeners[position] = last
            positions[last] = position
        }
    }

    /// The stream goes on in another codec (`now`) than its players and branches were told (`told`): they are let
    /// go, with one log line, to come back and be told the new type. Its own listeners (an HLS packager, a mount
    /// falling back to it) follow the stream on.
    /// The log line counts players (`listeners`) and branches apart, as the status line does.
    private mutating func dropPlayers(told: String, now: String) -> [Action] {
        let players = listeners.filter { relays[$0] == nil }
        guard !players.isEmpty else { return [] }
        let branches = players.count { branchOf[$0] != nil }, media = players.count - branches
        let whom = [media > 0 ? counted(media, "listener") : nil, branches > 0 ? counted(branches, "branch", plural: "branches") : nil]
        var actions: [Action] = [.log("distributor: the stream goes on in \(now), its \(whom.compactMap { $0 }.joined(separator: " and "))"
            + " \(players.count == 1 ? "was" : "were") told \(told): disconnected, to come back to \(now)")]
        for player in players {
            let reason = "let go: its stream went on in \(now), it was told \(told)"
            actions.append(branchOf[player] != nil ? .relink(player, reason: reason) : .stop(player, reason: reason))
            leave(player)
        }
        return actions
    }

    /// The waiting timer fired: listeners that waited ``Distributor/Configuration/startWait`` for a stream that
    /// has not started are refused (`503` from their client); the others wait on.
    mutating func waitingTimedOut(at now: ContinuousClock.Instant) -> [Action] {
        waitingTimerArmed = false
        guard context == nil else { return [] }
        let startWait = configuration.startWait
        let due = { (since: ContinuousClock.Instant, branch: String?) in now >= since + Self.waitLimit(branch: branch, startWait: startWait) }
        let expired = waiting.filter { due($0.since, $0.branch) }
        waiting.removeAll { due($0.since, $0.branch) }
        // Relays (a mount falling back to this one, its HLS packager) ask again on their own: not worth a line.
        refusedWaiting.players += expired.filter { $0.relay == nil && $0.branch == nil }.count
        refusedWaiting.branches += expired.filter { $0.relay == nil && $0.branch != nil }.count
        return refusalLine(at: now) + expired.map { .stop($0.listener) } + armWaitingTimer(at: now)
    }

    /// How long a request may wait for a stream: ``Distributor/Configuration/startWait``, and for a branch a second
    /// less (at most 2 s), so that it is told `503` before its own wait for a reply (3 s) runs out and it blames
    /// this node instead.
    private static func waitLimit(branch: String?, startWait: Duration) -> Duration {
        branch == nil ? startWait : min(startWait - .seconds(1), .seconds(2))
    }

    /// One line for the requests refused for want of a stream, at most every 10 s, counting players and branches
    /// apart.
    private mutating func refusalLine(at now: ContinuousClock.Instant) -> [Action] {
        let (players, branches, told) = refusedWaiting
        guard players + branches > 0, told.map({ now - $0 >= .seconds(10) }) ?? true else { return [] }
        refusedWaiting = (0, 0, now)
        let why = streamAway ? "no stream now (its source or upstream is away)" : "no stream yet"
        let who = [players > 0 ? "\(players) listener\(players == 1 ? "" : "s")" : nil,
                   branches > 0 ? "\(branches) branch\(branches == 1 ? "" : "es")" : nil].compactMap { $0 }.joined(separator: " and ")
        return [.log("distributor: \(why); refused \(who) with 503\(told == nil ? "" : " (summed up every 10 s)")")]
    }

    /// The branches of this tree node, by address, and the mount their `/tree` is asked for (``TreePlaces/report(_:subtree:asked:)``).
    var survey: (children: [String], mount: String?) {
        (places?.children.map(\.address) ?? [], currentContext?.mount ?? configuration.mount)
    }

    /// A branch of this node told its subtree's size, asked at `asked`.
    mutating func report(_ child: String, subtree: Int, asked: ContinuousClock.Instant) {
        places?.report(child, subtree: subtree, asked: asked)
    }

    /// Has the branches served here past the fanout ask again, once a child within the fanout is trusted and answers
    /// again (``TreePlaces/pastFanout(now:)``): each link is closed as for a new stream, so that its branch asks at
    /// once, blaming nobody, resumes where it was, and is placed below — the node is back to its fanout.
    mutating func placeBelow(at now: ContinuousClock.Instant) -> [Action] {
        guard let places else { return [] }
        let moved = places.pastFanout(now: now)
        guard !moved.isEmpty else { return [] }
        let links = branchOf.filter { moved.contains($0.value) }.map(\.key)
        let reason = "placed again: it was served here past the fanout, and a branch below answers again"
        var actions: [Action] = [.log("tree: \(moved.count == 1 ? "branch" : "branches") \(moved.joined(separator: ", ")) served here past"
            + " the fanout of \(places.fanout) asked to go below: a branch below answers again")]
        for link in links {
            actions.append(.relink(link, reason: reason))
            leave(link, at: now)
        }
        // A place with no link left (its branch gone unnoticed) is freed too.
        for branch in moved { self.places?.remove(branch) }
        return actions
    }

    /// A branch reported `child` lost (`X-Casty-Lost`): if it is one of this node's branches, no branch is
    /// sent there for a while.
    mutating func suspect(_ child: String, reportedBy branch: String, at now: ContinuousClock.Instant) -> [Action] {
        guard places?.suspect(child, until: now + .seconds(10), now: now) == true else { return [] }
        return [.log("tree: branch \(branch) lost its parent \(child); no branch is sent there for 10 s")]
    }

    /// Whether the stream is away: it played, and its source or upstream is gone with none since (a relay's lost
    /// station, a mount between two sources); not before any stream came.
    var streamAway: Bool { context == nil && away != nil }

    /// The `Content-Type` its players were told: the stream's, or while the stream is away (``streamAway``) the one
    /// of the stream that went, which those still connected wait for — a relay's listeners while its upstream is lost,
    /// a mount's while its source may return. `nil` once they were all let go (``dropListeners()``): those that came
    /// since were told nothing yet.
    var toldContentType: String? {
        context?.contentType ?? away.flatMap { $0.listenersTold ? $0.context.contentType : nil }
    }

    /// The segment size and next number of the stream now, or as they were when it went (``Stat/lastKnown``).
    var lastKnown: (segmentBytes: Int?, next: Int?) {
        (context?.segmentBytes ?? away?.context.segmentBytes, next ?? away?.next)
    }

    /// The source ended and nothing replaces it (a mount with no fallback): listeners that come now wait for
    /// the next source, and are refused (`503`) after ``Distributor/Configuration/startWait``; those listening
    /// stay for now. The ended source is not asked again.
    /// The node left its place in the tree (a branch whose parent stayed away, retrying): the place kept while the
    /// stream is away (``lastPath``) is no longer its own, and its status says it has none until it is placed again.
    mutating func placeLost() {
        lastPath = []
    }

    mutating func sourceGone() {
        if let context { away = AwayStream(context: context, next: next, listenersTold: true) }
        context = nil
        next = nil
        hasSource = false
        requested = true
    }

    /// The stream ended upstream for good (a branch's root let its players go past its source timeout): it is
    /// forgotten, every listener is let go, and new players are told `404` at once until a stream comes again.
    mutating func streamLetGo() -> [Action] {
        sourceGone()
        letGoUpstream = true
        return dropListeners(because: "let go: the stream ended at the tree's root")
    }

    /// Lets go of every listener (each is told to stop; a branch link told why, ``Action/relink(_:reason:)``), without
    /// stopping the distributor: a mount whose source did not come back in time. Other mounts relaying this one stay, and are told to let go of theirs
    /// (``Action/release(_:)``): they hear this mount's next stream, as their own listeners' fallback.
    /// `reason` is what their leave lines tell (`let go: no source came back within 10 s`).
    mutating func dropListeners(because reason: String? = nil) -> [Action] {
        away?.listenersTold = false
        let all = listeners
        let branches = branchOf
        listeners = []
        positions = [:]
        branchOf = [:]
        relays = relays.filter { $0.value == .mount }
        for branch in places?.children.map(\.address) ?? [] { places?.remove(branch) }
        return all.map { listener in
            // A branch link is told why it closes (a live node let it go, its link not too slow): it asks again at once.
            guard relays[listener] != nil else {
                return branches[listener] != nil ? .relink(listener, reason: reason) : .stop(listener, reason: reason)
            }
            positions[listener] = listeners.count
            listeners.append(listener)
            return .release(listener, reason: reason)
        }
    }

    /// The distributor stops because its stream does not exist upstream (a branch's root has no such mount): as
    /// ``stop()``, but the listeners waiting for the stream are told it is not found.
    mutating func stopNotFound() -> [Action] {
        let waiting = Set(waiting.map(\.listener))
        return stop().map { action in
            if case .stop(let listener, _) = action, waiting.contains(listener) { return .notFound(listener) }
            return action
        }
    }

    /// The source has no such stream (now): the players and branches waiting for it are answered `404`; the
    /// distributor goes on, and a later request waits for the stream again.
    mutating func refuseWaiting() -> [Action] {
        defer { waiting = [] }
        return waiting.map { .notFound($0.listener) }
    }

    /// The distributor stops: every listener, served or waiting, is told to stop; later requests are refused.
    mutating func stop() -> [Action] {
        stopped = true
        let all = listeners + waiting.map(\.listener) + waitingMounts
        listeners = []
        positions = [:]
        branchOf = [:]
        relays = [:]
        waiting = []
        waitingMounts = []
        return all.map { .stop($0) }
    }

    // MARK: What it knows

    /// The context with what is playing now.
    var currentContext: Context? {
        guard var context else { return nil }
        if let last = ring.last { context.title = last.title }
        return context
    }

    /// How many listeners are branch links.
    var branchCount: Int { branchOf.count }

    /// How many listeners are players: neither branch links nor relaying distributors.
    var playerCount: Int { listeners.count - branchOf.count - relays.count }
    /// How many players and branches wait for a stream (one that came before the source, or while it is away); a
    /// relay that waits (a mount's HLS packager asking again) does not count.
    var waitingCount: Int { waiting.count { $0.relay == nil } }
    /// How many players wait for a stream (not branches, nor a mount's machinery).
    var waitingPlayers: Int { waiting.count { $0.relay == nil && $0.branch == nil } }
    /// The players and branches waiting for a stream, in the order they came: connected, and fed once it comes.
    var waitingListeners: [Listener] { waiting.compactMap { $0.relay == nil ? $0.listener : nil } }

    /// A player was admitted at the front door and is on its way (its connection moves to another loop, or its
    /// request is queued): it counts against listener limits until its request arrives — or for
    /// ``promiseLife``, should it never come (its connection closed on the way).
    mutating func promise(at now: ContinuousClock.Instant) {
        promises.removeAll { now - $0 >= Self.promiseLife }
        promises.append(now)
    }

    /// A player admitted at the front door will not come after all (its connection closed before its request
    /// could be handed on, the listener authorization refused it): its place is free at once, not after
    /// ``promiseLife``. Places are alike; the oldest goes.
    mutating func withdrawPromise() {
        if !promises.isEmpty { promises.removeFirst() }
    }

    /// The players served, waiting for the stream, or on their way: what a listener limit counts, so that
    /// players arriving together cannot all pass it.
    func admittedPlayers(at now: ContinuousClock.Instant) -> Int {
        playerCount + waitingCount + promises.count { now - $0 < Self.promiseLife }
    }

    /// How long an admitted player's place is held for its request.
    static var promiseLife: Duration { .seconds(5) }

    // MARK: Rules

    private mutating func requestSource() -> [Action] {
        guard !requested, hasSource else { return [] }
        requested = true
        return [.requestSource]
    }

    /// Only a source that was asked and has not answered keeps listeners waiting; without a source yet (a
    /// distributor being set up), they simply wait for it.
    private mutating func armWaitingTimer(at now: ContinuousClock.Instant) -> [Action] {
        guard !waitingTimerArmed, requested, let first = waiting.map({ $0.since + Self.waitLimit(branch: $0.branch, startWait: configuration.startWait) }).min() else { return [] }
        waitingTimerArmed = true
        return [.armWaitingTimer(first - now)]
    }

    /// The source started a new stream: its numbers start again at `first` and mean nothing in the old one
    /// (`playersLetGo`: its players were just let go, told another codec; its line says listeners play on only when
    /// some do — a station's mount lets its players of another codec go itself, before).
    private mutating func restartNumbering(at first: Int, stream: UInt64, playersLetGo: Bool = false) -> [Action] {
        let links = listeners.filter { branchOf[$0] != nil }
        // `next` is the number the old stream would have gone on with: its last segment came just before, if any did.
        let was = next.map { $0 == streamFirst ? " (the stream before sent none)" : " (the last one was at \($0 - 1))" } ?? ""
        counters.gaps += 1
        next = first
        streamFirst = first
        opening = true
        away = nil
        ring = Ring(capacity: configuration.ringSize)
        ignored = RepeatedEvent(interval: ignored.interval)
        // A branch learns a stream in its reply head: closed, it re-attaches at once and is told the new one.
        let closing = links.isEmpty ? "" : "; \(links.count) branch link\(links.count == 1 ? "" : "s") closed to re-read it"
        // Said for an operator, who sees it at every source change or fallback: what changed, and that it is fine. The
        // gap is said where someone hears it: players who play on, or those of the branches closed to re-read it.
        let gap = !playersLetGo && playerCount > 0 ? "; listeners play on, one gap counted" : links.isEmpty ? "" : "; one gap counted"
        let relinks = links.map { Action.relink($0) }
        // A station server's mount: its source's start and end, and its fallback, have lines of their own, and the
        // numbers before (a fallback's, a stream it never had as its own) tell an operator nothing. Said only where
        // branch links are closed for it — what no other line says.
        if configuration.mount != nil {
            guard !links.isEmpty else { return relinks }
            return [.log("distributor: new stream \(Context.streamText(stream)) (its source changed): \(closing.dropFirst(2))")] + relinks
        }
        return [.log("distributor: new stream \(Context.streamText(stream)) (its source or upstream changed): its segments are"
            + " numbered from \(first)\(was)\(gap)\(closing)")]
            + relinks
    }

    /// Serves a listener, or — for a branch when this tree node is full — redirects or refuses it.
    private mutating func admit(
        _ listener: Listener, resume: Int?, branch: String?, relay: Relay?, at now: ContinuousClock.Instant
    ) -> [Action] {
        if let relay { relays[listener] = relay }
        // A mount falling back to this one gets no burst: its players have audio buffered already, and a burst would
        // play them audio of this mount they may have heard (a fallback left and taken again) or put them behind.
        if relay == .mount { return subscribe(listener, resume: next ?? resume) }
        guard let branch, places != nil, let context else { return subscribe(listener, resume: resume) }
        switch places!.place(branch, path: context.path, now: now) {
        case .serve:
            branchOf[listener] = branch
            guard let places, places.children.count > places.fanout, places.children.last?.address == branch else {
                return subscribe(listener, resume: resume)
            }
            // Said once per branch taken so: a tree wider than it was told to be is what an operator asks about.
            let below = places.children.dropLast().map(\.address).filter { places.suspected[$0] != nil }
            return [.log("tree: branch \(branch) served here past the fanout of \(places.fanout): every branch below"
                + " (\(below.joined(separator: ", "))) was reported lost; the next go below again once one is trusted")]
                + subscribe(listener, resume: resume)
        case .redirect(let url):
            return [.log("tree: branch \(branch) redirected to \(url)"), .redirect(listener, to: url)]
        case .refuse(let reason):
            return refuseBranch(listener, reason)
        }
    }

    /// Refuses a branch that must not be served here, telling it why (its line is the listener's, which names its
    /// peer: ``Client``).
    private func refuseBranch(_ listener: Listener, _ reason: String) -> [Action] {
        [.conflict(listener, reason)]
    }

    /// Segment `number`, while the ring holds it.
    func segment(_ number: Int) -> StreamSegment? {
        ring.first { $0.number == number }
    }

    /// The reply a player asking now would get — the number it starts at and the context — without serving it
    /// (`nil` while there is no stream, or once stopped). The front door writes a player's reply head with it
    /// before handing the connection to another loop, and the player then asks to resume at that number.
    func promise(resume: Int?) -> (next: Int, context: Context)? {
        guard !stopped, let context = replyContext else { return nil }
        return (start(resume: resume), context)
    }

    /// The context told in a reply: a tree node adds its own address to the path.
    private var replyContext: Context? {
        guard var context = currentContext else { return nil }
        if let places { context.path.append(places.address) }
        if let mount = configuration.mount { context.mount = mount }
        return context
    }

    /// The first number of a burst of `segments` (when more than ``Distributor/Configuration/burst``: a browser's
    /// longer one), as far back as the ring goes; `nil` before the stream has begun.
    func burstStart(segments: Int) -> Int? {
        currentContext == nil ? nil : start(resume: nil, burst: segments)
    }

    /// The first number a new listener gets: the last ``Distributor/Configuration/burst`` segments (or `burst`,
    /// if more), or — for a listener that resumes at a number still in the ring — everything from there; the
    /// next segment for one that asks for the live edge (``Message/liveEdge``).
    private func start(resume: Int?, burst: Int = 0) -> Int {
        let upcoming = next ?? 0
        if resume == Message.liveEdge { return upcoming }
        let oldest = ring.first?.number ?? upcoming
        if let resume, resume >= oldest, resume <= upcoming { return resume }
        return max(oldest, upcoming - max(burst, configuration.burst))
    }

    /// Adds a listener and gives it its reply and its burst: the ring's segments from ``start(resume:)`` on.
    private mutating func subscribe(_ listener: Listener, resume: Int?) -> [Action] {
        guard let context = replyContext, positions[listener] == nil else { return [] }
        let start = start(resume: resume)
        positions[listener] = listeners.count
        listeners.append(listener)
        counters.peakListeners = max(counters.peakListeners, playerCount)
        var actions: [Action] = [.reply(listener, next: start, context)]
        for segment in ring where segment.number >= start {
            actions.append(.send(listener, segment.number, segment))
        }
        return actions
    }
}

/// A stream whose source went, as a ``DistributorCore`` remembers it until another stream replies.
struct AwayStream {
    /// Its context: the `Content-Type` its listeners were told, its segment size, its stream identity (the same
    /// stream back goes on with its numbers; another one restarts them).
    var context: Context
    /// The number it would have gone on with: the same stream back at a later one has a gap.
    var next: Int?
    /// Whether anyone was told its context and may still wait for it: false once its listeners were let go.
    var listenersTold: Bool
}
