import Testing

@testable import Casty

/// A source whose frames stop and garbage follows is dropped with a log line that says so — not that it sent
/// no frames at all, which is what a stream that never had any is told.
extension StationServerTests {
    @Test func garbageAfterFrames_EndsTheSource_WithALogLineSayingItCameAfterItsFrames() async throws {
        let log = Log()
        let server = try server(log: log)
        defer { server.close() }
        let source = try await source(server)
        #expect(await source.waitFor(timeout: .seconds(15)) { String(decoding: $0, as: UTF8.self).contains("100 Continue") })
        await sendPaced(source, Self.silentFrames(30))
        await sendAudio(source, (0..<70_000).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 3) & 0x7F })
        #expect(await eventually(timeout: .seconds(15)) { source.closed.value })
        let ended = log.lines.value.filter { $0.contains("on /live ended") }
        #expect(ended.count == 1 && ended[0].contains("bytes that were not audio frames came after its frames"), "\(ended)")
        #expect(!log.contains("no audio frames in the first"), "\(log.lines.value)")
    }
}

/// A source whose audio is not what its `Content-Type` says.
extension StationServerTests {
    @Test func adtsPublishedAsMP3_IsServedAsAAC_WithALogLine() async throws {
        let log = Log()
        let server = try server(log: log)
        defer { server.close() }
        let (_, feeding) = try await feedingSource(server, type: "audio/mpeg", with: adtsFrames(14))
        defer { feeding.cancel() }
        let player = try await listener(server, titles: false)
        #expect(await player.waitFor(timeout: .seconds(15)) { bytes in
            bytes.indices.dropLast(2).filter { bytes[$0] == 0xFF && bytes[$0 + 1] == 0xF1 && bytes[$0 + 2] == 0x50 }.count >= 10
        }, "\(player.text.prefix(300))")
        #expect(player.text.contains("Content-Type: audio/aac\r\n"), "\(player.text.prefix(300))")
        #expect(log.contains("source on /live: its audio is AAC in ADTS frames, not the audio/mpeg it said: served as audio/aac"),
                "\(log.lines.value)")
    }

    @Test func oggPublishedAsMP3_EndsTheSource_SayingItLooksLikeOgg() async throws {
        let log = Log()
        let server = try server(log: log)
        defer { server.close() }
        let source = try await source(server)
        #expect(await source.waitFor(timeout: .seconds(15)) { String(decoding: $0, as: UTF8.self).contains("100 Continue") })
        await sendAudio(source, Array("OggS".utf8) + (0..<20_000).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 3) & 0x7F })
        #expect(await eventually(timeout: .seconds(15)) { source.closed.value })
        #expect(log.contains("it looks like Ogg, and Casty serves MP3 and AAC"), "\(log.lines.value)")
    }
}

/// A source that trickles bytes that are no audio holds its mount no longer than one that sends nothing.
extension StationServerTests {
    @Test func aSourceTricklingBytesThatAreNoAudio_IsDroppedAtTheSourceTimeout_AndFeedsNothingMeanwhile() async throws {
        let log = Log()
        let server = try server(timeout: .seconds(5), log: log)
        defer { server.close() }
        let source = try await source(server)
        #expect(await source.waitFor(timeout: .seconds(10)) { String(decoding: $0, as: UTF8.self).contains("100 Continue") })
        let trickle = Task {
            while !Task.isCancelled {
                await sendAudio(source, [0x41])
                try? await Task.sleep(for: .milliseconds(300))
            }
        }
        defer { trickle.cancel() }
        try await Task.sleep(for: .milliseconds(700))
        let mounts = try await ask(server, "/admin/listmounts")
        #expect(mounts.contains(#""mount":"/live""#) && !mounts.contains(#""feeding":"source""#), "no audio, so nothing feeds it: \(mounts)")
        #expect(await eventually(timeout: .seconds(20)) { source.closed.value }, "dropped although bytes kept coming")
        #expect(log.contains("no audio frame came for 5.0 seconds, only bytes that are no audio frames"), "\(log.lines.value)")
    }

    // A source timeout of 5 s, not less: the test's feeding task, starved for seconds on a loaded run, would
    // otherwise be a source that sent nothing for the timeout, which is another line.
    @Test("A source inside an ID3 tag that says it is 1 MiB long is dropped at the timeout with a line that says so")
    func sourceInsideAHugeTag_IsDropped_SayingSo() async throws {
        let log = Log()
        let server = try server(timeout: .seconds(5), log: log)
        defer { server.close() }
        let source = try await source(server)
        #expect(await source.waitFor(timeout: .seconds(10)) { String(decoding: $0, as: UTF8.self).contains("100 Continue") })
        // Frames, then an ID3v2.4 header whose size (syncsafe 0 0x40 0 0) is 1 MiB, then frames at the stream's pace.
        await sendAudio(source, Self.silentFrames(20) + Array("ID3".utf8) + [4, 0, 0, 0, 0x40, 0, 0])
        let feeding = keepFeeding(source)
        defer { feeding.cancel() }
        #expect(await eventually(timeout: .seconds(20)) { source.closed.value }, "\(log.lines.value)")
        #expect(log.contains("no audio frame came for 5.0 seconds: its bytes were an ID3 tag, which says"), "\(log.lines.value)")
    }
}
