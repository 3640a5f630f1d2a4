internal import CastyAudio
internal import CastyNet
internal import Icy

/// A source that asks to publish, as every ingest protocol describes it: an Icecast `PUT`/`SOURCE`, an RTMP
/// `publish`.
struct SourcePublication: Sendable {
    /// The mount (`/live`).
    var path: String
    /// The password the station's rules check (an Icecast source's Basic auth password, an RTMP stream key), or an
    /// SRT caller's passphrase, which libsrt checked (``checksPassword`` false); `nil` when the source gave none (an
    /// Icecast source without `Authorization`).
    var password: String?
    /// The user name of an Icecast source's Basic auth, checked against its mount's ``MountTable/Rules/mountUsers``;
    /// `nil` for an ingest that has none (RTMP, SRT), which the rule does not apply to.
    var user: String? = nil
    /// The key the platform's application verifies (`x-streaming-key`).
    var key: String
    /// The source's IP address (`x-user-ip`).
    var ip: String
    /// The source's address, for log lines.
    var peer: String
    /// Its request as the access log writes it (``AccessLog``), when its session ends: an Icecast source's request
    /// line, its query hidden (`PUT /live?… HTTP/1.1`); `PUBLISH /live RTMP` or `PUBLISH /live SRT` for a source of
    /// a protocol without one — its mount alone: the key its URL or stream ID holds is never written.
    var request: String
    /// Its `Referer`, for the access log, if it sent one (an Icecast source).
    var referer: String? = nil
    /// What it is, for the access log's agent, if it says: an Icecast source's `User-Agent`, an RTMP encoder's
    /// `encoder` (its `onMetaData`).
    var agent: String? = nil
    /// The audio's type, when known (an RTMP publisher's is known only with its first audio message).
    var contentType: String?
    /// Whether the station's password rules apply (an SRT caller's passphrase was checked by libsrt instead).
    var checksPassword = true

    /// Whether it is an SRT caller admitted with its mount's passphrase, which libsrt checked (``password``).
    var byPassphrase: Bool { !checksPassword && password?.isEmpty == false }
}

/// Who may publish where, decided the same way for every ingest protocol, and what happens when a source
/// starts: its session on the mount, and the application told.
///
/// In order: the rules Casty checks itself (``MountTable/refusal(path:user:password:contentType:checkPassword:)``: the
/// password — unless the application verifies keys, when a source that gave no credentials at all is still
/// challenged —, the whitelist, the audio type, a mount already live),
/// then the application's key verification, awaited off the loop while it serves everyone else. No mount is made
/// until then: a refused source leaves none behind, and a reconnecting encoder takes its mount back from its dead
/// connection (``MountTable/takeOver(_:credentials:passphrase:by:)``) only once its key is accepted. When the source starts, the rules are checked once more (the
/// mount may have been taken meanwhile), the mount is made if it is new, its ``SourceSession`` publishes it, and
/// the application hears `stream-available` (and `stream-closed` when it ends).
enum SourceAdmission {
    /// Why a source may not publish.
    enum Refusal: Error, Equatable, CustomStringConvertible {
        /// One of the station's rules.
        case rules(MountTable.Refusal)
        /// The application did not accept the key, and why.
        case keyRefused(String)
        /// The application could not be asked about the key (``ControlPlane/Verdict/unanswered(_:)``), and why.
        case keyUnverified(String)
        /// The session could not be made.
        case failed(String)

        /// What went wrong and why, without the answer (``status`` for an HTTP source).
        var description: String {
            switch self {
            case .rules(let refusal): "\(refusal)"
            case .keyRefused(let reason): "key not accepted, \(reason)"
            case .keyUnverified(let reason): "key not verified, \(reason)"
            case .failed(let reason): reason
            }
        }

        /// The HTTP status an Icecast source is answered.
        var status: Int {
            switch self {
            case .rules(let refusal): refusal.status
            case .keyRefused, .keyUnverified: 403
            case .failed: 500
            }
        }

        /// What the source itself is told (an RTMP `onStatus` description, an HTTP body): the rule it broke, but
        /// nothing of the application behind — not its address, its state, nor its answer, which stay in the log.
        func told(_ path: String) -> String {
            switch self {
            case .rules(let refusal): "\(path): \(refusal.toldSource)"
            case .keyRefused: "The stream key was not accepted for \(path)."
            case .keyUnverified: "The stream key could not be verified for \(path) now; try again shortly."
            case .failed: "\(path) could not be published now."
            }
        }
    }

    /// Checks whether `publication` may publish: the station's rules, then the application. `decided` is called
    /// on the loop — at once, or when the application has answered — with the application's wish to record the
    /// session (`x-record`), or the refusal.
    static func check(
        _ publication: SourcePublication, port: PortContext, decided: @escaping @Sendable (Result<Bool?, Refusal>) -> Void
    ) {
        guard let mounts = port.mounts else { return decided(.failure(.rules(.notAllowed))) }
        let verifying = port.control?.verifiesKeys == true
        // A source that gave no credentials at all is challenged (`401`), not its empty key sent to the application:
        // libshout (ezstream, butt, ices) asks first without them, and again with them once challenged.
        // An SRT or RTMP source without a key is refused likewise (neither protocol has a challenge to answer).
        if verifying, publication.key.isEmpty, (publication.password ?? "").isEmpty {
            return decided(.failure(.rules(.unauthorized(.password))))
        }
        let rules: @Sendable () -> MountTable.Refusal? = {
            mounts.refusal(path: publication.path, user: publication.user, password: publication.password, contentType: publication.contentType,
                           checkPassword: publication.checksPassword && !verifying)
        }
        let credentials = [publication.password, publication.key]
        // The rules, the mount's own source reconnecting, its old connection dead, taking the mount over
        // (``MountTable/takeOver(_:credentials:passphrase:by:)``).
        let admitted: @Sendable () -> MountTable.Refusal? = {
            let refusal = rules()
            guard refusal == .inUse, mounts.takeOver(publication.path, credentials: credentials, passphrase: publication.byPassphrase, by: publication.peer) else { return refusal }
            return rules()
        }
        guard let control = port.control, verifying else {
            return decided(admitted().map { .failure(.rules($0)) } ?? .success(nil))
        }
        // Only a source whose key the application accepts may end the live one: the takeover waits for its answer.
        if let refusal = rules(), refusal != .inUse || !mounts.mayTakeOver(publication.path, credentials: credentials, passphrase: publication.byPassphrase) {
            return decided(.failure(.rules(refusal)))
        }
        let loop = mounts.loop
        Task {
            let verdict = await control.verify(channel: String(publication.path.dropFirst()), key: publication.key, ip: publication.ip)
            loop.execute {
                switch verdict {
                case .accepted(let record):
                    // The rules once more — the mount may have been taken meanwhile, its silent source have spoken
                    // again — and only now the takeover.
                    if let refusal = admitted() { return decided(.failure(.rules(refusal))) }
                    decided(.success(record))
                case .refused(let reason): decided(.failure(.keyRefused(reason)))
                case .unanswered(let reason): decided(.failure(.keyUnverified(reason)))
                }
            }
        }
    }

    /// Says that the source of `publication` left (hung up, or an RTMP publisher's `FCUnpublish`) while the application
    /// was asked about its key: one line in the port's refusals, the same for every ingest (`source … on /live left
    /// before it was admitted`). It gets no session, and the application hears no `stream-available` for it.
    static func left(_ publication: SourcePublication, port: PortContext) {
        port.refusalLog("source \(publication.peer) on \(publication.path) left before it was admitted")
    }

    /// Starts an admitted source: the rules once more, then its session publishes the mount and the application
    /// hears `stream-available` (`ICY-LIVE`, then `HLS-LIVE`), and it is recorded if asked. The session does not take audio yet: the caller answers its source, then calls
    /// ``SourceSession/start(leftover:)``. On the loop.
    static func start(
        _ publication: SourcePublication, record: Bool?, port: PortContext, input: any SourceInput, station: Headers,
        bitrate: Int?, format: FrameChain.Format, status: (() -> [(String, JSONValue)])? = nil
    ) -> Result<SourceSession, Refusal> {
        guard let mounts = port.mounts else { return .failure(.rules(.notAllowed)) }
        let mount: Mount
        switch mounts.mount(for: publication.path, contentType: publication.contentType) {
        case .failure(let refusal): return .failure(.rules(refusal))
        case .success(let admitted): mount = admitted
        }
        let control = port.control
        let channel = String(publication.path.dropFirst())
        let streamID = ControlPlane.newStreamID()
        // Recorded for as long as it publishes, if the application asked (x-record) and the mount is not anyway.
        let recording = port.sourceStarted(publication.path, distributor: mount.distributor, streamID: streamID, record: record)
        let session: SourceSession
        do {
            session = try SourceSession(
                input: input, station: station, bitrate: bitrate, mount: publication.path, format: format,
                segmentBytes: mounts.rules.segmentBytes, timeout: mounts.rules.sourceTimeout,
                catchUp: mounts.rules.sourceCatchUp, peer: publication.peer,
                streamID: streamID, record: record, credentials: [publication.password, publication.key].compactMap { $0 },
                byPassphrase: publication.byPassphrase, user: publication.user,
                logger: port.logger
            ) { [accessLog = port.options.accessLog] session, reason in
                let (wasLive, received) = session.assumeIsolated { ($0.isAnnounced, $0.bytesReceived) }
                // Its access-log line, as Icecast writes one for a source: the bytes its audio came to, since it began.
                accessLog?.sourceEnded(publication.accessSession(started: session.started), received: received)
                let fate = mounts.ended(session, reason)
                recording()
                // Closed only what was said to be available: a source that never sent frames was never live.
                if wasLive { control?.post(StreamEvent(channel: channel, streamID: session.streamID, kind: .closed)) }
                return fate
            }
        } catch {
            recording()
            return .failure(.failed("\(error)"))
        }
        // The platform hears that the stream is available once its audio proved to be frames, when its mount plays it.
        let distributor = mount.distributor
        mounts.publish(session, on: mount, status: status) { [port] in
            guard let control else { return }
            control.post(StreamEvent(channel: channel, streamID: streamID, kind: .available,
                                     streamType: "ICY-LIVE", indexFile: control.configuration.advertisedURL + URLQuery.encodePath(publication.path)))
            port.announceHLS(publication.path, distributor: distributor, streamID: streamID)
        }
        return .success(session)
    }
}

extension SourcePublication {
    /// The request of a source whose protocol has no request line, as the access log writes it: `PUBLISH /live RTMP`,
    /// `PUBLISH /live SRT` — `path` alone (or `-`, none), never the key its URL or stream ID holds.
    static func request(_ path: String?, over ingest: String) -> String {
        "PUBLISH \(path ?? "-") \(ingest)"
    }

    /// Its access-log line but for its bytes and seconds (``AccessLog/Session``), for a session that began at `started`:
    /// its IP address, the user name it logged in as (never the password), its request, referer and agent.
    func accessSession(started: ContinuousClock.Instant) -> AccessLog.Session {
        AccessLog.Session(address: ip.isEmpty ? "-" : ip, user: user, request: request, referer: referer, agent: agent, started: started)
    }
}
