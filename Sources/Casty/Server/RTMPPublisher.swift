internal import CastyAudio
internal import CastyNet
internal import CastyWire
internal import Icy

/// One RTMP connection of a station server (OBS, ffmpeg, a broadcasting app): the thin adapter that runs an
/// ``RTMPServerMachine`` on the event loop and does what it asks.
///
/// `rtmp://host:1935/<app>/<key>` publishes mount `/<app>` with `<key>` as the source's password (or the key the
/// platform's application verifies), through the same ``SourceAdmission`` as an Icecast source: the whitelist,
/// the password rules or key verification, a mount in use. A refused publisher gets an `onStatus` error
/// (`NetStream.Publish.Unauthorized` for a key, `NetStream.Publish.BadName` for a mount) and the socket closes.
/// An accepted one gets `NetStream.Publish.Start`; its session starts with its first audio message, which tells
/// the format (MP3 is relayed as is, AAC as ADTS), and the mount's listeners hear it from then on. Video is
/// counted and dropped; an `onMetaData` title becomes the mount's title. Audio sent while the application is asked
/// about the key (before `NetStream.Publish.Start`: an AAC sequence header above all) is held, as an Icecast
/// source's body is (``RTMPAudioHold``), and the session starts with it; a publisher that hangs up meanwhile is
/// one line, as such an Icecast source (``SourceAdmission/left(_:port:)``).
///
/// Deadlines: a peer has the header timeout to finish the handshake and ask to publish, and the source timeout
/// to send audio once accepted; then its ``SourceSession`` watches for silence. In between, the application's answer
/// is bounded by its own timeout (`--key-verification-timeout`). A protocol error is one log line and a close.
/// Loop-confined (`@unchecked Sendable` so that callbacks may capture it).
final class RTMPPublisher: SourceInput, @unchecked Sendable {
    private let connection: Connection
    private let port: PortContext
    private let counters: RTMPCounters
    /// The port's log of connections that failed before publishing (a flood of them is summed up).
    private let failures: LogBudget
    private let peer: String
    /// The peer's address without its port: what ``maxWaitingPerAddress`` counts by.
    private let host: String
    private var machine = RTMPServerMachine()
    private var deadline: Scheduled?
    /// The publish request whose verdict is awaited (the application asked about its key), and the audio held
    /// meanwhile.
    private var asking: SourcePublication?
    private var held = RTMPAudioHold()
    /// The accepted publish request, and what the application said about recording it.
    private var publication: SourcePublication?
    private var record: Bool?
    private var info = RTMPServerMachine.StreamInfo()
    private var session: SourceSession?
    /// The audio format the session was started with: the stream's, told to its listeners.
    private var format: FLVAudio.Format?
    /// The sample rate and channels of its first audio message.
    private var shape: AudioShape?
    private var closed = false
    /// Whether the access log has this publisher's line already (its refusal's): one line a publisher.
    private var accessLogged = false
    /// When it connected: a refused publisher's access-log line has the seconds it was connected.
    private let connected = ContinuousClock.now

    /// The loop the connection lives on.
    var loop: EventLoop { connection.loop }
    /// The most bytes of answers waiting for a peer that does not read them.
    static let maxPendingBytes = 64 * 1024
    /// The most connections that may wait to publish at once (``RTMPCounters/waiting``): each may hold its place
    /// for the header timeout without a byte, and a flood of them would hold descriptors every port needs. The
    /// next is closed at once, and counted (``RTMPCounters/turnedAway``).
    static let maxWaiting = 64
    /// The most of those (``maxWaiting``) from one address: a peer that needs no credential to connect — the key is
    /// asked for at `publish` — would otherwise hold every place with idle connections, and lock every broadcaster
    /// out. Eight leave room for a studio behind one NAT address; the next from that address is closed at once,
    /// and counted (``RTMPCounters/turnedAway``), as past ``maxWaiting``.
    static let maxWaitingPerAddress = 8
    /// Whether this connection counts among those waiting to publish.
    private var waits = true

    /// Listens for RTMP publishers on `address`, for the mounts of `port`.
    static func listen(on address: SocketAddress, loop: EventLoop, port: PortContext, counters: RTMPCounters) throws(SocketError) -> Listener {
        // A small send buffer, as on the HTTP port: Casty's answers are small, and a peer that does not read them
        // shows in ``Connection/pendingBytes`` soon.
        let failures = LogBudget.rtmpFailures(loop: loop, logger: port.logger)
        let refusals = LogBudget.refusedPeers(loop: loop, logger: port.logger)
        let waiting = WaitingDoors.on(loop)
        let listener = try Listener(address: address, on: loop, sendBuffer: port.options.sendBuffer) { connection in
            counters.connections += 1
            let host = connection.remoteAddress?.host ?? ""
            let full: String? =
                if counters.waiting >= maxWaiting { "\(maxWaiting) connections are" }
                else if counters.waitingFrom[host, default: 0] >= maxWaitingPerAddress { "\(maxWaitingPerAddress) connections from \(host) are" }
                else { nil }
            if let full {
                counters.turnedAway += 1
                port.refused()
                refusals("rtmp port: refused \(connection.remoteAddress?.description ?? "a peer"): \(full) waiting to publish already")
                return connection.close()
            }
            counters.startWaiting(from: host)
            RTMPPublisher(connection: connection, port: port, counters: counters, failures: failures, host: host).open()
        }
        loop.execute {
            listener.onRefuse = { error in
                port.refused()
                refusals("rtmp port \(listener.localAddress): refused a peer: \(error)")
            }
            // Out of descriptors, a broadcaster is not locked out by idle connections on the HTTP port: one still
            // waiting for its request is shed in the publisher's place, as for a player.
            listener.onShortage = { waiting.shed() }
        }
        return listener
    }

    private init(connection: Connection, port: PortContext, counters: RTMPCounters, failures: LogBudget, host: String) {
        self.connection = connection
        self.port = port
        self.counters = counters
        self.failures = failures
        self.host = host
        self.peer = connection.remoteAddress?.description ?? "unknown peer"
    }

    private func open() {
        connection.onRead = { [self] bytes in read(bytes) }
        connection.onClose = { [self] _ in
            // A session says when it ends; a peer that leaves before publishing would leave no trace but a count. One
            // that leaves while its key is verified is no failed connection: its line is an Icecast source's.
            if session == nil, !closed {
                if let asking { SourceAdmission.left(asking, port: port) }
                else { failures("rtmp \(peer): hung up \(publication.map { "after publishing \($0.path), before its first audio" } ?? "before publishing")") }
            }
            shut()
        }
        arm(port.options.headerTimeout, "no publish request within \(port.options.headerTimeout)")
    }

    // MARK: Input

    private func read(_ bytes: [UInt8]) {
        let before = (audio: machine.audioMessages, video: machine.videoMessages, metadata: machine.metadataMessages)
        do {
            let actions = try machine.receive(bytes[...])
            counters.audioMessages += machine.audioMessages - before.audio
            counters.videoMessages += machine.videoMessages - before.video
            // Whatever else arrives, the session's end names it if its audio stops (not "nothing arrived").
            if machine.videoMessages > before.video { session?.assumeIsolated { $0.tookOther("video") } }
            if machine.metadataMessages > before.metadata { session?.assumeIsolated { $0.tookOther("metadata") } }
            perform(actions)
        } catch where error.isUnsupportedAudio {
            unsupported(error)
        } catch {
            counters.malformed += 1
            closeForProtocol("\(error)")
        }
    }

    private func perform(_ actions: [RTMPServerMachine.Action]) {
        for action in actions where !closed {
            switch action {
            case .send(let bytes):
                connection.write(bytes)
                // Answers are small; a peer that asks and asks without reading them would make them pile up.
                if connection.pendingBytes > Self.maxPendingBytes {
                    counters.malformed += 1
                    closeForProtocol("does not read the answers (\(connection.pendingBytes) bytes pending)")
                }
            case .publish(let app, let key, let query): publish(app: app, key: key, query: Substring(query))
            case .audio(let format, let bytes): audio(format, bytes)
            case .metadata(let info): metadata(info)
            case .unpublish:
                // A session's end line says it (`… ended: it stopped publishing (FCUnpublish)`): one line per end.
                if session == nil {
                    if let asking { SourceAdmission.left(asking, port: port) }
                    else { port.logger("rtmp \(peer): unpublished \(publication?.path ?? "before publishing")") }
                }
                finish()
            }
        }
    }

    // MARK: Publishing

    /// `rtmp://host/<app>/<key>`: the mount `/<app>`, `key` its password — and the key the application verifies,
    /// unless the query (`<key>?key=K`, or on the app) gives one, as an Icecast source's URL and an SRT stream ID
    /// do. Other query fields (`?token=`, which nginx-rtmp would pass on) are not read: the line says so, by name.
    /// An app that holds the key as one of its parts (`rtmp://host/live/KEY/KEY`) is refused, never shown.
    private func publish(app: String, key: String, query: Substring) {
        let app = app.drop { $0 == "/" }  // `rtmp://host//live/key`, or an app typed `/live`
        let queryKey = URLQuery.escapedValue("key", in: query).map { URLQuery.decode($0, plusIsSpace: false) }
        // The key pasted into the server's URL too (OBS: Server `rtmp://host/live/KEY`, Stream Key `KEY`): the key
        // would name a public mount, and be written in every line about it. Refused, the key shown as `…`.
        if let held = Secret.parts(of: app, among: [key, queryKey]) {
            let server = "rtmp://host:\(connection.localAddress?.port.description ?? "port")/\(held.meant.isEmpty ? "<mount>" : held.meant)"
            let why = "the server URL holds the stream key too: set the server to \(server), the key apart"
            return refuse(on: "/" + held.shown, why, told: why.prefix(1).uppercased() + why.dropFirst() + ".", code: "NetStream.Publish.BadName",
                          status: MountTable.Refusal.notMountName(why).status)
        }
        let path = "/" + app
        if let ignored = URLQuery.notRead(URLQuery.names(in: query), of: "a stream key's query") {
            port.logger("rtmp \(peer): publishing \(path): \(ignored)")
        }
        let publication = SourcePublication(
            path: path, password: key, key: queryKey ?? key, ip: connection.remoteAddress?.host ?? peer, peer: peer,
            request: SourcePublication.request(path, over: "RTMP"), contentType: nil)
        if let why = path.count > 1 ? StationServer.Configuration.whyNotMountName(path) : "the app names none" {
            return refuse(publication, .rules(port.mounts?.rules.whitelist == nil ? .notMountName(why) : .notAllowed))
        }
        // It asked: the header timeout is over for it. The application's answer is bounded by its own timeout
        // (`--key-verification-timeout`), which may be longer — as for an Icecast or SRT source.
        deadline?.cancel()
        asking = publication
        SourceAdmission.check(publication, port: port) { [self] verdict in
            guard !closed else { return }
            asking = nil
            switch verdict {
            case .failure(let refusal):
                _ = held.take()  // what it sent meanwhile is never heard
                refuse(publication, refusal)
            case .success(let record):
                // Held until its first audio starts the session: a second publisher is refused at its `publish`.
                guard port.mounts?.hold(path) ?? true else { return refuse(publication, .rules(.inUse)) }
                self.publication = publication
                self.record = record
                perform(machine.accept())
                arm(port.mounts?.rules.sourceTimeout ?? .seconds(10), "no audio after publishing \(path)")
                playHeld()
            }
        }
    }

    /// The audio that came while the application was asked goes to the mount, in order: the first starts the
    /// session, as it would have once accepted. Some dropped from the hold is said, as for an Icecast source.
    private func playHeld() {
        for (format, bytes) in held.take() where !closed { audio(format, bytes) }
        guard !closed, session != nil, let path = publication?.path, held.dropped > 0 else { return }
        port.logger(BodySourceInput.heldAudioDropped(held.dropped, on: path))
    }

    /// Audio frames: the first start the session (their format is the stream's), all go to it. Frames of
    /// another format end it (``SourceSession/End/switchedFormat(from:to:)``): its listeners were told one
    /// `Content-Type`, and publishing again starts a stream of the other.
    private func audio(_ format: FLVAudio.Format, _ bytes: [UInt8]) {
        if asking != nil {
            // While the application is asked: held, as much as an Icecast source's body would be.
            return held.keep(format, bytes, limit: BodySourceInput.holdLimit(catchUp: port.mounts?.rules.sourceCatchUp, bitrate: info.audioKbps))
        }
        if let session, let started = self.format, format != started {
            return session.assumeIsolated { $0.switched(from: started.contentType, to: format.contentType) }
        }
        // A new AAC configuration (or MP3 frames) of another sample rate or channel count on the same connection:
        // another stream, as another codec is — its listeners' players set up for the first — so it ends too, and
        // the encoder, publishing again, starts a stream of its own (HLS after a discontinuity).
        let heard = AudioShape(frame: bytes[...], format: format == .mp3 ? .mpeg : .adts)
        if let session, let shape, let heard, heard != shape {
            return session.assumeIsolated { $0.switched(from: "\(shape)", to: "\(heard)") }
        }
        if session == nil {
            guard var publication else { return }
            port.mounts?.release(publication.path)  // the session takes the mount now
            publication.contentType = format.contentType
            publication.agent = agent
            let station = Context.stationHeaders(from: ["Content-Type": format.contentType])
            switch SourceAdmission.start(
                publication, record: record, port: port, input: self, station: station, bitrate: info.audioKbps,
                format: format == .mp3 ? .mpeg : .adts)
            {
            case .failure(let refusal):
                return refuse(publication, refusal)
            case .success(let started):
                session = started
                self.format = format
                shape = heard
                deadline?.cancel()
                stopWaiting()
                counters.publishing += 1
                // MPEG audio of another layer than III (MP2) is named, as browsers may not play it.
                let layer = format == .mp3 ? MP3Frame.Layer(ofAudio: bytes[...]).flatMap { $0 == .layer3 ? nil : $0.named } : nil
                port.logger("source \(peer) publishing \(publication.path) (RTMP, \(format.contentType)\(layer.map { ", \($0)" } ?? "")"
                    + "\(agent.map { ", \(SafeText.printable($0))" } ?? ""); stream \(started.streamID))")
                started.assumeIsolated { session in
                    session.start()
                    if let title = info.title { session.setTitle(title, from: "its encoder's onMetaData") }
                }
            }
        }
        session?.assumeIsolated { $0.take(bytes[...]) }
    }

    /// Who the publisher is, in its access-log lines and its publishing line: the `encoder` its `onMetaData` named (sent
    /// before its audio, if at all), else the `flashVer` of its `connect`.
    private var agent: String? { info.encoder ?? machine.flashVersion }

    private func metadata(_ info: RTMPServerMachine.StreamInfo) {
        self.info = info
        if let title = info.title { session?.assumeIsolated { $0.setTitle(title, from: "its encoder's onMetaData") } }
    }

    private func refuse(_ publication: SourcePublication, _ refusal: SourceAdmission.Refusal) {
        let code: String
        switch refusal {
        case .rules(.unauthorized), .keyRefused, .keyUnverified: code = "NetStream.Publish.Unauthorized"
        default: code = "NetStream.Publish.BadName"
        }
        refuse(on: publication.path, "\(refusal)", told: refusal.told(publication.path), code: code, status: refusal.status)
    }

    /// Refuses the publish request on `path` (as it may be shown) for `why`, in one line within the port's refusals'
    /// budget (an encoder with a wrong key retries, a guesser faster), and in the access log's line of the
    /// refusal (``logRefusal(on:status:)``, every one): the publisher is told `told` in an `onStatus` error
    /// (`code`), and the connection closes.
    private func refuse(on path: String, _ why: String, told: String, code: String, status: Int) {
        counters.refused += 1
        port.refused()
        port.refusalLog("source \(peer) refused on \(path) (RTMP): \(why); answered \(code)")
        logRefusal(on: path, status: status)
        fail(told, code: code)
    }

    /// The access log's line of a publisher refused on `path` (as it may be shown: its key never, `-` for none),
    /// `status` the one an Icecast source is answered for the same refusal (``SourceAdmission/Refusal/status``):
    /// `PUBLISH /live RTMP`, no bytes, its ``agent`` (a publisher refused at `publish` has sent no `onMetaData` yet:
    /// the `flashVer` of its `connect`), the seconds it was connected.
    private func logRefusal(on path: String?, status: Int) {
        let session = AccessLog.Session(
            address: host.isEmpty ? "-" : host, user: nil, request: SourcePublication.request(path, over: "RTMP"), referer: nil,
            agent: agent, started: connected)
        port.options.accessLog?.sourceRefused(session, status: status)
        accessLogged = true
    }

    /// Audio in a format Casty does not serve (Nellymoser, PCM, Speex…, AAC that ADTS cannot carry): counted as
    /// unsupported, not malformed; the publisher is told with an `onStatus` error (`NetStream.Publish.Failed`) before
    /// the close, and the line names the mount and the codec — a session's end line, if it was publishing; before
    /// that, the access log has the one line of its refusal (`415`).
    private func unsupported(_ error: RTMPError) {
        counters.unsupported += 1
        if session == nil {
            port.refused()
            let path = (publication ?? asking)?.path
            port.refusalLog("source \(peer) refused on \(path ?? "no mount") (RTMP): \(error); answered NetStream.Publish.Failed")
            logRefusal(on: path, status: MountTable.Refusal.unsupportedType("\(error)").status)
        }
        fail("\(error)", reason: "closed by Casty: \(error)")
    }

    // MARK: The end

    /// Nothing to set up: the publisher hands its session each audio message itself.
    func attach(_ session: SourceSession) {}

    /// The session ended on its own (silence, garbage, an admin): the connection closes.
    func close() {
        shut()
    }

    /// The session ended for `end`: unless the publisher hung up itself, it is told why first, with an `onStatus`
    /// error (`NetStream.Publish.Failed`, which ffmpeg prints as `Server error: …` and OBS shows), then the
    /// connection closes once that is sent.
    func close(after end: SourceSession.End) {
        switch end {
        case .closed, .lost: shut()
        default: fail(end.description)
        }
    }

    /// Tells the publisher `description` in an `onStatus` error (`code`) and closes the connection once it is
    /// sent; a session still running ends with it, for `reason`.
    private func fail(_ description: String, code: String = "NetStream.Publish.Failed", reason: String? = nil) {
        guard !closed else { return }
        perform(machine.refuse(code: code, description: description))
        let connection = connection
        release(reason)
        connection.closeWhenSent(timeout: port.options.headerTimeout)
    }

    /// The publisher said it is done (`FCUnpublish`): its session ends now, and the connection closes gently —
    /// ffmpeg sends `deleteStream` after `FCUnpublish`, and a connection closed at once would answer that with a
    /// reset, which ffmpeg reports as `Broken pipe` at the end of a publish that went well. What it still sends is
    /// read and thrown away until it closes (5 s at most).
    private func finish() {
        let connection = connection
        guard release("it stopped publishing (FCUnpublish)") else { return }
        connection.closeLingering(timeout: .seconds(5), limit: 64 * 1024)
    }

    /// Closes the connection, once; a session still running ends with it — for `reason` if Casty closed it (else
    /// the publisher hung up).
    private func shut(_ reason: String? = nil) {
        guard release(reason) else { return }
        connection.close()
    }

    /// Closes a publisher that broke the protocol, in one log line: its session's end, naming what was wrong (not
    /// "the source hung up": Casty closed it), or this line before it publishes.
    private func closeForProtocol(_ what: String) {
        if session == nil { failures("rtmp \(peer): \(what); closed") }
        shut("closed by Casty: \(what)")
    }

    /// Lets go of the connection's callbacks, the deadline and the session (which ends, if it had not). Returns
    /// whether this was the first time.
    @discardableResult
    private func release(_ reason: String? = nil) -> Bool {
        guard !closed else { return false }
        closed = true
        stopWaiting()
        if session == nil, var publication {
            // Admitted, no audio yet: the mount is free again, and the access log has its line all the same (`200`, no
            // bytes), as an Icecast source that sent nothing has — what a platform counting publishers reads; unless
            // it has the line of its refusal (audio Casty does not serve, a session that could not start).
            port.mounts?.release(publication.path)
            publication.agent = agent
            if !accessLogged { port.options.accessLog?.sourceEnded(publication.accessSession(started: connected), received: 0) }
        }
        deadline?.cancel()
        connection.onRead = nil
        connection.onClose = nil
        if let session {
            self.session = nil  // the session holds its input: let go of each other
            counters.publishing -= 1
            session.assumeIsolated { $0.inputClosed(reason) }
        }
        return true
    }

    /// No longer among the connections waiting to publish: publishing, or gone.
    private func stopWaiting() {
        guard waits else { return }
        waits = false
        counters.stopWaiting(from: host)
    }

    private func arm(_ after: Duration, _ reason: String) {
        deadline?.cancel()
        deadline = loop.schedule(after: after) { [weak self] in
            guard let self, !closed else { return }
            counters.timedOut += 1
            // Audio that came but held no frame is the likelier cause, and what to fix in the encoder; else what came
            // instead (video: a scene without its audio device), said as a session's end says it.
            let dropped = machine.audioDropped
            let others = [(machine.videoMessages, "video"), (machine.metadataMessages, "metadata")].filter { $0.0 > 0 }.map(\.1)
            let why = dropped > 0 ? " (\(counted(dropped, "audio message")) held no frame: AAC frames before an AAC sequence header, or empty messages)"
                : !others.isEmpty ? " (\(SourceSession.End.onlyArriving(others)))" : ""
            if session == nil { failures("rtmp \(peer) dropped: \(reason)\(why)") }
            // A publisher let publish is told why it is dropped, as one whose session ends is.
            if publication != nil { fail("\(reason)\(why)", reason: "dropped: \(reason)\(why)") } else { shut("dropped: \(reason)\(why)") }
        }
    }
}
