@testable import CastyWire
import Testing

@testable import Casty
@testable import CastyAudio
@testable import CastyNet

/// An AAC source that declares no bitrate (ffmpeg's `icecast://` sends no `ice-bitrate`): its bitrate is measured
/// from its first frames, so listeners are told it and its HLS segments last `--hls-target`, not as much longer as
/// an assumed 128 kbit/s is more than the stream's.
extension StationServerTests {
    @Test func anAACSourceWithoutABitrate_IsMeasured_AndItsHLSSegmentsLastTheTarget() async throws {
        let server = try server(mounts: ["/live"]) { $0.options.hls.targetDuration = 4 }
        defer { server.close() }
        let peer = try await TestPeer.connect(to: server.address, on: loop)
        let credentials = Base64.encode(Array("source:hackme".utf8))
        await peer.send("PUT /live HTTP/1.1\r\nHost: x\r\nAuthorization: Basic \(credentials)\r\nContent-Type: audio/aac\r\n"
            + "Expect: 100-continue\r\nice-name: No Bitrate FM\r\n\r\n")
        #expect(await peer.waitFor(timeout: .seconds(15)) { String(decoding: $0, as: UTF8.self).hasPrefix("HTTP/1.1 100") })
        // 186-byte frames of 1,024 samples at 44.1 kHz: 64 kbit/s; about 40 s of them.
        await sendPaced(peer, adtsFrames(1_720, length: 186))

        let player = try await listener(server, titles: false)
        #expect(await player.waitFor(timeout: .seconds(15)) { String(decoding: $0, as: UTF8.self).contains("\r\n\r\n") })
        #expect(player.text.lowercased().contains("icy-br: 64\r\n"), "\(player.text.prefix(400))")
        await player.close()

        let playlist = Locked("")
        #expect(await eventually(timeout: .seconds(20)) {
            let answer = await Self.fetch(server.address, "/live/index.m3u8")
            playlist.update { $0 = String(decoding: Self.body(answer), as: UTF8.self) }
            return String(decoding: answer, as: UTF8.self).hasPrefix("HTTP/1.0 200")
        }, "\(playlist.value)")
        let durations = playlist.value.split(separator: "\n").filter { $0.hasPrefix("#EXTINF:") }
            .compactMap { Double($0.dropFirst(8).prefix { $0 != "," }) }
        #expect(playlist.value.contains("#EXT-X-TARGETDURATION:4\n"), "\(playlist.value)")
        #expect(durations.count >= 3 && durations.allSatisfy { (3.0...4.5).contains($0) }, "\(durations)")
        await peer.close()
    }
}

/// The bitrate of ADTS audio, measured from its frames' bytes and samples.
@Suite struct ADTSBitrateTests {
    @Test func sniffBitrate_AveragesAChainOfFrames_FromAnywhereInIt() {
        #expect(ADTSFrame.sniffBitrate(adtsFrames(40, length: 186)) == 64)
        #expect(ADTSFrame.sniffBitrate(adtsFrames(40, length: 372).dropFirst(100)) == 128)  // starts mid-frame
        #expect(ADTSFrame.sniffBitrate(variedADTSFrames(40)) != nil)
    }

    @Test func sniffBitrate_IsNil_ForTooFewFrames_OrNoFrames() {
        #expect(ADTSFrame.sniffBitrate(adtsFrames(ADTSFrame.framesToSniff - 1, length: 186)) == nil)
        #expect(ADTSFrame.sniffBitrate([UInt8](repeating: 0x55, count: 8_192)) == nil)
    }

    @Test("MP3 written one frame at a time, as a live encoder writes it, is measured across the reads")
    func mp3OneFrameARead_IsMeasured() throws {
        // 64 kbit/s MPEG-1 layer III frames at 44.1 kHz: header FF FB 50 (bitrate index 5), 208 bytes each.
        let frame: [UInt8] = [0xFF, 0xFB, 0x50, 0x64] + [UInt8](repeating: 0, count: 204)
        var sniff = BitrateSniff()
        #expect(sniff.take(frame, format: .mpeg, segmentBytes: 8_192) == nil, "one frame says nothing yet")
        #expect(sniff.take(frame, format: .mpeg, segmentBytes: 8_192) == nil, "nor two: a variable bitrate shows in three")
        #expect(sniff.take(frame, format: .mpeg, segmentBytes: 8_192) == 64)
        #expect(sniff.done)
        // Variable: a loud 320 kbit/s start, then 32 kbit/s frames: averaged over the window, not the first frames.
        let loud: [UInt8] = [0xFF, 0xFB, 0xE0, 0x64] + [UInt8](repeating: 0, count: 1_040)
        let quiet: [UInt8] = [0xFF, 0xFB, 0x10, 0x64] + [UInt8](repeating: 0, count: 100)
        var vbr = BitrateSniff()
        var measured: Int?
        for frame in [loud, loud] + Array(repeating: quiet, count: 200) where measured == nil {
            measured = vbr.take(frame, format: .mpeg, segmentBytes: 8_192)
        }
        let kbps = try #require(measured)
        #expect((32..<140).contains(kbps), "\(kbps) kbit/s: the window's average, not the first frames' 320")
        // Bytes that never show two frames: given up after the window, the assumed bitrate kept.
        var lost = BitrateSniff()
        for _ in 0..<17 { _ = lost.take([UInt8](repeating: 0x55, count: 1_000), format: .mpeg, segmentBytes: 8_192) }
        #expect(lost.done)
    }

    @Test("A quiet AAC stream is measured after two seconds of its audio, not after a whole segment of its bytes")
    func aQuietStream_IsMeasuredAfterTwoSeconds_NotAFullSegment() {
        // 40-byte frames at 44.1 kHz: about 14 kbit/s, 1,720 bytes a second; a segment of 8,192 bytes would take 4.8 s.
        let quiet = adtsFrames(300, length: 40)
        var sniff = BitrateSniff()
        var measured: (kbps: Int, after: Int)?
        for (index, frame) in stride(from: 0, to: quiet.count, by: 40).enumerated() {
            if let kbps = sniff.take(quiet[frame..<frame + 40], format: .adts, segmentBytes: 8_192) {
                measured = (kbps, index + 1)
                break
            }
        }
        #expect(measured?.kbps == 14, "\(String(describing: measured))")
        // Two seconds: 44,100 × 2 / 1,024 = 86.1 frames; the chain counts the whole frames it holds.
        #expect((87...89).contains(measured?.after ?? 0), "\(String(describing: measured))")
        #expect(!sniff.waits(for: .adts))

        // A stream at the usual rate still fills its segment first, and is measured on it whole.
        var loud = BitrateSniff()
        let frames = adtsFrames(60, length: 372)
        let found = stride(from: 0, to: frames.count, by: 372).lazy.compactMap { loud.take(frames[$0..<$0 + 372], format: .adts, segmentBytes: 8_192) }.first
        #expect(found == 128)
    }
}

/// What listeners are told of a bitrate measured on the audio: the encoder's setting.
@Suite struct NominalBitrateTests {
    @Test func aMeasureWithin4PercentOfAUsualBitrate_IsToldAsIt_AnyOtherAsMeasured() {
        #expect(NominalBitrate.of(99) == 96, "AAC at 96 kbit/s, its ADTS headers counted")
        #expect(NominalBitrate.of(131) == 128)
        #expect(NominalBitrate.of(128) == 128)
        #expect(NominalBitrate.of(187) == 192, "a variable bitrate's average near a setting")
        #expect(NominalBitrate.of(100) == 100, "4.2 % from 96: no setting")
        #expect(NominalBitrate.of(7) == 7)
        #expect(NominalBitrate.of(1_000) == 1_000)
    }
}
