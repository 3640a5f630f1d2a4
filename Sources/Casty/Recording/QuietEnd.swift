internal import CastyNet

/// Ends a recording's file once its stream has brought no audio for a while: a branch whose root is away, a relay
/// whose station is down. A station server's mount hears its source end and finishes its file at once; a node
/// that only relays hears nothing end — the stream just stops coming — and without this its file would stay open,
/// unannounced, for as long as the stream is away.
///
/// The wait (``defaultWait``) is long enough for a quiet stream (an AAC source's silence fills a relay segment in
/// about 15 s, and a link waits up to ``QuietStream/allowance`` for it) never to be cut into files by its own
/// silence. The stream coming back later starts a new file. Loop-confined (`@unchecked Sendable` so that the
/// packager's observer may capture it).
public final class QuietEnd: @unchecked Sendable {
    /// How long a stream may bring nothing before its file is finished, unless configured otherwise.
    public static let defaultWait: Duration = QuietStream.allowance * 2

    private let loop: EventLoop
    private let wait: Duration
    private let end: @Sendable () -> Void
    private var timer: Scheduled?
    /// When the stream last brought audio.
    private var lastHeard = ContinuousClock.now

    /// Calls `end` on `loop` once ``heard()`` has not been called for `wait`.
    init(loop: EventLoop, wait: Duration, end: @escaping @Sendable () -> Void) {
        self.loop = loop
        self.wait = wait
        self.end = end
    }

    /// The stream brought audio: the wait starts again. On the loop, per relay segment: it only notes the time —
    /// one timer runs, and when it fires early (audio came since) it is armed again for what is left.
    func heard() {
        lastHeard = .now
        if timer == nil { arm(after: wait) }
    }

    private func arm(after delay: Duration) {
        timer = loop.schedule(after: delay) { [weak self] in
            guard let self else { return }
            let quiet = ContinuousClock.now - lastHeard
            guard quiet >= wait else { return arm(after: wait - quiet) }
            timer = nil
            end()
        }
    }

    /// The recording stopped: nothing more to end. On the loop.
    func cancel() {
        timer?.cancel()
        timer = nil
    }
}
