import Icy
import Kit
import Relay
import Testing

/// A Shoutcast station's bytes: the reply, then `count` segments of `metaint` audio bytes; segment `i` holds
/// the byte `i` and the even ones change the title to "Song i".
func station(metaint: Int = 6, count: Int = 4) throws -> [UInt8] {
    var bytes: [UInt8] = []
    sendReply(["icy-name": "Casty FM", "icy-br": "64", "icy-metaint": String(metaint)], status: .icyOK) { bytes += $0 }
    for index in 0..<count {
        let title = index % 2 == 0 ? Metadata(streamTitle: "Song \(index)").bytes : []
        try sendData(Icy.Segment(audio: [UInt8](repeating: UInt8(index), count: metaint), metadata: title)) { bytes += $0 }
    }
    return bytes
}

/// A network of a proxy (`proxy`) and players at `addresses` that listen to it.
func relay(players addresses: String...) async -> (Network, Proxy, [Client]) {
    let network = Network()
    let proxy = Proxy(address: "proxy")
    await network.add(proxy)
    var players: [Client] = []
    for address in addresses {
        let player = Client(address: address, source: "proxy")
        await network.add(player)
        players.append(player)
    }
    return (network, proxy, players)
}

/// Cuts bytes into reads of `size`.
func reads(_ bytes: [UInt8], of size: Int) -> [[UInt8]] {
    stride(from: 0, to: bytes.count, by: size).map { Array(bytes[$0..<min($0 + size, bytes.count)]) }
}

/// What a player makes of the bytes it received: the reply's headers, and the segments read with `Icy`.
func play(_ bytes: [UInt8]) throws -> (headers: Headers, segments: [Icy.Segment])? {
    guard case .done(.ok(_, let headers, let data), let rest) = Icy.reply(bytes) else { return nil }
    var parser = StreamParser(data)
    var segments: [Icy.Segment] = []
    try parser.feed(rest) { segments.append($0) }
    return (headers, segments)
}

let titlesRequest = Array("GET /live HTTP/1.0\r\nIcy-MetaData: 1\r\n\r\n".utf8)
let plainRequest = Array("GET /live HTTP/1.0\r\n\r\n".utf8)

/// An expectation's message: the hole it checks, where that is, and what it expects of it — so that a hole still
/// returning its placeholder (no bytes) or throwing `notImplemented` is named when it fails.
func hole(_ function: String, _ what: String) -> Comment {
    "\(function) (Chapter 3, Starter/Cores.swift): \(what)"
}

/// Chapter 3: a proxy attached to a station and a client serving a player, talking through messages.
struct RelayChecks {
    @Test func proxy_readsTheStationsReply_thenNumbersItsSegments_whateverTheReads() throws {
        for size in [1, 3, 7, 1000] {
            var core = ProxyCore()
            var events: [ProxyEvent] = []
            for read in reads(try station(), of: size) { events += try core.receive(read) }
            #expect(events == [
                .station(Context(name: "Casty FM", segmentBytes: 6, bitrate: 64)),
                .segment(0, Kit.Segment(audio: [0, 0, 0, 0, 0, 0], title: "Song 0")),
                .segment(1, Kit.Segment(audio: [1, 1, 1, 1, 1, 1], title: nil)),
                .segment(2, Kit.Segment(audio: [2, 2, 2, 2, 2, 2], title: "Song 2")),
                .segment(3, Kit.Segment(audio: [3, 3, 3, 3, 3, 3], title: nil)),
            ], hole("ProxyCore.receive(_:)", "the station's context, then segments 0 to 3 with their titles, in reads of \(size) bytes (the bytes after the head in the same read are the first audio; the parser's state survives between reads)"))
        }
    }

    @Test func proxy_keepsAnEmptyTitle_whichClearsTheOneBefore() throws {
        var bytes: [UInt8] = []
        sendReply(["icy-name": "Casty FM", "icy-metaint": "4"], status: .icyOK) { bytes += $0 }
        try sendData(Icy.Segment(audio: [0, 0, 0, 0], metadata: Metadata(streamTitle: "Song 0").bytes)) { bytes += $0 }
        try sendData(Icy.Segment(audio: [1, 1, 1, 1], metadata: Metadata(streamTitle: "").bytes)) { bytes += $0 }
        var core = ProxyCore()
        let events = try core.receive(bytes)
        #expect(events.dropFirst() == [
            .segment(0, Kit.Segment(audio: [0, 0, 0, 0], title: "Song 0")),
            .segment(1, Kit.Segment(audio: [1, 1, 1, 1], title: "")),
        ], hole("ProxyCore.receive(_:)", "StreamTitle=''; is a title too — the station says nothing plays now — and is kept as \"\", not dropped: a player would keep showing the title before"))
    }

    @Test func proxy_cutsAStationWithoutMetaint_intoSegmentsOfItsOwnSize() throws {
        var core = ProxyCore(segmentBytes: 4)
        let events = try core.receive(Array("HTTP/1.0 200 OK\r\nContent-Type: audio/mpeg\r\n\r\n".utf8) + Array(1...9))
        #expect(events == [
            .station(Context(name: "", segmentBytes: 4, bitrate: 128)),
            .segment(0, Kit.Segment(audio: [1, 2, 3, 4])),
            .segment(1, Kit.Segment(audio: [5, 6, 7, 8])),
        ], hole("ProxyCore.receive(_:)", "no icy-metaint: no name, bitrate 128, segments of segmentBytes (4) from the bytes after the head, in the same read (they are the first audio); the 9th byte waits for more"))
    }

    @Test func proxy_reportsWhereAStationRedirects() throws {
        var core = ProxyCore()
        let events = try core.receive(Array("HTTP/1.0 302 Found\r\nLocation: http://elsewhere:8000/live\r\n\r\n".utf8))
        #expect(events == [.redirect("http://elsewhere:8000/live")], hole("ProxyCore.receive(_:)", "a 302 reply is a redirect to its Location"))
    }

    @Test func proxy_refusesAReplyThatIsNotAStream() {
        var core = ProxyCore()
        #expect(throws: IcyError.status(code: 404, reason: "Not Found"), hole("ProxyCore.receive(_:)", "a 404 is not a stream: it throws Icy's IcyError.status")) {
            try core.receive(Array("HTTP/1.0 404 Not Found\r\n\r\n".utf8))
        }
    }

    @Test func client_reply_announcesMetaint_onlyToPlayersThatAskedForTitles() throws {
        let context = Context(name: "Casty FM", segmentBytes: 8192, bitrate: 128)
        for (request, metaint) in [(titlesRequest, "8192"), (plainRequest, nil)] {
            guard case .done(let parsed, _) = Icy.request(request) else { Issue.record("bad request"); continue }
            var core = ClientCore(request: parsed)
            let reply = core.replyBytes(next: 0, context: context)
            // The starter's hole returns no bytes: named, as the holes that throw are.
            try #require(!reply.isEmpty, "ClientCore.replyBytes(next:context:) is still empty: write it (Chapter 3, Starter/Cores.swift)")
            let headers = try #require(try play(reply), hole("ClientCore.replyBytes(next:context:)", "a reply Icy can read")).headers
            let asked = metaint == nil ? "a player that did not ask for titles" : "a player that asked for titles (Icy-MetaData: 1)"
            #expect(headers["icy-metaint"] == metaint,
                    hole("ClientCore.replyBytes(next:context:)", "icy-metaint \(metaint ?? "left out") for \(asked)"))
            #expect(headers["icy-name"] == "Casty FM", hole("ClientCore.replyBytes(next:context:)", "icy-name, the context's name, for \(asked)"))
            #expect(headers["icy-br"] == "128", hole("ClientCore.replyBytes(next:context:)", "icy-br, the context's bitrate, for \(asked)"))
            #expect(headers["content-type"] == "audio/mpeg", hole("ClientCore.replyBytes(next:context:)", "Content-Type: audio/mpeg for \(asked)"))
        }
    }

    @Test func client_data_isFramedForThePlayer_withTitlesOnlyWhenAsked() throws {
        guard case .done(let wantsTitles, _) = Icy.request(titlesRequest),
              case .done(let plain, _) = Icy.request(plainRequest) else { Issue.record("bad request"); return }
        var titled = ClientCore(request: wantsTitles)
        var bare = ClientCore(request: plain)
        let segment = Kit.Segment(audio: [7, 7, 7], title: "Hello")
        #expect(try titled.dataBytes(0, segment) == [7, 7, 7, 2] + Array("StreamTitle='Hello';".utf8) + [UInt8](repeating: 0, count: 12),
                hole("ClientCore.dataBytes(_:_:)", "a player that asked for titles: the audio, then a metadata block of 2 × 16 bytes stating the segment's title"))
        #expect(try titled.dataBytes(1, Kit.Segment(audio: [8, 8, 8])) == [8, 8, 8, 0],
                hole("ClientCore.dataBytes(_:_:)", "a player that asked for titles: a segment with no title gets the audio and the single byte 0"))
        #expect(try bare.dataBytes(0, segment) == [7, 7, 7], hole("ClientCore.dataBytes(_:_:)", "a player that did not ask for titles: the audio alone"))
    }

    @Test func client_firstBlock_statesTheTitlePlayingWhenThePlayerJoined() throws {
        guard case .done(let wantsTitles, _) = Icy.request(titlesRequest),
              case .done(let plain, _) = Icy.request(plainRequest) else { Issue.record("bad request"); return }
        // "Song 2" was set two segments ago: segment 3, the first this player gets, carries no title of its own.
        let context = Context(name: "Casty FM", segmentBytes: 3, bitrate: 128, title: "Song 2")
        var titled = ClientCore(request: wantsTitles)
        _ = titled.replyBytes(next: 3, context: context)
        #expect(try titled.dataBytes(3, Kit.Segment(audio: [3, 3, 3])) == [3, 3, 3, 2] + Array("StreamTitle='Song 2';".utf8) + [UInt8](repeating: 0, count: 11),
                hole("ClientCore.dataBytes(_:_:)", "the first metadata block states the title of the reply's context (kept by ClientCore.replyBytes(next:context:)), which the player joined too late to hear set"))
        #expect(try titled.dataBytes(4, Kit.Segment(audio: [4, 4, 4])) == [4, 4, 4, 0], hole("ClientCore.dataBytes(_:_:)", "after the first block, only changes: a segment with no title gets the single byte 0"))
        var newer = ClientCore(request: wantsTitles)
        _ = newer.replyBytes(next: 3, context: context)
        #expect(try newer.dataBytes(3, Kit.Segment(audio: [3, 3, 3], title: "Song 3")) == [3, 3, 3, 2] + Array("StreamTitle='Song 3';".utf8) + [UInt8](repeating: 0, count: 11),
                hole("ClientCore.dataBytes(_:_:)", "a first segment that changes the title states its own, the newer one"))
        var bare = ClientCore(request: plain)
        _ = bare.replyBytes(next: 3, context: context)
        #expect(try bare.dataBytes(3, Kit.Segment(audio: [3, 3, 3])) == [3, 3, 3], hole("ClientCore.dataBytes(_:_:)", "a player that did not ask for titles gets none, not even the context's"))
    }

    /// A client of a player that asked for the plain stream, whose reply said that segment `next` comes next.
    func plainClient(next: Int) -> ClientCore? {
        guard case .done(let request, _) = Icy.request(plainRequest) else { return nil }
        var core = ClientCore(request: request)
        _ = core.replyBytes(next: next, context: Context(name: "x"))
        return core
    }

    @Test func client_countsAGap_whenANumberIsSkipped() throws {
        var core = try #require(plainClient(next: 5), "bad request")
        for number in [5, 6, 9, 10] { _ = try core.dataBytes(number, Kit.Segment(audio: [1])) }
        #expect(core.gaps == 1, hole("ClientCore.dataBytes(_:_:)", "5 and 6 as expected, then 7 and 8 missing: one gap"))
    }

    @Test func client_countsAGap_whenASingleNumberIsSkipped() throws {
        var core = try #require(plainClient(next: 5), "bad request")
        for number in [5, 6, 8] { _ = try core.dataBytes(number, Kit.Segment(audio: [1])) }
        #expect(core.gaps == 1, hole("ClientCore.dataBytes(_:_:)", "8 where 7 was expected: one segment missing is a gap too"))
    }

    @Test func client_countsAGap_whenTheFirstSegmentIsNotTheOneTheReplyPromised() throws {
        var core = try #require(plainClient(next: 5), "bad request")
        for number in [7, 8] { _ = try core.dataBytes(number, Kit.Segment(audio: [1])) }
        #expect(core.gaps == 1, hole("ClientCore.dataBytes(_:_:)", "the reply said 5 comes next (ClientCore.replyBytes(next:context:)): a first segment numbered 7 is a gap (5 and 6 are missing)"))
    }

    @Test func client_countsAGap_whenANumberComesAgainOrGoesBack() throws {
        var core = try #require(plainClient(next: 5), "bad request")
        for number in [5, 6, 6, 7] { _ = try core.dataBytes(number, Kit.Segment(audio: [1])) }
        #expect(core.gaps == 1, hole("ClientCore.dataBytes(_:_:)", "6 again where 7 was expected is a gap: any number other than the one expected"))
        for number in [3, 4] { _ = try core.dataBytes(number, Kit.Segment(audio: [1])) }
        #expect(core.gaps == 2, hole("ClientCore.dataBytes(_:_:)", "3 where 8 was expected is a gap too; 4 follows it"))
    }

    @Test func relay_aPlayerBehindClientAndProxy_hearsWhatTheStationSent() async throws {
        let (network, proxy, players) = await relay(players: "vlc", "browser")
        let (vlc, browser) = (players[0], players[1])
        // The players connect before the station has answered: they wait for its reply.
        await network.post(try await vlc.player(Array(titlesRequest.prefix(10))))
        await network.post(try await vlc.player(Array(titlesRequest.dropFirst(10))))
        await network.post(try await browser.player(plainRequest))
        for read in reads(try station(count: 5), of: 5) {
            await network.post(try await proxy.upstream(read))
            await network.run()
        }
        let heard = try #require(try play(await vlc.written),
                                 hole("ProxyCore.receive(_:) and ClientCore.replyBytes(next:context:)", "the player that asked for titles gets a reply Icy can read"))
        #expect(heard.headers["icy-metaint"] == "6",
                hole("ProxyCore.receive(_:) and ClientCore.replyBytes(next:context:)", "the station's icy-metaint, 6, passed on to the player that asked for titles"))
        #expect(heard.segments.map(\.audioBytes) == (0..<5).map { [UInt8](repeating: UInt8($0), count: 6) },
                hole("ProxyCore.receive(_:) and ClientCore.dataBytes(_:_:)", "the player that asked for titles hears the station's 5 segments of audio, in order"))
        #expect(heard.segments.map { Metadata(parsing: $0.metadata).streamTitle } == ["Song 0", nil, "Song 2", nil, "Song 4"],
                hole("ProxyCore.receive(_:) and ClientCore.dataBytes(_:_:)", "the player that asked for titles hears each title in the segment that set it"))
        let plain = try #require(try play(await browser.written),
                                 hole("ProxyCore.receive(_:) and ClientCore.replyBytes(next:context:)", "the player that did not ask for titles gets a reply Icy can read"))
        #expect(plain.headers["icy-metaint"] == nil,
                hole("ClientCore.replyBytes(next:context:)", "no icy-metaint for the player that did not ask for titles"))
        // No metaint: for Icy, the audio is still the unfinished first segment.
        #expect(plain.segments.isEmpty, hole("ClientCore.replyBytes(next:context:)", "without icy-metaint, Icy cuts the plain player's stream into no segments"))
        #expect(await browser.written.suffix(30) == (0..<5).flatMap { [UInt8](repeating: UInt8($0), count: 6) },
                hole("ProxyCore.receive(_:) and ClientCore.dataBytes(_:_:)", "the player that did not ask for titles gets the 5 segments' audio alone, no metadata blocks"))
        #expect(await vlc.gaps == 0, hole("ClientCore.dataBytes(_:_:)", "no gap counted by a player that got every segment in order"))
    }

    @Test func relay_aPlayerWhoJoinsAfterTheTitleWasSet_hearsItInItsFirstBlock() async throws {
        let (network, proxy, players) = await relay(players: "early", "late")
        let (early, late) = (players[0], players[1])
        await network.post(try await early.player(titlesRequest))
        // Segments 0 to 2 ("Song 0", nothing, "Song 2"), then the late player joins, then 3 (nothing) and 4 ("Song 4").
        let before = try station(count: 3), all = try station(count: 5)
        await network.post(try await proxy.upstream(before))
        await network.run()
        await network.post(try await late.player(titlesRequest))
        await network.run()
        await network.post(try await proxy.upstream(Array(all.dropFirst(before.count))))
        await network.run()
        let heard = try #require(try play(await late.written),
                                 hole("ProxyCore.receive(_:) and ClientCore.replyBytes(next:context:)", "the late player gets a reply Icy can read"))
        #expect(heard.segments.map(\.audioBytes) == [[3, 3, 3, 3, 3, 3], [4, 4, 4, 4, 4, 4]],
                hole("ProxyCore.receive(_:) and ClientCore.dataBytes(_:_:)", "the late player hears segments 3 and 4, cut after it joined"))
        #expect(heard.segments.map { Metadata(parsing: $0.metadata).streamTitle } == ["Song 2", "Song 4"],
                hole("ProxyCore.receive(_:) and ClientCore.dataBytes(_:_:)", "a player that joins while \"Song 2\" plays is told so in its first metadata block, then hears the changes"))
    }
}
