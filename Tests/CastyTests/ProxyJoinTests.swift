@testable import CastyNet
import CastyAudio
import Testing

@testable import Casty

extension ProxyTests {
    @Test("A relay that reconnects to a station that bursts (as Icecast does) relays from where its last link ended: no audio twice, none lost")
    func reconnect_ToABurstingStation_RelaysEveryFrameOnce() async throws {
        let frames = variedADTSFrames(250)  // frame i's payload bytes are all i
        var starts: [Int] = []
        while let last = starts.last.map({ $0 + ADTSFrame(frames[$0...])!.length }) ?? Optional(0), last < frames.count { starts.append(last) }
        let offsets = starts + [frames.count]
        let started = ContinuousClock.now
        // The station plays 100 frames a second; a new listener first gets the last 40 it played (its burst).
        @Sendable func playing() -> Int { min(250, Int((ContinuousClock.now - started) / .milliseconds(10))) }
        let links = Locked(0)
        let upstream = try FakeUpstream(on: loop) { connection, _ in
            links.update { $0 += 1 }
            let first = links.value == 1
            connection.write(Array("HTTP/1.0 200 OK\r\nContent-Type: audio/aac\r\nicy-br: 64\r\n\r\n".utf8))
            let sent = Locked(max(0, playing() - 40))
            @Sendable func feed() {
                guard !connection.isClosed else { return }
                let now = playing()
                if now > sent.value { connection.write(Array(frames[offsets[sent.value]..<offsets[now]])) }
                sent.update { $0 = now }
                // The relay's own link breaks after a second; the station goes on.
                if first, ContinuousClock.now - started > .seconds(1) { return connection.close() }
                connection.loop.schedule(after: .milliseconds(20)) { feed() }
            }
            feed()
        }
        let lines = Locked<[String]>([])
        var configuration = Proxy.Configuration()
        configuration.segmentBytes = 1000
        configuration.backoff = .milliseconds(50)
        let proxy = try Proxy(url: upstream.url, configuration: configuration, loop: loop, logger: EventLog { line in lines.update { $0.append(line) } })
        let listener = RecorderNode(loop: loop)
        proxy.send(.request(from: listener, resume: nil))
        try await proxy.start()
        #expect(await listener.wait(timeout: .seconds(10)) { record in record.audio.count >= offsets[230] - 1000 })
        proxy.stop()
        await upstream.close()
        // Every frame relayed, in order, once.
        let audio = await listener.record.audio
        var indices: [Int] = []
        var at = 0
        while at < audio.count, let frame = ADTSFrame(audio[at...]), at + frame.length <= audio.count {
            indices.append(Int(audio[at + 7]))
            at += frame.length
        }
        #expect(links.value == 2)
        #expect(indices.count >= 200 && indices == Array(0..<indices.count),
                "\(indices.count) frames; first out of order at \(String(describing: zip(indices, 0...).first { $0.0 != $0.1 }))")
        #expect(lines.value.contains { $0.contains("were audio relayed before (the upstream's burst): left out") }, "\(lines.value)")
    }
}
