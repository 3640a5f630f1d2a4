package import CastyAudio
public import CastyNet
public import Icy

/// A built-in ICY station: it plays an MP3 file in a loop, in real time, cut into numbered segments — a
/// source that needs no internet, for demos, tests and load tests.
///
/// It takes the place of a proxy at the root of a relay. A distributor (or any ``Node``) sends it
/// `request`; it answers with `reply(next: N, context)` — the station's headers, the segment size, the
/// bitrate and the title — then sends `data(N, segment)`, `data(N+1, …)`, … as the audio "plays":
///
/// ```
/// distributor ──request───────────▶ station
/// distributor ◀─reply(next: 7, …)── station     icy-name, icy-br: 128, segmentBytes 8192, title
/// distributor ◀─data(7, segment)─── station     every segmentBytes × 8 / bitrate seconds (0.5 s here)
/// ```
///
/// **Pacing.** A live server sends audio as fast as it plays, no faster: each segment is due when the audio
/// before it has played — the durations its frame headers give, a cut frame counted for its share of bytes —, so
/// a VBR file's loud passages (more bytes a second) go out as fast as they play, not at the file's average rate
/// (``segmentDuration``, what a CBR file's segments all last). Deadlines do not drift: segment *n* is due at
/// `start + the playing time of segments 0…n-1`, whatever the timer's lateness. After a stall (a busy loop, a
/// suspended process) it sends at most ``maxCatchUp`` segments at once and carries on from there, rather than a
/// burst of everything it missed.
///
/// **Audio.** The file's frames, back to back (tags and garbage left out), and after the last frame the
/// first one again: every segment boundary may fall inside a frame, but the stream is always a valid MP3
/// stream.
///
/// **Titles.** The first title is set at the start; every `titleInterval` the next one in the list follows,
/// round and round. With a single title, the changes read "Title #2", "Title #3", … so a listener can see
/// the title change. ``setTitle(_:)`` changes it at once.
public actor Station: LoopNode, FeedingNode {
    /// The loop the station's timer and messages run on.
    public nonisolated let loop: EventLoop
    /// Runs the actor on its event loop.
    public nonisolated var unownedExecutor: UnownedSerialExecutor { loop.asUnownedSerialExecutor() }
    /// The frames of the file being played.
    public nonisolated let file: MP3File
    /// The station's name, sent as `icy-name`.
    public nonisolated let name: String
    /// The bitrate in kbit/s: the file's average, from its frame headers. Sent as `icy-br`.
    public nonisolated let bitrate: Int
    /// The audio bytes in each segment: the `icy-metaint` of everyone downstream.
    public nonisolated let segmentBytes: Int
    /// How long one segment plays on average: `segmentBytes` at the file's average byte rate (about
    /// `segmentBytes × 8 / bitrate`); each segment of a VBR file plays as long as its own frames.
    public nonisolated let segmentDuration: Duration
    /// The most segments sent at once to catch up after a stall.
    public static let maxCatchUp = 2

    private let logger: EventLog
    private let titles: [String]
    private let titleInterval: Duration
    /// The audio played in a loop: the file's frames back to back.
    private let audio: [UInt8]
    /// The sample rate and channels of the file's audio (its first frame's).
    package nonisolated var shape: AudioShape? { AudioShape(frame: audio[...], format: .mpeg) }
    /// Where in `audio` the next segment starts.
    private var position = 0
    /// The length of each frame of `audio`, in order.
    private let frameLengths: [Int]
    /// How long each frame of `audio` plays, in order.
    private let frameDurations: [Duration]
    /// The frame `position` is in, and how many of its bytes are still to be cut (0: `position` starts it).
    private var frame = (index: 0, left: 0)
    private var cutter: Cutter
    private var subscribers = Subscribers()
    /// The next segment of this run is due at `epoch + played`: the playing time of the segments cut before it.
    private var epoch: ContinuousClock.Instant?
    private var played: Duration = .zero
    /// How long the last segment cut plays.
    private var lastPlays: Duration = .zero
    private var timer: Scheduled?
    /// How many automatic title changes have happened.
    private var titleStep = 0
    /// The playing time (counted in segments cut) at which the next automatic title change is due.
    private var nextTitleAt: Duration
    private var stopped = false

    /// A station that plays `mp3` in a loop.
    ///
    /// - Parameters:
    ///   - mp3: the bytes of an MP3 (or MP1/MP2) file; ID3 tags are skipped.
    ///   - name: the station's name (`icy-name`); control characters are removed, as from a source's
    ///     (``SafeText/printable(_:)``): they would reach every listener raw.
    ///   - titles: the titles it cycles through, control characters removed as from `name`; none for no title.
    ///   - titleInterval: how long each title lasts; zero for a title that never changes by itself.
    ///   - segmentBytes: the audio bytes per segment (within `IcyLimits.metaintRange`): 8192 at 128 kbit/s
    ///     is a segment every half second.
    ///   - loop: the event loop it runs on.
    ///   - logger: where it tells that it started and stopped.
    /// - Throws: ``ConfigurationError/mp3(_:)`` (``MP3Error/noFrames(byteCount:)``) when `mp3` holds no MPEG
    ///   audio frames; ``ConfigurationError/segmentBytes(_:allowed:)`` when `segmentBytes` is not a possible
    ///   `icy-metaint`.
    public init(
        mp3: [UInt8], name: String = "Casty Station", titles: [String] = ["Casty test tone"],
        titleInterval: Duration = .seconds(15), segmentBytes: Int = 8192, loop: EventLoop = .shared,
        logger: EventLog = .silent
    ) throws(ConfigurationError) {
        let name = SafeText.printable(name)
        let titles = titles.map(SafeText.printable)
        let file: MP3File
        do {
            file = try MP3File(mp3)
        } catch {
            throw .mp3(error)
        }
        var cutter = try Cutter(segmentBytes: segmentBytes)
        self.file = file
        self.audio = file.audio(of: mp3)
        self.frameLengths = file.frames.map(\.header.length)
        self.frameDurations = file.frames.map(\.header.duration)
        self.name = name
        let bitrate = max(1, file.averageBitrate)
        self.bitrate = bitrate
        self.segmentBytes = segmentBytes
        self.segmentDuration = file.duration * segmentBytes / file.audioBytes
        self.titles = titles
        self.titleInterval = titleInterval
        self.nextTitleAt = titleInterval
        self.loop = loop
        self.logger = logger
        if let first = titles.first { cutter.setTitle(Metadata(streamTitle: first)) }
        self.cutter = cutter
        var subscribers = Subscribers()
        subscribers.ready(
            Context(station: Self.headers(name: name, bitrate: bitrate, file: file), segmentBytes: segmentBytes,
                    bitrate: bitrate, title: cutter.title),
            next: cutter.next)
        self.subscribers = subscribers
    }

    /// The station playing ``BuiltInTone``: four seconds of tones (C5 E5 G5 C6) at 128 kbit/s, built into
    /// the program, so a relay can be tried with no file and no internet. The parameters are those of
    /// ``init(mp3:name:titles:titleInterval:segmentBytes:loop:logger:)``.
    /// - Throws: ``ConfigurationError/segmentBytes(_:allowed:)`` when `segmentBytes` is not a possible
    ///   `icy-metaint` (the tone itself always has frames: the tests check it).
    public static func builtIn(
        name: String = "Casty Station", titles: [String] = ["Casty test tone"],
        titleInterval: Duration = .seconds(15), segmentBytes: Int = 8192, loop: EventLoop = .shared,
        logger: EventLog = .silent
    ) throws(ConfigurationError) -> Station {
        try Station(
            mp3: BuiltInTone.mp3, name: name, titles: titles, titleInterval: titleInterval,
            segmentBytes: segmentBytes, loop: loop, logger: logger)
    }

    /// The headers every listener gets: `Content-Type: audio/mpeg`, `icy-name`, `icy-genre: Casty`,
    /// `icy-br` and `icy-description`.
    private static func headers(name: String, bitrate: Int, file: MP3File) -> Headers {
        let seconds = Double(Int((file.duration / .milliseconds(1)).rounded())) / 1000
        return [
            "Content-Type": "audio/mpeg",
            "icy-name": name,
            "icy-genre": "Casty",
            "icy-br": String(bitrate),
            "icy-description": "\(file.frames.count) MP3 frames (\(seconds) s) played in a loop by Casty",
        ]
    }

    // MARK: Messages

    /// Hands the station a message: a node's `request` is answered with a reply and then the segments;
    /// anything else is ignored (a station has no source).
    public nonisolated func send(_ message: Message) { deliver(message) }

    /// Stops the station for good: the timer ends, and every node it feeds is told to stop.
    public nonisolated func stop() { onLoop { $0.stopNow() } }

    /// Stops sending to `node` (a mount that takes its stream from elsewhere now).
    public nonisolated func leave(_ node: any Node) { onLoop { $0.subscribers.remove(node) } }

    func receive(_ message: Message) {
        switch message {
        case .request(let node, _, _):
            // Live audio cannot be resumed from the past: every request starts with the next segment.
            if stopped {
                node.stop()
            } else {
                subscribers.request(from: node, next: cutter.next)
            }
        case .reply, .redirect, .data, .piece:
            logger("station: ignored a message a station does not take")
        }
    }

    func stopNow() {
        guard !stopped else { return }
        stopped = true
        timer?.cancel()
        timer = nil
        subscribers.stopAll()
        logger("station: \(name) stopped after \(counted(cutter.next, "segment"))")
    }

    // MARK: Playing

    /// Starts playing: the first segment is cut at once, the next ones in real time. Calling it again,
    /// or after ``stop()``, does nothing.
    public func start() {
        guard epoch == nil, !stopped else { return }
        epoch = .now
        played = .zero
        logger("station: \(name) playing \(file.frames.count) frames at \(bitrate) kbit/s, a segment of \(segmentBytes) bytes every \(Int((segmentDuration / .milliseconds(1)).rounded())) ms")
        if let change = file.shapeChange {
            logger("station: \(name): the file goes on in \(change.to) at frame \(change.frame + 1), after \(change.from) (and back where it"
                + " loops): \(AudioShape.changeWarning); give the whole file one sample rate and channel count")
        }
        tick()
    }

    /// The segments cut so far, and how long the audio cut since ``start()`` plays: when the next segment is
    /// due, counted from the start.
    package var pacing: (segments: Int, plays: Duration) { (cutter.next, played) }

    /// Whether ``start()`` was called and ``stop()`` was not.
    public var isPlaying: Bool { epoch != nil && !stopped }

    /// The number the next segment will get.
    public var next: Int { cutter.next }

    /// What is playing now.
    public var title: Metadata? { cutter.title }

    /// The context a new listener is told: the station's headers, the segment size, the bitrate, and the
    /// title set when the station was made.
    public var context: Context? { subscribers.context }

    /// Changes the title now: the next segment carries it. It lasts a whole `titleInterval` before the
    /// automatic changes carry on with the next title of the list. Control characters are removed, as from a
    /// source's title.
    public func setTitle(_ title: String) {
        cutter.setTitle(Metadata(streamTitle: SafeText.printable(title)))
        nextTitleAt = segmentDuration * cutter.next + titleInterval
    }

    /// The line of a stall that left `late` segments due after ``maxCatchUp`` were sent at once.
    static func stallLine(_ name: String, late: Int) -> String {
        "station: \(name) was \(counted(late, "segment")) late; not catching up"
    }

    /// Cuts every segment that is due, then sets the timer for the next one.
    private func tick() {
        guard !stopped, let epoch else { return }
        let now = ContinuousClock.now
        var cut = 0
        while epoch + played <= now {
            guard cut < Self.maxCatchUp else {
                // A stall: a couple of segments were sent; play on from here, as if the last one were due now,
                // instead of bursting everything missed.
                let late = Int(((now - (epoch + played)) / segmentDuration).rounded(.down)) + 1
                self.epoch = now - played + lastPlays
                logger(Self.stallLine(name, late: late))
                break
            }
            cutOne()
            cut += 1
        }
        let deadline = (self.epoch ?? epoch) + played
        timer = loop.schedule(after: deadline - .now) { [self] in
            onLoop { $0.tick() }
        }
    }

    /// Cuts the next segment of audio (wrapping around at the end of the file) and sends it to every node.
    private func cutOne() {
        updateTitle()
        // Frame by frame, so that each segment knows where its first whole frame starts, and how long it plays.
        var wanted = segmentBytes
        var plays = Duration.zero
        while wanted > 0 {
            let startsFrame = frame.left == 0
            if startsFrame {
                frame.left = frameLengths[frame.index]
                frame.index = (frame.index + 1) % frameLengths.count
            }
            let take = min(wanted, frame.left)
            let index = (frame.index + frameLengths.count - 1) % frameLengths.count  // the frame being cut
            plays += frameDurations[index] * take / frameLengths[index]
            let piece = audio[position..<(position + take)]
            position = (position + take) % audio.count
            wanted -= take
            frame.left -= take
            if startsFrame {
                cutter.addFrame(piece) { subscribers.publish($0) }
            } else {
                cutter.add(piece) { subscribers.publish($0) }
            }
        }
        played += plays
        lastPlays = plays
    }

    /// Moves to the next title when the segment about to be cut starts at or after the time it is due.
    /// Time here is playing time (segments cut × segmentDuration), not the clock: the same audio always
    /// gets the same title changes, stall or no stall.
    private func updateTitle() {
        guard let first = titles.first, titleInterval > .zero else { return }
        let played = segmentDuration * cutter.next
        guard played >= nextTitleAt else { return }
        while nextTitleAt <= played { nextTitleAt += titleInterval }
        titleStep += 1
        let title = titles.count > 1 ? titles[titleStep % titles.count] : "\(first) #\(titleStep + 1)"
        cutter.setTitle(Metadata(streamTitle: title))
    }
}
