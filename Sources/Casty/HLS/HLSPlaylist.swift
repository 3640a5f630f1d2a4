internal import CastyNet

/// The playlists of HLS (RFC 8216), written as text.
///
/// A **media playlist** lists the segments a player may fetch. A live one is a sliding window: the server
/// adds each new segment at the end and drops the oldest, and `EXT-X-MEDIA-SEQUENCE` says which sequence
/// number the first listed segment has, so a player that reloads knows where it is. A recording's playlist
/// (VOD) lists every segment and ends with `EXT-X-ENDLIST`.
///
/// ```
/// #EXTM3U
/// #EXT-X-VERSION:3
/// #EXT-X-TARGETDURATION:6                    no segment lasts longer (rounded)
/// #EXT-X-MEDIA-SEQUENCE:1234                 the first listed segment's number
/// #EXT-X-DISCONTINUITY-SEQUENCE:2            discontinuities that left the window
/// #EXT-X-PROGRAM-DATE-TIME:2026-12-02T16:34:24.123Z
/// #EXTINF:5.616,Artist - Title
/// 3fa2c1d0-1234.mp3
/// …
/// ```
///
/// A **master playlist** names the media playlist with what a player needs before fetching it: the
/// bandwidth it takes and the codec (`mp4a.40.34` is MP3, `mp4a.40.2` AAC-LC, `mp4a.40.5` HE-AAC).
package enum HLSPlaylist {
    /// The segments a live playlist lists, from `kept` (oldest first): the newest `count`, back to the last jump
    /// in their numbers (``follows(_:_:)``) — a playlist numbers its segments one apart from `EXT-X-MEDIA-SEQUENCE`,
    /// and a node that lost segments must not give the next ones the numbers other nodes give other audio; nor
    /// may it give a segment another discontinuity number than it gave before, or than other nodes give. Until the
    /// segments after a jump last `lasting` seconds (three target durations), the list before it is kept as
    /// it was: a player waits, as it did during the loss, and never sees a window too short.
    package static func liveWindow(_ kept: ArraySlice<HLSSegment>, count: Int, lasting: Double) -> ArraySlice<HLSSegment> {
        let newest = run(endingAt: kept.endIndex, in: kept, count: count)
        guard newest.startIndex > kept.startIndex, newest.reduce(0, { $0 + $1.duration }) < lasting else { return newest }
        return run(endingAt: newest.startIndex, in: kept, count: count)
    }

    /// Whether `segments` last the three target durations a live playlist must (RFC 8216 §6.2.2) — strictly:
    /// segments end on whole frames, so three of them may last a few milliseconds less (6.008 + 6.008 + 5.982 s of
    /// AAC), and a first playlist then waits for a fourth.
    package static func lastsThreeTargets(_ segments: some Collection<HLSSegment>, targetDuration: Int) -> Bool {
        segments.reduce(0) { $0 + $1.duration } >= Double(3 * targetDuration)
    }

    /// The last `count` segments before `end` whose numbers follow one another.
    private static func run(endingAt end: Int, in kept: ArraySlice<HLSSegment>, count: Int) -> ArraySlice<HLSSegment> {
        var start = end - 1
        while start > kept.startIndex, end - start < count, follows(kept[start - 1], kept[start]) { start -= 1 }
        return kept[max(kept.startIndex, start)..<end]
    }

    /// Whether `next` may come right after `previous` in one playlist, which says only its first segment's numbers
    /// (`EXT-X-MEDIA-SEQUENCE`, `EXT-X-DISCONTINUITY-SEQUENCE`): a player counts the next segment's media sequence
    /// number one more, and its discontinuity sequence number one more after an `EXT-X-DISCONTINUITY`, else the
    /// same (RFC 8216 §6.2.2) — so each must be the segment's own. A branch that kept its players through its root's
    /// restart gives the new root's stream the discontinuity number the root tells (from the clock, like the
    /// sequence), more than one above its own last: one tag cannot say that jump, and a playlist that spanned it
    /// would number that stream's segments apart from the root's, then renumber them once the tag left the window.
    private static func follows(_ previous: HLSSegment, _ next: HLSSegment) -> Bool {
        next.sequence == previous.sequence + 1
            && next.discontinuitySequence == previous.discontinuitySequence + (next.discontinuity ? 1 : 0)
    }

    /// What a recording's playlist says of itself.
    package enum Recording: Sendable {
        /// Still written: `EXT-X-PLAYLIST-TYPE:EVENT`, segments only ever added, so a player may start at its
        /// beginning and follow it to its growing end.
        case writing
        /// Finished: `EXT-X-PLAYLIST-TYPE:VOD` and `EXT-X-ENDLIST`.
        case finished
    }

    /// A media playlist of `segments` (each following the one before, ``follows(_:_:)``, oldest first): a live window, or a
    /// `recording`'s whole list, numbered from 0 — a file of its own, which no earlier playlist went before.
    /// The first segment's discontinuity is told by `EXT-X-DISCONTINUITY-SEQUENCE`, the others' by a tag.
    /// Segments are named relative to the playlist, in `folder` if given.
    package static func media(
        _ segments: some Collection<HLSSegment>, targetDuration: Int, recording: Recording? = nil, folder: String? = nil
    ) -> String {
        let target = max(targetDuration, segments.map { Int($0.duration.rounded()) }.max() ?? 0)
        var lines = ["#EXTM3U", "#EXT-X-VERSION:3", "#EXT-X-TARGETDURATION:\(target)"]
        switch recording {
        case nil:
            lines.append("#EXT-X-MEDIA-SEQUENCE:\(segments.first?.sequence ?? 0)")
            if let first = segments.first, first.discontinuitySequence > 0 {
                lines.append("#EXT-X-DISCONTINUITY-SEQUENCE:\(first.discontinuitySequence)")
            }
        case .writing?: lines += ["#EXT-X-PLAYLIST-TYPE:EVENT", "#EXT-X-MEDIA-SEQUENCE:0"]
        case .finished?: lines += ["#EXT-X-PLAYLIST-TYPE:VOD", "#EXT-X-MEDIA-SEQUENCE:0"]
        }
        for (index, segment) in segments.enumerated() {
            if segment.discontinuity, index > 0 { lines.append("#EXT-X-DISCONTINUITY") }
            if segment.date > 0 { lines.append("#EXT-X-PROGRAM-DATE-TIME:\(CivilTime(milliseconds: segment.date).iso8601)") }
            lines.append("#EXTINF:\(seconds(segment.duration)),\(segment.title.map { SafeText.printable(ID3Tag.shortened(title: $0)) } ?? "")")
            lines.append(folder.map { "\($0)/\(segment.name)" } ?? segment.name)
        }
        if case .finished? = recording { lines.append("#EXT-X-ENDLIST") }
        return lines.joined(separator: "\n") + "\n"
    }

    /// A recording's playlist `text`, left as it was while being written (`EVENT`), ended: `VOD`, with
    /// `EXT-X-ENDLIST`; `nil` when it is no such playlist (it ended already, or it is no recording's).
    static func ended(_ text: String) -> String? {
        guard text.hasPrefix("#EXTM3U"), text.contains("\n#EXT-X-PLAYLIST-TYPE:EVENT\n"), !text.contains("#EXT-X-ENDLIST") else { return nil }
        let body = text.replacing("\n#EXT-X-PLAYLIST-TYPE:EVENT\n", with: "\n#EXT-X-PLAYLIST-TYPE:VOD\n", maxReplacements: 1)
        return body + (body.hasSuffix("\n") ? "" : "\n") + "#EXT-X-ENDLIST\n"
    }

    /// A master playlist with one variant: the media playlist `media`, at `bandwidth` bits/s peak, `codecs`.
    static func master(bandwidth: Int, averageBandwidth: Int, codecs: String, media: String = "index.m3u8") -> String {
        """
        #EXTM3U
        #EXT-X-VERSION:3
        #EXT-X-STREAM-INF:BANDWIDTH=\(bandwidth),AVERAGE-BANDWIDTH=\(averageBandwidth),CODECS="\(codecs)"
        \(media)

        """
    }

    /// A duration for `EXTINF`: seconds with three decimals.
    static func seconds(_ value: Double) -> String {
        let millis = Int((value * 1_000).rounded())
        let fraction = String(millis % 1_000)
        return "\(millis / 1_000).\(String(repeating: "0", count: 3 - fraction.count))\(fraction)"
    }
}
