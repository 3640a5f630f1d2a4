// my-relay — before opening any socket, the cores you wrote are tried on a tiny made-up station. A hole that is
// still empty is named here, in one line, instead of failing later somewhere in the middle of the network code.

import FanOut
import Icy
import Kit
import Relay
import Tree

/// What the relay found out about your cores by trying each one on a few bytes.
enum Holes {
    /// Where chapter 3's holes are.
    static let chapter3 = "Chapters/03-ClientAndProxy/Starter/Cores.swift"
    /// Where chapter 4's holes are.
    static let chapter4 = "Chapters/04-Distributor/Starter/Holes.swift"
    /// Where chapter 5's holes are.
    static let chapter5 = "Chapters/05-Tree/Starter/Holes.swift"

    /// A made-up station: a reply with `icy-metaint: 4`, then four bytes of audio and a block with a title.
    static let station = Array("ICY 200 OK\r\nicy-name: Preflight\r\nicy-metaint: 4\r\n\r\n".utf8) + segmentOnTheWire

    /// One segment as a station and a player see it: four bytes of audio, the length byte (2: 32 bytes follow),
    /// `StreamTitle='Hello';` and NUL padding.
    static let segmentOnTheWire: [UInt8] = [1, 2, 3, 4] + ((try? metadataBlock(Metadata(streamTitle: "Hello").bytes)) ?? [])

    /// What a working ``ProxyCore`` makes of ``station``.
    static let expectedEvents: [ProxyEvent] = [
        .station(Context(name: "Preflight", segmentBytes: 4, bitrate: 128)),
        .segment(0, Kit.Segment(audio: [1, 2, 3, 4], title: "Hello")),
    ]

    /// One problem per hole that is empty or not working yet, with its chapter; none when the relay can run.
    /// With `tree`, chapter 5's holes too: a root places branches (``Seats``), a branch also follows redirects
    /// (``Route``).
    static func problems(distributor: Bool, tree: TreeRole? = nil) -> [(chapter: Int, text: String)] {
        let chapter3 = [proxyProblem(), replyProblem(), dataProblem()].compactMap { $0 }.map { (3, $0) }
        let chapter4 = distributor ? [offerProblem(), deliverProblem()].compactMap { $0 }.map { (4, $0) } : []
        let chapter5: [String?] = switch tree {
        case nil: []
        case .root: [seatsProblem()]
        case .branch: [seatsProblem(), routeProblem()]
        }
        return chapter3 + chapter4 + chapter5.compactMap { $0 }.map { (5, $0) }
    }

    /// The one line that tells the student what to do: the holes, then the files they are in and their checks.
    static func report(_ problems: [(chapter: Int, text: String)]) -> String {
        let files = [(3, chapter3), (4, chapter4), (5, chapter5)].filter { chapter, _ in problems.contains { $0.chapter == chapter } }
            .map { chapter, file in "\(file) (swift test --filter Chapter0\(chapter)Checks)" }
        return "not done yet: \(problems.map(\.text).joined(separator: "; ")). Fill in "
            + "\(files.joined(separator: " and ")), or hear the reference solution with CASTY_SOLUTIONS=1"
    }

    /// `SendBuffer.offer(_:)` must take a segment into an empty buffer.
    static func offerProblem() -> String? {
        var buffer = SendBuffer(capacity: 100)
        return buffer.offer(10) && buffer.queued == 10 ? nil : "SendBuffer.offer(_:) is still empty (an empty buffer takes nothing)"
    }

    /// `DistributorCore.deliver(_:_:)` must hand a segment to its one listener.
    static func deliverProblem() -> String? {
        var core = DistributorCore(address: "relay", sendBuffer: 100, burst: 1)
        core.sourceReplied(next: 0, context: Context(name: "Preflight", segmentBytes: 4))
        _ = core.request(from: "player")
        let segment = Kit.Segment(audio: [1, 2, 3, 4])
        let sent = core.deliver(0, segment)
        if sent == [Envelope(from: "relay", to: "player", .data(0, segment))] { return nil }
        return sent.isEmpty
            ? "DistributorCore.deliver(_:_:) is still empty (it sends nothing)"
            : "DistributorCore.deliver(_:_:) does not send one data(0, …) to its one listener yet"
    }

    /// `Seats.place(_:)` must take two branches — seating once a branch that asks twice, as one that lost its
    /// answer does — then send the third to the first of them.
    static func seatsProblem() -> String? {
        var seats = Seats(capacity: 2)
        let answers = ["a", "a", "b", "c"].map { seats.place($0) }
        if answers == [.accept, .accept, .accept, .redirect(to: "a")], seats.children == ["a", "b"] { return nil }
        if answers == [.accept, .accept, .accept, .accept] && seats.children.isEmpty {
            return "Seats.place(_:) is still empty (it accepts every branch and keeps none as a child)"
        }
        if seats.children.count > Set(seats.children).count {
            return "Seats.place(_:) gives a branch that asks twice two seats (children \(seats.children)): look for a known child before looking for room"
        }
        if seats.children == ["a", "b"], answers.prefix(3) == [.accept, .accept, .accept] {
            return "Seats.place(_:) sends the third branch to \(answers[3]) instead of redirect(to: \"a\"): a child asking again must not move the turn"
        }
        return "Seats.place(_:) does not take two children and then redirect the third to the first yet"
    }

    /// `Route.follow(_:)` must follow a redirect, and refuse one back to a node already asked.
    static func routeProblem() -> String? {
        var route = Route(start: "x")
        do {
            guard try route.follow("y") == "y" else { return "Route.follow(_:) does not return the node to ask next yet" }
            let next = try route.follow("x")
            return next == "x"
                ? "Route.follow(_:) is still empty (it follows a redirect back to a node already asked, round in a loop)"
                : "Route.follow(_:) does not refuse a redirect back to a node already asked yet"
        } catch .loop(let path) {
            return path == ["x", "y", "x"] ? nil : "Route.follow(_:) reports the loop x → y → x as \(path)"
        } catch {
            return "Route.follow(_:) refuses a redirect it should follow (\(error))"
        }
    }

    /// `ProxyCore.receive(_:)` must turn the made-up station into a `.station` and a `.segment`: in one read, and
    /// in the reads a real station's bytes come in — one byte at a time, and pieces of odd sizes, which cut the
    /// reply's head and the segment anywhere. A core that passes the one read but not the pieces loses its state
    /// between reads: it plays a local station, whose bytes often come in one read, and breaks on a real one.
    static func proxyProblem() -> String? {
        let whole: [ProxyEvent]
        do {
            whole = try events(ofReads: [station])
        } catch ExerciseError.notImplemented {
            return "ProxyCore.receive(_:) is still empty (it throws notImplemented)"
        } catch {
            return "ProxyCore.receive(_:) refuses a valid station (\(error))"
        }
        if whole == Array(expectedEvents.prefix(1)) {
            return "ProxyCore.receive(_:) drops the audio that came in the same read as the reply (it gave .station and no segment): "
                + "the bytes after the head are the first audio, feed them to the StreamParser"
        }
        guard whole == expectedEvents else {
            return "ProxyCore.receive(_:) does not read a station yet (it gave \(describe(whole)), expected .station then .segment(0, …))"
        }
        for size in [1, 3, 5, 7] {
            let pieces = stride(from: 0, to: station.count, by: size).map { Array(station[$0..<min($0 + size, station.count)]) }
            let what = size == 1 ? "one byte at a time" : "in reads of \(size) bytes"
            do {
                let events = try events(ofReads: pieces)
                if events == expectedEvents { continue }
                return "ProxyCore.receive(_:) reads the made-up station in one read, but \(what) it gives \(describe(events)): "
                    + "the parser's state must survive between reads — keep the StreamParser in the core and store it back after "
                    + "feeding it (a `var` copy of it is lost when receive returns)"
            } catch {
                return "ProxyCore.receive(_:) reads the made-up station in one read, but \(what) it refuses it (\(error)): "
                    + "the parser's state must survive between reads — keep the reply's continuation in the core until the head is "
                    + "complete (Icy.reply started again in the middle of a head reads garbage)"
            }
        }
        return nil
    }

    /// What a new ``ProxyCore`` makes of `reads`, fed one after the other.
    static func events(ofReads reads: [[UInt8]]) throws -> [ProxyEvent] {
        var core = ProxyCore()
        var events: [ProxyEvent] = []
        for read in reads { events += try core.receive(read) }
        return events
    }

    /// `events` in a few words: `.station, .segment(0, …)`, or `no event`.
    static func describe(_ events: [ProxyEvent]) -> String {
        guard !events.isEmpty else { return "no event" }
        return events.map { event in
            switch event {
            case .redirect: ".redirect"
            case .station: ".station"
            case .segment(let number, _): ".segment(\(number), …)"
            }
        }.joined(separator: ", ")
    }

    /// A request from a player that asks for titles, as a media player sends it.
    static func playerRequest() -> Request? {
        if case .done(let request, _) = Icy.request(Array("GET / HTTP/1.0\r\nIcy-MetaData: 1\r\n\r\n".utf8)) {
            return request
        }
        return nil
    }

    /// `ClientCore.replyBytes(next:context:)` must write a `200` reply.
    static func replyProblem() -> String? {
        guard let request = playerRequest() else { return "the player's request could not be parsed" }
        var core = ClientCore(request: request)
        let bytes = core.replyBytes(next: 0, context: Context(name: "Preflight", segmentBytes: 4))
        if bytes.isEmpty { return "ClientCore.replyBytes(next:context:) is still empty (it returns no bytes)" }
        let text = String(decoding: bytes, as: UTF8.self)
        guard text.hasPrefix("ICY 200 OK\r\n") || text.hasPrefix("HTTP/1.0 200 OK\r\n") || text.hasPrefix("HTTP/1.1 200 OK\r\n"),
              text.hasSuffix("\r\n\r\n")
        else { return "ClientCore.replyBytes(next:context:) does not write a 200 reply ending in an empty line yet" }
        guard text.lowercased().contains("icy-metaint: 4\r\n") else {
            let told = text.split(separator: "\r\n").first { $0.lowercased().hasPrefix("icy-metaint:") }
            return told.map { "ClientCore.replyBytes(next:context:) tells \($0) where the segments hold 4 bytes: icy-metaint is the segment's size" }
                ?? "ClientCore.replyBytes(next:context:) does not tell a player who asked for titles its icy-metaint"
        }
        return nil
    }

    /// `ClientCore.dataBytes(_:_:)` must write the audio and then the metadata block.
    static func dataProblem() -> String? {
        guard let request = playerRequest() else { return "the player's request could not be parsed" }
        var core = ClientCore(request: request)
        _ = core.replyBytes(next: 0, context: Context(name: "Preflight", segmentBytes: 4))
        do {
            let bytes = try core.dataBytes(0, Kit.Segment(audio: [1, 2, 3, 4], title: "Hello"))
            if bytes == segmentOnTheWire { return nil }
            return "ClientCore.dataBytes(_:_:) does not write the audio then the metadata block yet"
        } catch ExerciseError.notImplemented {
            return "ClientCore.dataBytes(_:_:) is still empty (it throws notImplemented)"
        } catch {
            return "ClientCore.dataBytes(_:_:) throws \(error) for a valid segment"
        }
    }
}
