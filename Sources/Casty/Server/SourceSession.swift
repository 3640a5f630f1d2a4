internal import CastyAudio
public import CastyNet
internal import Icy

/// A source publishing one mount: ffmpeg, ezstream, liquidsoap or butt sending raw audio with Icecast's source
/// protocol (`PUT /live` or `SOURCE /live`), or a publisher of another protocol (RTMP) whose adapter unwraps the
/// audio, after the server has checked its credentials and its mount (``SourceAdmission``).
///
/// Its audio comes from a ``SourceInput``: an Icecast source's connection, whose body is raw audio with no ICY
/// metadata, or an adapter that hands it audio with ``take(_:)`` and tells it with ``inputClosed()`` when the peer
/// is gone. The session follows its frames (MP3 frame headers, or ADTS for AAC) and cuts its numbered segments
/// there, so listeners, branches and HLS segments all start on a frame; bytes that are not frames are dropped up to
/// the next verified frame and logged once per incident. The station's headers (`ice-name`, `ice-genre`, …) become
/// the mount's `icy-name`, `icy-genre`, …; titles come from `/admin/metadata` (``setTitle(_:from:)``).
///
/// It ends — and tells its mount, which falls back — when the source hangs up, sends nothing for the source
/// timeout, sends no frames at all (garbage), or is killed by an admin.
public actor SourceSession: LoopNode, FeedingNode {
    /// Why a session ended.
    public enum End: Sendable, Equatable, CustomStringConvertible {
        /// The source hung up (or its connection broke).
        case closed
        /// The connection ended the way its transport tells (an SRT caller that stopped answering).
        case lost(String)
        /// Nothing arrived for the source timeout.
        case silent(after: Duration)
        /// No audio arrived for the source timeout, while `others` did (`video`: an RTMP publisher whose audio
        /// device went away while its scene goes on; `metadata`: its titles), which Casty drops.
        case onlyOther(after: Duration, others: [String])
        /// Bytes arrived, but no audio frame, for the source timeout (a source trickling bytes that are no audio).
        case noAudio(after: Duration, inTag: Int?)
        /// No audio frames were found in this many bytes: not a stream Casty can serve (`lookedLike` Ogg, FLAC, …,
        /// when its start says: ``AudioSignature``).
        case noFrames(after: Int, lookedLike: String?)
        /// After its frames, this many bytes came that were not frames (the chain was not found again).
        case garbage(after: Int)
        /// Disconnected on purpose, said as who did it and through what (`disconnected by the admin
        /// (/admin/killsource)`, `closed by the application (/commands/close)`).
        case disconnected(String)
        /// Its mount was taken off the whitelist, by `how` (`SIGHUP`, `/admin/whitelist`): no source may publish it.
        /// Its end line says what became of the mount's listeners, as the mount tells it (``SourceSession/init``'s `onEnd`).
        case takenOff(String)
        /// The server stopped (Ctrl-C, SIGTERM).
        case stopped
        /// It went on in another audio format (an RTMP publisher's encoder switched from MP3 to AAC): its
        /// listeners were told the first `Content-Type`, so the stream ends, and the source publishes again.
        case switchedFormat(from: String, to: String)

        /// Why no audio came from a source that sent `others` (`video`, `metadata`) instead: `only video was arriving:
        /// Casty serves audio`, `only video and metadata were arriving: …`.
        static func onlyArriving(_ others: [String]) -> String {
            let named = others.count < 2 ? others.joined() : others.dropLast().joined(separator: ", ") + " and " + others[others.count - 1]
            return "only \(named) \(others.count < 2 ? "was" : "were") arriving: Casty serves audio"
        }

        /// Whether the audio it sent so far is frames its listeners may hear to the end (not garbage).
        var keepsItsAudio: Bool {
            switch self {
            case .noFrames, .garbage: false
            default: true
            }
        }

        /// One phrase for a log line.
        public var description: String {
            switch self {
            case .closed: "the source hung up"
            case .lost(let reason): reason
            case .silent(let after): "nothing arrived for \(after)"
            case .onlyOther(let after, let others): "no audio for \(after) (\(Self.onlyArriving(others)))"
            case .noAudio(let after, nil): "no audio frame came for \(after), only bytes that are no audio frames"
            case .noAudio(let after, let left?):
                "no audio frame came for \(after): its bytes were an ID3 tag, which says \(left) bytes more are to come before the audio"
            case .noFrames(let after, nil): "no audio frames in the first \(after) bytes"
            case .noFrames(let after, let kind?): "no audio frames in the first \(after) bytes: it looks like \(kind), and Casty serves MP3 and AAC"
            case .garbage(let after): "\(after) bytes that were not audio frames came after its frames"
            case .disconnected(let how): how
            case .takenOff(let how): "its mount taken off the whitelist (\(how))"
            case .stopped: "the server is stopping"
            case .switchedFormat(let from, let to): "its audio switched from \(from) to \(to); publish again to change it"
            }
        }
    }

    /// The loop the session runs on.
    public nonisolated let loop: EventLoop
    /// Runs the actor on its event loop.
    public nonisolated var unownedExecutor: UnownedSerialExecutor { loop.asUnownedSerialExecutor() }
    /// The mount it publishes (`/live`).
    public nonisolated let mount: String
    /// The source's address, for log lines.
    public nonisolated let peer: String
    /// When it started publishing.
    public nonisolated let started = ContinuousClock.now
    /// The session's unique id (`x-streaming-id` in the application's events and commands).
    public nonisolated let streamID: String
    /// Whether the application asked for this session to be recorded (`x-record`), if it said.
    public nonisolated let record: Bool?
    /// The password and the key it published with (never logged): its tools set titles with the same
    /// credentials (``isPublished(with:)``).
    nonisolated let credentials: [Secret]
    /// Whether it is an SRT caller admitted with its mount's passphrase, which libsrt checked: a caller with the
    /// mount's passphrase now is its encoder reconnecting, though a SIGHUP changed the passphrase since
    /// (``MountTable/takeOver(_:credentials:passphrase:by:)``).
    nonisolated let byPassphrase: Bool
    /// The user name an Icecast source logged in as (`nil` for RTMP and SRT, which have none).
    nonisolated let user: String?

    private let input: any SourceInput
    private let logger: EventLog
    private var timeout: Duration
    /// How far ahead of the clock its audio may run, if limited: the excess is dropped.
    private var pace: SourcePace?
    /// Tells a source whose audio comes slower than it plays (an upload too slow for its bitrate).
    private var realTime = RealTimeWatch()
    /// Runs of frames dropped and not told yet, and when the last line about them was written.
    private var untoldDrops: (runs: Int, frames: Int, seconds: Double) = (0, 0, 0)
    private var droppedToldAt: ContinuousClock.Instant?
    private var station: Headers
    private var bitrate: Int?
    /// Measures the bitrate of a source that declared none.
    private var sniff = BitrateSniff()
    private var cutter: Cutter
    private var chain: FrameChain
    /// Set while the session's end takes the stream's last frame (``end(_:)``).
    private var takingLast = false
    private var subscribers = Subscribers()
    /// The stream its segments belong to: `0` (its mount's distributor names it) until its audio changes shape.
    private var stream: UInt64 = 0
    private var lastData = ContinuousClock.now
    /// What else than audio the input said arrived (``tookOther(_:)``), each with when it last did, in the order
    /// first taken.
    private var others: [(what: String, at: ContinuousClock.Instant)] = []
    /// When the last audio was passed on (a frame): a source sending bytes that are no audio holds its mount no
    /// longer than one sending nothing.
    private var lastAudio = ContinuousClock.now
    private var watchdog: Scheduled?
    /// The lines about breaks in its frames: a source on a lossy link (SRT) breaks them every second.
    private let brokenFrames: LogBudget
    /// Hands a quiet source's audio on ahead of its segments (``StreamPiece``).
    private var pieces: Ticker?
    private var onEnd: (@Sendable (SourceSession, End) -> String?)?
    /// Told once, on the loop, when the stream is announced (its audio proved to be frames): its mount moves its
    /// listeners here then (``MountTable/publish(_:on:status:heard:)``).
    var whenAnnounced: (() -> Void)?
    /// Whether the stream was announced: its audio proved to be frames, and its mount's listeners moved here.
    var isAnnounced: Bool { subscribers.context != nil }
    private var bytesIn = 0

    /// A session for a source whose request was accepted.
    ///
    /// - Parameters:
    ///   - input: where the audio comes from (an Icecast source's connection, an RTMP adapter); the session
    ///     runs on its loop and closes it when it ends.
    ///   - station: the headers listeners are told (`icy-name`, …, `Content-Type`), already cleaned
    ///     (``stationHeaders(from:)`` for an Icecast source's request); without `icy-name`, the mount names it.
    ///   - bitrate: the bitrate the source declares, if it does (measured from the audio otherwise: ``BitrateSniff``).
    ///   - format: the audio's framing (MP3 or ADTS).
    ///   - segmentBytes: the server's segment size: every mount cuts the same, so a fallback keeps the ICY
    ///     framing listeners were told.
    ///   - timeout: a source that sends nothing for this long is dropped.
    ///   - catchUp: how much audio it may send ahead of the clock (a stall's backlog, sent all at once), if
    ///     limited: frames past it are dropped (``SourcePace``).
    ///   - credentials: the password and key the source published with, if any (``isPublished(with:)``).
    ///   - byPassphrase: whether it is an SRT caller admitted with its mount's passphrase (``byPassphrase``).
    ///   - user: the user name it logged in as, if it has one.
    ///   - onEnd: told once, on the loop, when the session ends and why; for a session ended as its mount was taken off
    ///     the whitelist (``End/takenOff(_:)``), it returns what became of the mount's listeners, for the end line.
    init(
        input: any SourceInput, station: Headers, bitrate: Int?, mount: String, format: FrameChain.Format, segmentBytes: Int,
        timeout: Duration, catchUp: Duration? = nil, peer: String, streamID: String, record: Bool? = nil, credentials: [String] = [],
        byPassphrase: Bool = false, user: String? = nil, logger: EventLog,
        onEnd: @escaping @Sendable (SourceSession, End) -> String?
    ) throws(ConfigurationError) {
        self.streamID = streamID
        self.record = record
        self.credentials = credentials.compactMap(Secret.init)
        self.byPassphrase = byPassphrase
        self.user = user
        self.loop = input.loop
        self.input = input
        self.mount = mount
        self.peer = peer
        self.logger = logger
        self.brokenFrames = LogBudget(loop: input.loop, logger: logger, what: "breaks in the frames of \(mount)'s source (bytes dropped)", perWindow: 5)
        self.timeout = timeout
        self.pace = catchUp.map(SourcePace.init(allowance:))
        self.onEnd = onEnd
        self.cutter = try Cutter(segmentBytes: segmentBytes)
        self.chain = FrameChain(format: format)
        chain.identifies = true
        chain.waitsForNextHeader = true  // a frame that lost bytes (an SRT uplink past its latency) reaches no player
        self.station = Context.named(station, by: mount)
        self.bitrate = bitrate
        Shutdown.sourceOpened()
    }

    /// The headers listeners are told, from the source's `ice-*` headers (and the `icy-*` ones some sources
    /// send instead): `ice-name` → `icy-name`, `ice-genre` → `icy-genre`, `ice-description`, `ice-url`,
    /// `ice-public` → `icy-pub`, `ice-audio-info` as it is (Icecast passes it on too), and the `Content-Type`.
    /// Control characters are removed.
    static func stationHeaders(from headers: Headers) -> Headers {
        var station = Headers()
        for (ice, icy) in [("ice-name", "icy-name"), ("ice-genre", "icy-genre"), ("ice-description", "icy-description"),
                           ("ice-url", "icy-url"), ("ice-public", "icy-pub")] {
            if let value = headers[ice] ?? headers[icy] { station[icy] = value }
        }
        station["ice-audio-info"] = headers["ice-audio-info"]
        station["Content-Type"] = headers["Content-Type"].map(listenerType)
        return Context.stationHeaders(from: station)
    }

    /// A source's `Content-Type` as its listeners are told it: MP3 under any of its names (`audio/mp3`,
    /// `audio/x-mp3`, `AUDIO/MPEG`) as `audio/mpeg`, which every player knows; another type in lower case, without
    /// parameters (`audio/aacp` stays `audio/aacp`, as Icecast passes it on).
    static func listenerType(_ type: String) -> String {
        if FrameChain.Format(contentType: type) == .mpeg { return FrameChain.Format.mpeg.contentType }
        return type.split(separator: ";").first.map { $0.filter { $0 != " " }.lowercased() } ?? type
    }

    /// The bitrate the source declares: `ice-bitrate`, or `bitrate=` in `ice-audio-info`, if plausible.
    static func declaredBitrate(_ headers: Headers) -> Int? {
        let info = headers["ice-audio-info"]?.split(separator: ";").first { $0.hasPrefix("bitrate=") }.map { String($0.dropFirst(8)) }
        guard let value = (headers["ice-bitrate"] ?? info).flatMap({ Int($0) }), (8...1_000).contains(value) else { return nil }
        return value
    }

    /// Hands the session a message: the mount's distributor asks for the stream.
    public nonisolated func send(_ message: Message) { deliver(message) }

    /// Disconnects the source as the server stops.
    public nonisolated func stop() { onLoop { $0.stopNow() } }

    /// Disconnects the source on someone's word, `how` saying whose and through what for its end line
    /// (``End/disconnected(_:)``: `disconnected by the admin (/admin/killsource)`).
    public nonisolated func disconnect(_ how: String) { onLoop { $0.end(.disconnected(how)) } }

    /// Ends the session: its mount was taken off the whitelist by `how` (``End/takenOff(_:)``).
    nonisolated func disconnect(takenOffBy how: String) { onLoop { $0.end(.takenOff(how)) } }

    /// Stops sending to `node` (a mount that takes its stream from elsewhere now).
    public nonisolated func leave(_ node: any Node) { onLoop { $0.subscribers.remove(node) } }

    /// Whether `password` is one the source published with — its password or its key —, compared in constant
    /// time: a broadcaster's tool (butt, ezstream, liquidsoap, ffmpeg) sets titles with the credentials it
    /// publishes with, which on a platform are a key only the application knew.
    nonisolated func isPublished(with password: String?) -> Bool {
        guard let password else { return false }
        return credentials.map { $0.matches(password) }.contains(true)  // each one compared, whichever matches
    }

    /// Starts taking audio from the input, beginning with `leftover` (what arrived with an Icecast source's
    /// request head).
    func start(leftover: ArraySlice<UInt8> = []) {
        input.attach(self)
        watch()
        pieces = Ticker(loop: loop, every: StreamPiece.interval) { [weak self] in self?.assumeIsolated { $0.handOnPieces() } }
        if !leftover.isEmpty { take(leftover) }
    }

    /// The input is gone (the peer hung up, or said it is done): the session ends — for `reason`, where its transport
    /// tells one (``End/lost(_:)``).
    func inputClosed(_ reason: String? = nil) {
        end(reason.map(End.lost) ?? .closed)
    }

    /// Sets what is playing (from `/admin/metadata`, an RTMP encoder's `onMetaData`): the next segment cut carries
    /// it. `who` set it, for the log line: an admin's address, or the encoder.
    public func setTitle(_ title: String, from who: String? = nil) {
        let clean = SafeText.printable(title)
        guard Metadata(streamTitle: clean) != cutter.title else { return }
        cutter.setTitle(Metadata(streamTitle: clean))
        let told = clean.isEmpty ? "none (cleared)" : SafeText.shortened(clean)
        logger("source on \(mount): title: \(told)\(who.map { " (from \($0))" } ?? "")")
    }

    /// Bytes received so far.
    public var bytesReceived: Int { bytesIn }

    func receive(_ message: Message) {
        if case .request(let node, _, _) = message {
            // An ended session takes no more listeners; its mount moves them elsewhere.
            guard onEnd != nil else { return }
            subscribers.request(from: node, next: cutter.next)
        }
    }

    func stopNow() {
        end(.stopped)
    }

    /// The input's audio went on in another format (``End/switchedFormat(from:to:)``): the session ends.
    func switched(from old: String, to new: String) {
        end(.switchedFormat(from: old, to: new))
    }

    // MARK: Reading

    /// The context every listener of the mount is told.
    private var context: Context {
        var headers = station
        // A bitrate measured on the audio is told as the encoder's setting (``NominalBitrate``); a declared one as it
        // is (nothing was measured).
        if headers["icy-br"] == nil, let bitrate { headers["icy-br"] = String(sniff.nominal ?? bitrate) }
        return Context(station: headers, segmentBytes: cutter.segmentBytes, bitrate: bitrate ?? 128, title: cutter.title, stream: stream)
    }

    /// The input received something else than audio (`what`: `video`, `metadata`), which it does not serve as audio:
    /// a session whose audio stops then ends saying what was arriving instead, not that nothing did.
    func tookOther(_ what: String) {
        if let index = others.firstIndex(where: { $0.what == what }) { others[index].at = .now } else { others.append((what, .now)) }
    }

    /// Takes the next audio bytes from the input, in pieces of any size; `ending`: no more come (the frame that
    /// waits for the header after it goes on, if whole: ``FrameChain/waitsForNextHeader``).
    func take(_ bytes: ArraySlice<UInt8>, ending: Bool = false) {
        guard onEnd != nil else { return }
        let now = ContinuousClock.now
        lastData = now
        bytesIn += bytes.count
        if bitrate == nil, !sniff.done {
            bitrate = sniff.take(bytes, format: chain.format, segmentBytes: cutter.segmentBytes)
        }
        var garbage: (after: Int, lookedLike: String?)?
        // Segments cut before the stream is announced are held until it is, just below; what the chain passes on
        // unchecked after giving up reaches nobody: the session ends.
        // So are segments after a change of shape, until the nodes fed are told they are another stream.
        var held: [StreamSegment] = []
        var reshaped: (from: AudioShape, to: AudioShape)?
        let format = chain.format
        let passed = cutter.add(bytes, through: &chain, ending: ending, admit: { paced($0, format: format, at: now) }, emit: { segment in
            guard garbage == nil else { return }
            if subscribers.context == nil || reshaped != nil { held.append(segment) } else { subscribers.publish(segment) }
        }) { incident in
            switch incident {
            case .resynced(let dropped):
                brokenFrames("source on \(mount): audio frames broken: dropped \(counted(dropped, "byte")) that were not frames")
            case .gaveUp(let after, let kind):
                garbage = (after, kind)
            case .text(let after):
                garbage = (after, AudioSignature.text)
            case .reformatted(let format):
                reformatted(to: format)
            case .reshaped(let from, let to):
                reshaped = (from, to)
            }
        }
        if passed > 0 { lastAudio = .now }
        if let (after, kind) = garbage { return end(chain.hasFollowedFrames ? .garbage(after: after) : .noFrames(after: after, lookedLike: kind)) }
        if let (from, to) = reshaped, subscribers.context != nil {
            // An encoder that restarts within one connection (ezstream, liquidsoap between files of two sample rates):
            // the mount's listeners count a gap and HLS goes on after a discontinuity, as for a new source.
            stream = Context.newStream()
            logger("source \(peer) on \(mount): \(AudioShape.change(from: from, to: to))")
            subscribers.restart(context, with: held, next: cutter.next)
            return
        }
        announce(first: held.first?.number)
        if subscribers.context != nil { for segment in held { subscribers.publish(segment) } }
    }

    /// Takes a server's new source timeout and catch-up (SIGHUP): from now on, for this source too. A changed
    /// catch-up starts full, as a new source's does.
    func retune(timeout: Duration, catchUp: Duration?) {
        self.timeout = timeout
        if catchUp != pace?.allowance { pace = catchUp.map(SourcePace.init(allowance:)) }
    }

    /// Whether a frame of `format` that came `now` goes on at the source's pace (``SourcePace``); the runs of frames
    /// dropped are told once they end (``tellDropped(at:)``).
    private func paced(_ frame: ArraySlice<UInt8>, format: FrameChain.Format?, at now: ContinuousClock.Instant) -> Bool {
        guard let format, let seconds = format.seconds(of: frame) else { return true }
        if let news = realTime.heard(seconds, at: now) { logger("source \(peer) on \(mount): \(news)") }
        guard let verdict = pace?.admit(seconds, at: now) else { return true }
        switch verdict {
        case .pass: return true
        case .drop: return false
        case .passAfterDropping(let frames, let seconds):
            noteDropped((frames, seconds))
            tellDropped(at: now)
            return true
        }
    }

    /// Counts a run of dropped frames among those not told yet.
    private func noteDropped(_ run: (frames: Int, seconds: Double)) {
        untoldDrops = (untoldDrops.runs + 1, untoldDrops.frames + run.frames, untoldDrops.seconds + run.seconds)
    }

    /// Tells the runs of dropped frames not told yet, if any: at once, unless a line was written less than
    /// ``droppedLineInterval`` ago — a source that keeps sending faster than it plays drops a run every second —,
    /// when they wait for the next line (`now` `nil`: the session's last, written whatever came before).
    private func tellDropped(at now: ContinuousClock.Instant?) {
        let (runs, frames, seconds) = untoldDrops
        guard runs > 0 else { return }
        if let now, let told = droppedToldAt, now - told < Self.droppedLineInterval { return }
        droppedToldAt = now
        untoldDrops = (0, 0, 0)
        logger("source on \(mount): dropped \(frames) frames (\(formatted(seconds)) s of audio) that came all at once, ahead of the"
            + " clock (a stall's backlog), so that its listeners stay live"
            + (runs > 1 ? "; \(runs) runs of them since the last line: it sends faster than it plays" : ""))
    }

    /// The shortest time between two lines about dropped frames.
    static let droppedLineInterval: Duration = .seconds(10)

    /// The source's audio is frames of `format`, not of the type it said (ADTS sent as `audio/mpeg`, an encoder's
    /// default label): its listeners are told `format`'s type — none heard it yet, since it is announced only now.
    private func reformatted(to format: FrameChain.Format) {
        logger("source on \(mount): its audio is \(format.name), not the \(contentType) it said: served as \(format.contentType)")
        station["Content-Type"] = format.contentType
        sniff = BitrateSniff()
    }

    /// The `Content-Type` of the source's audio, as its listeners are told.
    var contentType: String { station["Content-Type"] ?? "audio/mpeg" }

    /// How long since its last bytes came.
    var silence: Duration { ContinuousClock.now - lastData }

    /// The sample rate and channels of its frames, once one came (of the latest ones, after a change of shape).
    var shape: AudioShape? { chain.shape }

    /// Announces the stream once its audio proved to be frames — a source that sends nothing or garbage never
    /// takes its mount's listeners from what they hear (a fallback) — and, for AAC that declared no bitrate, once
    /// its first segment is measured (``BitrateSniff``): the mount moves its listeners here (``whenAnnounced``),
    /// and their request, waiting until now, is answered with `first`, the number of the first segment cut.
    private func announce(first: Int?) {
        guard subscribers.context == nil, chain.hasFollowedFrames, bitrate != nil || !sniff.waits(for: chain.format) else { return }
        let moving = whenAnnounced
        whenAnnounced = nil
        moving?()  // on this loop, the mount's distributor asks at once: its request waits for the reply below
        subscribers.ready(context, next: first ?? cutter.next)
    }

    /// Checks a few times per timeout that bytes still arrive, and once more the moment the timeout runs out: a
    /// source silent for the timeout ends then, as its line says, not up to a quarter of it later.
    private func watch() {
        let deadline = min(lastData, lastAudio) + timeout
        let next = max(.milliseconds(10), min(timeout / 4, deadline - ContinuousClock.now + .milliseconds(5)))
        watchdog = loop.schedule(after: next) { [weak self] in
            self?.assumeIsolated { session in
                guard session.onEnd != nil else { return }
                if ContinuousClock.now - session.lastData > session.timeout {
                    let arriving = session.others.filter { ContinuousClock.now - $0.at <= session.timeout }.map(\.what)
                    if !arriving.isEmpty {
                        session.end(.onlyOther(after: session.timeout, others: arriving))
                    } else {
                        session.end(.silent(after: session.timeout))
                    }
                } else if ContinuousClock.now - session.lastAudio > session.timeout {
                    session.end(.noAudio(after: session.timeout, inTag: session.chain.tagBytesLeft))
                } else {
                    session.tellDroppedLate()
                    session.watch()
                }
            }
        }
    }

    /// Tells what dropped frames were not told yet, once there is no more to wait for: a run whose source went
    /// quiet (`curl -T` of a file, sent at once, then silence), and runs summed since a line ``droppedLineInterval``
    /// ago.
    private func tellDroppedLate() {
        let now = ContinuousClock.now
        if now - lastData > .seconds(1), let run = pace?.endRun() { noteDropped(run) }
        tellDropped(at: now)
    }

    /// Hands on what a segment that fills slowly holds so far (every ``StreamPiece/interval``).
    private func handOnPieces() {
        cutter.handOnPieces(to: subscribers, segmentDuration: context.segmentDuration)
    }

    private func end(_ reason: End) {
        // The stream ends here: its last frame, which waited for the header after it, goes on (taking it may end the
        // session itself, on garbage: then that is its end).
        if reason.keepsItsAudio, onEnd != nil, !takingLast {
            takingLast = true
            take([], ending: true)
        }
        guard let onEnd else { return }
        self.onEnd = nil
        Shutdown.sourceEnded()
        whenAnnounced = nil  // never announced: what it would have done holds the mount's table, and maybe this session
        watchdog?.cancel()
        pieces?.cancel()
        input.close(after: reason)
        // Its last frames go out whole, padded to a segment, if what came so far were frames.
        if reason.keepsItsAudio, subscribers.context != nil, chain.isAligned, let last = cutter.finish() {
            subscribers.publish(last)
        }
        if let run = pace?.endRun() { noteDropped(run) }
        tellDropped(at: nil)
        brokenFrames.closeWindow()
        let said = "source \(peer) on \(mount) ended: \(reason)"
        let received = " (\(megabytes(bytesIn)) received in \(formatted(seconds(.now - started))) s)"
        // Taken off the whitelist: what becomes of its listeners is known once its mount has let it go, and is said
        // here, in one line, rather than in lines of the mount's own.
        if case .takenOff = reason {
            let fate = onEnd(self, reason)
            logger(said + (fate.map { "; \($0)" } ?? "") + received)
        } else {
            logger(said + received)
            _ = onEnd(self, reason)
        }
    }
}

