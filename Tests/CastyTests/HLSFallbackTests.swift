import Testing

@testable import Casty
@testable import CastyNet

/// The live HLS of a mount that plays its fallback: the fallback's segments, as the fallback publishes them.
extension StationServerTests {
    @Test("A quiet AAC fallback that takes over a mount mid-stream is republished as it is: a segment's name holds the fallback's bytes and date, in the fallback's numbering")
    func aacFallbackTakingOver_KeepsItsSegmentsNamesBytesAndDates() async throws {
        let server = try server(fallbacks: ["/live": "/backup"]) { $0.options.hls.targetDuration = 1 }
        defer { server.close() }
        // 100-byte frames of 1,024 samples: some 34 kbit/s, in a stream that says 128 — its bytes say nothing of
        // where its frames play.
        let frames = adtsFrames(4, length: 100)
        let (backup, feedingBackup) = try await feedingSource(server, mount: "/backup", type: "audio/aac", with: frames)
        defer { feedingBackup.cancel() }
        try await Task.sleep(for: .seconds(3))
        // /live's own source plays a moment, and leaves: /live plays /backup, from well into its stream.
        let (live, feedingLive) = try await feedingSource(server, mount: "/live", type: "audio/aac", with: frames)
        let own = Locked("")
        #expect(await eventually(timeout: .seconds(20)) {
            let names = Self.dated(Self.answerBody(await (try? self.fetchRaw(server, "/live/index.m3u8")) ?? [])).map(\.name)
            let backupNames = Self.dated(Self.answerBody(await (try? self.fetchRaw(server, "/backup/index.m3u8")) ?? [])).map(\.name)
            guard let last = names.last, let theirs = backupNames.last, last.prefix(8) != theirs.prefix(8) else { return false }
            own.update { $0 = String(last.prefix(8)) }
            return true
        }, "/live's own source is published")
        feedingLive.cancel()
        await live.close()
        let stream = Locked<[(name: String, date: String)]>([])
        let window = Locked(0)
        #expect(await eventually(timeout: .seconds(20)) {
            let listed = Self.dated(Self.answerBody(await (try? self.fetchRaw(server, "/live/index.m3u8")) ?? []))
            // After the last discontinuity: /live played /backup before its source came too.
            let after = listed[(listed.lastIndex { $0.discontinuity } ?? listed.endIndex)...].map { ($0.name, $0.date) }
            stream.update { $0 = after }
            window.update { $0 = listed.count }
            return after.count >= 3 && !after.contains { $0.0.hasPrefix(own.value) }
        }, "\(stream.value)")
        // Numbered on from /live's own segments (a jump in the numbers would leave those out of the window).
        #expect(window.value > stream.value.count, "the window goes on across the takeover: \(stream.value)")
        let backupListed = Self.dated(Self.answerBody(try await fetchRaw(server, "/backup/index.m3u8")))
        let backupDates = Dictionary(backupListed.map { ($0.name, $0.date) }, uniquingKeysWith: { first, _ in first })
        let shared = stream.value.filter { backupDates[$0.name] != nil }
        #expect(!shared.isEmpty, "/live lists /backup's segments under their names: \(stream.value) against \(backupListed.map(\.name))")
        for segment in shared {
            #expect(segment.date == backupDates[segment.name], "\(segment.name): the date it has on /backup")
            let here = Self.answerBody(try await fetchRaw(server, "/live/\(segment.name)"))
            let there = Self.answerBody(try await fetchRaw(server, "/backup/\(segment.name)"))
            #expect(!here.isEmpty && here == there, "\(segment.name): the bytes it has on /backup")
        }
        _ = backup
    }

    /// The raw answer to `GET path`.
    private func fetchRaw(_ server: StationServer, _ path: String) async throws -> [UInt8] {
        let peer = try await TestPeer.connect(to: server.address, on: loop)
        await peer.send("GET \(path) HTTP/1.0\r\n\r\n")
        _ = await eventually { peer.closed.value }
        return peer.received.value
    }

    /// The body of a raw answer (empty unless it is `200`).
    private static func answerBody(_ answer: [UInt8]) -> [UInt8] {
        guard answer.starts(with: Array("HTTP/1.0 200".utf8)) else { return [] }
        let end = Array("\r\n\r\n".utf8)
        guard let head = (0...(answer.count - end.count)).first(where: { Array(answer[$0..<$0 + end.count]) == end }) else { return [] }
        return Array(answer[(head + end.count)...])
    }

    /// The segments a playlist lists, with their dates, and whether a discontinuity comes before each.
    private static func dated(_ playlist: [UInt8]) -> [(name: String, date: String, discontinuity: Bool)] {
        var listed: [(name: String, date: String, discontinuity: Bool)] = []
        var date = "", discontinuity = false
        for line in String(decoding: playlist, as: UTF8.self).split(separator: "\n").map(String.init) {
            if line.hasPrefix("#EXT-X-PROGRAM-DATE-TIME:") { date = String(line.dropFirst(25)) }
            if line == "#EXT-X-DISCONTINUITY" { discontinuity = true }
            if !line.hasPrefix("#") {
                listed.append((line, date, discontinuity))
                discontinuity = false
            }
        }
        return listed
    }
}
