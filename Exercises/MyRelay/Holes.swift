// my-relay — before opening any socket, the cores you wrote are tried on a tiny made-up station. A hole that is
// still empty is named here, in one line, instead of failing later somewhere in the middle of the network code.

import Icy
import Kit
import Relay

/// What the relay found out about your chapter 3 cores by trying each one on a few bytes.
enum Holes {
    /// The file the holes are in.
    static let file = "Chapters/03-ClientAndProxy/Starter/Cores.swift"

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

    /// One sentence per hole that is empty or not working yet; none when the relay can run.
    static func problems() -> [String] {
        [proxyProblem(), replyProblem(), dataProblem()].compactMap { $0 }
    }

    /// `ProxyCore.receive(_:)` must turn the made-up station into a `.station` and a `.segment`.
    static func proxyProblem() -> String? {
        var core = ProxyCore()
        do {
            let events = try core.receive(station)
            if events == expectedEvents { return nil }
            return "ProxyCore.receive(_:) does not read a station yet (it gave \(events.count) events, expected .station then .segment(0, …))"
        } catch ExerciseError.notImplemented {
            return "ProxyCore.receive(_:) is still empty (it throws notImplemented)"
        } catch {
            return "ProxyCore.receive(_:) refuses a valid station (\(error))"
        }
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
            return "ClientCore.replyBytes(next:context:) does not tell a player who asked for titles its icy-metaint"
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
