internal import CastyAudio
internal import Synchronization
public import CastyNet
internal import Icy

/// Streams to one media player (VLC, mpg123, a browser) — or a branch of the tree — on its TCP connection.
///
/// The ``FrontDoor`` has read the request and the stream route made this client with what it asked for
/// (``Listening``). The client asks its distributor for the stream, sends the reply, and then writes each
/// segment it is handed. A player that sent `Icy-MetaData: 1` gets `icy-metaint` and metadata blocks; one that
/// did not (browsers, many players) gets plain audio. A peer that sends `X-Casty-Numbered: 1` or
/// `X-Casty-Branch` gets numbered metadata blocks (`CastySeq`, `CastyTime`), so it can detect gaps and measure
/// its lag.
///
/// Delivery is lossy and low-latency (DESIGN.md): after the first burst, a segment goes out whole or is skipped
/// whole, and a listener that stays behind for too long is disconnected. A branch link skips none: its segments are
/// queued in order, or the link is dropped, and the branch resumes from the ring (``DeliveryPolicy``).
public actor Client: LoopNode {
    /// The loop the client runs on (its distributor's).
    public nonisolated let loop: EventLoop
    /// Runs the actor on its event loop.
    public nonisolated var unownedExecutor: UnownedSerialExecutor { loop.asUnownedSerialExecutor() }

    private let connection: Connection
    private var distributor: Distributor
    /// A number that names the client in the admin API (`/admin/killclient?id=`), unique in the process — the
    /// same as the listener authorization's `client`, when the application was asked about it (as in Icecast).
    public nonisolated let id: Int
    private static let ids = Atomic<Int>(0)

    /// A new number for a client: for ``id``, or for a player the application is asked about before its client is made.
    static func newID() -> Int { ids.add(1, ordering: .relaxed).newValue }

    private let port: PortContext
    private var options: ClientOptions { port.options }
    private let listening: Listening
    private let peer: String
    /// Told once when the listener leaves (the listener authorization's `listener_remove`).
    private var onLeave: (@Sendable () -> Void)?
    private var phase = Phase.waitingForReply
    /// Why the server closed the connection, when someone asked it to (an admin's `killclient`): its leave line says
    /// so rather than `closed`, which reads as the player hanging up.
    private var stopReason: String?
    private var form: Listening.Form { listening.form }
    /// The burst, lossy delivery and dropping: decided by a value, carried out here.
    private var policy: DeliveryPolicy?
    /// Whether the first burst is still being written (reliably, queued), before lossy delivery starts.
    private var bursting: Bool { policy?.bursting ?? true }
    private var sentTitleVersion = 0
    /// Whether the listener got its first segment, in its entry form (it starts on a frame, after a tag).
    private var entered = false
    /// The bytes it was sent (audio and metadata), for the access log.
    private var sentBytes = 0 {
        didSet { sentShared?.store(sentBytes) }
    }
    /// `sentBytes` where the access log can read it if the process stops while this listener listens.
    private var sentShared: AccessLog.SentBytes?
    /// The number of the last segment the listener got. One that does not follow it (after segments it skipped,
    /// on another mount it was moved to, or after pieces whose segment never came), and the first of a new stream
    /// (``StreamSegment/opensStream``: a source that returned, a fallback), are sent in their entry form too: the
    /// audio before the first frame header, a tail the player could not decode, becomes a tag.
    private var lastNumber: Int?
    /// The last segment this player got, and the frames of its stream: after a break, the frame it ended inside
    /// is completed (``StreamSegment/entering(_:completing:format:)``).
    private var lastSegment: StreamSegment?
    /// What is still missing of the frame that pieces whose segment never came cut short, where its completion did
    /// not fit in the segment's place (``completeAhead(streamEnded:)``): the next segment's entry begins with it.
    private var owed: [UInt8] = []
    private var format: FrameChain.Format?
    /// The title current when the listener joined (the reply's), stated in its first metadata block.
    private var joinTitle: Metadata?
    /// The title a player (ICY form) was last told, and its version once known: the title told at joining
    /// is newer than the burst's older segments, whose changes are not told again.
    private var told: (title: Metadata?, version: Int?) = (nil, nil)
    /// What the player will have been told once the segment being delivered is out.
    private var telling: (title: Metadata?, version: Int?) = (nil, nil)
    private let joined = ContinuousClock.now
    /// Audio of the next segment sent ahead of it (``StreamPiece``): the pieces' bytes as written, most often
    /// the buffers shared by every listener.
    private var sentAhead: [[UInt8]] = [] {
        didSet { ahead = sentAhead.reduce(0) { $0 + $1.count } }
    }
    /// How many audio bytes of the next segment were sent ahead of it (asked at every segment: kept, not summed).
    private var ahead = 0
    private var segmentBytes = 0

    private enum Phase {
        case waitingForReply
        /// Moved to another mount by an admin: waiting for its reply, the connection and its framing kept.
        case moving
        case streaming
        case closing
    }

    /// Whether the front door wrote the reply head already (``Listening/replyHead(next:context:port:)``),
    /// before handing the connection to this client's loop: the distributor's reply then writes none.
    private let headWritten: Bool

    /// A client for a connection whose request the front door has read. Call ``start()`` on the loop.
    /// `headWritten`: the front door wrote the reply head, promising the number `listening.resume`.
    init(
        connection: Connection, port: PortContext, distributor: Distributor, listening: Listening, peer: String,
        headWritten: Bool = false, onLeave: (@Sendable () -> Void)? = nil
    ) {
        self.id = listening.clientID ?? Self.newID()
        self.onLeave = onLeave
        self.headWritten = headWritten
        // The client runs on its connection's loop: its distributor's, or another loop of the port's group.
        self.loop = connection.loop
        self.isBranch = listening.isBranch
        self.connection = connection
        self.port = port
        self.distributor = distributor
        self.listening = listening
        self.peer = peer
    }

    /// Whether it is a tree link rather than a player.
    nonisolated let isBranch: Bool

    /// How the log names the peer: `listener 10.0.0.9:51234`; a branch by where it serves (its `X-Casty-Branch`, checked
    /// to be `host:port`), as `/tree` and the redirects name it, then its connection's own (ephemeral) address —
    /// `branch 10.0.0.2:8001 from 10.0.0.2:55928` —, so that one of several branches on a host is told apart.
    private var who: String {
        listening.branch.map { "branch \($0) from \(peer)" } ?? "listener \(peer)"
    }

    /// Moves the listener to `other` (``move(to:)``), from any loop.
    nonisolated func moveLater(to other: Distributor) { onLoop { $0.move(to: other) } }

    /// Hands the client a message from its distributor: the reply, then the segments.
    public nonisolated func send(_ message: Message) { deliver(message) }

    /// Stops the client: its connection is closed.
    public nonisolated func stop() { onLoop { $0.stopNow() } }

    /// Stops the client for `reason` (`disconnected by the admin (/admin/killclient)`), which its leave line tells.
    nonisolated func stop(because reason: String) {
        onLoop { client in
            client.stopReason = reason
            client.stopNow()
        }
    }

    /// Closes a branch's link because the stream goes on as a new one (``DistributorCore/Action/relink(_:reason:)``):
    /// a link streaming its segments is told first, with a void segment whose block says so
    /// (``StreamSegment/newStreamBlock``), so that its branch asks again at once, blaming nobody. A link behind
    /// (bytes still queued, which the close drops) is not told, and its branch judges the close as any other.
    nonisolated func relink(because reason: String?) {
        onLoop { client in
            if client.form == .numbered, client.phase == .streaming { client.writeVoidSegment(StreamSegment.newStreamBlock) }
            client.stopReason = reason ?? "closed to read the new stream"
            client.stopNow()
        }
    }

    /// Moves the listener to another mount's distributor without closing its connection (an admin's
    /// `moveclients`): it leaves its distributor, asks the other one, and plays its segments from their next
    /// one on — no burst, which would replay seconds it has heard (``Message/liveEdge``) —, with the same
    /// ICY framing (every mount of a server cuts segments of the same size). The numbering restarts there: the
    /// listener counts one gap. A player still waiting for its stream, told nothing yet, asks the other mount as it
    /// asked this one, and is answered there as any new player.
    func move(to other: Distributor) {
        guard other !== distributor else { return }
        if phase == .waitingForReply, !headWritten {
            distributor.leave(self)
            distributor = other
            return other.send(.request(from: self, resume: nil, branch: nil))
        }
        guard phase == .streaming else { return }
        completeAhead()
        phase = .moving
        distributor.leave(self)
        distributor = other
        other.send(.request(from: self, resume: Message.liveEdge, branch: nil))
    }

    /// What the admin API tells of the listener.
    func info() -> ListenerInfo {
        ListenerInfo(
            id: id, peer: peer, ip: listening.address, request: listening.summary, userAgent: listening.userAgent, isBranch: listening.isBranch,
            connectedSeconds: seconds(.now - joined), segments: policy?.segments ?? 0, skipped: policy?.skipped ?? 0)
    }

    /// Asks the distributor for the stream. What the peer sends from now on is read and ignored, so that its
    /// close is noticed at once — unless it shut its sending side down with its request (`nc -N`, a script's
    /// `shutdown(SHUT_WR)`): such a one-shot client still wants the stream, and gets it as Icecast gives it, until a
    /// send meets its reset (the kernel probes it while the mount is quiet).
    func start() {
        if connection.peerHasHungUp, !connection.isClosed {
            try? connection.probeWhenQuiet()
        } else {
            connection.onRead = { _ in }
        }
        connection.onClose = { [self] error in assumeIsolated { $0.closed(error) } }
        distributor.send(.request(from: self, resume: listening.resume, branch: listening.branch))
    }

    /// Sends a short answer instead of the stream (a redirect, a refusal) and closes once it is out; with the CORS
    /// headers every answer of the port has (``CORS/adding(to:origin:allowed:)``), so that a page of another site reads
    /// a `503`'s `Retry-After` as it would the stream.
    private func respond(_ code: Int, _ reason: String, _ body: String, _ headers: Headers) {
        phase = .closing
        var headers = headers
        CORS.adding(to: &headers, origin: listening.origin, allowed: options.corsOrigins)
        connection.answer(code, reason, body: body, headers: headers, headOnly: listening.headOnly, timeout: options.headerTimeout)
        accessLogLine(status: code, bytes: listening.headOnly ? 0 : Connection.answerBody(body).count)
    }

    // MARK: The stream

    func receive(_ message: Message) {
        switch message {
        case .reply(let next, _) where phase == .moving:
            policy?.moved(next: next)
            lastNumber = nil  // the other mount's stream starts afresh: on a frame, with its title
            phase = .streaming
        case .reply(let next, let context):
            guard case .waitingForReply = phase else { return }
            replied(next: next, context: context)
        case .data(let number, let segment):
            guard case .streaming = phase else { return }
            deliver(number, segment)
        case .piece(let number, let piece):
            guard case .streaming = phase else { return }
            take(piece, of: number)
        case .redirect(let url):
            guard case .waitingForReply = phase else { return }
            respond(302, "Found", "Moved to \(url)", ["Location": url])
        case .request:
            break  // a client serves; it takes no listeners of its own
        }
    }

    private func replied(next: Int, context: Context) {
        policy = DeliveryPolicy(next: next, context: context, isBranch: isBranch, isBrowser: listening.isBrowser, options: options)
        sentTitleVersion = 0
        entered = false
        lastNumber = nil
        sentAhead = []
        segmentBytes = context.segmentBytes
        joinTitle = context.title
        format = FrameChain.Format(contentType: context.station["Content-Type"] ?? "audio/mpeg")
        lastSegment = nil
        owed = []
        told = (nil, nil)
        if !headWritten { connection.write(listening.replyHead(next: next, context: context, port: port)) }
        // Told one codec at the front door, and the stream went on in another (a fallback took over, a source of
        // another codec came) before its request reached the distributor: let go, to come back and be told it.
        if headWritten, let told = listening.toldType, !Context.sameCodec(told, context.contentType) {
            port.joinsAndLeaves("\(who) let go before its first segment: its stream went on in \(context.contentType) after it was"
                + " told \(told), to come back to \(context.contentType)")
            accessLogLine(status: 200, bytes: 0)
            phase = .closing
            distributor.leave(self)
            return connection.close()
        }
        if listening.headOnly {
            phase = .closing
            accessLogLine(status: 200, bytes: 0)  // a HEAD that waited for the stream, as one answered at once
            distributor.leave(self)
            connection.closeWhenSent(timeout: options.headerTimeout)
            return
        }
        phase = .streaming
        // The distributor follows its reply with the burst, in this same turn of the loop: after that,
        // delivery turns lossy.
        loop.execute { [self] in assumeIsolated { $0.policy?.burstEnded() } }
        if let accessLog = options.accessLog {
            let sent = AccessLog.SentBytes()
            sent.store(sentBytes)
            sentShared = sent
            accessLog.opened(id, AccessLog.Session(
                address: listening.address, user: listening.user, request: listening.requestLine, referer: listening.referer,
                agent: listening.userAgent, started: joined, sent: sent))
        }
        port.joinsAndLeaves("\(who) joined: \(listening.summary)"
            + " \(form == .audio ? "audio only" : form == .icy ? "with titles" : "numbered")")
    }

    private func deliver(_ number: Int, _ segment: StreamSegment) {
        guard policy != nil else { return }
        policy!.arrived(number)
        let afterABreak = segment.opensStream || lastNumber != number - 1
        var bytes: [UInt8]
        switch form {
        case .audio:
            bytes = segment.audio
        case .numbered where segment.opensStream && !isBranch:
            bytes = segment.numberedOpeningStream
        case .numbered:
            bytes = segment.titleChanged || segment.titleVersion == sentTitleVersion ? segment.numbered : segment.numberedWithTitle
        case .icy:
            bytes = icyForm(of: segment, afterABreak: afterABreak)
        }
        // A player's first segment, and the first after a break, starts on a frame (one copy for this listener);
        // every other one is the shared buffer. (A branch's players are served so by the branch.)
        if form != .numbered, afterABreak { bytes = entry(of: segment, bytes) }
        if ahead > 0 {
            // Its start went out ahead of it (pieces): the rest goes now, queued if need be — the framing needs it.
            let rest = bytes.dropFirst(ahead)
            sentAhead = []
            connection.write(Array(rest))
            delivered(rest.count, number, segment)
            return
        }
        switch policy!.way(bytes: bytes.count, pending: connection.pendingBytes) {
        case .write:
            // The burst goes out whole even if the socket cannot take it at once, within a bound.
            connection.write(bytes)
            delivered(bytes.count, number, segment)
            return
        case .queue:
            return queue(bytes, number, segment)
        case .offer:
            break
        }
        let offer = connection.offer(bytes)
        if offer == .closed { return }  // `closed(_:)` follows from the connection's onClose
        let verdict = offer == .skipped
            ? policy!.skipped(consecutiveSkips: connection.consecutiveSkips, at: .now) : policy!.delivered()
        switch verdict {
        case .delivered:
            delivered(bytes.count, number, segment)
        case .skipped:
            distributor.tally.count(skipped: 1)
        case .drop(let behind):
            distributor.tally.count(skipped: 1, dropped: 1)
            // Said in its leave line, within the budget of joins and leaves: a thousand players that stopped reading
            // are a thousand such lines at once.
            stopReason = "dropped: behind for \(behind) segments"
            connection.close()
        }
    }

    /// A branch link's segment after its burst: queued whole behind what its socket has not taken yet, never skipped
    /// — a segment it skipped would be missing in its whole subtree —, or, when the link has stayed behind for
    /// longer than its patience (``DeliveryPolicy/queued(bytes:pending:at:)``), the link is dropped without it: the
    /// branch re-attaches with `X-Casty-Resume`, and is replayed what it missed from the ring.
    private func queue(_ bytes: [UInt8], _ number: Int, _ segment: StreamSegment) {
        guard case .drop(let behind) = policy!.queued(bytes: bytes.count, pending: connection.pendingBytes, at: .now) else {
            connection.write(bytes)
            return delivered(bytes.count, number, segment)
        }
        distributor.tally.count(dropped: 1)
        // Said in its leave line, as a player's drop is.
        stopReason = "dropped: behind for \(counted(behind, "segment")), segment \(number) not sent"
            + " (a branch link skips none: it re-attaches and resumes from the ring)"
        connection.close()
    }

    /// `bytes`, a form of `segment`, as the player's entry: on a frame, and after its last segment, if it ended
    /// inside a frame (another stream now, or segments skipped), that frame completed — or the rest of the one
    /// that abandoned pieces cut short (``owed``) —, and the first frames, whose audio may begin in bytes it has of
    /// the stream before, muted until one is decodable (``StreamSegment/joining(_:completing:format:)``). A player's
    /// very first segment needs none of that: its decoder knows it has nothing before.
    private func entry(of segment: StreamSegment, _ bytes: [UInt8]) -> [UInt8] {
        guard entered, let format else { return segment.entering(bytes) }
        let completion = lastSegment.map { $0.tailCompletion(format) ?? [] } ?? owed
        return segment.joining(bytes, completing: completion, format: format)
    }

    /// Audio of the next segment ahead of it (``StreamPiece``, a quiet source): a listener keeping up — its burst
    /// over, nothing of its own waiting on the socket — gets it at once, and the rest with the segment. A branch
    /// gets it too, and hands it on to its own listeners the same way.
    private func take(_ piece: StreamPiece, of number: Int) {
        if piece.abandoned { return completeAhead(streamEnded: piece.ended) }
        guard lastNumber == number - 1, !bursting, piece.offset <= ahead, piece.offset + piece.audio.count > ahead,
              ahead > 0 || connection.pendingBytes == 0 else { return }
        // The shared buffer as it is, unless the listener had part of it already.
        let bytes = ahead == piece.offset ? piece.audio : Array(piece.audio.dropFirst(ahead - piece.offset))
        connection.write(bytes)
        sentAhead.append(bytes)
        distributor.tally.count(bytesOut: bytes.count)
        sentBytes += bytes.count
    }

    /// What was sent ahead of a segment will not be followed by it (the source ended, or was moved away from; a
    /// branch lost its link): a player gets the bytes that the frame the pieces cut short lacks (zeros, as a splice
    /// completes one: ``StreamSegment/tailCompletion(of:from:_:)``), then padding up to the segment's size
    /// (``StreamSegment/padding(_:)``, which decoders skip) — whole frames, then a tag, not a tag read as the rest
    /// of a frame —, and one that takes titles an empty metadata block, so that its framing stays exact; a branch
    /// gets the block that says it was no segment (``StreamSegment/voidBlock``). What of that frame does not fit
    /// begins the next segment's entry, which starts on a frame. Where the stream ended, a branch is told so in
    /// any case — with a whole void segment if it got nothing ahead — so that it publishes the HLS segment it was
    /// filling (``StreamSegment/endBlock``); a player is told nothing more.
    ///
    /// ```
    /// pieces      … [ frame ][ start of a frame ]
    /// stand-in    [ zeros: the frame's missing bytes ][ ID3 tag … ]  (up to the segment's size) [ block ]
    /// ```
    private func completeAhead(streamEnded: Bool = false) {
        if streamEnded, form == .numbered, phase == .streaming { return writeVoidSegment(StreamSegment.endBlock) }
        guard ahead > 0 else { return }
        let room = segmentBytes - ahead
        let completion = cutFrameCompletion()
        let standIn = Array(completion.prefix(room)) + StreamSegment.padding(room - min(room, completion.count))
        switch form {
        case .audio: connection.write(standIn)
        case .icy: connection.write(standIn + [0])
        case .numbered: connection.write(standIn + StreamSegment.voidBlock)
        }
        sentAhead = []
        owed = Array(completion.dropFirst(room))
        lastSegment = nil  // its cut frame is completed: the next segment is an entry (``lastNumber``), after `owed`
        lastNumber = nil
    }

    /// Ends the segment being sent on a tree link as no segment: padding up to its size (after what went ahead of
    /// it), then `block`, a void segment's (``StreamSegment/endBlock``, ``StreamSegment/newStreamBlock``).
    private func writeVoidSegment(_ block: [UInt8]) {
        connection.write(StreamSegment.padding(segmentBytes - ahead) + block)
        sentAhead = []
        lastSegment = nil
    }

    /// The bytes that the last frame begun in what the player got — its last segment, then the pieces sent ahead of
    /// the next — lacks; none where its frames are not followed.
    private func cutFrameCompletion() -> [UInt8] {
        guard let format, let last = lastSegment, let start = last.entryOffset else { return [] }
        return StreamSegment.tailCompletion(of: last.audio + sentAhead.joined(), from: start, format) ?? []
    }

    /// The ICY bytes for a player: the first segment stating the title current at joining (the burst's first
    /// segment may be older than that: its own title would be a step back); then the shared forms, never telling
    /// a title older than one already told. The first segment after a break — a new stream, most often — states
    /// its own title, or that there is none (`StreamTitle='';`) where the player was told one.
    private func icyForm(of segment: StreamSegment, afterABreak: Bool) -> [UInt8] {
        if !entered || afterABreak {
            // A burst segment is older than the reply's title; a live one (no burst) is the newest there is.
            var stated = bursting && !entered ? joinTitle ?? segment.title : segment.title
            if entered, stated == nil, told.title != nil { stated = Metadata(streamTitle: "") }
            telling = (stated, segment.title == stated ? segment.titleVersion : nil)
            return segment.audio + (stated == segment.title ? segment.titleBlock : StreamSegment.block(stating: stated))
        }
        if let version = told.version {
            telling = (segment.title, segment.titleVersion)
            return segment.titleChanged || segment.titleVersion == version ? segment.icy : segment.icyWithTitle
        }
        if segment.title == told.title {
            // The title it carries was told already (as the title current at joining): not told twice.
            telling = (segment.title, segment.titleVersion)
            return segment.icyUnchanged
        }
        if bursting {
            // Still the burst, before the segment that carries the title told: an older title, not told again.
            telling = told
            return segment.icyUnchanged
        }
        telling = (segment.title, segment.titleVersion)
        return segment.icyWithTitle
    }

    private func delivered(_ count: Int, _ number: Int, _ segment: StreamSegment) {
        distributor.tally.count(bytesOut: count)
        sentBytes += count
        entered = true
        lastNumber = number
        lastSegment = segment
        owed = []
        if form == .icy { told = telling }
        sentTitleVersion = segment.titleVersion
    }

    // MARK: Closing

    func stopNow() {
        if case .waitingForReply = phase, !headWritten {
            port.refused()
            respond(503, "Service Unavailable", "The stream is not available here right now; try again later.", ["Retry-After": "2"])
        } else {
            connection.close()
        }
    }

    /// The stream it waits for does not exist upstream (a branch's root has no such mount): a peer still waiting
    /// for its reply is answered `404`, as the root answers it; one already streaming is closed.
    nonisolated func notFound() { onLoop { $0.notFoundNow() } }

    /// The branch may not be served here, for `reason` (it names this node, or one above it, as itself): a peer still
    /// waiting for its reply is answered `409 Conflict` with the reason, which asking again will not change. Said in
    /// one refusal line naming the peer, as a wrong tree key's is.
    nonisolated func conflict(_ reason: String) { onLoop { $0.conflictNow(reason) } }

    private func conflictNow(_ reason: String) {
        port.refusalLog("tree: \(who) refused on \(listening.path): \(reason) (409)")
        guard case .waitingForReply = phase, !headWritten else { return stopNow() }
        respond(409, "Conflict", reason, [:])
    }

    private func notFoundNow() {
        guard case .waitingForReply = phase, !headWritten else { return stopNow() }
        port.refusalLog("\(who) refused: no mount at \(listening.path) upstream (404)")
        respond(404, "Not Found", StreamRoutes.noMountBody(listening.path), [:])
    }

    private func closed(_ error: SocketError?) {
        let wasStreaming: Bool
        if case .streaming = phase { wasStreaming = true } else { wasStreaming = false }
        let wasWaiting = phase == .waitingForReply && !headWritten
        // Told `200` by the front door, which wrote its head before handing it to this loop, and gone before the
        // distributor's answer brought its burst (a probe reading the head, a prefetch).
        let wasToldOK = phase == .waitingForReply && headWritten
        phase = .closing
        distributor.leave(self)
        onLeave?()
        onLeave = nil
        if wasWaiting { return gaveUpWaiting() }
        guard wasStreaming || wasToldOK else { return }
        let duration = seconds(ContinuousClock.now - joined)
        // A player that quits mostly resets its connection (it closes with audio unread): that is its leaving, not a fault.
        let why: String = switch error {
        case nil: stopReason ?? "closed"
        case let error? where error.isReset: "closed by the \(isBranch ? "branch" : "player") (reset)"
        case let error?: "\(error)"
        }
        if wasToldOK {
            accessLogLine(status: 200, bytes: 0)
            return port.joinsAndLeaves("\(who) left after \(formatted(duration)) s (\(why)), told 200 and gone before its first segment")
        }
        options.accessLog?.closed(id, bytes: sentBytes)
        port.joinsAndLeaves("\(who) left after \(formatted(duration)) s (\(why)):"
            + " \(counted(policy?.segments ?? 0, "segment")), \(policy?.skipped ?? 0) skipped, \(counted(policy?.gaps ?? 0, "gap"))")
    }
}

extension Client {
    /// The access log's line of a request answered without the stream — a `503` after the wait, a redirect, a
    /// `404`; a `499` for a player that gave up — with the seconds since it came, as every request answered has one.
    fileprivate func accessLogLine(status: Int, bytes: Int) {
        options.accessLog?.answered(address: listening.address, user: listening.user, request: listening.requestLine, status: status,
                                    bytes: bytes, referer: listening.referer, agent: listening.userAgent,
                                    seconds: AccessLog.wholeSeconds(ContinuousClock.now - joined))
    }

    /// A peer that left while it waited for its stream — not started yet (a relay still reaching its station), or
    /// away (a relay's station lost for a while, a mount between two sources) — was answered nothing: its leaving is
    /// told — in the server's log, saying which, and, as a request the player gave up on (`499`), in the access
    /// log — so that no listener comes and goes unseen.
    fileprivate func gaveUpWaiting() {
        let waited = ContinuousClock.now - joined
        accessLogLine(status: 499, bytes: 0)
        let line = "\(who) left after \(formatted(seconds(waited))) s waiting for \(listening.path)", port = port
        // Asked on the distributor's loop: a client handed over to another loop of the group runs there.
        distributor.onLoop { distributor in
            port.joinsAndLeaves(line + (distributor.streamAway ? " while the stream was away" : " before the stream had started"))
        }
    }
}

/// One listener, as the admin API lists it (`/admin/listclients`).
public struct ListenerInfo: Sendable, Equatable {
    /// The number that names it (`/admin/killclient?id=`).
    public let id: Int
    /// Its address, as the log names it: `192.0.2.7:51234`, or behind a trusted proxy
    /// `192.0.2.7 (via 127.0.0.1:58864)`.
    public let peer: String
    /// Its IP address alone — behind a trusted proxy, the listener's own (`X-Forwarded-For`), not the proxy's:
    /// what a ban list or a geo lookup takes.
    public let ip: String
    /// Its request: `GET /live (VLC/3.0.18)`.
    public let request: String
    /// Its `User-Agent` (`VLC/3.0.18 LibVLC/3.0.18`), if it sent one.
    public let userAgent: String?
    /// Whether it is a branch of the tree.
    public let isBranch: Bool
    /// How long it has been connected.
    public let connectedSeconds: Double
    /// Segments it was handed, and how many of them it skipped.
    public let segments: Int, skipped: Int
}

/// How a distributor's clients are served.
public struct ClientOptions: Sendable {
    /// A peer that has not sent its whole request by then is dropped (Icecast uses 15 s).
    public var headerTimeout: Duration = .seconds(15)
    /// Where each listener that leaves gets its line (``AccessLog``), if anywhere.
    public var accessLog: AccessLog?
    /// A listener skipping segments for longer than this is disconnected.
    public var maxBehind: Duration = .seconds(10)
    /// A branch link behind for longer than this — its segments queued behind bytes it has not taken, never
    /// skipped — is disconnected, to resume from the ring: a branch that cannot keep up has most likely lost its
    /// link, and its place is better given to another.
    public var branchMaxBehind: Duration = .seconds(2)
    /// The most bytes of a player's first burst written reliably (queued) before lossy delivery starts.
    public var burstBytes = 6 * 8192 + 1024
    /// The audio a web browser gets at once (a longer burst than other players'; zero: the same). Chromium's
    /// `<audio autoplay>` plays a live stream only once it holds about 4 s of it: with 3 s it waited 5 s more,
    /// with 4 s or more it played within 0.2 s (`scripts/bench/first-sound.sh`, BENCHMARKS.md). Bounded by the
    /// ring (32 segments).
    public var browserBurst: Duration = .seconds(5)
    /// The most segments a branch's first burst may hold: a branch that resumes gets everything it missed
    /// from the ring, reliably.
    public var branchBurstSegments = 34
    /// `SO_SNDBUF` for each listener: small, about one segment, so a slow listener shows at once.
    public var sendBuffer = 16 * 1024
    /// Whether a request with `X-Casty-Branch` is taken as a branch of the tree (which may be redirected).
    /// A port only for media players sets this to `false`: every request there is served.
    public var acceptsBranches = true
    /// The tree's secret: when set, a request with `X-Casty-Branch` must carry it in `X-Casty-Key`, or it is
    /// refused with `403 Forbidden` (players need no key). A reference: every copy of these options shares it, so a
    /// key rotated while the node runs (``TreeKey/rotate(to:)``) holds at once for every port given them.
    public var treeKey: TreeKey?
    /// Tells the status page what the source is doing (`streaming`, `connecting`, `retrying`), if known.
    public var upstreamState: (@Sendable () -> String)?

    /// Reverse proxies whose `X-Forwarded-For`/`X-Real-IP` name the real client (`--trusted-proxy`).
    public var trustedProxies: TrustedProxies?

    /// The origins whose pages may use the streams and routes from their scripts (CORS); `nil`: any (`*`).
    public var corsOrigins: [String]?

    /// How often every page following a mount's titles (Server-Sent Events, WebSocket) gets a heartbeat: a
    /// `: keep-alive` comment line, or a ping frame. It keeps a reverse proxy from closing a connection whose
    /// title has not changed (nginx's `proxy_read_timeout` is 60 s by default), and it is when a watcher that is
    /// gone is noticed (``titlePatience``). At least 100 ms.
    public var titleHeartbeat: Duration = ClientOptions.defaultTitleHeartbeat
    /// The default ``titleHeartbeat``: 15 s, four heartbeats within nginx's default 60 s.
    public static let defaultTitleHeartbeat: Duration = .seconds(15)
    /// A title watcher whose bytes waiting have not gone down for this many heartbeats in a row (a minute, by
    /// default), or a WebSocket page that has answered none of as many pings, is dropped.
    public var titlePatience = 4

    /// Whether the stream's reply starts `ICY 200 OK` (old Shoutcast players that ask for it) rather than
    /// `HTTP/1.0 200 OK`, which browsers need: Chrome refuses `ICY` on ports other than 80.
    public var icyStatusLine = false
    /// How every stream of the port is published as live HLS (``HLSPackager/Settings``).
    public var hls = HLSPackager.Settings()
    /// The loops players are spread across (``EventLoopGroup``); `nil`: every player on the port's own loop.
    public var loops: EventLoopGroup?
    /// Which of the port's streams are recorded, where, and how (``Recorder/Settings``).
    public var recording = Recorder.Settings()

    /// The defaults.
    public init() {}
}

extension ClientOptions {
    /// How many segments of `segmentDuration` make up ``browserBurst``.
    func browserBurstSegments(segmentDuration: Duration) -> Int {
        guard browserBurst > .zero, segmentDuration > .zero else { return 0 }
        return Int((browserBurst / segmentDuration).rounded(.up))
    }
}
