internal import CastyNet
package import Icy

/// Reads one opened upstream stream: feeds its bytes to the stream reader, watches for silence, and says
/// once when it ended and why.
///
/// Loop-confined (`@unchecked Sendable` so that its callbacks may capture it): made, used and closed on the
/// connection's loop thread. The proxy and the branch each own one at a time.
package final class UpstreamLink: @unchecked Sendable {
    /// The stream's URL, after redirects.
    package let url: StreamURL
    private let connection: Connection
    private var reader: StreamReader
    /// How long the link may go without data: its owner lengthens it when the stream's segments come slower (a
    /// station that went on at a lower bitrate), shortens it when they come faster. On the loop.
    package var silence: Duration
    private var lastData = ContinuousClock.now
    private var watchdog: Scheduled?
    private var onSegment: ((Segment) -> CastyError?)?
    private var onEnd: ((CastyError) -> Void)?
    /// Whether the link already waited past its silence deadline for a peer that answers.
    private var waitedForQuietPeer = false

    /// How long after its last data a peer has answered a keepalive probe, if it is there: the first probe leaves
    /// after 1 s of quiet (``Connection/probeWhenQuiet()``), and its answer takes a round trip.
    static let probeAnswered: Duration = .seconds(2)
    /// How long a peer that has answered while quiet is believed without a fresh answer: four probes (an answer
    /// can come late on a loaded host), not so many that a path gone in a quiet passage is kept for long.
    static let answerBelieved: Duration = .seconds(4)

    /// How long the link may go without data, past `silence`, while its peer's host answers keepalive probes
    /// (``Connection/peerAnswersWhileQuiet(within:)``): for a stream whose segments may come far apart (a quiet AAC or
    /// variable-bitrate source), whose silence is not the link's. A peer that answers nothing is given up at
    /// `silence`, or once a probe's answer had time to come (``probeAnswered``). Zero (the default): given up at
    /// `silence`, answering or not.
    package var quietAllowance: Duration = .zero
    /// Called once, the first time the link waits past its silence deadline for a peer that answers, with how
    /// long it has been without data.
    package var onQuietPeer: ((Duration) -> Void)?
    /// Asked, before the link is given up for a silence (with how long it has been without data), whether the
    /// silence is the stream's and not the link's: a tree branch asks the root whether its stream stopped
    /// coming too (its upstream, or source, away). `true` keeps the link, and it is asked again at most
    /// every ``askedAgain`` while the silence lasts; `false` gives it up. The answer may come later, on the loop;
    /// the link is not given up meanwhile. `nil` (the default): the link is given up at once.
    package var isSilenceUpstream: ((Duration, @escaping @Sendable (Bool) -> Void) -> Void)?
    /// Called while the link waits for a quiet peer (past its silence deadline, within ``quietAllowance``): when it
    /// begins to, then at most every ``toldWhileQuiet`` while no data comes, with how long it has been without. The
    /// quiet may be the stream's or its source's gone: a tree branch asks its root which (a root without a stream
    /// has the branch's newcomers wait). The link is kept whatever the answer: its peer's host answers.
    package var whileQuiet: ((Duration) -> Void)?
    /// How often ``whileQuiet`` is called during one quiet spell.
    package static let toldWhileQuiet: Duration = .seconds(5)
    private var lastToldQuiet: ContinuousClock.Instant?
    /// How long a silence confirmed as upstream's (``isSilenceUpstream``) is believed before it is asked again.
    package static let askedAgain: Duration = .seconds(2)
    /// Whether ``isSilenceUpstream`` is being asked now, and when it last said yes.
    private var asking = false
    private var upstreamSilent: ContinuousClock.Instant?

    /// Starts reading `opened`: each segment goes to `onSegment`, which may answer a reason to give the link up (what
    /// it read says the link is no good: a framing lost; the segments after it are not handed on); `onEnd` is called
    /// once, with that reason, or when the server closes, the bytes stop being ICY, or nothing arrives for `silence`.
    /// The bytes that came with the reply's head are read at once, before this returns.
    package init(
        _ opened: OpenedStream, silence: Duration, onSegment: @escaping (Segment) -> CastyError?, onEnd: @escaping (CastyError) -> Void
    ) {
        self.url = opened.url
        self.connection = opened.connection
        self.reader = opened.reader
        self.silence = silence
        self.onSegment = onSegment
        self.onEnd = onEnd
        read([])  // the bytes that came with the head, held by the reader
        guard self.onEnd != nil else { return }
        connection.onRead = { [self] bytes in read(bytes) }
        connection.onClose = { [self] error in end(error.map { .network(url, $0) } ?? .ended(url)) }
        try? connection.probeWhenQuiet()  // without it, a quiet peer is only told from a gone one by the deadline
        watch()
    }

    /// Closes the connection without calling `onEnd`.
    package func close() {
        onSegment = nil
        onEnd = nil
        watchdog?.cancel()
        connection.onClose = nil
        connection.close()
    }

    private func read(_ bytes: [UInt8]) {
        guard onEnd != nil else { return }
        if !bytes.isEmpty {
            lastData = .now
            upstreamSilent = nil
            lastToldQuiet = nil
        }
        var given: CastyError?
        do {
            try reader.feed(bytes) { event in
                if given == nil, case .segment(let segment) = event { given = onSegment?(segment) ?? nil }
            }
        } catch {
            end(.notAStream(url, error))
        }
        if let given { end(given) }
    }

    /// Checks a few times per silence period that bytes still arrive.
    private func watch() {
        watchdog = connection.loop.schedule(after: silence / 4) { [self] in
            guard onEnd != nil else { return }
            let quiet = ContinuousClock.now - lastData
            guard quiet > silence else { return watch() }
            // Bytes waiting in the kernel: the loop is behind (a loaded host runs this timer before their read), not
            // the link. Their arrival also makes a probe's answer look older than the data, which is not a silence.
            if connection.unreadInKernel > 0 { return watch() }
            guard quietAllowance > .zero else { return giveUpUnlessUpstream(quiet) }
            let allowed = quiet <= silence + quietAllowance
            if allowed, waitedForQuietPeer ? connection.peerAnswersWhileQuiet(within: Self.answerBelieved) : connection.peerAnswersWhileQuiet() {
                if !waitedForQuietPeer {
                    waitedForQuietPeer = true
                    onQuietPeer?(quiet)
                }
                tellQuiet(quiet)
                return watch()
            }
            // The kernel's first probe leaves after 1 s of quiet: until its answer had time to come, no answer says
            // nothing.
            if allowed, quiet < Self.probeAnswered { return watch() }
            giveUpUnlessUpstream(quiet)
        }
    }

    /// Calls ``whileQuiet`` if it was not called in the last ``toldWhileQuiet`` of this quiet spell.
    private func tellQuiet(_ quiet: Duration) {
        guard let whileQuiet else { return }
        if let told = lastToldQuiet, ContinuousClock.now - told < Self.toldWhileQuiet { return }
        lastToldQuiet = .now
        whileQuiet(quiet)
    }

    /// Gives the link up for a silence of `quiet` — unless ``isSilenceUpstream`` says the silence is upstream's, or
    /// data came while it was being asked: a loaded host that ran this timer before the read that would have reset
    /// it (the loop stalled, then ran its due timers before the parent's next bytes were even written) — the link
    /// is alive, whatever the answer about a silence that is over.
    private func giveUpUnlessUpstream(_ quiet: Duration) {
        let silent = CastyError.silent(url, after: .milliseconds((quiet / .milliseconds(1)).rounded()))
        guard let ask = isSilenceUpstream else { return end(silent) }
        if let since = upstreamSilent, ContinuousClock.now - since < Self.askedAgain { return watch() }
        guard !asking else { return }
        asking = true
        let asked = lastData
        ask(quiet) { [self] upstream in
            asking = false
            guard onEnd != nil else { return }
            if lastData > asked { return watch() }
            guard upstream else { return end(silent) }
            upstreamSilent = .now
            watch()
        }
    }

    private func end(_ reason: CastyError) {
        guard let onEnd else { return }
        close()
        onEnd(reason)
    }
}
