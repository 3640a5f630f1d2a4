import CastyNet
import CastyWire
import Testing

@testable import Casty

/// The root's stream is away — its relay lost its upstream — while its branches' links stay open: a newcomer at a
/// branch waits for the stream as it would at the root, and the branch's players hear it again when it is back.
/// The upstream may come back as another station: that is a new stream, told down the tree.
extension TreeMountsTests {
    /// A root relaying `upstream` at `/ice` (HLS segments of 1 s), a branch under it, and a player of the branch
    /// that plays.
    func playingAtABranch(
        _ upstream: AwayableStation, log: StationServerTests.Log
    ) async throws -> (server: StationServer, proxy: Proxy, branch: Branch.Running, player: TestPeer) {
        let (server, proxy, serving) = try await relayingRoot(upstream, log: log, branchLog: .init()) { $0.options.hls.targetDuration = 1 }
        let player = try await play("/ice", at: serving.port.address)
        #expect(await player.waitFor(timeout: .seconds(10)) { $0.count >= 6 * 4170 }, "the branch plays")
        return (server, proxy, serving, player)
    }

    /// A root of `/ice`, relaying `upstream` with a proxy that reconnects at once, and a branch of `/ice` under it.
    func relayingRoot(
        _ upstream: AwayableStation, log: StationServerTests.Log = .init(), branchLog: StationServerTests.Log, fanout: Int = 2,
        configure: (inout StationServer.Configuration) -> Void = { _ in }
    ) async throws -> (server: StationServer, proxy: Proxy, branch: Branch.Running) {
        let server = try stationRoot(["/ice"], segmentBytes: 4170, fanout: fanout, logger: log.logger, configure: configure)
        var relaying = Proxy.Configuration()
        relaying.segmentBytes = 4170
        relaying.backoff = .milliseconds(100)
        relaying.maxBackoff = .milliseconds(200)
        relaying.name = "/ice"  // as `server --relay /ice=…` names it
        let proxy = try Proxy(url: upstream.url, configuration: relaying, loop: .shared, logger: log.logger)
        server.attach(proxy, at: "/ice")
        await proxy.startInBackground()
        return (server, proxy, try mountBranch(of: server, path: "/ice", logger: branchLog.logger))
    }

    @Test("While the root's relay has no upstream, a branch's newcomer is told 503, and plays once the stream is back",
          arguments: [AwayableStation.Sound(), .aac()])
    func rootRelayAway_BranchNewcomersWait_ThenPlayWhenItIsBack(sound: AwayableStation.Sound) async throws {
        // AAC may go quiet: the branch's link waits for its parent then (30 s), and asks the root meanwhile.
        let upstream = try AwayableStation(on: .shared, sound: sound)
        let branchLog = StationServerTests.Log()
        let (server, proxy, serving) = try await relayingRoot(upstream, branchLog: branchLog)
        defer { server.close(); proxy.stop(); serving.stop() }
        let player = try await play("/ice", at: serving.port.address)
        #expect(await player.waitFor(timeout: .seconds(10)) { $0.count >= 6 * 4170 }, "the branch plays")

        // The relayed station goes away: the root's relay loses it, and the branch's link goes silent, kept.
        await upstream.goAway()
        #expect(await eventually(timeout: .seconds(10)) { branchLog.contains("has no stream now") }, "\(branchLog.lines.value)")
        // Its status says so, not "streaming" over a link kept open and quiet; its segment size and next number are
        // the stream's when it went, not zeros.
        #expect(await serving.branch.status == "waiting (the stream ended upstream)")
        let status = try await Upstream.fetchText(StreamURL(host: "127.0.0.1", port: serving.port.address.port, path: "/status.json"))
        #expect(status.contains("\"stream\":\"\"") && status.contains("\"segment_bytes\":4170") && !status.contains("\"next\":0,"), "\(status)")
        let newcomer = try await play("/ice", at: serving.port.address)
        #expect(await newcomer.waitFor(timeout: .seconds(15)) { String(decoding: $0, as: UTF8.self).contains("\r\n\r\n") })
        #expect(newcomer.text.hasPrefix("HTTP/1.0 503") && newcomer.text.contains("Retry-After:"), "\(newcomer.text.prefix(200))")

        // Back: the branch's player hears it again on its connection, and a newcomer plays.
        upstream.comeBack()
        let heard = player.received.value.count
        #expect(await player.waitFor(timeout: .seconds(10)) { $0.count >= heard + 6 * 4170 }, "the stream comes again")
        #expect(!player.closed.value)
        let later = try await play("/ice", at: serving.port.address)
        #expect(await later.waitFor(timeout: .seconds(10)) { $0.count >= 3 * 4170 }, "\(later.text.prefix(200))")
        await upstream.close()
    }

    @Test("The root gone (killed), a branch two links below it, whose parent's link stays open and quiet (AAC), has its newcomers wait: its parent tells it the stream ended once its own parent stayed away")
    func rootGone_ABranchTwoLinksBelow_HasItsNewcomersWait() async throws {
        let upstream = try AwayableStation(on: .shared, sound: .aac())
        let branchLog = StationServerTests.Log(), leafLog = StationServerTests.Log()
        // One place at the root: the second branch is sent under the first.
        let (server, proxy, first) = try await relayingRoot(upstream, branchLog: branchLog, fanout: 1)
        defer { proxy.stop(); first.stop() }
        let firstPlayer = try await play("/ice", at: first.port.address)
        #expect(await firstPlayer.waitFor(timeout: .seconds(10)) { $0.count >= 4 * 4170 }, "the first branch plays")
        let leaf = try mountBranch(of: server, path: "/ice", logger: leafLog.logger)
        defer { leaf.stop() }
        let player = try await play("/ice", at: leaf.port.address)
        #expect(await player.waitFor(timeout: .seconds(10)) { $0.count >= 4 * 4170 }, "the leaf plays")
        #expect(try await treeLine(leaf.port.address, mount: "/ice")["depth"] == "2", "the leaf is under the first branch")
        #expect(try await treeLine(first.port.address, mount: "/ice")["root"] == nil, "a placed branch names no root to ask")

        // The root goes, as a killed process's connections close; the first branch's link to the leaf stays open.
        server.close()
        proxy.stop()
        #expect(await eventually(timeout: .seconds(15)) { leafLog.contains("the stream ended upstream") }, "\(leafLog.lines.value)")
        // The first branch, its parent gone and its root not answering, is no root of a tree of its own.
        #expect(await eventually(timeout: .seconds(5)) {
            let orphan = try? await self.treeLine(first.port.address, mount: "/ice")
            return orphan?["root"] == server.address.description && orphan?["parent"] == "-"
        })
        let newcomer = try await play("/ice", at: leaf.port.address)
        #expect(await newcomer.waitFor(timeout: .seconds(15)) { String(decoding: $0, as: UTF8.self).contains("\r\n\r\n") })
        #expect(newcomer.text.hasPrefix("HTTP/1.0 503"), "not the seconds before the loss, then silence: \(newcomer.text.prefix(120))")
        #expect(!player.closed.value, "the leaf's player stays, for the stream's return")
        await upstream.close()
    }

    @Test("When the root's source leaves, a branch's newcomer waits at once (the stream's end comes down the link): 503, not a burst and silence")
    func rootSourceLeaves_BranchNewcomersWaitAtOnce() async throws {
        let station = StationServerTests()
        let server = try stationRoot(["/live"], segmentBytes: 4170, sourceTimeout: .seconds(30))
        defer { server.close() }
        let source = try await station.source(server)
        #expect(await source.waitFor { String(decoding: $0, as: UTF8.self).hasPrefix("HTTP/1.1 100") })
        let feeding = station.keepFeeding(source)
        let serving = try mountBranch(of: server, path: "/live", logger: .silent)
        defer { serving.stop() }
        let player = try await play("/live", at: serving.port.address)
        #expect(await player.waitFor(timeout: .seconds(10)) { $0.count >= 6 * 4170 }, "the branch plays")
        feeding.cancel()
        await feeding.value
        await source.close()
        try await Task.sleep(for: .milliseconds(300))  // well inside the link's silence deadline (a few segments)
        let newcomer = try await play("/live", at: serving.port.address)
        #expect(await newcomer.waitFor(timeout: .seconds(15)) { String(decoding: $0, as: UTF8.self).contains("\r\n\r\n") })
        #expect(newcomer.text.hasPrefix("HTTP/1.0 503"), "\(newcomer.text.prefix(120)) after \(newcomer.received.value.count) bytes")
        #expect(!player.closed.value, "its player stays, waiting for the next stream")
        // Its status says so, not "streaming" over a link that carries nothing.
        #expect(await serving.branch.status == "waiting (the stream ended upstream)")
        let status = try await Upstream.fetchText(StreamURL(host: "127.0.0.1", port: serving.port.address.port, path: "/status.json"))
        #expect(status.contains("\"upstream\":\"waiting (the stream ended upstream)\""), "\(status)")
        // And its place in the tree is kept: still one link below the root, not a root of its own.
        let line = try await treeLine(serving.port.address)
        #expect(line["depth"] == "1" && line["parent"] == "127.0.0.1:\(server.address.port)", "\(line)")
    }

    @Test("A relayed station that comes back as another (AAC, another name) is a new stream: newcomers at the root and at a branch are told its type and name, the branch's MP3 player is let go, and HLS goes on in AAC")
    func relayedStationBackAsAnother_IsANewStream_ToldDownTheTree() async throws {
        let upstream = try AwayableStation(on: .shared)
        let log = StationServerTests.Log()
        let (server, proxy, serving, player) = try await playingAtABranch(upstream, log: log)
        defer { server.close(); proxy.stop(); serving.stop() }
        #expect(await eventually(timeout: .seconds(15)) {
            StationServerTests.segmentNames(await StationServerTests.fetch(server.address, "/ice/index.m3u8")).contains { $0.hasSuffix(".mp3") }
        })

        await upstream.goAway()
        upstream.comeBack(as: .aac(name: "Station B"))
        #expect(await eventually(timeout: .seconds(10)) { log.contains("came back as another stream (Content-Type audio/mpeg → audio/aac, icy-name Awayable → Station B)") },
                "\(log.lines.value)")
        #expect(await eventually(timeout: .seconds(10)) { player.closed.value }, "the branch's player, told audio/mpeg, is let go to come back")
        // The relay's line says the new stream; the mount's distributor, its branch link let go with the codec, says
        // nothing beside it — and no line says its players play on.
        #expect(!log.contains("distributor: new stream") && !log.contains("listeners play on"),
                "players told another codec do not play on: \(log.lines.value.filter { $0.contains("new stream") })")
        for address in [server.address, serving.port.address] {
            let (told, head) = await newcomerIsTold(at: address) { $0.contains("Content-Type: audio/aac") && $0.contains("icy-name: Station B") }
            #expect(told, "\(address): \(head)")
        }
        #expect(await eventually(timeout: .seconds(20)) {
            StationServerTests.segmentNames(await StationServerTests.fetch(server.address, "/ice/index.m3u8")).contains { $0.hasSuffix(".aac") }
        }, "HLS goes on in AAC")
        await upstream.close()
    }

    @Test("A relayed station that comes back with the same headers in another channel count (an encoder reconnecting in mono) is a new stream: said in one line, and HLS goes on under another stream's name after a discontinuity, at the root and at a branch")
    func relayedStationBackInAnotherShape_IsANewStream_WithAnHLSDiscontinuity() async throws {
        let upstream = try AwayableStation(on: .shared)
        let log = StationServerTests.Log()
        let (server, proxy, serving, player) = try await playingAtABranch(upstream, log: log)
        defer { server.close(); proxy.stop(); serving.stop() }
        let before = Locked<[UInt16: String]>([:])
        for address in [server.address, serving.port.address] {
            #expect(await eventually(timeout: .seconds(20)) {
                guard let name = StationServerTests.segmentNames(await StationServerTests.fetch(address, "/ice/index.m3u8")).last else { return false }
                before.update { $0[address.port] = Self.streamName(name) }
                return true
            }, "HLS at \(address)")
        }

        await upstream.goAway()
        upstream.comeBack(as: AwayableStation.Sound(tenth: { StationServerTests.monoFrames(4) }))
        #expect(await eventually(timeout: .seconds(10)) {
            log.contains("proxy: the upstream came back in 44100 Hz mono, after 44100 Hz stereo: another stream, which listeners are told;"
                + " some players (VLC, a browser's <audio>) cannot follow such a change")
        }, "\(log.lines.value.suffix(8))")
        for address in [server.address, serving.port.address] {
            let playlist = Locked("")
            #expect(await eventually(timeout: .seconds(20)) {
                let answer = await StationServerTests.fetch(address, "/ice/index.m3u8")
                playlist.update { $0 = String(decoding: answer, as: UTF8.self) }
                let names = StationServerTests.segmentNames(answer)
                return names.contains { Self.streamName($0) != before.value[address.port] }
                    && playlist.value.split(separator: "\n").contains("#EXT-X-DISCONTINUITY")
            }, "\(address): \(playlist.value)")
        }
        #expect(!player.closed.value, "the same codec: the branch's player plays on")
        await upstream.close()
    }

    @Test("A relayed station whose frames go on in another channel count on the same link is a new stream too: said in one line, HLS goes on after a discontinuity, the player plays on")
    func relayedStationChangingShapeOnTheSameLink_IsANewStream() async throws {
        let upstream = try AwayableStation(on: .shared)
        let log = StationServerTests.Log()
        let (server, proxy, serving, player) = try await playingAtABranch(upstream, log: log)
        defer { server.close(); proxy.stop(); serving.stop() }
        #expect(await eventually(timeout: .seconds(20)) {
            !StationServerTests.segmentNames(await StationServerTests.fetch(server.address, "/ice/index.m3u8")).isEmpty
        }, "HLS at the root")

        upstream.goOn { StationServerTests.monoFrames(4) }
        #expect(await eventually(timeout: .seconds(10)) {
            log.contains("proxy: the audio went on in 44100 Hz mono after 44100 Hz stereo: another stream, which listeners are told;")
        }, "\(log.lines.value.suffix(8))")
        #expect(!log.contains("audio frames broken"), "a change of shape is no broken frame")
        let playlist = Locked("")
        #expect(await eventually(timeout: .seconds(20)) {
            let answer = await StationServerTests.fetch(server.address, "/ice/index.m3u8")
            playlist.update { $0 = String(decoding: answer, as: UTF8.self) }
            return playlist.value.split(separator: "\n").contains("#EXT-X-DISCONTINUITY")
        }, "\(playlist.value)")
        #expect(!player.closed.value, "the same codec: the branch's player plays on")
        await upstream.close()
    }

    /// The stream an HLS segment's name names: `3fa2c1d0` of `3fa2c1d0-41.mp3`.
    static func streamName(_ segment: String) -> String {
        String(segment.split(separator: "/").last?.prefix { $0 != "-" } ?? "")
    }

    /// Whether a newcomer asking `address` for `/ice` is told, within 10 s of asking again and again, a head that
    /// `told` accepts (what it heard: its reply head and first audio); and the last head it was told.
    func newcomerIsTold(at address: SocketAddress, _ told: @escaping @Sendable (String) -> Bool) async -> (Bool, String) {
        let heads = Locked("")
        let accepted = await eventually(timeout: .seconds(10)) {
            let newcomer = try? await self.play("/ice", at: address)
            guard let newcomer, await newcomer.waitFor(timeout: .seconds(3), { $0.count > 4170 }) else { return false }
            heads.update { $0 = String(newcomer.text.prefix(400)) }
            await newcomer.close()
            return told(newcomer.text)
        }
        return (accepted, heads.value)
    }

    @Test("A relayed station that sends no icy-name is named by the relay's mount, at the root and at a branch of it (VLC asks a stream without a name for no titles)")
    func relayedStationWithoutAName_IsNamedByItsMount_DownTheTree() async throws {
        let upstream = try AwayableStation(on: .shared, sound: AwayableStation.Sound(name: nil))
        let (server, proxy, serving) = try await relayingRoot(upstream, branchLog: .init())
        defer { server.close(); proxy.stop(); serving.stop() }
        for address in [server.address, serving.port.address] {
            let (told, head) = await newcomerIsTold(at: address) { $0.contains("icy-name: /ice\r\n") && $0.contains("icy-metaint:") }
            #expect(told, "\(address): \(head)")
        }
        await upstream.close()
    }

    @Test("A player that gives up while the root's relay has lost its upstream is told to have waited while the stream was away, not for one that had not started")
    func playerGivingUpWhileTheRelayIsAway_IsToldSo() async throws {
        let upstream = try AwayableStation(on: .shared)
        let log = StationServerTests.Log()
        let (server, proxy, serving) = try await relayingRoot(upstream, log: log, branchLog: .init())
        defer { server.close(); proxy.stop(); serving.stop() }
        let player = try await play("/ice", at: server.address)
        #expect(await player.waitFor(timeout: .seconds(10)) { $0.count >= 4 * 4170 }, "the root plays")
        await upstream.goAway()
        #expect(await eventually(timeout: .seconds(10)) { log.contains("upstream lost") }, "\(log.lines.value.suffix(6))")
        let impatient = try await play("/ice", at: server.address)
        try await Task.sleep(for: .milliseconds(300))  // waiting, well within the start wait (3 s)
        await impatient.close()
        #expect(await eventually(timeout: .seconds(5)) { log.contains("s waiting for /ice while the stream was away") },
                "\(log.lines.value.suffix(6))")
        #expect(!log.contains("which had not started") && !log.contains("before the stream had started"))
        await upstream.close()
    }
}
