internal import CastyNet

extension BodySourceInput {
    /// The most audio held while the application is asked about a source's key (``hold(limit:)``; an RTMP publisher's,
    /// ``RTMPAudioHold``), in bytes: as much
    /// as the session would keep anyway of audio that comes all at once — `catchUp`'s seconds (``SourcePace``), and
    /// ``longestHold`` at most, as with the catch-up off — at the bitrate the source declares (kbit/s), or at
    /// ``highestBitrate`` when it declares none. What the session is then handed is paced as a stall's backlog is.
    static func holdLimit(catchUp: Duration?, bitrate: Int?) -> Int {
        let seconds = min(catchUp ?? longestHold, longestHold) / .milliseconds(1)
        return Int(seconds) * (bitrate ?? highestBitrate) / 8
    }

    /// The line that says `bytes` of the audio held for the source of `path` were dropped: what came last was kept.
    static func heldAudioDropped(_ bytes: Int, on path: String) -> String {
        "source on \(path): dropped \(megabytes(bytes)) of the audio that came while its key was verified, ahead of the clock, keeping what came"
            + " last, so that its listeners stay live"
    }

    /// The most audio held however long the catch-up: 30 s.
    static let longestHold: Duration = .seconds(30)
    /// The bitrate a source that declares none is held at, in kbit/s: MP3's highest, 320.
    static let highestBitrate = 320
}
