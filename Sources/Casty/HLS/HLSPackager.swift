internal import CastyAudio
public import CastyNet

/// Publishes one mount as live HLS: it listens to the mount's distributor like a player (but is not counted as
/// one), cuts the stream into segments with an ``HLSSegmenter``, and keeps the live window and its playlists
/// ready for every HLS client — and, with `--hls-dir`, writes them to disk with an ``HLSDirectory``.
///
/// It runs on the distributor's loop, as an actor whose messages come from the distributor's fan-out with a
/// plain call, like any in-process listener. Segments that leave the playlist stay downloadable for their own
/// duration plus the playlist's (a player that read the playlist just before still finds them), then go — those of
/// a playlist withdrawn (its session over) too.
public actor HLSPackager: LoopNode {
    /// How HLS is published.
    public struct Settings: Sendable, Equatable {
        /// Whether every mount is published as HLS.
        public var enabled = true
        /// The duration segments aim at, in seconds (`EXT-X-TARGETDURATION`, ``targetRange``).
        public var targetDuration = 6
        /// The segments a live playlist lists (raised so that they last at least 3 target durations).
        public var window = 6
        /// Where the playlists and segments are also written (`--hls-dir`), if anywhere.
        public var directory: String?
        /// How long a stream may bring nothing before its live window is withdrawn (``QuietEnd``).
        public var quietEnd: Duration = QuietEnd.defaultWait

        /// The target durations that may be asked for: 1 to 60 seconds.
        public static let targetRange = 1...60
        /// The windows that may be asked for: 3 to 100 segments.
        public static let windowRange = 3...100

        /// The defaults: segments of about 6 s, 6 in a playlist, nothing written to disk.
        public init() {}
    }

    /// The loop it runs on: its distributor's.
    public nonisolated let loop: EventLoop
    /// Runs the actor on its event loop.
    public nonisolated var unownedExecutor: UnownedSerialExecutor { loop.asUnownedSerialExecutor() }
    /// The mount it publishes (`/live`; empty for a relay's one stream), for log lines.
    public nonisolated let mount: String

    private let distributor: Distributor
    private let settings: Settings
    private let logger: EventLog
    private let directory: HLSDirectory?
    private var segmenter: HLSSegmenter
    /// The live window and, before it, the segments that left it but may still be fetched (``HLSKept``).
    private var kept = HLSKept()
    /// How many segments the relay segment being taken made: a long relay segment (a slow stream in 8 KiB) makes
    /// several at once, and the window lists them all, or a player reading the playlist after them misses some.
    private var batch = 0
    private var observers: [Int: @Sendable (Feed) -> Void] = [:]
    /// Whether the mount is recorded anyway (`--record`) now: it has one recorder for it, however many ports serve its
    /// distributor (a branch's `--client-port` too) — two would write every file twice, and cut each other's.
    var recordedAnyway = false
    /// Called once when the live playlist is first ``ready`` (its `HLS-LIVE` event is due then).
    /// What to do once the playlist is ready, by what it is for: a later wish for the same purpose replaces an
    /// earlier one (each new source of a mount whose playlist never became ready asks again).
    private var whenReady: [String: @Sendable () -> Void] = [:]
    private var nextObserver = 0
    /// How this node's numbers stood against its root's at the last log line about it (``tellApart()``).
    private var reportedApart: HLSSegmenter.Apart?
    private var closed = false
    private var retry: Scheduled?
    /// Lets the segments of a withdrawn playlist go as their time comes (``expireWithdrawn()``).
    private var expiry: Scheduled?
    /// Withdraws the live window of a stream that stopped coming without ending (``stoppedComing()``).
    private lazy var quiet = QuietEnd(loop: loop, wait: settings.quietEnd) { [weak self] in
        self?.assumeIsolated { $0.stoppedComing() }
    }
    /// The playlists as last written, served as they are.
    /// Who fetches the playlists and segments (``HLSRoutes`` tells it), for the status page.
    var audience = HLSAudience()

    private(set) var playlist: [UInt8] = []
    private(set) var masterPlaylist: [UInt8] = []
    /// Segments made so far.
    public private(set) var made = 0
    /// The duration its segments aim at, in seconds (`EXT-X-TARGETDURATION`).
    var targetDuration: Int { segmenter.targetDuration }

    /// A packager of `distributor`'s stream; ``start()`` subscribes it.
    init(distributor: Distributor, mount: String, settings: Settings, logger: EventLog) {
        self.loop = distributor.loop
        self.distributor = distributor
        self.mount = mount
        self.settings = settings
        self.logger = logger
        // Numbered from the clock: a node that restarts never numbers below its earlier run (nor a root below its branches).
        self.segmenter = HLSSegmenter(targetDuration: settings.targetDuration, first: .clock)
        self.directory = settings.directory.map { HLSDirectory(path: Self.path(settings: $0, mount: mount), root: $0, logger: logger) }
    }

    /// `DIR/<mount>`, or `DIR` for a relay's one stream.
    package static func path(settings directory: String, mount: String) -> String {
        let name = mount.split(separator: "/").joined(separator: "/")
        return name.isEmpty ? directory : directory + "/" + name
    }

    /// Asks the distributor for the stream.
    func start() {
        distributor.send(.request(from: self, resume: nil))
    }

    /// Stops for good (the mount is forgotten, the server stops): with `--hls-dir`, its files are deleted.
    func close() {
        closed = true
        retry?.cancel()
        expiry?.cancel()
        quiet.cancel()
        distributor.leave(self)
        directory?.remove()
    }

    /// What an observer (a recorder) is handed: the stream as the packager receives it, relay segment by
    /// relay segment, so that it cuts its own segments and keeps every frame.
    enum Feed: Sendable {
        /// The stream's context (its source's reply).
        case context(Context)
        /// Relay segment `number` of stream `stream`, and who decides its sample count: the packager, with its count
        /// at the segment's first frame while that is the tree's (``HLSSegmenter/clock(from:stream:)``) — a recording
        /// counts as the live window does, and cuts the same segments.
        case segment(Int, StreamSegment, stream: UInt64, clock: HLSSampleCount.Authority = .own)
        /// The stream ended (``streamEnded()``): a recording writes what it holds and finishes its file.
        case ended
    }

    /// Calls `observer` with the stream from now on (a recorder), until ``forget(_:)`` with the number
    /// returned. On the loop, as the packager receives it.
    func observe(_ observer: @escaping @Sendable (Feed) -> Void) -> Int {
        nextObserver += 1
        observers[nextObserver] = observer
        // The reply may have come already (at once, when the stream was there before the packager).
        if let context = segmenter.currentContext { observer(.context(context)) }
        return nextObserver
    }

    /// Stops calling an observer.
    func forget(_ observer: Int) {
        observers[observer] = nil
    }

    /// Hands the packager a message from its distributor.
    public nonisolated func send(_ message: Message) { deliver(message) }

    /// The distributor let go (no stream in time, or it stopped): ask again shortly, unless closed.
    public nonisolated func stop() { onLoop { $0.stopNow() } }

    func receive(_ message: Message) {
        switch message {
        case .reply(_, let context):
            follow(context)
        case .data(let number, let segment):
            let (stream, clock) = distributor.assumeIsolated { ($0.stream ?? 0, $0.clockAuthority(at: number)) }
            // A new stream (a source that came back, a branch's root that restarted) reaches a listener without
            // a reply: its context — the sequence base its root told — is read from the distributor.
            if stream != segmenter.currentContext?.stream, let context = distributor.assumeIsolated({ $0.context }) {
                follow(context)
            }
            let made = segmenter.add(number, segment, stream: stream, clock: clock) { number in
                distributor.assumeIsolated { $0.cutBefore(number) }
            }
            batch = made.count
            for segment in made { publish(segment) }
            quiet.heard()
            tell(.segment(number, segment, stream: stream, clock: .told(segmenter.clock(from: number, stream: stream))))
        case .request, .redirect, .piece:
            break  // HLS segments are cut from whole relay segments
        }
    }

    /// The HLS sequence numbers of `stream` here, whose first relay segment here is `first`
    /// (``HLSSegmenter/sequenceBase(for:from:context:)``): what a root tells its branches.
    func sequenceBase(for stream: UInt64, from first: Int, context: Context, group: Int? = nil) -> HLSSegmenter.Base {
        segmenter.sequenceBase(for: stream, from: first, context: context, group: group)
    }

    /// The index of the first whole HLS segment a mount that plays this stream as its fallback from relay segment
    /// `first` makes (``HLSSegmenter/firstWholeGroup(from:stream:)``).
    func firstWholeGroup(from first: Int, stream: UInt64) -> Int? {
        segmenter.firstWholeGroup(from: first, stream: stream)
    }

    /// The sample clock to tell a numbered peer of `stream` whose first relay segment is `segment`
    /// (``HLSSegmenter/clock(from:stream:)``): what a node whose count is exact tells its branches.
    func clock(from segment: Int, stream: UInt64) -> HLSClock? {
        segmenter.clock(from: segment, stream: stream)
    }

    /// The clock to tell a numbered peer of `stream` whose first relay segment is `segment`, the one this packager
    /// begins with, when it has counted nothing of the stream yet (``HLSSegmenter/startClock(at:stream:)``).
    func startClock(at segment: Int, stream: UInt64) -> HLSClock? {
        segmenter.startClock(at: segment, stream: stream)
    }

    private func follow(_ context: Context) {
        for made in segmenter.start(context) { publish(made) }
        tell(.context(context))
    }

    /// The mount's session is over — its source did not come back within the source timeout, and its playlist
    /// answers `404`: the window is withdrawn, so that the next source's playlist starts empty (`503` until it lasts
    /// three target durations, its `HLS-LIVE` event due then) rather than with the last show's tail; with
    /// `--hls-dir`, its playlists are deleted, so that a web server serving them answers `404` too. The segments it
    /// listed stay downloadable, here and in `--hls-dir`, for their own duration plus the longest playlist that listed
    /// them (RFC 8216 §6.2.2, ``HLSKept/withdraw(now:)``): a player that read the playlist just before still finds
    /// them. On the loop.
    func sessionOver() {
        guard !kept.live.isEmpty else { return }
        let expired = kept.withdraw(now: .now)
        playlist = []
        masterPlaylist = []
        directory?.withdraw(expired: expired)
        expireWithdrawn()
    }

    /// Lets the segments of the withdrawn playlist go as their time comes — no segment published moves them on —, the
    /// oldest first; with `--hls-dir`, their files too, and the mount's folder once nothing is left in it.
    private func expireWithdrawn() {
        expiry?.cancel()
        expiry = nil
        guard let next = kept.nextExpiry else {
            if kept.segments.isEmpty { directory?.remove() }
            return
        }
        expiry = loop.schedule(after: max(.zero, next - .now)) { [weak self] in
            self?.assumeIsolated { packager in
                // Out of the optional chain: without --hls-dir, an argument of `directory?.expire` is never
                // evaluated, and the segments kept would never go (the timer firing at once, again and again).
                let gone = packager.kept.expire(now: .now)
                packager.directory?.expire(gone)
                packager.expireWithdrawn()
            }
        }
    }

    /// The stream stopped coming without ending — a relay whose station is down, a branch whose root is away — for
    /// ``Settings/quietEnd`` (a minute): its last segment is published, shorter, and the live window withdrawn (the playlist
    /// answers as before a stream, and `--hls-dir` loses its files), as a station server's mount does when its source
    /// does not come back; a playlist left as it was would look live to every player and cache. The stream coming
    /// again starts a new window. On the loop.
    private func stoppedComing() {
        guard !kept.live.isEmpty else { return }
        logger("HLS of \(named): no audio for \(formatted(seconds(settings.quietEnd))) s:"
            + " its live playlist is withdrawn until the stream comes again")
        publishLast()
        sessionOver()
    }

    /// The stream ended — its source left, or, on a branch, its end came down the link from the root's: the segment
    /// being filled is published, shorter, so that HLS players hear the show to its end, and observers are told (a
    /// recording writes its last frames and finishes its file, on every node of the tree as at the root). On the loop.
    func streamEnded() {
        publishLast()
        tell(.ended)
    }

    /// Publishes the segment being filled, shorter, if any: the stream ended, or stopped coming.
    private func publishLast() {
        if let last = segmenter.endStream() { publish(last) }
    }

    /// The mount as log lines name it: `/live`, or `the stream` for a relay's one stream.
    private var named: String { mount == "/" || mount.isEmpty ? "the stream" : mount }

    /// One log line when this node's numbers leave its root's (``HLSSegmenter/apartFromRoot``), or take them again.
    private func tellApart() {
        let apart = segmenter.apartFromRoot
        guard apart?.ahead != reportedApart?.ahead else { return }
        reportedApart = apart
        if let apart {
            logger("HLS of \(named): \(apart.name) numbered \(apart.own) here, \(apart.root) at the tree's root, which restarted below"
                + " this node's last number: numbers never go back, so this node's numbers run \(apart.ahead) ahead of the root's —"
                + " a CDN pulling from several nodes finds one segment under two numbers (its players skip or repeat);"
                + " it lasts until the root's numbers pass this node's (a restart of this branch takes the root's)")
        } else if let segment = kept.segments.last {
            logger("HLS of \(named): numbered as the tree's root again from \(segment.name) (\(segment.sequence))")
        }
    }

    private func tell(_ feed: Feed) {
        for observer in observers.values { observer(feed) }
    }

    func stopNow() {
        guard !closed else { return }
        retry?.cancel()
        retry = loop.schedule(after: .seconds(1)) { [weak self] in
            self?.assumeIsolated { $0.start() }
        }
    }

    // MARK: Serving

    /// The segments of the live playlist (``HLSPlaylist/liveWindow(_:count:lasting:)``).
    var window: ArraySlice<HLSSegment> {
        HLSPlaylist.liveWindow(kept.live, count: windowCount, lasting: Double(3 * segmenter.targetDuration))
    }

    /// Calls `action` once the live playlist is ``ready`` to be served: at once if it is, else when the segment
    /// that makes it so is published — unless another action for the same `purpose` replaces it meanwhile. On the
    /// loop.
    func onceReady(for purpose: String, _ action: @escaping @Sendable () -> Void) {
        if ready { return action() }
        whenReady[purpose] = action
    }

    /// Whether the live playlist lasts the three target durations RFC 8216 asks of a live window
    /// (``HLSPlaylist/lastsThreeTargets(_:targetDuration:)``): until then it is not served, nor written to `--hls-dir`.
    var ready: Bool {
        HLSPlaylist.lastsThreeTargets(window, targetDuration: segmenter.targetDuration)
    }

    /// The segment named `name`, while it may still be fetched (a withdrawn playlist's too, for its time).
    func segment(named name: String) -> HLSSegment? {
        kept.segments.last { $0.name == name }
    }

    /// How long a client counts as a player after its last playlist: three target durations, in milliseconds.
    var audienceWindow: Int64 { Int64(3 * segmenter.targetDuration) * 1000 }

    /// The HLS players now (``HLSAudience``).
    func hlsPlayers(now: Int64 = wallClockMilliseconds()) -> Int {
        audience.players(at: now, window: audienceWindow)
    }

    /// The `hls` object of the mount's status: players now, and what was served.
    func audienceStatus(now: Int64 = wallClockMilliseconds()) -> [(String, JSONValue)] {
        let capped = audience.saturated  // read before counting, which clears it
        return [
            ("players", .number(hlsPlayers(now: now))), ("players_capped", .bool(capped)), ("playlists_served", .number(audience.playlists)),
            ("segments_served", .number(audience.segments)), ("segment_bytes_served", .number(audience.bytes)),
            ("target_duration", .number(targetDuration)), ("segments_made", .number(made)),
            ("sequence_ahead_of_root", .number(segmenter.apartFromRoot?.ahead ?? 0)),
        ]
    }

    /// The mark its segments counted on their own are named with (``HLSSegmenter/ownMark``): a recording of the
    /// mount names its own so too.
    var nameMark: UInt32 { segmenter.ownMark }

    /// Whether segments of a withdrawn playlist are kept (``sessionOver()``): they may still be fetched.
    var keepsWithdrawn: Bool { kept.withdrawn > 0 }

    /// The name of the newest segment kept, if any: it names the playlists' current version.
    var newestSegment: String? { kept.segments.last?.name }

    /// The `Content-Type` of the segment named `name`, by its extension (a segment made before the mount changed
    /// codec keeps its own).
    static func type(ofSegment name: String) -> String { name.hasSuffix(".aac") ? "audio/aac" : "audio/mpeg" }

    /// Whether the mount's audio can be packed (MP3 or AAC), as far as known.
    var packs: Bool { segmenter.fileExtension != nil || segmenter.currentContext == nil }

    /// How many segments the live playlist lists: the configured window, raised so that it lasts at least three
    /// target durations (RFC 8216 §6.2.2) — the newest segments, as many as those take (a source's last segment,
    /// shorter, is one of them: it does not make every other count as short as it is) —, and so that it holds every
    /// segment made at once with the newest (``batch``), which no playlist would list otherwise.
    private var windowCount: Int {
        let window = min(max(settings.window, Settings.windowRange.lowerBound), Settings.windowRange.upperBound)
        let lasting = Double(3 * segmenter.targetDuration)
        var total = 0.0, count = 0
        for segment in kept.live.reversed() where total < lasting {
            total += segment.duration
            count += 1
        }
        return min(max(window, count, batch), Settings.windowRange.upperBound)
    }

    private func publish(_ segment: HLSSegment) {
        made += 1
        kept.append(segment)
        tellApart()
        // A segment that left the window stays for its duration and the longest playlist's that listed it (RFC 8216
        // §6.2.2), and no more than twice the window stays past it (a source far faster than it plays).
        let expired = kept.list(window.indices, now: .now, limit: 2 * windowCount + 1)
        let live = window
        let media = HLSPlaylist.media(live, targetDuration: segmenter.targetDuration)
        playlist = Array(media.utf8)
        let master = masterText
        masterPlaylist = Array(master.utf8)
        directory?.publish(segment, listed: ready ? Array(live) : [], playlist: ready ? media : nil, master: master,
                           expired: expired, kept: kept.segments.map(\.name))
        if ready, !whenReady.isEmpty {
            let actions = whenReady.values
            whenReady = [:]
            for action in actions { action() }
        }
    }

    /// The master playlist: the media playlist with its bandwidth and codec.
    private var masterText: String {
        let live = window
        let rates = live.map { Double($0.bytes.count * 8) / max(0.001, $0.duration) }
        let peak = Int((rates.max() ?? 128_000).rounded(.up))
        let average = Int((rates.reduce(0, +) / Double(max(1, rates.count))).rounded(.up))
        return HLSPlaylist.master(bandwidth: peak, averageBandwidth: average, codecs: codecs)
    }

    /// The codecs of the segments the live playlist lists (``codecs(of:)``), or of the stream before it lists any.
    private var codecs: String {
        Self.codecs(of: window) ?? (segmenter.fileExtension == "aac" ? "mp4a.40.2" : "mp4a.40.34")
    }

    /// Every codec `segments` hold, as RFC 6381 names them — `mp4a.40.34` for MP3, `mp4a.40.<object type>` for AAC
    /// in ADTS —, in the order they first come: after a mount changed codec, its window holds both for a while, and
    /// RFC 8216 (§4.3.4.2) wants each named. `nil` for none.
    static func codecs(of segments: some Sequence<HLSSegment>) -> String? {
        var seen: [String] = []
        for segment in segments {
            let codec = if !segment.name.hasSuffix(".aac") { "mp4a.40.34" } else { ADTSFrame(segment.audio).map { "mp4a.40.\($0.profile + 1)" } ?? "mp4a.40.2" }
            if !seen.contains(codec) { seen.append(codec) }
        }
        return seen.isEmpty ? nil : seen.joined(separator: ",")
    }
}
