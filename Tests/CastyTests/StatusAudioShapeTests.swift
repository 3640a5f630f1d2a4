import Testing

@testable import Casty
@testable import CastyNet
import CastyWire

/// `/status-json.xsl` and `/admin/stats` give each source's `channels` and `samplerate`, integers, as Icecast gives
/// them from `ice-audio-info` — and, where the source declares none, from the MP3 or AAC frames Casty reads.
struct StatusAudioShapeTests {
    let station = StationServerTests()

    /// A source of `/live` that sends `info` as its `ice-audio-info`, if any, and is fed `frames` every 100 ms.
    func source(_ server: StationServer, info: String?, frames: [UInt8]) async throws -> (TestPeer, Task<Void, Never>) {
        let peer = try await TestPeer.connect(to: server.address, on: station.loop)
        await peer.send("PUT /live HTTP/1.1\r\nHost: x\r\nAuthorization: Basic \(Base64.encode(Array("source:hackme".utf8)))\r\n"
            + "Content-Type: audio/mpeg\r\nExpect: 100-continue\r\n" + (info.map { "ice-audio-info: \($0)\r\n" } ?? "") + "\r\n")
        #expect(await peer.waitFor(timeout: .seconds(10)) { String(decoding: $0, as: UTF8.self).hasPrefix("HTTP/1.1 100") })
        return (peer, station.keepFeeding(peer, with: frames))
    }

    @Test("A source's ice-audio-info gives channels and samplerate, as liquidsoap's does on Icecast")
    func statusJSON_GivesTheDeclaredChannelsAndSampleRate() async throws {
        let server = try station.server()
        defer { server.close() }
        let (_, feeding) = try await source(server, info: "channels=2;samplerate=44100;bitrate=128", frames: StationServerTests.silentFrames(10))
        defer { feeding.cancel() }
        #expect(await eventually { ((try? await station.ask(server, "/status-json.xsl", admin: false)) ?? "").contains(#""mount":"/live""#) })
        let status = try await station.ask(server, "/status-json.xsl", admin: false)
        #expect(status.contains(#""channels":2,"samplerate":44100"#), "\(status)")
        let stats = try await station.ask(server, "/admin/stats?mount=/live")
        #expect(stats.contains("<channels>2</channels>\n<samplerate>44100</samplerate>"), "\(stats)")
    }

    @Test("A source that declares none is given the channels and sample rate of its MP3 frames: mono 44100 Hz here")
    func statusJSON_GivesTheFramesShape_WhenNoneIsDeclared() async throws {
        let server = try station.server()
        defer { server.close() }
        // MPEG-1 layer III, 128 kbit/s, 44.1 kHz, mono (channel mode 11): 417 bytes a frame, as the silent ones.
        let mono = (0..<10).flatMap { _ in [0xFF, 0xFB, 0x90, 0xC4] + [UInt8](repeating: 0, count: 413) }
        let (_, feeding) = try await source(server, info: nil, frames: mono)
        defer { feeding.cancel() }
        #expect(await eventually { ((try? await station.ask(server, "/status-json.xsl", admin: false)) ?? "").contains(#""samplerate""#) })
        let status = try await station.ask(server, "/status-json.xsl", admin: false)
        #expect(status.contains(#""channels":1,"samplerate":44100"#) && !status.contains("audio_info"), "\(status)")
    }

    @Test func declared_ReadsIcecastsAndOlderLibshoutsNames_AndNothingElse() {
        #expect(StatusPage.declared("channels", in: "channels=2;samplerate=44100") == 2)
        #expect(StatusPage.declared("samplerate", in: "ice-samplerate=48000;ice-bitrate=128;ice-channels=1") == 48000)
        #expect(StatusPage.declared("channels", in: "ice-samplerate=48000;ice-channels=1") == 1)
        #expect(StatusPage.declared("channels", in: "bitrate=128") == nil)
        #expect(StatusPage.declared("channels", in: "channels=two;=;;channels=") == nil)
        #expect(StatusPage.declared("channels", in: nil) == nil)
    }
}
