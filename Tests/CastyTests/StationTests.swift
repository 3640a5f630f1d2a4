@testable import CastyNet
internal import Glibc
import Icy
import Testing

@testable import Casty

/// The first `count` frames of the built-in tone: a short file, so that a test sees the loop wrap around
/// within a few segments.
private func shortTone(frames count: Int) throws -> [UInt8] {
    let file = try MP3File(BuiltInTone.mp3)
    return Array(BuiltInTone.mp3[..<file.frames[count].offset])
}

/// Runs `body` with a fresh event loop and shuts the loop down afterwards.
private func withLoop(_ body: (EventLoop) async throws -> Void) async rethrows {
    let loop = EventLoop(name: "station-test")
    defer { loop.shutdown() }
    try await body(loop)
}

struct StationTests {
    @Test func station_RepliesWithItsHeaders_ThenNumberedData() async throws {
        try await withLoop { loop in
            let station = try Station.builtIn(name: "Test FM", segmentBytes: 1600, loop: loop)
            let recorder = RecorderNode(loop: loop)
            await station.start()
            station.send(.request(from: recorder, resume: nil))
            #expect(await recorder.waitForData(4))
            station.stop()
            #expect(await recorder.waitForStop())

            let record = await recorder.record
            let reply = try #require(record.replies.first)
            #expect(record.replies.count == 1)
            #expect(reply.context.station["Content-Type"] == "audio/mpeg")
            #expect(reply.context.station["icy-name"] == "Test FM")
            #expect(reply.context.station["icy-genre"] == "Casty")
            #expect(reply.context.station["icy-br"] == "128")
            #expect(reply.context.station["icy-description"] != nil)
            #expect(reply.context.bitrate == 128)
            #expect(reply.context.segmentBytes == 1600)
            #expect(reply.context.title?.streamTitle == "Casty test tone")
            #expect(record.numbers == Array(reply.next..<(reply.next + record.numbers.count)))
            #expect(record.data.allSatisfy { $0.number == $0.segment.number && $0.segment.audio.count == 1600 })
            // The reply comes first and the stop last.
            if case .reply = record.events.first {} else { Issue.record("first event is not the reply") }
            if case .stop = record.events.last {} else { Issue.record("last event is not the stop") }
        }
    }

    @Test func station_StartsANewListenerAtTheNextSegment_WhenItIsAlreadyPlaying() async throws {
        try await withLoop { loop in
            let station = try Station.builtIn(segmentBytes: 1600, loop: loop)
            let early = RecorderNode(loop: loop)
            let late = RecorderNode(loop: loop)
            station.send(.request(from: early, resume: nil))
            await station.start()
            #expect(await early.waitForData(3))
            station.send(.request(from: late, resume: 0))  // a station cannot go back: resume is ignored
            #expect(await late.waitForData(2))
            station.stop()

            let first = try #require(await early.record.replies.first)
            #expect(first.next == 0)
            let record = await late.record
            let reply = try #require(record.replies.first)
            #expect(reply.next >= 3)
            #expect(record.numbers.first == reply.next)
            #expect(record.numbers == Array(reply.next..<(reply.next + record.numbers.count)))
        }
    }

    @Test func station_PlaysTheFileInOrder_AndWrapsAroundAtTheEndOfTheWholeFrames() async throws {
        try await withLoop { loop in
            // Three frames (1253 bytes) with an ID3v2 tag in front and an ID3v1 tag behind: only the frames
            // are played, back to back, 1000 bytes a segment.
            let frames = try shortTone(frames: 3)
            let id3v2 = Array("ID3".utf8) + [4, 0, 0, 0, 0, 0, 20] + [UInt8](repeating: 0xFF, count: 20)
            let id3v1 = Array("TAG".utf8) + [UInt8](repeating: 0x20, count: 125)
            let station = try Station(mp3: id3v2 + frames + id3v1, segmentBytes: 1000, loop: loop)
            #expect(station.file.frames.count == 3)
            let recorder = RecorderNode(loop: loop)
            station.send(.request(from: recorder, resume: nil))
            await station.start()
            #expect(await recorder.waitForData(6))
            station.stop()

            let audio = await recorder.record.audio
            #expect(audio.count >= 6000)
            let expected = (0..<audio.count).map { frames[$0 % frames.count] }
            #expect(audio == expected)
        }
    }

    @Test("A VBR file's segments are due as their own frames play: its loud passages go out as fast as they play, not at the file's average rate")
    func station_PacesAVBRFile_ByEachSegmentsFrames() async throws {
        try await withLoop { loop in
            // MPEG-1 Layer III at 44.1 kHz: ten frames at 320 kbit/s (1044 bytes), ten at 32 kbit/s (104 bytes);
            // every frame plays 1152 samples.
            let loud: [UInt8] = [0xFF, 0xFB, 0xE0, 0x00] + [UInt8](repeating: 0, count: 1040)
            let quiet: [UInt8] = [0xFF, 0xFB, 0x10, 0x00] + [UInt8](repeating: 0, count: 100)
            let file: [UInt8] = Array(repeating: loud, count: 10).flatMap { $0 } + Array(repeating: quiet, count: 10).flatMap { $0 }
            let station = try Station(mp3: file, segmentBytes: 2 * 1044, loop: loop)  // two loud frames a segment
            let frame = Duration.seconds(1152) / 44100
            #expect(station.segmentDuration > frame * 3, "the file's average: \(station.segmentDuration)")
            let recorder = RecorderNode(loop: loop)
            station.send(.request(from: recorder, resume: nil))
            await station.start()
            #expect(await recorder.waitForData(3))
            let (segments, plays) = await station.pacing
            station.stop()
            // What the bytes cut so far play, frame by frame round the file (a cut frame for its share of bytes):
            // the first five segments hold two loud frames each, 52 ms, where the file's average gives 95 ms.
            var left = segments * 2 * 1044, expected = Duration.zero, index = 0
            while left > 0 {
                let length = index % 20 < 10 ? 1044 : 104
                expected += frame * min(left, length) / length
                left -= min(left, length)
                index += 1
            }
            #expect(segments >= 3)
            #expect(abs((plays - expected) / .microseconds(1)) < 1, "\(plays) for \(segments) segments, not \(expected)")
            #expect(segments > 5 || plays == frame * 2 * segments, "each loud segment plays its two frames")
        }
    }

    @Test func station_ChangesTitles_EveryTitleInterval() async throws {
        try await withLoop { loop in
            let station = try Station.builtIn(
                titles: ["First", "Second"], titleInterval: .milliseconds(200), segmentBytes: 1600, loop: loop)
            let recorder = RecorderNode(loop: loop)
            station.send(.request(from: recorder, resume: nil))
            await station.start()
            #expect(await recorder.waitForData(9))
            station.stop()

            let segments = await recorder.record.segments
            let changes = segments.filter(\.titleChanged).compactMap(\.title?.streamTitle)
            #expect(Array(changes.prefix(3)) == ["First", "Second", "First"])
            #expect(segments.first?.titleChanged == true)
            #expect(segments.allSatisfy { $0.title?.streamTitle != nil })
        }
    }

    @Test func station_NumbersItsOnlyTitle_SoListenersSeeItChange() async throws {
        try await withLoop { loop in
            let station = try Station.builtIn(titles: ["Tone"], titleInterval: .milliseconds(200), segmentBytes: 1600, loop: loop)
            let recorder = RecorderNode(loop: loop)
            station.send(.request(from: recorder, resume: nil))
            await station.start()
            #expect(await recorder.wait { $0.segments.filter(\.titleChanged).count >= 3 })
            await station.setTitle("Live now")
            // Any segment: on a busy machine the next rotation (200 ms on) may already follow it when this looks.
            #expect(await recorder.wait { $0.segments.contains { $0.title?.streamTitle == "Live now" } })
            station.stop()

            let segments = await recorder.record.segments
            let changes = segments.filter(\.titleChanged).compactMap(\.title?.streamTitle)
            #expect(Array(changes.prefix(3)) == ["Tone", "Tone #2", "Tone #3"])
            #expect(changes.contains("Live now"))
            #expect(await station.title?.streamTitle != nil)
        }
    }

    @Test("The station's name and titles reach listeners without control characters, as a source's do: a line break is a space, ESC and BEL are dropped")
    func station_CleansItsNameAndTitles_OfControlCharacters() async throws {
        try await withLoop { loop in
            let station = try Station.builtIn(
                name: "N\u{07}x\ny", titles: ["a\u{1B}[31mb\nFAKE"], titleInterval: .zero, segmentBytes: 1600, loop: loop)
            let recorder = RecorderNode(loop: loop)
            station.send(.request(from: recorder, resume: nil))
            await station.start()
            #expect(await recorder.waitForData(1))
            await station.setTitle("Live\u{1B}\r\nnow")
            #expect(await recorder.wait { $0.segments.contains { $0.title?.streamTitle == "Live now" } })
            station.stop()

            let reply = try #require(await recorder.record.replies.first)
            #expect(reply.context.station["icy-name"] == "Nx y")
            #expect(reply.context.title?.streamTitle == "a[31mb FAKE")
            #expect(station.name == "Nx y")
        }
    }

    @Test func station_PacesSegmentsInRealTime() async throws {
        try await withLoop { loop in
            let station = try Station.builtIn(segmentBytes: 1600, loop: loop)  // a segment every 0.1 s
            #expect(abs(station.segmentDuration / .milliseconds(1) - 100) < 1)
            let recorder = RecorderNode(loop: loop)
            station.send(.request(from: recorder, resume: nil))
            let started = ContinuousClock.now
            await station.start()
            try await Task.sleep(for: .milliseconds(500))
            let count = await recorder.record.dataCount
            let elapsed = ContinuousClock.now - started
            station.stop()

            // Deadlines at 0, 0.1, …: about 6 by now. Generous bounds: a behaviour check, not a benchmark.
            let expected = Int(elapsed / .milliseconds(100)) + 1
            #expect(count >= 3, "\(count) segments after \(elapsed)")
            #expect(count <= expected + 1, "\(count) segments after \(elapsed)")
        }
    }

    @Test func station_CatchesUpByAtMostTwoSegments_AfterAStall() async throws {
        try await withLoop { loop in
            let station = try Station.builtIn(segmentBytes: 1600, loop: loop)
            let recorder = RecorderNode(loop: loop)
            station.send(.request(from: recorder, resume: nil))
            await station.start()
            #expect(await recorder.waitForData(3))
            // Block the loop for 8 segments' time: the station cannot send meanwhile.
            loop.execute { usleep(800_000) }
            let before = await recorder.record.dataCount
            #expect(await recorder.waitForData(before + 6, timeout: .seconds(5)))
            station.stop()

            // Cut times in ms: find the stall (the longest pause), then count what was cut right after it.
            let times = await recorder.record.segments.map(\.time)
            let gaps = zip(times, times.dropFirst()).map { $1 - $0 }
            let stall = try #require(gaps.indices.max { gaps[$0] < gaps[$1] })
            #expect(gaps[stall] >= 500)
            let resumed = times[stall + 1]
            let burst = times[(stall + 1)...].filter { $0 - resumed < 40 }.count
            #expect(burst <= Station.maxCatchUp, "\(burst) segments cut at once after a stall of \(gaps[stall]) ms")
        }
    }

    @Test func station_SendsStop_ToItsListeners_AndRefusesLaterRequests() async throws {
        try await withLoop { loop in
            let station = try Station.builtIn(segmentBytes: 1600, loop: loop)
            let recorder = RecorderNode(loop: loop)
            let latecomer = RecorderNode(loop: loop)
            station.send(.request(from: recorder, resume: nil))
            await station.start()
            #expect(await recorder.waitForData(1))
            station.stop()
            #expect(await recorder.waitForStop())
            #expect(await station.isPlaying == false)
            let count = await recorder.record.dataCount
            station.send(.request(from: latecomer, resume: nil))
            #expect(await latecomer.waitForStop())
            try await Task.sleep(for: .milliseconds(250))
            #expect(await recorder.record.dataCount == count)
            #expect(await latecomer.record.replies.isEmpty)
        }
    }

    /// The line a station logs when it starts gives the segment period in whole milliseconds, not as a
    /// `Duration` prints itself ("every 0.5120053226359774 seconds").
    @Test func station_LogsItsSegmentPeriodInMilliseconds() async throws {
        try await withLoop { loop in
            let lines = LogLines()
            let station = try Station.builtIn(segmentBytes: 8192, loop: loop, logger: lines.logger)
            await station.start()
            station.stop()
            #expect(lines.value.contains { $0.hasSuffix("a segment of 8192 bytes every 512 ms") }, "\(lines.value)")
        }
    }

    @Test("A count of one segment is said in the singular: stopped after 1 segment, 1 segment late")
    func station_SaysOneSegmentInTheSingular() async throws {
        try await withLoop { loop in
            let lines = LogLines()
            // 4 s a segment: stopped before a second is cut.
            let station = try Station.builtIn(segmentBytes: 64000, loop: loop, logger: lines.logger)
            await station.start()
            station.stop()
            // One segment unless a loaded run stopped it after the second was cut: its count is said as counted.
            #expect(await eventually {
                lines.value.contains { line in
                    guard let said = line.split(separator: "stopped after ").last, let count = Int(said.prefix { $0.isNumber }) else { return false }
                    return said == (count == 1 ? "1 segment" : "\(count) segments")
                }
            }, "\(lines.value)")
        }
        #expect(Station.stallLine("Casty Station", late: 1) == "station: Casty Station was 1 segment late; not catching up")
        #expect(Station.stallLine("Casty Station", late: 3) == "station: Casty Station was 3 segments late; not catching up")
    }

    @Test func station_FailsWithTheMP3Error_WhenTheFileHasNoFrames() {
        let bytes = Array("not an mp3 file at all".utf8)
        #expect(throws: ConfigurationError.mp3(.noFrames(byteCount: bytes.count))) {
            try Station(mp3: bytes, loop: .shared)
        }
    }
}
