internal import CastyNet

/// What feeds a ``SourceSession`` its audio: the connection of an Icecast source (``BodySourceInput``: its body is
/// the audio), or the adapter of another ingest protocol (RTMP, SRT) that unwraps audio from its own messages.
///
/// Loop-confined, like the session: everything happens on ``loop``. An input hands the session audio with
/// ``SourceSession/take(_:)`` and reports its end with ``SourceSession/inputClosed()``; the session calls
/// ``close()`` when it ends for its own reasons (silence, garbage, an admin), and never again after.
protocol SourceInput: AnyObject, Sendable {
    /// The loop the input lives on; its session runs there too.
    var loop: EventLoop { get }
    /// Starts feeding `session` (called once, by ``SourceSession/start(leftover:)``). An adapter that pushes
    /// audio itself may do nothing here.
    func attach(_ session: SourceSession)
    /// The session ended: let go of it and close.
    func close()
    /// The session ended for `end`: let go of it and close — telling the source why first, where its protocol
    /// has a way to (an RTMP publisher's `onStatus`). By default, ``close()``.
    func close(after end: SourceSession.End)
}

extension SourceInput {
    func close(after end: SourceSession.End) { close() }
}
