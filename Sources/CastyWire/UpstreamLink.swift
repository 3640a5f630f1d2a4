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
    private let silence: Duration
    private var lastData = ContinuousClock.now
    private var watchdog: Scheduled?
    private var onSegment: ((Segment) -> Void)?
    private var onEnd: ((CastyError) -> Void)?

    /// Starts reading `opened`: each segment goes to `onSegment`; `onEnd` is called once, when the server
    /// closes, the bytes stop being ICY, or nothing arrives for `silence`.
    package init(_ opened: OpenedStream, silence: Duration, onSegment: @escaping (Segment) -> Void, onEnd: @escaping (CastyError) -> Void) {
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
        if !bytes.isEmpty { lastData = .now }
        do {
            try reader.feed(bytes) { event in
                if case .segment(let segment) = event { onSegment?(segment) }
            }
        } catch {
            end(.notAStream(url, error))
        }
    }

    /// Checks a few times per silence period that bytes still arrive.
    private func watch() {
        watchdog = connection.loop.schedule(after: silence / 4) { [self] in
            guard onEnd != nil else { return }
            if ContinuousClock.now - lastData > silence {
                end(.silent(url, after: silence))
            } else {
                watch()
            }
        }
    }

    private func end(_ reason: CastyError) {
        guard let onEnd else { return }
        close()
        onEnd(reason)
    }
}
