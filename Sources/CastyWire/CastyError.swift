public import CastyNet
public import Icy

/// Why a node could not reach or use its source, in one line for the log.
public enum CastyError: Error, Sendable, CustomStringConvertible {
    /// The text is not an `http://host:port/path` (or `https://`) URL.
    case badURL(String)
    /// The network failed: the host was not found, the connection was refused, reset or timed out.
    case network(StreamURL, SocketError)
    /// The server answered, but not with an ICY stream: an HTTP error status, garbage, or broken framing.
    case notAStream(StreamURL, IcyError)
    /// The server answered with something that is not audio (an HTML page, for instance).
    case notAudio(StreamURL, contentType: String)
    /// The server answered as a stream of `contentType`, but its body is text (a web page, JSON: an error page a
    /// misconfigured station or a CDN's edge sends under the stream's type), not audio. An answer that is no stream,
    /// though it is told only once its body came.
    case textNotAudio(StreamURL, contentType: String?)
    /// The server streams audio of a codec Casty does not relay (Ogg Vorbis or Opus, FLAC, …): a relay cuts MP3
    /// and AAC on their frames, and new listeners of anything else would miss the codec's headers.
    case unsupportedAudio(StreamURL, contentType: String)
    /// The server sent no reply before the deadline.
    case noReply(StreamURL, after: Duration)
    /// An application's answer (to a call Casty made) whose head came, with `status`, but whose body did not end
    /// before the deadline (a body that trickles, or never ends).
    case bodyUnended(StreamURL, status: Int, after: Duration)
    /// The server said nothing for longer than the stream allows.
    case silent(StreamURL, after: Duration)
    /// The server closed the stream.
    case ended(StreamURL)
    /// The server closed the connection before its reply's status line was complete (a server that accepts and
    /// hangs up: one full, restarting, or refusing this address without a word).
    case closedBeforeReply(StreamURL)
    /// More redirects than allowed, or one that comes back to an address already visited.
    case redirects([StreamURL], loop: Bool)
    /// A redirect whose `Location` is not a URL Casty can follow.
    case badRedirect(StreamURL, location: String)
    /// An application's answer (to a call Casty made) whose body is longer than the call takes.
    case answerTooLarge(StreamURL, limit: Int)
    /// A station's playlist (`.pls`, `.m3u`) with no stream to follow, and why; or an HLS playlist.
    case playlist(StreamURL, String)
    /// An application's answer whose chunked body breaks its framing, or ends before its last chunk, and why.
    case badChunks(StreamURL, String)
    /// An application's answer that ended before the body its `Content-Length` announced.
    case cutShort(StreamURL, length: Int, received: Int)
    /// An application's answer that ended before its head did (after its status line, or inside it), having
    /// sent `received` bytes.
    case cutInHead(StreamURL, received: Int)
    /// An application's answer whose `Content-Length` is not a length (``ContentLength``), as it wrote it.
    case badLength(StreamURL, String)
    /// A stream whose metadata blocks stopped being metadata: `blocks` in a row held binary bytes (audio), so a
    /// length byte that lied without a trace (a block neither padded nor ending on a 16-byte boundary) put the
    /// reader out of step with the `icy-metaint` framing. Reading on would lose every title from here on.
    case framingLost(StreamURL, blocks: Int)

    /// The problem without what varies from one attempt to the next — what the server wrote (``IcyError/kind``),
    /// the address it was met at, a redirect loop's chain: two garbage answers with other bytes, or a load balancer
    /// that sends each attempt to another edge that is down, are the same problem, which a node that retries sums up
    /// instead of telling each. (The line that tells it names the address.)
    public var kind: String {
        switch self {
        case .notAStream(_, let error): return "not a stream: \(error.kind)"
        // The system's error alone: its operation names the address (`connect to 10.0.0.7:8000 failed: …`).
        case .network(_, .failed(_, let code, let message)): return "network: \(message) (errno \(code))"
        case .network(_, .resolve(_, let message)): return "name not found: \(message)"
        case .redirects(_, let loop): return loop ? "redirect loop" : "too many redirects"
        case .badURL: return description
        default:
            let text = description
            guard let separator = text.firstRange(of: ": ") else { return text }
            return String(text[separator.upperBound...])
        }
    }

    /// One line saying what went wrong and where.
    public var description: String {
        switch self {
        case .badURL(let text): "not an http://host:port/path (or https://) URL: \(StreamURL.shown(text))"
        case .network(let url, let error): "\(url.shown): \(error)"
        case .notAStream(let url, let error): "\(url.shown): \(error)"
        case .notAudio(let url, let type): "\(url.shown): not an audio stream (Content-Type: \(type))"
        case .textNotAudio(let url, let type):
            "\(url.shown): its body is text (a web page or JSON), not audio\(type.map { " (sent as \(SafeText.printable(SafeText.shortened($0, to: 40))))" } ?? "")"
        case .unsupportedAudio(let url, let type):
            "\(url.shown): plays \(type), which Casty does not relay (MP3 and AAC only: audio/mpeg, audio/aac)"
        case .noReply(let url, let after): "\(url.shown): no reply within \(after)"
        case .bodyUnended(let url, let status, let after): "\(url.shown): it answered \(status), but its answer's body did not end within \(after)"
        case .silent(let url, let after): "\(url.shown): no data for \(after)"
        case .ended(let url): "\(url.shown): the server closed the stream"
        case .closedBeforeReply(let url): "\(url.shown): the server closed the connection before it replied"
        case .redirects(let chain, let loop):
            (loop ? "redirect loop: " : "too many redirects: ") + chain.map(\.shown.description).joined(separator: " → ")
        case .badRedirect(let url, let location): "\(url.shown): cannot follow redirect to \(StreamURL.shown(location))"
        case .answerTooLarge(let url, let limit): "\(url.shown): an answer whose body is longer than \(limit) bytes"
        case .playlist(let url, let why): "\(url.shown): a playlist \(why)"
        case .badChunks(let url, let why): "\(url.shown): an answer whose chunked body is broken: \(why)"
        case .cutShort(let url, let length, let received):
            "\(url.shown): an answer cut short: \(received) of the \(length) bytes its Content-Length announced"
        case .cutInHead(let url, let received):
            "\(url.shown): an answer cut short: closed after \(received) bytes, before its head ended"
        case .badLength(let url, let text):
            "\(url.shown): an answer whose Content-Length is not a length: \"\(SafeText.printable(SafeText.shortened(text, to: 40)))\""
        case .framingLost(let url, let blocks):
            "\(url.shown): \(blocks) metadata blocks in a row were audio, not text: the ICY framing (icy-metaint) is lost"
        }
    }
}
