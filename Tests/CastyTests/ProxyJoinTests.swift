@testable import CastyNet
import CastyAudio
import Testing

@testable import Casty

extension ProxyTests {
    @Test("A relay that reconnects to a station that bursts (as Icecast does) relays from where its last link ended: no audio twice, none lost")
    func reconnect_ToABurstingStation_RelaysEveryFrameOnce() async throws {
        let frames = variedADTSFrames(1_024)  // frame i's payload bytes are all i (modulo 256)
        var starts: [Int] = []
        while let last = starts.last.map({ $0 + ADTSFrame(frames[$0...])!.length }) ?? Optional(0), last < frames.count { starts.append(last) }
        let offsets = starts + [frames.count]
        // The station starts with the relay's first link (a loaded run may be slow to open it).
        let started = Locked<ContinuousClock.Instant?>(nil)
        // The station plays 100 frames a second; a new listener first gets the last 500 it played (its burst: 5 s, about
        // 150 KB, where Icecast's 64 KB are 4 s at 128 kbit/s), so a relay that takes a while to come back (a loaded run
        // took 2.6 s) still finds its last frames.
        @Sendable func playing() -> Int { min(1_024, Int((ContinuousClock.now - (started.value ?? .now)) / .milliseconds(10))) }
        let links = Locked(0)
        let upstream = try FakeUpstream(on: loop) { connection, _ in
            links.update { $0 += 1 }
            if started.value == nil { started.update { $0 = .now } }
            let first = links.value == 1
            connection.write(Array("HTTP/1.0 200 OK\r\nContent-Type: audio/aac\r\nicy-br: 64\r\n\r\n".utf8))
            let sent = Locked(max(0, playing() - 500))
            @Sendable func feed() {
                guard !connection.isClosed else { return }
                let now = playing()
                if now > sent.value { connection.write(Array(frames[offsets[sent.value]..<offsets[now]])) }
                sent.update { $0 = now }
                // The relay's own link breaks after a second; the station goes on.
                if first, playing() >= 100 { return connection.close() }
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
        #expect(await listener.wait(timeout: .seconds(15)) { record in record.audio.count >= offsets[400] })
        proxy.stop()
        await upstream.close()
        // Every frame relayed, in order, once (their index bytes count modulo 256).
        let audio = await listener.record.audio
        var indices: [Int] = []
        var at = 0
        while at < audio.count, let frame = ADTSFrame(audio[at...]), at + frame.length <= audio.count {
            indices.append(Int(audio[at + 7]))
            at += frame.length
        }
        #expect(links.value == 2)
        #expect(indices.count >= 390 && indices == (0..<indices.count).map { $0 % 256 },
                "\(indices.count) frames; first out of order at \(String(describing: zip(indices, 0...).first { $0.0 != $0.1 % 256 }))")
        #expect(lines.value.contains { $0.contains("were audio relayed before (the upstream's burst): left out") }, "\(lines.value)")
    }
}

extension ProxyTests {
    @Test("An upstream that sends a file at download speed and ends the link is told, once, as a file rather than a live stream")
    func upstreamSendingAFile_IsToldOnce() async throws {
        let file = variedADTSFrames(600)  // 14 s of audio, sent at once
        let upstream = try FakeUpstream(on: loop) { connection, _ in
            connection.write(Array("HTTP/1.0 200 OK\r\nContent-Type: audio/aac\r\n\r\n".utf8) + file)
            connection.close()
        }
        let (proxy, _, lines) = try await loggedProxy(upstream.url)
        #expect(await eventually(timeout: .seconds(10)) { upstream.requests.value.count >= 3 })
        proxy.stop()
        await upstream.close()
        let told = lines.value.filter { $0.contains("then ended the link: a file rather than a live stream?") }
        #expect(told.count == 1 && told[0].hasPrefix("proxy: the upstream sent 13.9 s of audio in "), "\(lines.value)")
    }
}

extension ProxyTests {
    @Test("A live link that ends seconds after its Icecast burst (12 s of audio at once, at 64 kbit/s, then the audio at its pace) is not told as a file")
    func liveLinkEndingAfterItsBurst_IsNotToldAsAFile() async throws {
        let upstream = try FakeUpstream(on: loop) { connection, _ in
            connection.write(Array("HTTP/1.0 200 OK\r\nContent-Type: audio/mpeg\r\n\r\n".utf8) + ProxyStreamChangeTests.frames(460, kbps: 64))
            // Then 4 frames (104 ms) every 100 ms, for 3 s, and the source drops: the link ends.
            @Sendable func write(_ left: Int) {
                guard !connection.isClosed else { return }
                guard left > 0 else { return connection.close() }
                connection.write(ProxyStreamChangeTests.frames(4, kbps: 64))
                connection.loop.schedule(after: .milliseconds(100)) { write(left - 1) }
            }
            write(30)
        }
        let (proxy, _, lines) = try await loggedProxy(upstream.url)
        #expect(await eventually(timeout: .seconds(15)) { upstream.requests.value.count >= 2 }, "the link ended, and was opened again")
        proxy.stop()
        await upstream.close()
        #expect(!lines.value.contains { $0.contains("a file rather than a live stream?") }, "\(lines.value)")
    }
}
