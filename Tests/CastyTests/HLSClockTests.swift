import CastyNet
import Icy
import Testing

@testable import Casty

/// ADTS frames (AAC-LC, 44.1 kHz, stereo, 1,024 samples each) whose lengths vary from 200 to 400 bytes, as an
/// encoder's do: their bytes say nothing exact about their samples. Each frame's payload holds its index.
func variedADTSFrames(_ count: Int) -> [UInt8] {
    (0..<count).flatMap { index -> [UInt8] in
        let length = 200 + (index * 37) % 201
        let header: [UInt8] = [0xFF, 0xF1, 0x50, 0x80 | UInt8((length >> 11) & 0x03), UInt8((length >> 3) & 0xFF),
                               UInt8((length & 0x07) << 5) | 0x1F, 0xFC]
        return header + [UInt8](repeating: UInt8(truncatingIfNeeded: index), count: length - 7)
    }
}

/// MPEG-1 Layer III frames (44.1 kHz, 1,152 samples each) of a variable bitrate, as LAME's VBR modes make: runs
/// of 32, 320, 64, 256 and 128 kbit/s frames, so that where a frame starts says little about when it plays.
func variableBitrateFrames(_ count: Int) -> [UInt8] {
    let bitrates: [(index: UInt8, kbps: Int)] = [(1, 32), (14, 320), (5, 64), (13, 256), (9, 128)]
    return (0..<count).flatMap { index -> [UInt8] in
        let bitrate = bitrates[(index / 23) % bitrates.count]
        let length = 144_000 * bitrate.kbps / 44_100
        return [0xFF, 0xFB, bitrate.index << 4, 0x64] + [UInt8](repeating: UInt8(index & 0x7F), count: length - 4)
    }
}

/// An AAC stream cut into numbered relay segments of `segmentBytes`, from segment 0.
func relayedADTS(frames: Int, segmentBytes: Int) -> [StreamSegment] {
    relayed(variedADTSFrames(frames), segmentBytes: segmentBytes)
}

/// A variable-bitrate MP3 stream cut into numbered relay segments of `segmentBytes`, from segment 0.
func relayedVBR(frames: Int, segmentBytes: Int) -> [StreamSegment] {
    relayed(variableBitrateFrames(frames), segmentBytes: segmentBytes)
}

/// `bytes` cut into numbered relay segments of `segmentBytes`, from segment 0 (a last partial one dropped).
func relayed(_ bytes: [UInt8], segmentBytes: Int) -> [StreamSegment] {
    stride(from: 0, to: bytes.count - segmentBytes + 1, by: segmentBytes).map { start in
        let number = start / segmentBytes
        return StreamSegment(number: number, time: 1_800_000_000_000 + Int64(number) * 200,
                             audio: Array(bytes[start..<start + segmentBytes]), title: nil, titleVersion: 0, titleChanged: false)
    }
}

/// A stream's sample clock (AAC, or MP3 of a variable bitrate) travels down the tree: a branch told its root's clock makes the root's segments,
/// byte for byte; a header from a peer is read strictly.
@Suite("HLS: the sample clock of AAC and MP3 streams")
struct HLSClockTests {
    static let stream: UInt64 = 0xACAC_0000_1234_5678
    static let segmentBytes = 2_048

    /// A segmenter of the AAC stream, cutting segments of about 1 s (96 kbit/s declared: 5 relay segments).
    func aacSegmenter() -> HLSSegmenter {
        var segmenter = HLSSegmenter(targetDuration: 1)
        segmenter.start(Context(station: ["Content-Type": "audio/aac"], segmentBytes: Self.segmentBytes, bitrate: 96, stream: Self.stream))
        return segmenter
    }

    /// Feeds `segments` of the AAC stream to `segmenter`, `clock` saying who decides its count; returns what it made.
    func feed(_ segments: some Sequence<StreamSegment>, clock: HLSSampleCount.Authority = .own,
             into segmenter: inout HLSSegmenter) -> [HLSSegment] {
        segments.flatMap { segmenter.add($0.number, $0, stream: Self.stream, clock: clock) }
    }

    @Test("A recording fed as its live packager feeds it cuts the live segments, byte for byte and under their names: on a branch told the root's clock, and on one told nothing, whose names are its own")
    func recordingCountsAsItsLiveWindow() throws {
        let relay = relayedADTS(frames: 3_000, segmentBytes: Self.segmentBytes)
        var root = aacSegmenter()
        _ = feed(relay.prefix(41), into: &root)
        let told = try #require(root.clock(from: 37, stream: Self.stream))
        let streamDigits = String(Context.streamText(Self.stream).prefix(8))
        for authority in [HLSSampleCount.Authority.told(told), .told(nil)] {
            var live = aacSegmenter()
            var recording = HLSSegmenter(targetDuration: 1, mode: .recording, mark: live.ownMark)
            recording.start(Context(station: ["Content-Type": "audio/aac"], segmentBytes: Self.segmentBytes, bitrate: 96, stream: Self.stream))
            var published: [HLSSegment] = [], recorded: [HLSSegment] = []
            for segment in relay[37..<124] {
                published += live.add(segment.number, segment, stream: Self.stream, clock: authority)
                // As the packager tells its recorder: its own count at the segment, while that is the tree's.
                let clock = HLSSampleCount.Authority.told(live.clock(from: segment.number, stream: Self.stream))
                recorded += recording.add(segment.number, segment, stream: Self.stream, clock: clock)
            }
            #expect(published.count > 10)
            #expect(published.allSatisfy { $0.name.hasPrefix(streamDigits) } == (authority == .told(told)),
                    "the tree's names only where the count is the tree's: \(published.map(\.name))")
            for segment in published {
                let same = recorded.first { $0.name == segment.name }
                #expect(same?.bytes == segment.bytes, "\(segment.name) recorded as published: \(recorded.map(\.name))")
            }
        }
    }

    @Test("A branch told its root's clock at its first segment makes the root's segments byte for byte; told nothing, it cuts its own")
    func toldClockGivesTheRootsBytes() throws {
        let relay = relayedADTS(frames: 3_000, segmentBytes: Self.segmentBytes)
        var root = aacSegmenter()
        // The root has followed the stream for a while when the branch joins at segment 37 (a burst back).
        var rootMade = feed(relay.prefix(41), into: &root)
        let told = try #require(root.clock(from: 37, stream: Self.stream))
        #expect(told.segment == 37 && told.offset < Self.segmentBytes)
        rootMade += feed(relay.dropFirst(41), into: &root)

        var branch = aacSegmenter(), guessing = aacSegmenter()
        var branchMade = feed(relay[37..<124], clock: .told(told), into: &branch)
        // Exact now, the branch tells its own branch the root's clock (kept for its last 64 relay segments).
        let later = try #require(branch.clock(from: 120, stream: Self.stream))
        branchMade += feed(relay.dropFirst(124), clock: .told(told), into: &branch)
        let guessed = feed(relay.dropFirst(37), clock: .told(nil), into: &guessing)
        let rootByName = Dictionary(uniqueKeysWithValues: rootMade.map { ($0.name, $0) })
        #expect(branchMade.count >= 20)
        for segment in branchMade {
            let same = try #require(rootByName[segment.name], "\(segment.name) not made on the root")
            #expect(same.bytes == segment.bytes, "\(segment.name) differs")
            #expect(same.timestamp == segment.timestamp)
        }
        // The same frames without the clock: the estimate from the byte position misses the root's count, so the
        // guessing branch's cuts and timestamps are its own — still whole frames, one after the other.
        #expect(guessed.count >= 20)
        #expect(guessed.contains { rootByName[$0.name]?.bytes != $0.bytes }, "the test must be able to fail")
        for (previous, next) in zip(guessed, guessed.dropFirst()) {
            #expect(abs(Double(next.timestamp) - Double(previous.timestamp) - previous.duration * 90_000) <= 1)
        }

        // The branch's branch makes the root's segments too; the guessing one tells nothing.
        var grandchild = aacSegmenter()
        let grandchildMade = feed(relay.dropFirst(120), clock: .told(later), into: &grandchild)
        #expect(grandchildMade.count >= 10)
        #expect(grandchildMade.allSatisfy { rootByName[$0.name]?.bytes == $0.bytes })
        #expect(guessing.clock(from: 120, stream: Self.stream) == nil)
    }

    @Test("A branch joining before the root counted anything is told the count starts at its first segment's first frame: the root's bytes")
    func branchJoiningBeforeTheRootCounted_StartsWithIt() throws {
        let relay = relayedADTS(frames: 2_000, segmentBytes: Self.segmentBytes)
        var root = aacSegmenter()
        let told = try #require(root.startClock(at: 0, stream: Self.stream))
        #expect(told == .start(at: 0))
        let rootMade = feed(relay, into: &root)
        #expect(root.startClock(at: 90, stream: Self.stream) == nil, "once it has counted, it tells what it counted")
        var branch = aacSegmenter(), guessing = aacSegmenter()
        let branchMade = feed(relay, clock: .told(told), into: &branch)
        let guessed = feed(relay, clock: .told(nil), into: &guessing)
        let rootByName = Dictionary(uniqueKeysWithValues: rootMade.map { ($0.name, $0) })
        #expect(branchMade.count >= 20)
        #expect(branchMade.allSatisfy { rootByName[$0.name]?.bytes == $0.bytes })
        #expect(guessed.contains { rootByName[$0.name] == nil }, "told nothing, it names its segments apart: the test can fail")
        #expect(branch.clock(from: 60, stream: Self.stream) == root.clock(from: 60, stream: Self.stream), "and tells its branches the root's clock")
    }

    @Test("A told branch that loses segments is exact no more until told again; the root stays exact through a jump of its stream")
    func gapEndsAToldCount_ButNotTheRoots() throws {
        let relay = relayedADTS(frames: 1_500, segmentBytes: Self.segmentBytes)
        var root = aacSegmenter()
        _ = feed(relay.prefix(30), into: &root)
        let told = try #require(root.clock(from: 26, stream: Self.stream))
        _ = feed(relay.dropFirst(30).prefix(40), into: &root)

        var branch = aacSegmenter()
        _ = feed(relay.dropFirst(26).prefix(20), clock: .told(told), into: &branch)  // 26–45
        #expect(branch.clock(from: 40, stream: Self.stream) == root.clock(from: 40, stream: Self.stream))
        _ = feed(relay.dropFirst(50).prefix(6), clock: .told(told), into: &branch)  // 50–55: 46–49 lost
        #expect(branch.clock(from: 50, stream: Self.stream) == nil, "an estimate is not told on")
        #expect(branch.clock(from: 40, stream: Self.stream) == root.clock(from: 40, stream: Self.stream), "what it counted before still holds")
        // It re-attaches at 56 and is told the root's clock there: exact again.
        let again = try #require(root.clock(from: 56, stream: Self.stream))
        _ = feed(relay.dropFirst(56).prefix(10), clock: .told(again), into: &branch)
        #expect(branch.clock(from: 60, stream: Self.stream) == root.clock(from: 60, stream: Self.stream))
        #expect(branch.clock(from: 60, stream: Self.stream + 1) == nil, "only of the stream followed")

        // The root's own count stays exact through a jump of its stream's numbers (every node re-anchors there alike).
        var jumped = aacSegmenter()
        _ = feed(relay.prefix(30), into: &jumped)
        _ = feed(relay.dropFirst(35).prefix(10), into: &jumped)
        #expect(jumped.clock(from: 40, stream: Self.stream) != nil)
    }

    @Test("A variable-bitrate MP3 stream: timestamps follow the samples, and a told branch makes the root's bytes")
    func variableBitrateMP3() throws {
        let relay = relayedVBR(frames: 4_000, segmentBytes: Self.segmentBytes)
        func segmenter() -> HLSSegmenter {
            var segmenter = HLSSegmenter(targetDuration: 1)
            segmenter.start(Context(station: ["Content-Type": "audio/mpeg"], segmentBytes: Self.segmentBytes, bitrate: 128,
                                    stream: Self.stream))
            return segmenter
        }
        var root = segmenter()
        var rootMade = feed(relay.prefix(41), into: &root)
        let told = try #require(root.clock(from: 37, stream: Self.stream), "an MP3 root tells its clock too")
        rootMade += feed(relay.dropFirst(41), into: &root)
        #expect(rootMade.count >= 30)
        for (previous, next) in zip(rootMade, rootMade.dropFirst()) {
            // Each timestamp is the one before plus the samples between, to the tick: the frames' header bitrates
            // (32 to 320 kbit/s here) say nothing about where they play.
            let expected = Double(previous.timestamp) + previous.duration * 90_000
            #expect(abs(Double(next.timestamp) - expected) <= 1, "\(previous.name) → \(next.name)")
        }
        // Cut by samples, not bytes: every segment lasts the target to within a frame (26 ms), the 32 kbit/s runs'
        // too, not 4 times more.
        #expect(rootMade.allSatisfy { abs($0.duration - 1) < 0.027 }, "\(rootMade.map(\.duration))")
        var branch = segmenter()
        let branchMade = feed(relay.dropFirst(37), clock: .told(told), into: &branch)
        let rootByName = Dictionary(uniqueKeysWithValues: rootMade.map { ($0.name, $0) })
        #expect(branchMade.count >= 20)
        #expect(branchMade.allSatisfy { rootByName[$0.name]?.bytes == $0.bytes })
    }

    @Test("X-Casty-HLS-Clock is read strictly: three decimal fields, an offset within a segment, a bounded count")
    func headerParsing() {
        let clock = HLSClock(segment: 1_234, offset: 517, samples: 2_048_000)
        #expect(clock.headerValue == "1234:517:2048000")
        #expect(HLSClock(header: clock.headerValue, segmentBytes: 8_192) == clock)
        #expect(HLSClock(header: "0:0:0", segmentBytes: 1) == HLSClock(segment: 0, offset: 0, samples: 0))
        #expect(HLSClock(header: "1:0:\(HLSClock.maxSamples)", segmentBytes: 8_192)?.samples == HLSClock.maxSamples)
        for garbage in ["", "1:2", "1:2:3:4", "1::3", ":1:2", "-1:0:0", "+1:0:0", "1:0: 5", " 1:0:0", "1:0:0 ", "a:b:c",
                        "1:8192:0", "1:0:\(HLSClock.maxSamples + 1)", "1234567890123456789:0:0", "1:0:0x10", "１:0:0"] {
            #expect(HLSClock(header: garbage, segmentBytes: 8_192) == nil, "\(garbage)")
        }
        // A count that starts at a segment's first frame.
        #expect(HLSClock.start(at: 77).headerValue == "77:start")
        #expect(HLSClock(header: "77:start", segmentBytes: 8_192) == .start(at: 77))
        for garbage in ["77:Start", "77:start:0", ":start", "-1:start", "77:starts"] {
            #expect(HLSClock(header: garbage, segmentBytes: 8_192) == nil, "\(garbage)")
        }
        // A segment number whose position would overflow is refused too.
        #expect(HLSClock(header: "999999999999999999:0:0", segmentBytes: 1 << 20) == nil)
    }

    @Test("A numbered peer's head ends with its own first number and clock, a player's has neither; the kept head is shared")
    func replyHeadCarriesTheClock() throws {
        func request(_ text: String) throws -> Request {
            guard case .done(let request, _) = Icy.request(Array(text.utf8)) else { throw IcyError.unsupportedMethod("?") }
            return request
        }
        let port = PortContext(distributor: Distributor(), options: ClientOptions(), logger: .silent)
        let peer = Listening(try request("GET / HTTP/1.0\r\nX-Casty-Numbered: 1\r\n\r\n"), branch: nil, stream: 7)
        let player = Listening(try request("GET / HTTP/1.0\r\nIcy-MetaData: 1\r\n\r\n"), branch: nil, stream: 7)
        var context = testContext()
        context.hlsClock = HLSClock(segment: 41, offset: 3, samples: 90_112)
        var other = context
        other.hlsClock = HLSClock(segment: 42, offset: 0, samples: 91_136)
        let first = String(decoding: peer.replyHead(next: 41, context: context, port: port), as: UTF8.self)
        let second = String(decoding: peer.replyHead(next: 42, context: other, port: port), as: UTF8.self)
        #expect(first.hasSuffix("\r\nX-Casty-Next: 41\r\nX-Casty-HLS-Clock: 41:3:90112\r\n\r\n"))
        #expect(second.hasSuffix("\r\nX-Casty-Next: 42\r\nX-Casty-HLS-Clock: 42:0:91136\r\n\r\n"))
        func shared(_ head: String) -> Substring? { head.firstRange(of: "X-Casty-Next").map { head[..<$0.lowerBound] } }
        #expect(shared(first) != nil && shared(first) == shared(second))
        let playerHead = String(decoding: player.replyHead(next: 41, context: context, port: port), as: UTF8.self)
        #expect(!playerHead.contains("X-Casty-HLS-Clock") && !playerHead.contains("X-Casty-Next"))
        var plain = context
        plain.hlsClock = nil
        #expect(String(decoding: peer.replyHead(next: 41, context: plain, port: port), as: UTF8.self).hasSuffix("\r\nX-Casty-Next: 41\r\n\r\n"))
    }
}
