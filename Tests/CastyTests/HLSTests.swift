@testable import CastyAudio
import Icy
import Testing

@testable import Casty

/// A relayed MP3 stream: the built-in tone looped, cut into numbered relay segments of `segmentBytes`, with a
/// title that changes every `titleEvery` segments.
func relayedTone(
    segments count: Int, segmentBytes: Int = 8192, titleEvery: Int = 25, first: Int = 0, cutEvery: Int64 = 512
) -> [StreamSegment] {
    let loop = toneFrames.flatMap { $0 }
    var stream: [UInt8] = []
    while stream.count < (first + count) * segmentBytes { stream += loop }
    return (first..<first + count).map { number in
        let title = Metadata(streamTitle: "Song \(number / titleEvery)")
        return StreamSegment(number: number, time: 1_800_000_000_000 + Int64(number) * cutEvery,
                             audio: Array(stream[number * segmentBytes..<(number + 1) * segmentBytes]), title: title,
                             titleVersion: number / titleEvery, titleChanged: number % titleEvery == 0)
    }
}

/// Feeds `segments` to a new segmenter of stream `stream`, returning the HLS segments it made.
func cut(_ segments: some Sequence<StreamSegment>, stream: UInt64 = 0xC0FFEE, target: Int = 6,
         into segmenter: inout HLSSegmenter) -> [HLSSegment] {
    var made: [HLSSegment] = []
    for segment in segments { made += segmenter.add(segment.number, segment, stream: stream) }
    return made
}

func toneSegmenter(stream: UInt64 = 0xC0FFEE, target: Int = 6) -> HLSSegmenter {
    var segmenter = HLSSegmenter(targetDuration: target)  // its own target: no root's in the context
    segmenter.start(Context(station: ["Content-Type": "audio/mpeg"], segmentBytes: 8192, bitrate: 128, stream: stream))
    return segmenter
}

@Suite("HLS: packed audio segments and playlists")
struct HLSTests {
    @Test("A title held from the stream before (a branch's grace) is no segment's title: the segment says none, as its root's does")
    func aHeldTitle_IsNotTheSegmentsTitle() {
        let tone = relayedTone(segments: 40)
        let held = tone.map { segment in
            StreamSegment(number: segment.number, time: segment.time, audio: segment.audio, title: Metadata(streamTitle: "Old Show"),
                          titleVersion: 0, titleChanged: false, titleHeld: segment.number < 20)
        }
        var segmenter = toneSegmenter()
        let made = cut(held, into: &segmenter)
        #expect(made.first?.title == nil, "\(made.map(\.title))")
        #expect(made.contains { $0.title == "Old Show" }, "told once the stream's own: \(made.map(\.title))")
    }

    @Test("The ID3 tag carries the 33-bit timestamp in a PRIV frame and the title in TIT2")
    func id3Tag() {
        let tag = ID3Tag.segmentTag(timestamp: (1 << 33) + 123_456_789, title: "Café — live")
        #expect(Array(tag.prefix(6)) == [0x49, 0x44, 0x33, 4, 0, 0])
        #expect(ID3Tag.timestamp(in: tag) == 123_456_789)
        let text = String(decoding: tag, as: UTF8.self)
        #expect(text.contains("PRIV") && text.contains(ID3Tag.timestampOwner))
        #expect(text.contains("TIT2") && text.contains("Café — live"))
        // The size in the header is the rest of the tag, syncsafe.
        let size = tag[6..<10].reduce(0) { $0 << 7 | Int($1) }
        #expect(size == tag.count - 10)
        #expect(ID3Tag.timestamp(in: [0x49, 0x44, 0x33, 4, 0, 0, 0, 0, 0x7F, 0x7F]) == nil)
    }

    @Test("The master playlist names every codec the live window holds: both while a mount's change of codec is in it")
    func masterCodecs_AreThoseOfTheListedSegments() {
        var segmenter = toneSegmenter(target: 1)
        let mp3 = cut(relayedTone(segments: 8), into: &segmenter)
        // AAC LC (object type 2) in ADTS, behind the segment's tag.
        let adts: [UInt8] = [0xFF, 0xF1, 0x50, 0x80, 0x26, 0x1F, 0xFC] + [UInt8](repeating: 0, count: 297)
        let aac = HLSSegment(sequence: 99, name: "0a1b2c3d-9.aac", duration: 1, timestamp: 0, date: 0, discontinuity: true,
                             title: nil, bytes: ID3Tag.segmentTag(timestamp: 0, title: nil) + adts, frames: 1)
        #expect(HLSPackager.codecs(of: mp3) == "mp4a.40.34")
        #expect(HLSPackager.codecs(of: [aac]) == "mp4a.40.2")
        #expect(HLSPackager.codecs(of: mp3.suffix(2) + [aac]) == "mp4a.40.34,mp4a.40.2")
        #expect(HLSPackager.codecs(of: [HLSSegment]()) == nil)
    }

    @Test("Segments start and end on frames, begin with the timestamp tag, and last about the target")
    func segmentsOnFrames() throws {
        var segmenter = toneSegmenter()
        let made = cut(relayedTone(segments: 120), into: &segmenter)
        #expect(made.count >= 8)
        for segment in made {
            #expect(cleanMP3Chain(segment.audio) == segment.frames)
            #expect(ID3Tag.timestamp(in: segment.bytes) == segment.timestamp)
            #expect(abs(segment.duration - 6) < 0.027, "the target, to within a frame")
            #expect(HLSRoutes.isSegmentName(segment.name))
        }
        #expect(made.map(\.sequence) == Array(made[0].sequence..<made[0].sequence + made.count))
    }

    @Test("Timestamps follow each other: each is the one before plus its segment's duration")
    func continuousTimestamps() {
        var segmenter = toneSegmenter()
        let made = cut(relayedTone(segments: 200), into: &segmenter)
        for (previous, next) in zip(made, made.dropFirst()) {
            let expected = Double(previous.timestamp) + previous.duration * 90_000
            // Within a millisecond: the tone's frames are a byte or so off a perfect constant bitrate.
            #expect(abs(Double(next.timestamp) - expected) <= 90, "\(previous.name) → \(next.name)")
        }
    }

    @Test("Program date-times rise with every segment, also where one relay segment holds several (a quiet AAC source takes seconds to fill one)")
    func datesBetweenCuts() throws {
        // Relay segments of 8.192 s of audio (131,072 bytes at 128 kbit/s), cut as they fill; HLS segments of 2 s:
        // four start in each relay segment, the first ones in the stream's very first.
        let bytes = 131_072
        var segmenter = HLSSegmenter(targetDuration: 2)
        segmenter.start(Context(station: ["Content-Type": "audio/mpeg"], segmentBytes: bytes, bitrate: 128, stream: 0xC0FFEE))
        let made = cut(relayedTone(segments: 8, segmentBytes: bytes, cutEvery: 8_192), into: &segmenter)
        #expect(made.count >= 25)
        for (previous, next) in zip(made, made.dropFirst()) {
            #expect(abs(next.date - previous.date - 2_000) <= 30, "\(previous.name) \(previous.date) → \(next.name) \(next.date)")
        }
        // The stream's first byte came a segment's duration before its first cut (1_800_000_000_000).
        let first = try #require(made.first)
        #expect(abs(first.date - (1_800_000_000_000 - 8_192)) <= 30, "\(first.date)")
    }

    @Test("A burst of relay segments cut in one millisecond (a station's backlog) still gives rising program date-times")
    func datesThroughABurst() {
        // 12 s of audio at once (a relay attaching to a station with a backlog): every relay segment is cut in the
        // same millisecond, and the 2-s HLS segments that start in them must still be dated in order.
        var segmenter = toneSegmenter(target: 2)
        let made = cut(relayedTone(segments: 24, cutEvery: 0), into: &segmenter)
        #expect(made.count >= 5)
        for (previous, next) in zip(made, made.dropFirst()) {
            #expect(next.date > previous.date, "\(previous.name) \(previous.date) → \(next.name) \(next.date)")
        }
    }

    @Test("Two nodes that join the stream at different segments make the same segments, byte for byte")
    func identicalOnEveryNode() {
        let stream = relayedTone(segments: 160)
        var root = toneSegmenter()
        var branch = toneSegmenter()
        let rootMade = cut(stream, into: &root)
        let branchMade = cut(stream.dropFirst(37), into: &branch)
        let rootByName = Dictionary(uniqueKeysWithValues: rootMade.map { ($0.name, $0) })
        #expect(branchMade.count >= 5)
        for segment in branchMade {
            let same = rootByName[segment.name]
            #expect(same?.bytes == segment.bytes ? true : false, "\(segment.name) differs")
            #expect(same?.sequence == segment.sequence)
            #expect(same?.timestamp == segment.timestamp)
        }
    }

    @Test("A gap starts again on the next whole group, numbered as a node without the gap numbers it: the numbers jump, the discontinuity sequence stays")
    func gapIsADiscontinuity() {
        let stream = relayedTone(segments: 150)
        var segmenter = toneSegmenter()
        var made = cut(stream.prefix(60), into: &segmenter)
        let before = made.count
        made += cut(stream.dropFirst(75), into: &segmenter)
        var whole = toneSegmenter()
        let sequenceByName = Dictionary(uniqueKeysWithValues: cut(stream, into: &whole).map { ($0.name, $0.sequence) })
        #expect(made.count > before + 2)
        #expect(made.allSatisfy { !$0.discontinuity && $0.discontinuitySequence == 0 })
        // The lost groups' numbers are skipped, not given to the audio after them.
        #expect(made[before].sequence > made[before - 1].sequence + 1)
        for segment in made {
            #expect(sequenceByName[segment.name] == segment.sequence, "\(segment.name)")
            #expect(cleanMP3Chain(segment.audio) == segment.frames)
        }
    }

    @Test("Nodes that join late, lose segments or see the root's source restart give the same audio the same number")
    func sameSequenceOnEveryNode() throws {
        let first = relayedTone(segments: 100)
        let second = relayedTone(segments: 100)  // the source reconnected: a new stream, numbered from 0 again
        let (one, two): (UInt64, UInt64) = (0x1111_2222_3333_4444, 0x5555_6666_7777_8888)
        // The root follows both streams; its base for the second is what it tells its branches.
        var root = toneSegmenter(stream: one)
        var rootMade = cut(first, stream: one, into: &root)
        let told = root.sequenceBase(
            for: two, from: 0, context: Context(station: ["Content-Type": "audio/mpeg"], segmentBytes: 8192, bitrate: 128, stream: two))
        rootMade += cut(second, stream: two, into: &root)
        // A branch that joins during the second stream, told the root's base on its tree link.
        var late = HLSSegmenter(targetDuration: 6)
        var context = Context(station: ["Content-Type": "audio/mpeg"], segmentBytes: 8192, bitrate: 128, stream: two)
        context.hlsBase = told.sequence
        context.hlsDiscontinuityBase = told.discontinuity
        late.start(context)
        let lateMade = cut(second.dropFirst(23), stream: two, into: &late)
        // A branch that followed the first stream with a gap, then the second.
        var gapped = toneSegmenter(stream: one)
        var gappedMade = cut(first.prefix(40), stream: one, into: &gapped)
        gappedMade += cut(first.dropFirst(52), stream: one, into: &gapped)
        gappedMade += gapped.start(context)
        gappedMade += cut(second, stream: two, into: &gapped)

        let rootByName = Dictionary(uniqueKeysWithValues: rootMade.map { ($0.name, $0) })
        #expect(told.sequence == rootMade.last { $0.name.hasPrefix("11112222-") }.map { $0.sequence + 1 })
        #expect(told.discontinuity == 1)
        #expect(rootMade.map(\.sequence) == Array(rootMade[0].sequence..<rootMade[0].sequence + rootMade.count))
        #expect(lateMade.count >= 5 && gappedMade.count >= 12)
        for segment in lateMade + gappedMade {
            let same = try #require(rootByName[segment.name], "\(segment.name) not made on the root")
            #expect(same.sequence == segment.sequence, "\(segment.name): \(segment.sequence) here, \(same.sequence) on the root")
            #expect(same.discontinuitySequence == segment.discontinuitySequence, "\(segment.name)")
            #expect(same.bytes == segment.bytes)
        }
        // The second stream's first segment follows the first stream's last, on the root and the gapped node.
        let restart = try #require(gappedMade.firstIndex { $0.name.hasPrefix("55556666-") })
        #expect(gappedMade[restart].discontinuity)
        #expect(gappedMade[restart].sequence == gappedMade[restart - 1].sequence + 1)
        #expect(!lateMade[0].discontinuity && lateMade[0].discontinuitySequence == 1)
    }

    @Test("A fallback that takes over after playing a while follows the last segment by one, with a discontinuity, on the root and on a branch told its numbers")
    func fallbackTakesOver_SequenceGoesOnByOne() throws {
        let (own, backup): (UInt64, UInt64) = (0x1111_2222_3333_4444, 0x5555_6666_7777_8888)
        let first = relayedTone(segments: 60)
        let fallback = relayedTone(segments: 110, first: 3000)  // the fallback played for 25 minutes before
        let station: Headers = ["Content-Type": "audio/mpeg"]
        // Takeovers at every phase of a 6 s group (about 12 relay segments): the first frame may lie in any group.
        for skipped in 0..<13 {
            var root = toneSegmenter(stream: own)
            var rootMade = cut(first, stream: own, into: &root)
            let takeover = fallback.dropFirst(skipped)
            let context = Context(station: station, segmentBytes: 8192, bitrate: 128, stream: backup)
            // A branch re-attaches and asks before the fallback's first frame reached the packager — and before
            // the source's last segment, shorter, is published.
            let told = root.sequenceBase(for: backup, from: takeover.first!.number, context: context)
            rootMade += root.start(context)
            let before = rootMade.count
            #expect(rootMade.last?.name.hasPrefix("11112222-") == true && rootMade.last!.duration < 6, "the source's last frames")
            rootMade += cut(takeover, stream: backup, into: &root)
            #expect(rootMade.count > before + 5)
            #expect(rootMade[before].discontinuity && rootMade[before].name.hasPrefix("55556666-"), "takeover after \(skipped)")
            #expect(rootMade.map(\.sequence) == Array(0..<rootMade.count), "takeover after \(skipped): the numbers go on by one")
            #expect(rootMade[before].discontinuitySequence == 1)
            // The live window lists both sides at once: no jump to wait out.
            let window = HLSPlaylist.liveWindow(rootMade[..<(before + 1)], count: 6, lasting: 18)
            #expect(window.count == 6 && window.last?.name == rootMade[before].name)
            // A branch that joins later, told the root's numbers on its tree link, numbers the same audio the same.
            var branchContext = context
            branchContext.hlsBase = told.sequence
            branchContext.hlsDiscontinuityBase = told.discontinuity
            branchContext.hlsFirst = told.first
            var branch = HLSSegmenter(targetDuration: 6)
            branch.start(branchContext)
            let branchMade = cut(takeover.dropFirst(9), stream: backup, into: &branch)
            let rootByName = Dictionary(uniqueKeysWithValues: rootMade.map { ($0.name, $0) })
            #expect(branchMade.count >= 4)
            for segment in branchMade {
                let same = try #require(rootByName[segment.name], "\(segment.name) not published on the root")
                #expect(same.sequence == segment.sequence && same.discontinuitySequence == segment.discontinuitySequence)
            }
        }
    }

    @Test("A first live playlist is served once its segments last three target durations, not a millisecond less")
    func firstPlaylist_ThreeSegmentsOfAAC() {
        func segments(_ durations: [Double]) -> [HLSSegment] {
            durations.enumerated().map { index, duration in
                HLSSegment(sequence: index, name: "\(index).aac", duration: duration, timestamp: 0, date: 0, discontinuity: false,
                           title: nil, bytes: [], frames: 0)
            }
        }
        #expect(!HLSPlaylist.lastsThreeTargets(segments([6.008, 6.008, 5.982]), targetDuration: 6), "17.998 s: a fourth is needed")
        #expect(HLSPlaylist.lastsThreeTargets(segments([6.008, 6.008, 5.982, 6.008]), targetDuration: 6))
        #expect(HLSPlaylist.lastsThreeTargets(segments([6.008, 6.008, 6.008]), targetDuration: 6))
    }

    @Test("A node that lost segments keeps its playlist until the segments after the jump last three targets")
    func windowAfterAJump() throws {
        var segmenter = toneSegmenter()
        let stream = relayedTone(segments: 260)
        var made = cut(stream.prefix(100), into: &segmenter)
        let before = made.count
        made += cut(stream.dropFirst(130), into: &segmenter)
        var rules = PlaylistRules()
        var lastFirst = -1
        for end in 6...made.count {
            let window = HLSPlaylist.liveWindow(made[..<end], count: 6, lasting: 18)
            try rules.check(HLSPlaylist.media(window, targetDuration: 6))
            #expect(window.first!.sequence >= lastFirst)
            lastFirst = window.first!.sequence
            // Either the segments before the jump, unchanged, or only those after it.
            #expect(window.allSatisfy { $0.sequence < made[before].sequence } || window.first!.sequence >= made[before].sequence)
        }
        #expect(rules.sawDiscontinuity == false)  // no window mixes the two sides of the jump
        #expect(lastFirst >= made[before].sequence)
    }

    @Test("A branch that kept its players through its root's restart never lists the new stream's segments after the old one's while their discontinuity numbers jump: each segment keeps its number, the root's")
    func rootRestart_DiscontinuityJump_WindowCutThere() throws {
        let (one, two): (UInt64, UInt64) = (0x1111_2222_3333_4444, 0x5555_6666_7777_8888)
        let station: Headers = ["Content-Type": "audio/mpeg"]
        // The branch follows the old root's stream, told its numbers.
        var old = Context(station: station, segmentBytes: 8192, bitrate: 128, stream: one)
        old.hlsBase = 7_332_900
        old.hlsDiscontinuityBase = 7_332_900
        var kept = HLSSegmenter(targetDuration: 6)
        kept.start(old)
        var keptMade = cut(relayedTone(segments: 100), stream: one, into: &kept)
        // The root restarts: its new stream's sequence goes on from the branch's last number (the old stream's last,
        // shorter segment, published as the new stream reaches the branch), but its discontinuity number is its
        // clock's, 12 above the old stream's.
        var new = Context(station: station, segmentBytes: 8192, bitrate: 128, stream: two)
        new.hlsBase = try #require(keptMade.last).sequence + 2
        new.hlsDiscontinuityBase = 7_332_912
        keptMade += kept.start(new)
        let before = keptMade.count
        keptMade += cut(relayedTone(segments: 100), stream: two, into: &kept)
        #expect(keptMade[before].discontinuitySequence == 7_332_912 && keptMade[before].sequence == keptMade[before - 1].sequence + 1)
        // The restarted root, and branches that joined it, number the new stream from the numbers told.
        var joined = HLSSegmenter(targetDuration: 6)
        joined.start(new)
        let joinedMade = cut(relayedTone(segments: 100), stream: two, into: &joined)
        // A CDN reading both nodes' playlists finds every segment under one media and one discontinuity number.
        var rules = PlaylistRules()
        for end in 1...max(keptMade.count, joinedMade.count) {
            for made in [keptMade, joinedMade] where end <= made.count {
                let window = HLSPlaylist.liveWindow(made[..<end], count: 6, lasting: 18)
                guard HLSPlaylist.lastsThreeTargets(window, targetDuration: 6) else { continue }
                try rules.check(HLSPlaylist.media(window, targetDuration: 6))
                #expect(window.allSatisfy { $0.sequence < keptMade[before].sequence } || window.first!.sequence >= keptMade[before].sequence)
            }
        }
        #expect(rules.checked > 20)
    }

    @Test("A branch whose root restarted below its numbers goes on from its own and says how far apart they are, until a later stream's numbers are the root's again")
    func rootRestartedBelow_BranchSaysItsNumbersAreApart() throws {
        let (one, two, three): (UInt64, UInt64, UInt64) = (0x1111_2222_3333_4444, 0x5555_6666_7777_8888, 0x9999_AAAA_BBBB_CCCC)
        let station: Headers = ["Content-Type": "audio/mpeg"]
        func told(_ stream: UInt64, base: Int) -> Context {
            var context = Context(station: station, segmentBytes: 8192, bitrate: 128, stream: stream)
            context.hlsBase = base
            context.hlsDiscontinuityBase = 7_332_990
            return context
        }
        // The branch follows the old root's stream, with the root's numbers.
        var branch = HLSSegmenter(targetDuration: 6)
        branch.start(told(one, base: 7_332_900))
        var made = cut(relayedTone(segments: 100), stream: one, into: &branch)
        #expect(branch.apartFromRoot == nil)
        // The root restarts 2 s later with a base 3 below the branch's last number (its old stream's last, shorter
        // segment, published as the new stream reaches the branch): the branch goes on from its own, 4 ahead.
        let last = try #require(made.last).sequence + 1
        made += branch.start(told(two, base: last - 3))
        let before = made.count
        made += cut(relayedTone(segments: 40), stream: two, into: &branch)
        #expect(made[before - 1].sequence == last && made[before].sequence == last + 1)
        let apart = try #require(branch.apartFromRoot)
        #expect(apart == HLSSegmenter.Apart(name: try #require(made.last).name, own: try #require(made.last).sequence,
                                            root: try #require(made.last).sequence - 4))
        #expect(apart.ahead == 4)
        // A later stream whose base lies above the branch's numbers: the same numbers again.
        let above = try #require(made.last).sequence + 10
        made += branch.start(told(three, base: above))
        let again = made.count
        made += cut(relayedTone(segments: 40), stream: three, into: &branch)
        #expect(made[again].sequence == above && branch.apartFromRoot == nil)
    }

    @Test("A root restarted 2 s after a run of short streams (a source that reconnects: each stream's last, shorter segment takes a number of its own) numbers on above its earlier run's last number")
    func quickRootRestart_NumbersOnAboveTheEarlierRun() throws {
        let start: Int64 = 1_796_428_800_000  // 2026-12-05 00:00 UTC
        var root = HLSSegmenter(targetDuration: 6, first: .fixed(HLSSegmenter.clockSequence(at: start)))
        var made: [HLSSegment] = []
        for number in 1...6 {  // six streams of 6.1 s: a whole segment and a short one each
            let stream = UInt64(number) << 60
            made += root.start(Context(station: ["Content-Type": "audio/mpeg"], segmentBytes: 8192, bitrate: 128, stream: stream))
            made += cut(relayedTone(segments: 12), stream: stream, into: &root)
        }
        made += root.endStream().map { [$0] } ?? []
        #expect(made.count == 12 && made.map(\.sequence) == Array(made[0].sequence..<made[0].sequence + 12))
        // Killed after the last segment, started again 2 s later: its first number, read from the clock then.
        let played = Int64(made.reduce(0) { $0 + $1.duration } * 1_000)
        let again = HLSSegmenter.clockSequence(at: start + played + 2_000)
        let last = try #require(made.last).sequence
        #expect(again > last, "the restarted root numbers from \(again), its last run ended at \(last)")
    }

    @Test("A new stream whose numbers start again keeps the sequence rising, under its own names")
    func newStream() {
        var segmenter = toneSegmenter(stream: 0x1111_2222_3333_4444)
        var made = cut(relayedTone(segments: 80), stream: 0x1111_2222_3333_4444, into: &segmenter)
        let before = made.count
        made += cut(relayedTone(segments: 80), stream: 0x5555_6666_7777_8888, into: &segmenter)
        #expect(made.count > before + 1)
        // The first stream's last frames, a shorter segment, then the new stream's.
        #expect(made[before].name.hasPrefix("11112222-") && made[before].duration < 6 && !made[before].discontinuity)
        #expect(made[before + 1].discontinuity)
        #expect(made[before + 1].name.hasPrefix("55556666-"))
        #expect(made.map(\.sequence) == Array(made[0].sequence..<made[0].sequence + made.count))
    }

    @Test("Bytes that are not frames are skipped: segments stay clean chains")
    func garbageSkipped() {
        var stream = relayedTone(segments: 100)
        let spoiled = stream[40]
        var audio = spoiled.audio
        audio.replaceSubrange(1_000..<3_000, with: junk(2_000, seed: 7))
        stream[40] = StreamSegment(number: 40, time: spoiled.time, audio: audio, title: spoiled.title,
                                   titleVersion: spoiled.titleVersion, titleChanged: false)
        var segmenter = toneSegmenter()
        let made = cut(stream, into: &segmenter)
        #expect(made.count >= 6)
        for segment in made { #expect(cleanMP3Chain(segment.audio) == segment.frames) }
    }

    @Test("Live playlists keep RFC 8216's rules as the window slides")
    func playlistRules() throws {
        var segmenter = toneSegmenter()
        let stream = relayedTone(segments: 400)
        var made = cut(stream.prefix(200), into: &segmenter)
        made += cut(stream.dropFirst(230), into: &segmenter)  // a jump on the way
        made += cut(relayedTone(segments: 200), stream: 0xBEEF, into: &segmenter)  // and a new stream
        var rules = PlaylistRules()
        for end in 6...made.count {
            let text = HLSPlaylist.media(HLSPlaylist.liveWindow(made[..<end], count: 6, lasting: 18), targetDuration: 6)
            try rules.check(text)
        }
        #expect(rules.checked > 20)
        #expect(rules.sawDiscontinuity)
    }

    @Test("A branch cuts with its root's target (told in the context), not its own")
    func rootTargetWins() {
        var branch = HLSSegmenter(targetDuration: 6)
        var context = Context(station: ["Content-Type": "audio/mpeg"], segmentBytes: 8192, bitrate: 128, stream: 0xC0FFEE)
        context.hlsTarget = 4
        branch.start(context)
        var root = toneSegmenter(target: 4)
        let stream = relayedTone(segments: 120)
        let made = cut(stream, into: &branch)
        #expect(branch.targetDuration == 4)
        #expect(made.allSatisfy { abs($0.duration - 4) < 0.027 })
        #expect(made.map(\.bytes) == cut(stream, into: &root).map(\.bytes))
    }

    @Test("HLS paths: playlists and segment names of a mount")
    func paths() {
        #expect(HLSRoutes.parse("/live/index.m3u8")?.mount == "/live")
        #expect(HLSRoutes.parse("/index.m3u8")?.mount == "")
        #expect(HLSRoutes.parse("/live/master.m3u8")?.resource == .master)
        #expect(HLSRoutes.parse("/live/0a1b2c3d-42.mp3")?.resource == .segment("0a1b2c3d-42.mp3"))
        #expect(HLSRoutes.parse("/live/0a1b2c3d-42.aac") != nil)
        #expect(HLSRoutes.parse("/live") == nil)
        #expect(HLSRoutes.parse("/live/song.mp3") == nil)
        #expect(HLSRoutes.parse("/live/zz1b2c3d-42.mp3") == nil)
        // A stream's last segment, shorter: named after the relay segment it starts in too.
        #expect(HLSRoutes.parse("/live/0a1b2c3d-42-1234.mp3")?.resource == .segment("0a1b2c3d-42-1234.mp3"))
        #expect(HLSRoutes.parse("/live/0a1b2c3d-42-.mp3") == nil)
        #expect(HLSRoutes.parse("/live/0a1b2c3d-42-1-2.mp3") == nil)
    }

    @Test("A long title is cut to 1,024 bytes, at a character, after EXTINF as in the segment's tag: each reload of the playlist stays small")
    func aLongTitle_IsCutInThePlaylist_AsInTheTag() {
        let title = "Ä" + String(repeating: "é", count: 5_000)
        let segment = HLSSegment(sequence: 1, name: "a-1.mp3", duration: 6, timestamp: 0, date: 0, discontinuity: false, title: title,
                                 bytes: [], frames: 0)
        let extinf = HLSPlaylist.media([segment], targetDuration: 6).split(separator: "\n").first { $0.hasPrefix("#EXTINF:") }
        let shown = extinf.map { String($0.drop { $0 != "," }.dropFirst()) } ?? ""
        #expect(shown.utf8.count == 1_024, "\(shown.utf8.count) bytes")
        #expect(shown.hasPrefix("Äéé") && shown.unicodeScalars.allSatisfy { $0 == "é" || $0 == "Ä" }, "cut at a character")
        let tag = String(decoding: ID3Tag.segmentTag(timestamp: 0, title: title), as: UTF8.self)
        #expect(tag.hasSuffix(shown), "the same title as the tag's TIT2")
        // Cut in the middle of a character, the character is left out whole.
        let odd = String(decoding: ID3Tag.segmentTag(timestamp: 0, title: "A" + String(repeating: "é", count: 600)), as: UTF8.self)
        #expect(odd.hasSuffix("A" + String(repeating: "é", count: 511)) && !odd.hasSuffix("é" + String(repeating: "é", count: 511)))
    }

    @Test("EXTINF durations are written with three decimals")
    func durations() {
        #expect(HLSPlaylist.seconds(5.6424) == "5.642")
        #expect(HLSPlaylist.seconds(6) == "6.000")
        #expect(HLSPlaylist.seconds(0.0495) == "0.050")
    }
}

/// RFC 8216's rules a live media playlist must keep, checked on each reload of it.
struct PlaylistRules {
    private(set) var checked = 0
    private(set) var sawDiscontinuity = false
    /// What earlier reloads said: sequence number → segment name, and the discontinuity sequence of each.
    private var names: [Int: String] = [:]
    private var discontinuities: [Int: Int] = [:]

    struct Broken: Error, CustomStringConvertible {
        let description: String
    }

    mutating func check(_ text: String) throws {
        let lines = text.split(separator: "\n").map(String.init)
        guard lines.first == "#EXTM3U" else { throw Broken(description: "does not start with #EXTM3U") }
        func value(_ tag: String) -> Int? { lines.first { $0.hasPrefix(tag + ":") }.flatMap { Int($0.dropFirst(tag.count + 1)) } }
        guard let target = value("#EXT-X-TARGETDURATION") else { throw Broken(description: "no EXT-X-TARGETDURATION") }
        guard let first = value("#EXT-X-MEDIA-SEQUENCE") else { throw Broken(description: "no EXT-X-MEDIA-SEQUENCE") }
        var discontinuity = value("#EXT-X-DISCONTINUITY-SEQUENCE") ?? 0
        var sequence = first
        var total = 0.0
        var pendingDuration: Double?
        for line in lines.dropFirst() {
            if line == "#EXT-X-DISCONTINUITY" {
                discontinuity += 1
                sawDiscontinuity = true
            } else if line.hasPrefix("#EXTINF:") {
                let number = line.dropFirst(8).prefix { $0 != "," }
                guard let duration = Double(number) else { throw Broken(description: "bad EXTINF: \(line)") }
                guard Int(duration.rounded()) <= target else {
                    throw Broken(description: "segment of \(duration) s over the target of \(target) s")
                }
                pendingDuration = duration
            } else if !line.hasPrefix("#") {
                guard let duration = pendingDuration else { throw Broken(description: "\(line) has no EXTINF") }
                pendingDuration = nil
                total += duration
                if let known = names[sequence], known != line {
                    throw Broken(description: "sequence \(sequence) was \(known), now \(line)")
                }
                if let known = discontinuities[sequence], known != discontinuity {
                    throw Broken(description: "sequence \(sequence) had discontinuity sequence \(known), now \(discontinuity)")
                }
                names[sequence] = line
                discontinuities[sequence] = discontinuity
                sequence += 1
            }
        }
        guard total >= 3 * Double(target) else {
            throw Broken(description: "the window lasts \(total) s, under 3 target durations (\(3 * target) s)")
        }
        checked += 1
    }
}
