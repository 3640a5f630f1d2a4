public import CastyNet
public import CastyWire
package import CastyAudio
internal import Icy

/// Attaches to a Shoutcast/Icecast URL and turns its stream into numbered segments for the nodes that
/// request it (usually one ``Distributor``).
///
/// It sends the ICY request with `Icy-MetaData: 1`, follows up to five redirects, parses the reply and the
/// segments with `Icy`, and re-cuts the audio into segments of its own fixed size, carrying title changes.
/// When the upstream drops or goes silent (for longer than a few segments last), it reconnects with backoff
/// while its listeners stay connected: the numbering jumps by the segments the outage lasted, so every
/// receiver counts a gap instead of losing its connection.
public actor Proxy: UpstreamNode, FeedingNode {
    /// How a proxy talks to its upstream. ``Proxy/init(url:configuration:loop:logger:)`` checks every value
    /// (``check()``) and throws a ``ConfigurationError`` for one outside its range.
    public struct Configuration: Sendable {
        /// The audio bytes per segment: the `icy-metaint` every listener downstream sees
        /// (``Icy/IcyLimits/metaintRange``).
        public var segmentBytes = 8192
        /// Redirects followed before giving up (``redirectRange``).
        public var maxRedirects = 5
        /// Deadline for each connect and each reply (``timeRange``).
        public var connectTimeout: Duration = .seconds(10)
        /// The upstream is declared silent after this many segment durations without a byte
        /// (``silentSegmentRange``), and never sooner than ``minimumSilence``.
        public var silentSegments = 6
        /// The shortest silence that makes the upstream silent, whatever its segments last: a station that sends
        /// its audio in one-second blocks (Icecast may) is not dropped between two of them when the segments are
        /// short (``timeRange``).
        public var minimumSilence: Duration = .seconds(2)
        /// The first wait before reconnecting; it doubles up to ``maxBackoff`` (``timeRange``).
        public var backoff: Duration = .milliseconds(250)
        /// The longest wait between reconnects: from ``backoff`` to the end of ``timeRange``.
        public var maxBackoff: Duration = .seconds(2)
        /// The `icy-name` listeners are told when the station sends none (Icecast fed by ffmpeg without
        /// `-ice_name`), as a nameless source is named by its mount (``Context/named(_:by:)``): a station server's
        /// relay mount gives its mount; `nil`, the URL's path (without its query), or its host when that is `/`.
        public var name: String?

        /// The values ``maxRedirects`` may take.
        public static let redirectRange = 0...100
        /// The values ``silentSegments`` may take: at least one segment duration, at most a thousand.
        public static let silentSegmentRange = 1...1_000
        /// The values ``connectTimeout``, ``backoff`` and ``maxBackoff`` may take: a millisecond to an hour.
        public static let timeRange = Duration.milliseconds(1)...Duration.seconds(3_600)

        /// The defaults.
        public init() {}

        /// Checks every value against its range.
        /// - Throws: the ``ConfigurationError`` naming the first value out of range, and its range.
        public func check() throws(ConfigurationError) {
            try ConfigurationError.check(segmentBytes, in: IcyLimits.metaintRange, else: ConfigurationError.segmentBytes)
            try ConfigurationError.check(maxRedirects, in: Self.redirectRange, else: ConfigurationError.maxRedirects)
            try ConfigurationError.check(silentSegments, in: Self.silentSegmentRange, else: ConfigurationError.silentSegments)
            try ConfigurationError.check(connectTimeout, in: Self.timeRange, else: ConfigurationError.connectTimeout)
            try ConfigurationError.check(backoff, in: Self.timeRange, else: ConfigurationError.backoff)
            let longest = min(backoff, Self.timeRange.upperBound)...Self.timeRange.upperBound
            try ConfigurationError.check(maxBackoff, in: longest, else: ConfigurationError.maxBackoff)
        }
    }

    /// The loop the proxy runs on.
    public nonisolated let loop: EventLoop
    /// Runs the actor on its event loop.
    public nonisolated var unownedExecutor: UnownedSerialExecutor { loop.asUnownedSerialExecutor() }
    /// The upstream's URL.
    public nonisolated let url: StreamURL
    /// A random name the proxy sends with every request to its upstream (``relayHeader``): a server whose own relay
    /// (one of its mounts', or its port's) reaches it — at `127.0.0.1`, `localhost`, another of its addresses, under
    /// another `Host` — knows the request for its own, and answers `508 Loop Detected` rather than feed itself.
    nonisolated let relayID = String(UInt64.random(in: .min ... .max), radix: 16)
    /// The request header that carries ``relayID``.
    static let relayHeader = "X-Casty-Relay"
    /// The request header that names the relays that lately asked for this proxy's stream (``relayedFor``).
    static let relayedForHeader = "X-Casty-Relayed-For"
    /// The relays that lately asked the server this proxy feeds for its stream, sent upstream with every request:
    /// a relay loop across servers is found by them (``RelayChain``).
    nonisolated let relayedFor = RelayChain()
    /// What the proxy is doing now.
    public var state: UpstreamState { keeper.state }
    /// Whether the upstream streams and its audio is coming now: it came within two segments' time (a second at
    /// least). An upstream that answered a reconnect with a burst and then nothing (its encoder frozen behind
    /// Icecast) streams, by ``state``, until its silence deadline, but its audio is not coming.
    package var audioComing: Bool {
        guard state == .streaming, let lastAudio else { return false }
        return ContinuousClock.now - lastAudio <= max(context.segmentDuration * 2, .seconds(1))
    }
    /// When the upstream's audio last arrived.
    private var lastAudio: ContinuousClock.Instant?
    /// The sample rate and channels of the station's audio, once its frames were followed.
    package var shape: AudioShape? { chain.shape }
    /// Connections to the upstream that ended, and were (or are being) replaced.
    public var reconnects: Int { keeper.reconnects }

    private let configuration: Configuration
    let logger: EventLog
    var keeper = UpstreamKeeper()
    private var subscribers = Subscribers()
    private var cutter: Cutter
    private var station = Headers()
    private var bitrate: Int?
    /// Measures the bitrate of an upstream that declared none (from each new upstream stream's first audio).
    private var sniff = BitrateSniff()
    /// Tells an upstream whose audio comes slower than it plays (a congested link to the station).
    private var realTime = RealTimeWatch(tellsAhead: true)
    /// How fast the link brings its audio (``tellIfAFile()``).
    private var link = LinkPace(started: .now)
    /// Whether an upstream that sent a file was told (once).
    private var toldFile = false
    /// Whether the bitrate is measured on the audio: the current link declared none (`icy-br`), or its frames went
    /// on in another shape, codec or bitrate than it declared (``remeasure(holding:)``) — then the measure is told as
    /// `icy-br`, not the declared one the audio contradicts.
    private var measuresBitrate = true
    /// Notices a constant bitrate that changes on the same link (``BitrateWatch``).
    private var bitrateWatch = BitrateWatch()
    /// The bitrate the frames went on at for good (``BitrateWatch``), while the chunk they came in is cut: then it
    /// is the one counted, and another stream (``bitrateMeasured(before:)``).
    private var bitrateWent: Int?
    /// The segments cut while the bitrate is measured, held until the nodes fed are told the stream with it; `nil`
    /// when none are. Of a new stream (`newStream`: its audio went on in another shape or codec,
    /// ``remeasure(holding:)``), or of a stream back after an outage that declares no bitrate, told as the same
    /// stream, or as another at another bitrate — one outage is one gap, whichever it proves to be
    /// (``replyWhenMeasured()``).
    private var measuring: (segments: [StreamSegment], newStream: Bool)?
    private var lostAt: ContinuousClock.Instant?
    private var reportedGarbage = false
    /// Whether the station's habit of writing titles unquoted (``MetadataFault/unquotedText``) was told: once.
    private var reportedUnquoted = false
    /// Title changes: five of every 10 s logged, the rest summed up (a station that changes its title at every
    /// block); each link starts a fresh window, so that the titles read again after a reconnect are told.
    private let titleChanges: LogBudget
    /// Breaks in the audio's frames: five of every 10 s logged, the rest summed up (a station that puts bytes
    /// between its frames all the time).
    private let brokenFrames: LogBudget
    /// Follows the audio's frames, so listeners get a clean chain of frames whatever the upstream sends.
    private var chain = FrameChain(format: nil)
    /// Whether the last metadata block was bad: a run of bad blocks is one incident, logged once.
    private var badMetadata = false
    /// Incidents of bad metadata blocks: five of every 10 s logged, the rest summed up (a station whose every other
    /// block is garbage would write a line per block, all day).
    private let badBlocks: LogBudget
    /// The bitrate listeners are told when it was measured (``BitrateSniff/nominal``), told after a reconnect to the
    /// same station until it is measured again.
    private var nominalBitrate: Int?
    /// The name of the stream the proxy relays (``Context/stream``): `0`, named by the distributor, until the
    /// upstream comes back as another station (``attach(_:)``) or in another sample rate or channel count
    /// (``compareShape(of:)``), which is a new stream.
    private var stream: UInt64 = 0
    /// Whether the station's metadata length bytes are taken as true whatever follows a block's text (``FramingWatch``).
    private var trustsLengthBytes = false
    /// When the ICY framing was lost lately (``framingLost(at:of:)``): a station whose blocks do not come every
    /// `icy-metaint` bytes it announces loses it again after every reconnect.
    private var framingLosses: [ContinuousClock.Instant] = []
    /// The shape of the audio heard before the upstream was lost, while the new link's first frame is awaited to
    /// compare (``take(_:)``): the nodes fed are told the stream is back only then — as another stream, if its
    /// sample rate or channels changed.
    private var shapeBefore: AudioShape?
    /// Where a new link joins the audio relayed before: the part of an Icecast burst relayed already is skipped.
    private var join = LinkJoin()
    /// Whether the station is asked for its titles (`Icy-MetaData: 1`): not once its framing is lost again and
    /// again — its audio is relayed without them rather than cut by a reconnect every few seconds.
    private var asksForTitles = true
    /// Whether the reader is still in step with the `icy-metaint` framing.
    private var framing = FramingWatch()
    /// Hands a quiet stream's audio on ahead of its segments (``StreamPiece``), while the proxy runs.
    private var pieces: Ticker?
    /// Told when the upstream streams (`true`) or is lost (`false`): a station server's relay mount plays its
    /// fallback meanwhile.
    private var onStreaming: (@Sendable (Bool) -> Void)?

    /// A proxy for the stream at `url`. Call ``start()`` to connect.
    /// - Throws: ``ConfigurationError`` when a value of `configuration` is out of its range
    ///   (``Configuration/check()``), e.g. ``ConfigurationError/segmentBytes(_:allowed:)`` for a segment size of 0.
    public init(
        url: StreamURL, configuration: Configuration = .init(), loop: EventLoop = .shared, logger: EventLog = .silent
    ) throws(ConfigurationError) {
        try configuration.check()
        self.url = url
        self.configuration = configuration
        self.loop = loop
        self.logger = logger
        self.cutter = try Cutter(segmentBytes: configuration.segmentBytes)
        // Their lines, and the summing up, say whose they are: a station server has a relay on each of many mounts.
        let proxyLog = logger.prefixed("proxy: ")
        self.titleChanges = LogBudget(loop: loop, logger: proxyLog, what: "title changes", perWindow: 5)
        self.brokenFrames = LogBudget(loop: loop, logger: proxyLog, what: "breaks in the audio's frames (bytes dropped)", perWindow: 5)
        self.badBlocks = LogBudget(loop: loop, logger: proxyLog, what: "bad metadata blocks", perWindow: 5)
        chain.followsOtherFormat = true  // an upstream's own fallback may play the other codec on the same link
        // A frame that lost bytes inside it (a length byte that lied short took them into its block) would reach
        // listeners spliced with the next one's start: each frame waits for the header after it.
        chain.waitsForNextHeader = true
    }

    /// Hands the proxy a message: a request from the node it should subscribers.
    public nonisolated func send(_ message: Message) { deliver(message) }

    /// Stops the proxy: it closes its upstream and tells the nodes it feeds to stop.
    public nonisolated func stop() { onLoop { $0.stopNow() } }

    /// Stops sending to `node` (a mount that takes its stream from elsewhere now).
    public nonisolated func leave(_ node: any Node) { onLoop { $0.subscribers.remove(node) } }

    /// Calls `body` on the proxy's loop each time its upstream starts streaming (`true`) or is lost (`false`).
    public nonisolated func whenStreamingChanges(_ body: @escaping @Sendable (Bool) -> Void) {
        onLoop { $0.onStreaming = body }
    }

    /// Connects to the upstream for the first time and starts streaming; from then on the proxy keeps the
    /// stream alive by itself, reconnecting when needed.
    /// - Throws: ``CastyError`` when the first connection fails, so a command line can say why and exit.
    public func start() async throws(CastyError) {
        try await startKeeping()
    }

    /// Connects in the background and keeps the stream alive from then on, like ``start()`` — except that an
    /// upstream that is down or answers nonsense at start-up (a 404, an HTML page, a redirect loop, a bad
    /// `icy-metaint`, garbage) is not an error: the proxy retries with capped backoff and logs one line per
    /// attempt naming the problem. A server must not die because its station is briefly down at boot; its
    /// listeners are refused with `503` until the first stream arrives (``Distributor/Configuration/startWait``).
    public func startInBackground() {
        keepInBackground()
    }

    func receive(_ message: Message) {
        switch message {
        case .request(let node, _, _):
            guard keeper.state != .stopped else { return node.stop() }
            subscribers.request(from: node, next: cutter.next)
        case .reply, .data, .redirect, .piece:
            break  // a proxy's source is its upstream, not another node
        }
    }

    func stopNow() {
        stopKeeping()
        pieces?.cancel()
        subscribers.stopAll()
    }

    /// Hands on what a segment that fills slowly holds so far (every ``StreamPiece/interval``).
    private func handOnPieces() {
        cutter.handOnPieces(to: subscribers, segmentDuration: context.segmentDuration)
    }

    // MARK: Upstream

    let role = "proxy"
    /// Where the stream was last found (after redirects and playlists).
    private var foundAt: StreamURL?
    var backoff: (first: Duration, most: Duration) { (configuration.backoff, configuration.maxBackoff) }

    func openUpstream() async throws(CastyError) -> OpenedStream {
        var headers: Headers = [Self.relayHeader: relayID]
        if let asking = relayedFor.header() { headers[Self.relayedForHeader] = asking }
        let opened = try await Upstream.open(
            url, headers: headers, metadata: asksForTitles, loop: loop, timeout: configuration.connectTimeout, maxRedirects: configuration.maxRedirects,
            segmentBytes: configuration.segmentBytes, audioAsItArrives: true)
        // Where a redirect or a station's playlist led, told when it is somewhere new.
        if opened.url != url, opened.url != foundAt { logger("proxy: \(url.shown) leads to the stream at \(opened.url.shown)") }
        foundAt = opened.url
        // Audio of a codec that is not MP3 or AAC: Ogg (Vorbis, Opus, FLAC in Ogg), FLAC, WebM, video. Any other
        // type — none at all, application/octet-stream, a misspelt audio/mpeg — is taken for MP3, as before.
        if let type = opened.headers["Content-Type"]?.lowercased(),
           ["application/ogg", "audio/ogg", "audio/opus", "audio/vorbis", "audio/flac", "audio/x-flac", "audio/webm", "video/"]
               .contains(where: type.hasPrefix) {
            opened.connection.close()
            throw .unsupportedAudio(opened.url, contentType: type)
        }
        return opened
    }

    /// The upstream was lost: the distributors it feeds forget the stream until it is back, so that a player who
    /// comes meanwhile waits for it (and is told `503` with `Retry-After` past the distributor's start wait) rather
    /// than get the last seconds before the loss as a burst and then silence; those listening stay, and hear the
    /// stream again on the same connection when the upstream is back (``attach(_:)`` tells them where it goes on).
    /// First, before a station server's mount hears of it (``onStreaming``) and takes its listeners to its fallback.
    func lost(_ reason: CastyError) {
        // A link found silent was lost when its last byte came, not when the silence grew long enough to tell. A
        // stream never told (its station answered and sent nothing) has no numbering to jump: it starts at its first
        // audio, and nobody counts a gap.
        if subscribers.told {
            lostAt = if case .silent(_, let after) = reason { .now - after } else { .now }
        }
        tellIfAFile()
        // The next link's audio is measured and watched afresh; a new stream's segments held for its measure go with
        // the link (the nodes fed are told the stream when it is back).
        measuring = nil
        bitrateWatch.restart()
        subscribers.streamAway()
        onStreaming?(false)
    }

    func attach(_ opened: OpenedStream) {
        keeper.state = .connected
        link = LinkPace(started: .now)
        if pieces == nil {
            pieces = Ticker(loop: loop, every: StreamPiece.interval) { [weak self] in self?.assumeIsolated { $0.handOnPieces() } }
        }
        let heard = station
        station = Context.named(Context.stationHeaders(from: opened.headers), by: name)
        // Back as another station (another encoder took the mount, in another codec or with another name or
        // bitrate): a new stream, whose listeners are told so — the distributor counts a gap, lets go of players
        // told another codec and of branch links (they re-attach and learn the new headers), and HLS starts anew
        // after a discontinuity. Its bitrate is measured anew if it declares none.
        let changed = !heard.fields.isEmpty && heard != station
        if changed {
            stream = Context.newStream()
            bitrate = nil
            nominalBitrate = nil
            cutter.setTitle(Metadata())  // the old station's title is not the new one's (its first block tells it)
            logger("proxy: the upstream came back as another stream (\(Self.changes(from: heard, to: station))): listeners are told the new one")
        }
        let declared = opened.headers["icy-br"].flatMap({ Int($0.split(separator: ",").first ?? "") }).flatMap { (8...1_000).contains($0) ? $0 : nil }
        if let declared { bitrate = declared }
        // Undeclared, it is measured on every link: the same station may come back from an encoder set to another
        // bitrate. Until then, the bitrate of the link before is told, so the reply does not wait.
        measuresBitrate = declared == nil
        sniff = BitrateSniff()
        realTime.restart()
        // A new stream: the old one's unfinished frame is dropped, and the new one starts at its first frame.
        // Then the unfinished segment, which ends at a frame boundary, can be kept: the joined audio is one
        // clean chain of frames, and players hear no re-sync where the reconnect joins the two. The new stream's
        // first frames, whose audio may begin in the old one's bytes (MP3's bit reservoir), are muted by the chain
        // until one is decodable — unless the new link goes on exactly where the last one ended (``LinkJoin``).
        let aligned = chain.isAligned && !changed
        // The same headers may bring audio of another sample rate or channel count (an encoder that reconnects at
        // 48 kHz stereo instead of 44.1 kHz mono): told by the first frame (``take(_:)``).
        shapeBefore = changed ? nil : chain.shape ?? shapeBefore
        // The last link's unfinished frame is dropped: its start is looked for the audio relayed before that frame.
        // A link whose body was text relayed nothing: there is nothing to look for at the new one's start.
        let relayedNothing = chain.holdsText
        let unfinished = chain.restart(format: FrameChain.Format(contentType: station["Content-Type"]))  // its control bytes removed
        if changed || relayedNothing { join.newStation() } else { join.newLink(droppingLast: unfinished) }
        titleChanges.closeWindow()  // a new link's first titles are told
        if let lostAt {
            let missing = Int(seconds(.now - lostAt) / seconds(context.segmentDuration))
            cutter.skip(missing, keepingUnfinished: aligned)
            self.lostAt = nil
        }
        var opened = opened
        opened.reader.trustsLengthBytes = trustsLengthBytes
        if !asksForTitles, (try? opened.headers.metaint()) ?? nil != nil {
            // Not asked, it still announces icy-metaint — and its blocks do not come there: the stream is read as
            // audio alone, and whatever it puts between its frames is dropped where the frames are followed.
            var reader = StreamReader(metaint: nil, segmentBytes: configuration.segmentBytes, audioAsItArrives: true)
            reader.append(opened.rest)
            opened.reader = reader
        }
        let url = opened.url
        // A body that is text, not audio (an error page sent as audio/mpeg) is an answer that is no stream: the link
        // ends for it, as soon as the chain finds it so — or, a short page, when the link ends first.
        let text = CastyError.textNotAudio(url, contentType: opened.headers["Content-Type"])
        keeper.link = UpstreamLink(
            opened, silence: silenceDeadline,
            onSegment: { [self] segment in
                assumeIsolated { proxy in
                    if let lost = proxy.framingLost(at: segment, of: url) { return lost }
                    return proxy.take(segment) ? nil : text
                }
            },
            onEnd: { [self] reason in assumeIsolated { $0.linkEnded($0.chain.holdsText ? text : reason) } })
        keeper.followQuiet(contentType: opened.headers["Content-Type"]) { [self] silent in
            assumeIsolated {
                $0.logger("proxy: no audio for \(formatted(seconds(silent))) s, but the station's host answers: waiting up to"
                    + " \(Int(seconds(QuietStream.allowance))) s more (a quiet AAC or variable-bitrate source sends few bytes)")
            }
        }
    }

    /// Tells the nodes fed the stream (again), once the link brought audio — AAC that declared no bitrate once its
    /// first segment is measured (``BitrateSniff``). Not when it merely answered: a station that announces `icy-br`
    /// and sends nothing is not taken for one that streams, its players wait (and are told `503` past the
    /// distributor's start wait), as they do for one that declares none.
    private func replyWhenMeasured() {
        if subscribers.told, measuresBitrate, sniff.waits(for: chain.format) {
            // Back, its bitrate measured anew: the nodes fed are told once it is, as the same stream or another.
            measuring = ([], newStream: false)
            return
        }
        if bitrate != nil || !sniff.waits(for: chain.format) { subscribers.ready(context, next: cutter.next) }
    }

    /// The name a station that sends none is given (``Configuration/name``).
    private var name: String {
        if let name = configuration.name { return name }
        let path = url.path.prefix { $0 != "?" }
        return path == "/" ? url.host : String(path)
    }

    /// Compares the shape of the new link's first frame, once `audio` brings it, with the shape heard before the
    /// upstream was lost (``shapeBefore``), before the chain takes `audio`: another sample rate or channel count is
    /// another stream, as another codec is — the nodes fed count a gap and HLS goes on after a discontinuity
    /// (RFC 8216 §4.3.2.3) —, said in one line; the unfinished segment, of the old shape, is dropped, and the new
    /// stream's bitrate is measured before the nodes fed are told it, once, with it (``remeasure(holding:)``): an
    /// encoder set to 48 kHz mono is often set to another bitrate too. Otherwise the nodes fed are told the stream is
    /// back at once. A stream in which no frame is found is told as it is.
    private func compareShape(of audio: [ArraySlice<UInt8>]) {
        guard let before = shapeBefore else { return }
        var probe = chain
        for chunk in audio where probe.shape == nil && probe.isAligned { probe.feed(chunk) { _ in } }
        guard probe.shape != nil || !probe.isAligned else { return }
        shapeBefore = nil
        if let after = probe.shape, after != before {
            stream = Context.newStream()
            cutter.skip(0)
            logger("proxy: the upstream came back in \(after), after \(before): another stream, which listeners are told;"
                + " \(AudioShape.changeWarning)")
            return remeasure(holding: [])
        }
        replyWhenMeasured()
    }

    /// Counts `frame` against the clock (``RealTimeWatch``) and says what that makes news of, and measures the
    /// bitrate anew when its frames show another for good (``BitrateWatch``); it goes on, always.
    private func heardInTime(_ frame: ArraySlice<UInt8>, format: FrameChain.Format?) -> Bool {
        if let seconds = format?.seconds(of: frame) {
            link.heard(seconds, at: .now)
            if let news = realTime.heard(seconds, at: .now) { logger("proxy: the upstream: \(news)") }
        }
        let counted = measuresBitrate && !sniff.done ? nil : bitrate
        if let went = bitrateWatch.heard(frame, format: format, counted: counted) { bitrateWent = went }
        return true
    }

    /// A link that ends having brought much more audio than it lasted (10 s at least, twice its time), still coming
    /// faster than it plays at its end, was a file served at download speed rather than a live stream
    /// (``LinkPace``: not a live link that ends a few seconds after an Icecast burst): told once, since the relay
    /// plays it at a live stream's pace and its listeners skip what comes faster — the link's own ``RealTimeWatch``
    /// sees no window of it.
    private func tellIfAFile() {
        let now = ContinuousClock.now
        guard !toldFile, link.wasAFile(endingAt: now) else { return }
        let lasted = link.lasted(at: now)
        toldFile = true
        logger("proxy: the upstream sent \(formatted(link.audio)) s of audio in \(formatted(lasted)) s, then ended the link: a file"
            + " rather than a live stream? A relay hands on a live stream as it comes; its listeners skip what comes faster than it plays")
    }

    /// Measures the bitrate anew from the next audio: the stream went on (or came back) in another shape or codec, a new stream
    /// whose segments (`held`, and those cut meanwhile) wait until the nodes fed are told it with its bitrate. A
    /// bitrate the link declared is no longer believed: the measure is told.
    private func remeasure(holding held: [StreamSegment]) {
        if !measuresBitrate { nominalBitrate = nil }  // the one told was the declared one (``bitrate``)
        measuresBitrate = true
        sniff = BitrateSniff()
        bitrateWatch.restart()
        measuring = (held, newStream: true)  // those of a stream back, of the old shape and never told, go with it
        // What the read that brought the change holds of the new stream is measured at once: a station's fallback
        // may send nothing more for a while.
        for segment in held { measureBitrate(on: segment.audio[...]) }
    }

    /// Measures the bitrate on `chunk` while it is measured (``BitrateSniff``), and tells the nodes fed once it is
    /// (``bitrateMeasured(before:)``).
    private func measureBitrate(on chunk: ArraySlice<UInt8>) {
        guard measuresBitrate, !sniff.done else { return }
        let before = bitrate.map { nominalBitrate ?? $0 }
        if let measured = sniff.take(chunk, format: chain.format, segmentBytes: cutter.segmentBytes) {
            bitrate = measured
            nominalBitrate = sniff.nominal
        }
        if sniff.done { bitrateMeasured(before: before) }
    }

    /// The frames went on at `went` kbit/s for good (``BitrateWatch``): measured so — their headers say it —, over
    /// the bitrate the link declared, and another stream (``bitrateMeasured(before:)``).
    private func bitrateChanged(to went: Int) {
        let before = measuresBitrate ? bitrate.map { nominalBitrate ?? $0 } : bitrate
        measuresBitrate = true
        (bitrate, nominalBitrate) = (went, NominalBitrate.of(went))
        bitrateMeasured(before: before)
    }

    /// The bitrate is measured (or the measure gave up, the one `before` kept): the nodes fed are told the stream —
    /// the new one whose segments are held (``remeasure(holding:)``); the first told; or, at another bitrate than
    /// they were told (the same station back from an encoder set to another, its own fallback at another), as
    /// another stream, so that branches re-attach and count with it and HLS goes on after a discontinuity: the
    /// unfinished segment is cut (padded) at the old stream's end.
    private func bitrateMeasured(before: Int?) {
        let now = bitrate.map { nominalBitrate ?? $0 }
        keeper.link?.silence = silenceDeadline  // six segments of the bitrate measured, not of the one the link began with
        if let before, let now, before != now {
            // The new stream of another shape or codec was said already; its bitrate is told with it.
            logger(measuring?.newStream != true
                ? "proxy: the upstream's bitrate is \(now) kbit/s now, measured on its audio (it was \(before) kbit/s): another stream, which listeners are told"
                : "proxy: the new stream's bitrate is \(now) kbit/s, measured on its audio (the one before was at \(before) kbit/s)")
        }
        guard shapeBefore == nil else { return }  // told once the new link's first frame is compared (``compareShape(of:)``)
        if let held = measuring {
            // A stream back after an outage: at another bitrate, another stream; the same, where it goes on. Either
            // way one gap. (A new stream's id was made as it was found.)
            measuring = nil
            if !held.newStream, let before, let now, before != now { stream = Context.newStream() }
            subscribers.restart(context, with: held.segments, next: cutter.next)
        } else if before == nil || subscribers.context == nil {
            subscribers.ready(context, next: cutter.next)
        } else if before != now {
            stream = Context.newStream()
            if let last = cutter.finish() { subscribers.publish(last) }
            subscribers.restart(context, with: [], next: cutter.next)
        }
    }

    /// How long a link may bring nothing before it is given up: six segment durations at the stream's bitrate
    /// (``Configuration/silentSegments``), never less than ``Configuration/minimumSilence``.
    private var silenceDeadline: Duration {
        max(context.segmentDuration * configuration.silentSegments, configuration.minimumSilence)
    }

    /// The context every listener is told: the station's headers, this proxy's segment size and the bitrate.
    private var context: Context {
        var headers = station
        // Measured on the audio (the station declared none, or its audio contradicts it): told as the encoder's
        // setting (``NominalBitrate``).
        if headers["icy-br"] == nil || measuresBitrate, let bitrate { headers["icy-br"] = String(nominalBitrate ?? bitrate) }
        return Context(station: headers, segmentBytes: cutter.segmentBytes, bitrate: bitrate ?? 128, title: cutter.title, stream: stream)
    }

    /// The station headers that differ between `old` and `new`, for a log line: `Content-Type audio/mpeg → audio/aac`.
    static func changes(from old: Headers, to new: Headers) -> String {
        var seen = Set<String>()
        let names = (old.fields + new.fields).map(\.name).filter { seen.insert($0.lowercased()).inserted }
        return names.filter { old[$0] != new[$0] }.map { name in
            "\(name) \(old[name].map { SafeText.shortened($0) } ?? "none") → \(new[name].map { SafeText.shortened($0) } ?? "none")"
        }.joined(separator: ", ")
    }

    /// Why the link from `url` is given up at `segment`, a metadata block, if the ICY framing is lost there
    /// (``FramingWatch``): the keeper logs it and opens the link again — listeners stay —, which reads the framing
    /// anew.
    private func framingLost(at segment: Segment, of url: StreamURL) -> CastyError? {
        guard segment.lengthByte != nil else { return nil }
        let corrected = if case .lengthLied? = segment.fault { true } else { false }
        let empty = segment.metadata.isEmpty && segment.fault == nil
        guard framing.block(binary: FramingWatch.isBinary(segment), empty: empty, corrected: corrected) else { return nil }
        if framing.lostAfterCorrection, !trustsLengthBytes {
            trustsLengthBytes = true
            logger("proxy: a block read short (its length byte taken for a lie) put the reader out of step: this station pads"
                + " its blocks with binary bytes; its length bytes are trusted from now on")
        }
        let now = ContinuousClock.now
        framingLosses = framingLosses.filter { now - $0 < Self.framingLossWindow } + [now]
        if framingLosses.count >= Self.framingLossesBeforeNoTitles, asksForTitles {
            asksForTitles = false
            logger("proxy: the ICY framing was lost \(framingLosses.count) times in \(Self.framingLossWindow.components.seconds) s: this"
                + " station's blocks do not come every icy-metaint bytes it announces; its audio is relayed without its titles from now on"
                + " (asked without Icy-MetaData; what it sends between its frames anyway is dropped)")
        }
        return .framingLost(url, blocks: FramingWatch.limit)
    }

    /// How many losses of the framing within ``framingLossWindow`` make the proxy stop asking for titles.
    static let framingLossesBeforeNoTitles = 3
    /// The time within which the framing losses are counted.
    static let framingLossWindow = Duration.seconds(120)

    /// Leaves out the segments `held` since a change, another one following in the same read: what they were
    /// (`name`) and their bytes, added to those left out before in this read.
    private static func leaveOut(
        _ held: inout [StreamSegment], of name: String, adding before: (name: String, bytes: Int)?
    ) -> (name: String, bytes: Int) {
        defer { held.removeAll() }
        return (name, (before?.bytes ?? 0) + held.reduce(0) { $0 + $1.audio.count })
    }

    /// What a change's log line adds when a stretch of audio between two changes in one read was left out.
    private func leftOut(_ between: (name: String, bytes: Int)?) -> String {
        guard let between else { return "" }
        return "; the \(megabytes(between.bytes)) of \(between.name) before it, come in the same read, were left out"
    }

    /// Relays what `segment` brings; returns `false` when its link's body proved to be text, not audio
    /// (``FrameChain/Output/text(after:)``): nothing of it was relayed, and the link is given up.
    private func take(_ segment: Segment) -> Bool {
        if !segment.audio.isEmpty { lastAudio = .now }
        // Its first audio: a station server's mount takes its listeners back from its fallback now, not when a
        // station that sends nothing merely answered — nor one whose body, so far, begins as a web page does.
        defer {
            if !segment.audio.isEmpty, !chain.holdsText, streamsNow() { onStreaming?(true) }
        }
        let (audio, skipped) = join.take(segment.audio, at: .now)
        if let skipped {
            logger("proxy: the new link's first \(megabytes(skipped)) were audio relayed before (the upstream's burst): "
                + "left out, the stream goes on where the last link ended")
            // Byte for byte: its first frames take their audio from the frames relayed before, as they would have.
            chain.continuesExactly()
        }
        keeper.learnQuiet(from: segment)
        if segment.fault == .unquotedText {
            // A habit of the station's, not an incident: its fields are read all the same.
            if !reportedUnquoted { logger("proxy: this station's metadata values are not between quotes (StreamTitle=…; rather than StreamTitle='…';): read all the same") }
            reportedUnquoted = true
        } else if let fault = segment.fault {
            if !badMetadata {
                let trusted = fault == .malformedText ? "title unchanged" : "its text is well-formed and read"
                badBlocks("bad metadata block: \(fault) (\(trusted)): \(SafeText.shortened(IcyText.decode(segment.metadata)))")
            }
            badMetadata = true
        } else if segment.lengthByte != nil {
            badMetadata = false  // a good block ends the incident (audio handed on between blocks says nothing)
        }
        if !segment.metadata.isEmpty, segment.fault != .malformedText {
            let metadata = Metadata(parsing: segment.metadata)
            if let printable = metadata.streamTitle.map(SafeText.printable) {
                // Relayed as a source's title is (``SafeText/printable(_:)``): a line break that would split a
                // player's display or a log line becomes a space, other control characters go. Kept as its block
                // reads back — the `'` of a `';` written `’` (``Metadata/bytes``) —: what every listener receives, and
                // what a branch reads, so that the log, the status and the tree's nodes all tell the same title.
                let written = Metadata(streamTitle: printable, streamURL: metadata.streamURL.map(SafeText.printable))
                let current = Metadata(parsing: written.bytes)
                let title = current.streamTitle ?? printable
                if current != cutter.title {
                    titleChanges(title.isEmpty ? "title: none (the station sent an empty one)" : "title: \(SafeText.shortened(title))")
                }
                cutter.setTitle(current)
            } else if !reportedGarbage {
                reportedGarbage = true
                logger("proxy: ignoring metadata without a StreamTitle: \(SafeText.shortened(IcyText.decode(segment.metadata)))")
            }
        }
        compareShape(of: audio)
        for chunk in audio { measureBitrate(on: chunk) }
        // The link's first audio tells the nodes fed the stream, before its first segment is cut: unless it waits for
        // the new link's first frame (``compareShape(of:)``), for a new stream's measure, or was told already.
        if !audio.isEmpty, shapeBefore == nil, measuring == nil, subscribers.context == nil { replyWhenMeasured() }
        var isText = false
        for chunk in audio {
            join.relayed(chunk)
            // Read before the chain is lent to the cutter: a relay's chain keeps its format, unless it goes on in the other.
            let followed = chain.format
            let format = followed?.name ?? "audio"
            // Segments after a change of shape wait until the nodes fed are told they are another stream.
            var reshaped: (from: AudioShape, to: AudioShape)?
            var reformatted: FrameChain.Format?
            var held: [StreamSegment] = []
            // A change that follows another within this read (an AAC station's MP3 fallback for a moment, and back):
            // the stretch between, shorter than a read, is left out rather than told as a stream of its own.
            var between: (name: String, bytes: Int)?
            cutter.add(chunk, through: &chain, admit: { heardInTime($0, format: followed) }, emit: { segment in
                if reshaped != nil || reformatted != nil { held.append(segment) } else if measuring != nil {
                    measuring?.segments.append(segment)
                } else {
                    subscribers.publish(segment)
                }
            }) { incident in
                // A change after another in this read: the segments held since the first are left out.
                if incident.startsAnotherStream, reshaped != nil || reformatted != nil {
                    between = Self.leaveOut(&held, of: reformatted?.name ?? format, adding: between)
                }
                switch incident {
                case .resynced(let dropped):
                    framing.audioBroken()
                    brokenFrames("audio frames broken: dropped \(counted(dropped, "byte")) that were not frames, resynchronised on the next frame")
                case .gaveUp(let after, let kind):
                    let seems = kind.map { " (it looks like \($0))" } ?? ""
                    logger("proxy: no \(format) found in \(after) bytes\(seems); passing the stream on unchecked")
                case .text:
                    isText = true  // told as the link ends, by the keeper (``UpstreamNode``)
                case .reformatted(let other):
                    reformatted = other  // after a break only: a relay's chain does not identify at a link's start
                case .reshaped(let from, let to):
                    reshaped = (from, to)
                }
            }
            if let other = reformatted {
                // Within one link (an Icecast mount moving its listeners to its fallback of the other codec): the same
                // as coming back in another codec (``attach(_:)``) — its players, told the old type, are let go.
                station["Content-Type"] = other.contentType
                stream = Context.newStream()
                logger("proxy: the audio went on in \(other.name) after \(between?.name ?? format) on the same link (the station's own"
                    + " fallback?): another stream, which listeners are told as \(other.contentType)\(leftOut(between))")
            } else if let (from, to) = reshaped {
                // Within one link (an Icecast mount's own fallback, an encoder restarted behind it): the same as
                // coming back in another shape (``compareShape(of:)``), except that no audio is lost.
                stream = Context.newStream()
                logger("proxy: \(AudioShape.change(from: from, to: to))\(leftOut(between))")
            }
            if reformatted != nil || reshaped != nil {
                // Its bitrate may be another (a fallback at 64 kbit/s after 128): measured before the nodes are told.
                remeasure(holding: held)
            } else if let went = bitrateWent {
                bitrateChanged(to: went)
            }
            bitrateWent = nil
        }
        return !isText
    }
}
