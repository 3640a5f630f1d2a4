import Icy
import Testing

@testable import Casty
@testable import CastyNet
@testable import CastyWire

/// Live HLS through a tree: a CDN may pull any node, so a root and its branch serve the same segment names with
/// the same bytes — for AAC too, whose timestamps count samples that the root tells its branch on the tree link.
extension StationServerTests {
    /// A root of one mount, `/live`, whose HLS segments last 1 s: 3 relay segments of 4,170 bytes (about 1 s at the
    /// 128 kbit/s assumed).
    func hlsRoot() throws -> StationServer {
        var configuration = StationServer.Configuration()
        configuration.sourcePassword = "hackme"
        configuration.mounts = ["/live"]
        configuration.segmentBytes = 4170
        configuration.options.hls.targetDuration = 1
        return try StationServer.startRoot(configuration, address: .loopback(port: 0), loop: loop)
    }

    /// A branch of `server`'s `/live` that takes its place at once, streaming when returned.
    func eagerBranch(of server: StationServer) async throws -> Branch.Running {
        var configuration = Branch.Configuration()
        configuration.backoff = .milliseconds(20)
        let branch = try Branch.serve(
            root: StreamURL(host: "127.0.0.1", port: server.address.port, path: "/live"), address: .loopback(port: 0), eager: true,
            configuration: configuration)
        #expect(await eventually(timeout: .seconds(10)) { await branch.branch.state == .streaming })
        return branch
    }

    @Test func anAACMountsBranch_JoiningSecondsLater_ServesTheRootsSegments_ByteForByte() async throws {
        let server = try hlsRoot()
        let frames = variedADTSFrames(1_400)  // about 32 s of AAC, whose frame sizes say nothing exact of its samples
        let joinAt = 30 * 4170
        let source = try await source(server, type: "audio/aac")
        #expect(await source.waitFor { String(decoding: $0, as: UTF8.self).hasPrefix("HTTP/1.1 100") })
        await sendPaced(source, Array(frames[..<joinAt]))

        // The branch joins seconds later, some 10 s into the stream: its count cannot start where the root's did.
        let branch = try await eagerBranch(of: server)
        await sendPaced(source, Array(frames[joinAt..<(joinAt + 60 * 4170)]))

        // The branch's live window, once it is served, and the root's: the names they share.
        let lists = Locked<(root: [String], branch: [String])>(([], []))
        #expect(await eventually(timeout: .seconds(10)) {
            let root = Self.segmentNames(await Self.fetch(server.address, "/live/index.m3u8"))
            let here = Self.segmentNames(await Self.fetch(branch.port.address, "/index.m3u8"))
            lists.update { $0 = (root, here) }
            return Set(root).intersection(here).count >= 4
        }, "\(lists.value)")
        let shared = lists.value.branch.filter(lists.value.root.contains)
        #expect(shared.allSatisfy { $0.hasSuffix(".aac") })
        for name in shared {
            let fromRoot = Self.body(await Self.fetch(server.address, "/live/" + name))
            let fromBranch = Self.body(await Self.fetch(branch.port.address, "/" + name))
            #expect(fromRoot.count > 1_000, "\(name) from the root")
            #expect(fromRoot == fromBranch ? true : false, "\(name): the root's and the branch's differ")
            #expect(ID3Tag.timestamp(in: fromRoot) == ID3Tag.timestamp(in: fromBranch))
        }
        await source.close()
        branch.stop()
        server.close()
    }

    @Test("An AAC mount's branch waiting for the source's first segment is told the root's count starts at the stream's first frame: the same names, byte for byte")
    func anAACMountsBranch_WaitingBeforeTheSource_ServesTheRootsSegmentNames() async throws {
        let server = try hlsRoot()
        var configuration = Branch.Configuration()
        configuration.backoff = .milliseconds(20)
        let frames = variedADTSFrames(700)
        let source = try await source(server, type: "audio/aac")
        #expect(await source.waitFor { String(decoding: $0, as: UTF8.self).hasPrefix("HTTP/1.1 100") })
        // The source is live, its first segment not cut yet: the branch asks, and waits for it.
        let branch = try Branch.serve(
            root: StreamURL(host: "127.0.0.1", port: server.address.port, path: "/live"), address: .loopback(port: 0), eager: true,
            configuration: configuration)
        try await Task.sleep(for: .milliseconds(300))
        await sendPaced(source, Array(frames[..<(40 * 4170)]))
        let lists = Locked<(root: [String], branch: [String])>(([], []))
        #expect(await eventually(timeout: .seconds(10)) {
            let root = Self.segmentNames(await Self.fetch(server.address, "/live/index.m3u8"))
            let here = Self.segmentNames(await Self.fetch(branch.port.address, "/index.m3u8"))
            lists.update { $0 = (root, here) }
            return root.count >= 4 && Set(root).intersection(here).count >= 4
        }, "\(lists.value)")
        for name in lists.value.branch.filter(lists.value.root.contains) {
            let fromRoot = Self.body(await Self.fetch(server.address, "/live/" + name))
            #expect(fromRoot == Self.body(await Self.fetch(branch.port.address, "/" + name)) ? true : false, "\(name)")
        }
        await source.close()
        branch.stop()
        server.close()
    }

    @Test("A source that leaves: the root publishes its last, shorter HLS segment, and its branch publishes the same at once")
    func aSourceThatLeaves_ItsLastShortSegment_IsPublishedByTheBranchToo() async throws {
        let server = try hlsRoot()
        let source = try await source(server)
        #expect(await source.waitFor { String(decoding: $0, as: UTF8.self).hasPrefix("HTTP/1.1 100") })
        await sendPaced(source, Self.silentFrames(40))
        let branch = try await eagerBranch(of: server)
        // 170 frames more: 210 in all, 5.49 s, then the source leaves: its last HLS segment lasts 0.49 s.
        await sendPaced(source, Self.silentFrames(170))
        try await Task.sleep(for: .milliseconds(300))
        await source.close()
        let last = Locked<String?>(nil), seen = Locked("")
        #expect(await eventually(timeout: .seconds(10)) {
            let listed = await HLSTreeFetch.playlist(server.address, "/live/index.m3u8")
            seen.update { $0 = listed }
            guard let duration = listed.split(separator: "\n").last(where: { $0.hasPrefix("#EXTINF:") }).flatMap({ Double($0.dropFirst(8).prefix { $0 != "," }) }),
                  duration < 0.9 else { return false }
            last.update { $0 = Self.segmentNames(Array(("HTTP/1.0 200 OK\r\n\r\n" + listed).utf8)).last }
            return true
        }, "the root publishes its short last segment: \(seen.value)")
        let name = try #require(last.value)
        #expect(await eventually(timeout: .seconds(5)) { await HLSTreeFetch.playlist(branch.port.address).contains(name) },
                "the branch lists \(name) too, without waiting for a next stream")
        let fromRoot = Self.body(await Self.fetch(server.address, "/live/" + name))
        let fromBranch = Self.body(await Self.fetch(branch.port.address, "/" + name))
        #expect(!fromRoot.isEmpty && fromRoot == fromBranch, "\(name): \(fromRoot.count) bytes at the root, \(fromBranch.count) at the branch")
        branch.stop()
        server.close()
    }

    @Test("A branch recording an AAC mount names its recording's segments as its live ones, and finishes the file as the stream ends at the root, its end coming down the link")
    func aBranchsRecording_NamedAsItsLiveSegments_FinishedWhenTheStreamEndsUpstream() async throws {
        let server = try hlsRoot()
        let directory = temporaryDirectory("branch-record-aac")
        let frames = variedADTSFrames(1_400)
        let source = try await source(server, type: "audio/aac")
        #expect(await source.waitFor { String(decoding: $0, as: UTF8.self).hasPrefix("HTTP/1.1 100") })
        await sendPaced(source, Array(frames[..<(10 * 4170)]))
        // A branch of every mount, recording /live: it joins some 2.5 s into the stream.
        var options = ClientOptions()
        options.recording.directory = directory
        options.recording.mounts = ["/live"]
        var configuration = Branch.Configuration()
        configuration.backoff = .milliseconds(20)
        let log = StationServerTests.Log()
        let branch = try Branch.serve(
            root: StreamURL(host: "127.0.0.1", port: server.address.port, path: "/"), address: .loopback(port: 0),
            configuration: configuration, options: options, logger: log.logger)
        #expect(await eventually(timeout: .seconds(10)) { await branch.mounts?.relays().map(\.mount).contains("/live") == true })
        await sendPaced(source, Array(frames[(10 * 4170)..<(40 * 4170)]))
        let lists = Locked<(live: [String], recorded: [String])>(([], []))
        #expect(await eventually(timeout: .seconds(10)) {
            let live = Self.segmentNames(await Self.fetch(branch.port.address, "/live/index.m3u8"))
            let recorded = recordings(in: directory).flatMap { base in
                (fileText(base + ".m3u8") ?? "").split(separator: "\n").filter { !$0.hasPrefix("#") }.map { String($0.split(separator: "/").last ?? "") }
            }
            lists.update { $0 = (live, recorded) }
            return Set(live).intersection(recorded).count >= 3
        }, "the recording's whole segments are the live ones: \(lists.value)")
        // Its whole segments are the branch's live ones — named so, and byte for byte (their timestamps too: the
        // recording counts as the live window does, at the clock the root told, not at an estimate of its own).
        let base = try #require(recordings(in: directory).first)
        for name in Set(lists.value.live).intersection(lists.value.recorded).sorted() {
            let live = Self.body(await Self.fetch(branch.port.address, "/live/" + name))
            let recorded = FileWriter.contents(of: base + "/" + name).map(Array.init) ?? []
            #expect(live.count > 1_000 && live == recorded, "\(name): \(live.count) bytes live, \(recorded.count) recorded")
        }
        await source.close()
        // The end comes down the link: the branch's file is finished then, not after a minute without audio.
        #expect(await eventually(timeout: .seconds(20)) { finished(in: directory).count == 1 }, "\(log.lines.value)")
        branch.stop()
        server.close()
    }

    @Test("A branch told absurd numbers by its parent (HLS numbers, next segment, bitrate, segment numbers and times) numbers its segments itself, instead of overflowing")
    func aBranchToldAbsurdHLSNumbers_NumbersItsOwn() async throws {
        let frames = Self.silentFrames(10)  // one relay segment of 4,170 bytes: 0.26 s
        let block = try metadataBlock(Array("CastySeq='9223372036854775807';CastyTime='-9223372036854775808';".utf8))
        let parent = try FakeUpstream(on: loop) { connection, _ in
            connection.write(Array(("HTTP/1.0 200 OK\r\nContent-Type: audio/mpeg\r\nicy-br: 9223372036854775807\r\nicy-metaint: 4170\r\n"
                + "X-Casty-Stream: 5f3a09c4d2b871e1\r\nX-Casty-Next: 9223372036854775807\r\nX-Casty-Path: 127.0.0.1:1\r\nX-Casty-HLS-Target: 1\r\n"
                + "X-Casty-HLS-Base: 9223372036854775807\r\nX-Casty-HLS-Discontinuity: 9223372036854775807\r\n"
                + "X-Casty-HLS-First: 9223372036854775807\r\n\r\n").utf8))
            streamICY(to: connection, metaint: 4170, count: 80, interval: .milliseconds(40)) { _ in frames + block }
        }
        var configuration = Branch.Configuration()
        configuration.backoff = .milliseconds(20)
        let branch = try Branch.serve(root: parent.url, address: .loopback(port: 0), eager: true, configuration: configuration)
        let names = Locked<[String]>([])
        #expect(await eventually(timeout: .seconds(10)) {
            let listed = Self.segmentNames(await Self.fetch(branch.port.address, "/index.m3u8"))
            names.update { $0 = listed }
            return listed.count >= 3
        }, "the branch's playlist: \(names.value)")
        #expect(names.value.allSatisfy { $0.hasPrefix("5f3a09c4-") })
        branch.stop()
        await parent.close()
    }

    /// What `path` answers at `address` (HTTP/1.0: the node closes when done), head included.
    static func fetch(_ address: SocketAddress, _ path: String) async -> [UInt8] {
        guard let peer = try? await TestPeer.connect(to: address, on: .shared) else { return [] }
        await peer.send("GET \(path) HTTP/1.0\r\n\r\n")
        _ = await eventually(timeout: .seconds(5)) { peer.closed.value }
        await peer.close()
        return peer.received.value
    }

    /// The body of an answer: what follows its head's blank line.
    static func body(_ answer: [UInt8]) -> [UInt8] {
        let end = Array("\r\n\r\n".utf8)
        guard let head = answer.indices.dropLast(3).first(where: { Array(answer[$0..<$0 + 4]) == end }) else { return [] }
        return Array(answer[(head + 4)...])
    }

    /// The segment names a live playlist lists (none unless it is answered `200`).
    static func segmentNames(_ answer: [UInt8]) -> [String] {
        let text = String(decoding: answer, as: UTF8.self)
        guard text.hasPrefix("HTTP/1.0 200") || text.hasPrefix("HTTP/1.1 200") else { return [] }
        return String(decoding: body(answer), as: UTF8.self).split(separator: "\n").map(String.init).filter { !$0.hasPrefix("#") }
    }
}

/// The live playlist a node serves at `path` (its root path's by default), as text (empty unless it answers `200`).
enum HLSTreeFetch {
    static func playlist(_ address: SocketAddress, _ path: String = "/index.m3u8") async -> String {
        let answer = await StationServerTests.fetch(address, path)
        let text = String(decoding: answer, as: UTF8.self)
        guard text.hasPrefix("HTTP/1.0 200") || text.hasPrefix("HTTP/1.1 200") else { return "" }
        return String(decoding: StationServerTests.body(answer), as: UTF8.self)
    }
}
