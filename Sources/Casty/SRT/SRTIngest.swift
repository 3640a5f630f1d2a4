internal import CastyAudio
public import CastyNet
internal import Icy
internal import Synchronization

/// A station server's SRT ingest: sources publish a mount by calling `srt://host:port?streamid=<mount>` with the
/// mount's passphrase, as ffmpeg and OBS do, and its listeners hear them like any other source.
///
/// ```
/// caller ──SRT──▶ listen callback (libsrt's thread): stream ID on the whitelist? the mount's passphrase set?
///                 a key, if the application verifies keys? the mount free? (``SRTAllowList``)
///                 └─ no: rejected with a code (1403, 1401, 1409, 1402); a wrong passphrase: SRT's own rejection
///        accept ▶ SRT thread: PayloadReader (MPEG-TS → MP3 or ADTS, or raw MP3/ADTS)
///                 └─ loop.execute ▶ on the loop: the mount's rules again, the application's key verification,
///                                   then a SourceSession fed with the audio
/// ```
///
/// The SRT connection's statistics (RTT, loss, retransmits, drops) and the transport stream's counters appear
/// with its mount in `/status.json` and `/commands/report`.
public enum SRTIngest {
    /// How the ingest is set up (`--srt-port`, `--srt-latency`, `--srt-passphrase`).
    public struct Configuration: Sendable {
        /// The UDP address SRT callers connect to.
        public var address: SocketAddress
        /// `SRTO_LATENCY`: how long the receiver waits for lost packets to be sent again before playing on.
        public var latency: Duration = .milliseconds(120)
        /// Each mount's passphrase (10–79 characters): a caller must use it, or SRT rejects it.
        public var passphrases: [String: String] = [:]
        /// The passphrase of every mount without its own.
        public var defaultPassphrase: String?
        /// The library names tried (``SRTLibrary/defaultNames``).
        public var libraryNames = SRTLibrary.defaultNames
        /// The most callers that may wait at once — in their handshake, or accepted before their mount is admitted
        /// (they have sent no audio yet, or the application is verifying their key): each holds libsrt's buffers
        /// (about 0.4 MB) while it waits, up to the source timeout. More are rejected in the handshake with 1402.
        public var maxPending = 16
        /// The most of those (``maxPending``) from one address: a caller needs no credential to wait — under key
        /// verification none is asked before its audio —, so one address with idle callers could otherwise take
        /// every place and lock every broadcaster out. More from it are rejected in the handshake with 1402.
        public var maxPendingPerAddress = 4

        /// An ingest on `address`, no passphrases yet: callers are refused until a mount has one (or the
        /// application verifies keys).
        public init(address: SocketAddress) {
            self.address = address
        }

        /// Checks the passphrases' lengths (SRT takes 10–79 characters) and the latency.
        public func check() throws(ConfigurationError) {
            for (mount, passphrase) in passphrases.sorted(by: { $0.key < $1.key }) {
                guard SRTAllowList.passphraseLengths.contains(passphrase.utf8.count) else {
                    throw .srtPassphrase(mount: mount, length: passphrase.utf8.count)
                }
            }
            if let defaultPassphrase, !SRTAllowList.passphraseLengths.contains(defaultPassphrase.utf8.count) {
                throw .srtPassphrase(mount: nil, length: defaultPassphrase.utf8.count)
            }
            try ConfigurationError.check(latency, in: .milliseconds(20)...(.seconds(10)), else: ConfigurationError.srtLatency)
        }
    }

    /// Loads libsrt and listens: what ``StationServer/start(_:address:loop:logger:)`` does with
    /// ``StationServer/Configuration/srt``. Returns the listener, and the allow list its callers are decided by
    /// (``StationServer/reload(_:)`` gives it new passphrases).
    static func start(
        _ configuration: Configuration, table: MountTable, port: PortContext, loop: EventLoop, logger: EventLog
    ) throws(SRTError) -> (listener: SRTListener, allowList: SRTAllowList) {
        try SRTLibrary.load(names: configuration.libraryNames)
        let allowList = SRTAllowList(SRTAllowList.Rules(
            whitelist: table.rules.whitelist, passphrases: configuration.passphrases, defaultPassphrase: configuration.defaultPassphrase,
            verifying: port.control?.verifiesKeys == true))
        table.whitelistChanged = { whitelist in allowList.update(whitelist: whitelist) }
        table.sourcesChanged = { [weak table] inUse, full in
            // With the credentials each live source published with: its own encoder reconnecting may take it back.
            // and whether it was admitted by the mount's SRT passphrase, which a SIGHUP may have changed since.
            let sources = inUse.compactMap { path in table?.mount(at: path)?.source.map { (path: path, session: $0) } }
            allowList.update(inUse: inUse, full: full, live: Dictionary(sources.map { ($0.path, $0.session.credentials) }) { first, _ in first },
                             byPassphrase: Set(sources.filter(\.session.byPassphrase).map(\.path)))
        }
        let timeout = table.rules.sourceTimeout
        // A flood of them is told in one line: the first, then a count every 10 s.
        let waiting = LogBudget(loop: loop, logger: logger, what: "SRT callers refused: too many waiting to publish", perWindow: 1)
        let rejected = SRTRejections(loop: loop, logger: logger)
        // Every caller refused in the handshake has its access-log line too, past the budgets (what fail2ban counts).
        let accessLog = port.options.accessLog
        let logRefusal = { @Sendable (streamID: String, peer: SocketAddress?, status: Int) in
            accessLog?.sourceRefused(refusedCaller(streamID, from: peer, allowList: allowList), status: status)
        }
        let listener = try SRTListener(
            address: configuration.address, latency: configuration.latency, peerIdleTimeout: timeout, maxPending: configuration.maxPending,
            maxPendingPerAddress: configuration.maxPendingPerAddress,
            decide: { streamID, peer in
            let (decision, why) = allowList.decide(streamID, from: peer?.host)
            if let why, case .reject(let code) = decision {
                let caller = peer.map { "\($0)" } ?? "?"
                guard rejected.tell(caller + " " + streamID, "SRT caller \(caller) refused: stream ID '\(allowList.shown(streamID))': \(why) (\(code))") else {
                    return decision
                }
                logRefusal(streamID, peer, status(ofRejection: code))
                loop.execute { port.refused() }
            }
            return decision
        }, accepted: { connection in
            SRTSource(connection: connection, table: table, port: port, loop: loop, timeout: timeout, allowList: allowList, logger: logger)
        }, rejected: { streamID, peer, reason in
            // SRT checked the passphrase itself, after the listen callback: told by libsrt's log, never the passphrase;
            // in the same budget as the callback's refusals (an encoder with a wrong passphrase retries every second).
            let caller = peer.map { "\($0)" } ?? "?"
            guard rejected.tell(caller + " " + streamID, "SRT caller \(caller) refused: stream ID '\(allowList.shown(streamID))': \(reason) "
                + "(rejected by SRT during the handshake)") else {
                return
            }
            logRefusal(streamID, peer, MountTable.Refusal.unauthorized(.password).status)
            loop.execute { port.refused() }
        }, tooManyPending: { streamID, peer, full in
            // A handshake sent again is the same caller: told and counted once.
            guard rejected.isNew((peer.map { "\($0)" } ?? "?") + " " + streamID) else { return }
            let callers = full == .all ? "\(configuration.maxPending) callers are"
                : "\(configuration.maxPendingPerAddress) callers from \(peer?.host ?? "?") are"
            waiting("SRT caller \(peer.map { "\($0)" } ?? "?") refused: stream ID '\(allowList.shown(streamID))': "
                + "\(callers) waiting to publish already (\(SRTListener.overloaded))")
            logRefusal(streamID, peer, status(ofRejection: SRTListener.overloaded))
            loop.execute { port.refused() }
        })
        return (listener, allowList)
    }

    /// The HTTP status an Icecast source is answered for the refusal that the rejection `code` tells
    /// (``MountTable/Refusal/status``), for the access log: `401` for missing credentials (1401), `503` for a server
    /// that takes no more sources or callers now (1402), `403` for the rest — a mount in use (1409) too, as Icecast
    /// answers it.
    static func status(ofRejection code: Int32) -> Int {
        switch code {
        case SRTListener.unauthorized: MountTable.Refusal.unauthorized(.password).status
        case SRTListener.overloaded: MountTable.Refusal.full(0).status
        case SRTListener.conflict: MountTable.Refusal.inUse.status
        default: MountTable.Refusal.notAllowed.status
        }
    }

    /// The access-log line of a caller from `peer` refused in the handshake but for its status
    /// (``AccessLog/sourceRefused(_:status:)``): `PUBLISH /live SRT` — the mount its stream ID asks for alone
    /// (``SRTAllowList/shownMount(_:)``), never its key, its query or a passphrase —, no agent, and no seconds.
    static func refusedCaller(_ streamID: String, from peer: SocketAddress?, allowList: SRTAllowList) -> AccessLog.Session {
        AccessLog.Session(
            address: peer?.host ?? "-", user: nil, request: SourcePublication.request(allowList.shownMount(streamID), over: "SRT"),
            referer: nil, agent: nil, started: .now)
    }
}

/// One SRT caller publishing a mount.
///
/// Two halves, each confined to one thread: what the SRT thread calls (``received(_:)``, ``ended(_:)``: the
/// payload reader and its counters) and what runs on the loop (admission, key verification, the session). The
/// SRT thread hands each message's audio over with one `loop.execute`.
final class SRTSource: SRTReceiver, SourceInput, @unchecked Sendable {
    private let connection: SRTConnection
    private let table: MountTable
    private let port: PortContext
    /// The loop its session runs on.
    let loop: EventLoop
    private let logger: EventLog
    /// Told when the application refuses the caller's key.
    private let allowList: SRTAllowList
    private let id: SRTStreamID?
    private let peer: String
    /// When it was accepted: a refused caller's access-log line has the seconds it was connected.
    private let accepted: ContinuousClock.Instant

    // The SRT thread's.
    private var reader = PayloadReader()
    private var incidents = 0
    /// Packets SRT dropped as too late, as said (``SRTLateDrops``), and when the statistics were last looked at.
    private var lateDrops = SRTLateDrops()
    private var statsLookedAt = ContinuousClock.now
    /// Whether the program's audio changed format (the session is ending).
    private var switchSeen = false
    /// The transport stream's counters, for the status page (written on the SRT thread, read on the loop).
    private let counters = Mutex<(TSDemuxer.Counters?, transportStream: Bool?)>((nil, nil))

    // The loop's.
    private enum State {
        /// Audio held until the format is known, the mount admitted and the key verified.
        case waiting([UInt8])
        case live(SourceSession)
        case over
    }
    private var state = State.waiting([])
    private var format: FrameChain.Format?
    private var admitting = false
    /// The most audio held before the session starts (a few seconds at usual bitrates); older bytes are dropped.
    private static let holdLimit = 256 * 1024

    /// A caller just accepted (on the SRT thread). One that sends no MP3 or AAC (a transport stream without an
    /// audio stream, say) within `timeout`, the server's source timeout, is disconnected.
    init(
        connection: SRTConnection, table: MountTable, port: PortContext, loop: EventLoop, timeout: Duration, allowList: SRTAllowList,
        logger: EventLog
    ) {
        self.connection = connection
        self.allowList = allowList
        self.table = table
        self.port = port
        self.loop = loop
        self.logger = logger
        self.id = SRTStreamID(connection.streamID)
        self.peer = connection.peer.map { "\($0)" } ?? "?"
        self.accepted = .now
        loop.schedule(after: timeout) { [weak self] in self?.deadline(timeout) }
    }

    // MARK: The SRT thread

    func received(_ bytes: ArraySlice<UInt8>) {
        var audio: [UInt8] = []
        var found: (FrameChain.Format, Bool)?
        var unrecognized: Int?
        var switched: (FrameChain.Format, FrameChain.Format)?
        reader.feed(bytes) { output in
            switch output {
            case .format(let format, let transportStream): found = (format, transportStream)
            case .audio(let bytes): audio += bytes
            case .incident(.formatChanged(let from, let to)): switched = (from, to)
            case .incident(let error): incident(error)
            case .unrecognized(let after): unrecognized = after
            }
        }
        let current = reader.counters
        counters.withLock { $0.0 = current; if let found { $0.transportStream = found.1 } }
        lookAtStats()
        if let switched {
            // Said again at each PMT until the session has ended: the loop acts on the first.
            guard !switchSeen else { return }
            switchSeen = true
            loop.execute { [self] in self.switched(from: switched.0, to: switched.1) }
        }
        guard found != nil || !audio.isEmpty || unrecognized != nil else { return }
        let format = found?.0, bytes = audio, failed = unrecognized
        loop.execute { [self] in arrived(format: format, audio: bytes, unrecognized: failed) }
    }

    func ended(_ reason: String) {
        loop.execute { [self] in gone(reason) }
    }

    /// Once a second at most (libsrt's statistics are read that often): packets SRT dropped as too late to play are
    /// said, with what to change (``SRTLateDrops``).
    private func lookAtStats() {
        let now = ContinuousClock.now
        guard now - statsLookedAt >= .seconds(1), let stats = connection.stats else { return }
        statsLookedAt = now
        if let line = lateDrops.check(stats, now: now) { logger("SRT source \(peer) on \(id?.mount ?? "?"): \(line)") }
    }

    /// Logs the first incidents of the transport stream one by one, then one in a hundred (all are counted).
    private func incident(_ error: MPEGTSError) {
        incidents += 1
        guard incidents <= 5 || incidents % 100 == 0 else { return }
        logger("SRT source \(peer) on \(id?.mount ?? "?"): \(error) (\(counted(incidents, "incident")) so far)")
    }

    // MARK: The loop

    private func arrived(format found: FrameChain.Format?, audio: [UInt8], unrecognized: Int?) {
        if let unrecognized {
            logger("SRT source \(peer) on \(id?.mount ?? "?") dropped: neither an MPEG transport stream nor MP3 or ADTS audio "
                + "in the first \(unrecognized) bytes")
            logUnpublished()
            return finish()
        }
        switch state {
        case .over:
            return
        case .live(let session):
            session.assumeIsolated { $0.take(audio[...]) }
        case .waiting(var held):
            held += audio
            if held.count > Self.holdLimit { held.removeFirst(held.count - Self.holdLimit) }
            state = .waiting(held)
            if format == nil, let found {
                format = found
                admit()
            }
        }
    }

    /// The transport stream's program now carries audio of another format: the session ends as an RTMP one does
    /// (``SourceSession/End/switchedFormat(from:to:)``), since its listeners were told the first format's
    /// `Content-Type`; the caller publishes again to change it.
    private func switched(from old: FrameChain.Format, to new: FrameChain.Format) {
        switch state {
        case .live(let session):
            session.assumeIsolated { $0.switched(from: old.contentType, to: new.contentType) }
        case .waiting:
            logger("SRT source \(peer) on \(id?.mount ?? "?") dropped: its audio switched from \(old.contentType) to "
                + "\(new.contentType) before it was admitted")
            logUnpublished()
            finish()
        case .over:
            break
        }
    }

    private func deadline(_ timeout: Duration) {
        guard case .waiting = state, format == nil else { return }
        // A program whose streams are all of kinds Casty does not serve is named, with what to publish instead.
        let unserved = counters.withLock { $0.0?.unservedStreamTypes } ?? []
        let holds = unserved.isEmpty ? "" : ": its transport stream holds " + unserved.map(TSDemuxer.streamTypeName).joined(separator: ", ")
            + " (publish MP3, or AAC in ADTS, ffmpeg's default for mpegts)"
        logger("SRT source \(peer) on \(id?.mount ?? "?") dropped: no MP3 or AAC audio within \(timeout)\(holds)")
        logUnpublished()
        finish()
    }

    /// A caller accepted whose session never started (it left, sent no audio in time or what Casty reads as none, or
    /// its audio switched format before it was admitted): the access log has its line all the same (`200`, no
    /// bytes), as an Icecast source that sent nothing has. While it waits only.
    private func logUnpublished() {
        guard case .waiting = state, let publication else { return }
        port.options.accessLog?.sourceEnded(publication.accessSession(started: accepted), received: 0)
    }

    private func gone(_ reason: String) {
        switch state {
        case .live(let session):
            // What the link lost, from its last statistics.
            let lost = SRTLateDrops.summary(connection.stats)
            session.assumeIsolated { $0.inputClosed(reason + lost) }
        case .waiting:
            logger("SRT source \(peer) on \(id?.mount ?? "?") left before publishing: \(reason)")
            logUnpublished()
        case .over:
            break
        }
        state = .over
    }

    private func finish() {
        state = .over
        connection.close()
    }

    // MARK: SourceInput

    /// The session takes the audio as it arrives: nothing to attach.
    func attach(_ session: SourceSession) {}

    /// The session ended (silence, an admin, garbage): the SRT connection is closed.
    func close() {
        state = .over
        connection.close()
    }

    /// The content type that describes `format` to the mount's rules and listeners.
    private var contentType: String { (format ?? .mpeg).contentType }

    /// The mount's rules (whitelist, a mount in use), then the application, if it verifies keys — as for every
    /// ingest (``SourceAdmission``); the passphrase was checked by libsrt already. Fields of the stream ID Casty does
    /// not read (a `?token=`) are named in one line, never their values.
    private func admit() {
        guard let publication else { return finish() }
        if let ignored = SRTStreamID.notRead(connection.streamID) {
            logger("SRT source \(peer) on \(publication.path): \(ignored)")
        }
        SourceAdmission.check(publication, port: port) { [self] result in
            guard case .waiting = state else { return }
            switch result {
            case .failure(let refusal):
                if case .keyRefused = refusal, let host = connection.peer?.host {
                    allowList.remember(refused: connection.streamID, from: host)
                }
                refuse(refusal)
            case .success(let record): start(publication, record: record)
            }
        }
    }

    /// How the caller asks to publish, once its audio's type is known: its credentials are the mount's passphrase,
    /// which SRT checked (not the station's password rules), and its key — what its session publishes with, and what
    /// takes the mount back from a silent source that published with them (the same encoder reconnecting).
    private var publication: SourcePublication? {
        guard let id else { return nil }
        return SourcePublication(path: id.mount, password: allowList.passphrase(of: id.mount), key: id.key ?? "", ip: connection.peer?.host ?? "",
                                 peer: peer, request: SourcePublication.request(id.mount, over: "SRT"), contentType: contentType,
                                 checksPassword: false)
    }

    /// Refuses the caller after the accept (the application refused its key, the mount was taken meanwhile), in one
    /// line within the port's refusals' budget and in the access log's line of the refusal (every one: `PUBLISH
    /// /live SRT`, the status an Icecast source is answered, the seconds since it was accepted), and closes its
    /// connection.
    private func refuse(_ refusal: SourceAdmission.Refusal) {
        port.refused()
        port.refusalLog("SRT source \(peer) refused on \(id?.mount ?? "?"): \(refusal); the connection is closed")
        if let publication { port.options.accessLog?.sourceRefused(publication.accessSession(started: accepted), status: refusal.status) }
        finish()
    }

    private func start(_ publication: SourcePublication, record: Bool?) {
        guard case .waiting(let held) = state, let format else { return }
        // Named by its mount (``SourceSession``), not by its stream ID, which may hold a key or a session.
        let station = Context.stationHeaders(from: ["Content-Type": contentType])
        let started = SourceAdmission.start(
            publication, record: record, port: port, input: self, station: station, bitrate: nil, format: format,
            status: { [weak self] in self?.status ?? [] })
        switch started {
        case .failure(let refusal):
            refuse(refusal)
        case .success(let session):
            let wrapping = counters.withLock { $0.transportStream } == true ? "MPEG-TS" : "raw"
            // MPEG audio by its layer: MP2 is what ffmpeg sends in MPEG-TS unless told, and many browsers do not play it.
            let codec = format == .adts ? "AAC" : (MP3Frame.Layer(ofAudio: held[...]) ?? .layer3).named
            logger("SRT source \(peer) publishing \(publication.path) (stream ID '\(SRTStreamID.shown(connection.streamID))', \(wrapping) "
                + "\(codec); stream \(session.streamID))")
            state = .live(session)
            connection.claim()
            session.assumeIsolated { $0.start(leftover: held[...]) }
        }
    }

    /// The `srt` object of the mount's status: SRT's statistics and the transport stream's counters.
    var status: [(String, JSONValue)] {
        let stats = connection.stats ?? SRTStats()
        let (ts, transportStream) = counters.withLock { $0 }
        var fields: [(String, JSONValue)] = [
            ("stream_id", .text(SRTStreamID.shown(connection.streamID))), ("peer", .text(peer)),
            ("rtt_ms", .decimal(stats.rttMilliseconds)), ("latency_ms", .number(stats.latencyMilliseconds)),
            ("packets_received", .number(stats.packetsReceived)), ("packets_lost", .number(stats.packetsLost)),
            ("packets_retransmitted", .number(stats.packetsRetransmitted)), ("packets_dropped", .number(stats.packetsDropped)),
            ("packets_undecrypted", .number(stats.packetsUndecrypted)), ("bytes_received", .number(stats.bytesReceived)),
            ("receive_rate_mbps", .decimal(stats.receiveRateMbps)),
            ("payload", .text(transportStream == false ? "raw" : "mpegts")),
        ]
        if let ts {
            fields.append(("ts", .object([
                ("packets", .number(ts.packets)), ("lost_packets", .number(ts.lostPackets)),
                ("continuity_errors", .number(ts.continuityErrors)), ("dropped_packets", .number(ts.droppedPackets)),
                ("skipped_bytes", .number(ts.skippedBytes)), ("pes_errors", .number(ts.pesErrors)),
            ])))
        }
        return fields
    }
}
