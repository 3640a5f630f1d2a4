internal import CastyWire

/// The audio an RTMP publisher sends while the platform's application is asked about its key, before it is told
/// `NetStream.Publish.Start` — as an Icecast source's body is held meanwhile (``BodySourceInput/hold(limit:)``): its
/// most recent messages of frames, whole, within a limit in bytes (``BodySourceInput/holdLimit(catchUp:bitrate:)``),
/// older ones dropped and counted. An admitted publisher's session starts with them, in order; a refused one's are
/// let go. The AAC sequence header is not among them: ``RTMPServerMachine`` has read it already (each frame held is
/// ADTS, its header built), so no drop can lose it. A value: what to keep, and when to hand it on, is the caller's.
struct RTMPAudioHold {
    /// The messages held, from ``head`` on (those before it dropped, their places freed at the next compaction).
    private var messages: [(format: FLVAudio.Format, bytes: [UInt8])] = []
    private var head = 0
    /// The bytes held, each message counted with ``overhead`` more.
    private var size = 0
    /// The bytes of audio dropped from the hold, the oldest first, to keep within its limit.
    private(set) var dropped = 0

    /// What one message costs beyond its bytes (its array, its place in the list): a flood of tiny messages is held
    /// within the limit too.
    static let overhead = 64

    /// Whether nothing is held.
    var isEmpty: Bool { head == messages.count }

    /// Holds the frames of one message, `bytes` in `format`, dropping the oldest held past `limit` bytes (which may
    /// be these).
    mutating func keep(_ format: FLVAudio.Format, _ bytes: [UInt8], limit: Int) {
        messages.append((format, bytes))
        size += bytes.count + Self.overhead
        while size > max(0, limit), head < messages.count {
            size -= messages[head].bytes.count + Self.overhead
            dropped += messages[head].bytes.count
            messages[head].bytes = []
            head += 1
        }
        // Dropped places are given back once they are half the list: each message is moved once on average.
        if head > 0, head * 2 >= messages.count {
            messages.removeFirst(head)
            head = 0
        }
    }

    /// Everything held, the oldest first; the hold is empty then (what it dropped stays counted).
    mutating func take() -> [(format: FLVAudio.Format, bytes: [UInt8])] {
        let held = Array(messages[head...])
        messages = []
        head = 0
        size = 0
        return held
    }
}
