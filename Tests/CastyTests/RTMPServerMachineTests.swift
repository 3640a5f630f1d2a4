@testable import CastyWire
import Testing

/// A whole publishing conversation with the server's state machine, as ffmpeg and OBS hold it, and what it does
/// with input that breaks the protocol.
struct RTMPServerMachineTests {
    /// The publisher's side: chunks its commands and reads what the server sends back.
    struct Publisher {
        var writer = RTMPChunkWriter()
        var reader = RTMPChunkReader()
        var transaction = 0.0

        mutating func command(_ name: String, _ arguments: [AMF0Value]) -> [UInt8] {
            transaction += 1
            let payload = AMF0Encoder.encode([.string(name), .number(transaction)] + arguments)
            return writer.chunks(RTMPMessage(type: RTMPMessage.commandAMF0, payload: payload), chunkStream: 3)
        }

        func message(_ type: UInt8, _ payload: [UInt8], stream: UInt32 = 1) -> [UInt8] {
            writer.chunks(RTMPMessage(type: type, streamID: stream, payload: payload), chunkStream: type == 8 ? 4 : 6)
        }

        /// The commands (name and the `code` of their information object, if any) in what the server sent.
        mutating func answers(_ actions: [RTMPServerMachine.Action]) throws -> [String] {
            var names: [String] = []
            for case .send(let bytes) in actions {
                for message in try reader.read(bytes[...]) where message.type == RTMPMessage.commandAMF0 {
                    let values = try AMF0Decoder.decodeAll(message.payload[...])
                    names.append(([values[0].string ?? "?"] + values.compactMap { $0["code"]?.string }).joined(separator: " "))
                }
            }
            return names
        }
    }

    /// A machine past the handshake, and the publisher talking to it.
    static func connected() throws -> (RTMPServerMachine, Publisher) {
        var machine = RTMPServerMachine(handshake: RTMPHandshake())
        let reply = try machine.receive(([3] + [UInt8](repeating: 1, count: 1536))[...])
        #expect(reply == [.send([3] + [UInt8](repeating: 0, count: 1536) + [UInt8](repeating: 1, count: 1536))])
        // (Mutating calls stay out of #expect: it would call them on a copy.)
        let afterC2 = try machine.receive([UInt8](repeating: 0, count: 1536)[...])
        #expect(afterC2.isEmpty)
        #expect(machine.isPastHandshake)
        return (machine, Publisher())
    }

    @Test func publish_FromConnectToDeleteStream() throws {
        var (machine, publisher) = try Self.connected()
        let connect = publisher.command("connect", [.object([AMF0Property("app", .string("live")), AMF0Property("tcUrl", .string("rtmp://127.0.0.1/live"))])])
        let connected = try machine.receive(connect[...])
        let connectedAnswers = try publisher.answers(connected)
        #expect(connectedAnswers == ["_result NetConnection.Connect.Success"])
        #expect(publisher.reader.chunkSize == RTMPServerMachine.outgoingChunkSize)
        var bytes = publisher.command("releaseStream", [.null, .string("k3y?token=1")])
        bytes += publisher.command("FCPublish", [.null, .string("k3y?token=1")])
        bytes += publisher.command("createStream", [.null])
        bytes += publisher.command("publish", [.null, .string("k3y?token=1"), .string("live")])
        let actions = try machine.receive(bytes[...])
        let actionsAnswers = try publisher.answers(actions)
        #expect(actionsAnswers == ["_result", "_result", "_result"])
        #expect(actions.last == .publish(app: "live", key: "k3y", query: "token=1"))
        let accepted = machine.accept()
        let acceptedAnswers = try publisher.answers(accepted)
        #expect(acceptedAnswers == ["onStatus NetStream.Publish.Start"])

        let metadata = AMF0Encoder.encode([
            .string("@setDataFrame"), .string("onMetaData"),
            .ecmaArray([AMF0Property("audiodatarate", .number(128)), AMF0Property("encoder", .string("Lavf61")), AMF0Property("title", .string("Show"))]),
        ])
        bytes = publisher.message(RTMPMessage.dataAMF0, metadata)
        bytes += publisher.message(RTMPMessage.audio, [0x2F, 0xFF, 0xFB, 0x90, 0x00])
        bytes += publisher.message(RTMPMessage.video, [0x17, 0, 0, 0, 0])
        let streamed = try machine.receive(bytes[...])
        #expect(streamed == [
            .metadata(.init(title: "Show", encoder: "Lavf61", audioKbps: 128)), .audio(.mp3, [0xFF, 0xFB, 0x90, 0x00]),
        ])
        #expect((machine.audioMessages, machine.videoMessages) == (1, 1))
        bytes = publisher.command("FCUnpublish", [.null, .string("k3y")]) + publisher.command("deleteStream", [.null, .number(1)])
        let ended = try machine.receive(bytes[...])
        #expect(ended == [.unpublish])
    }

    @Test func refuse_AnswersAnErrorStatusAndReadsNoMore() throws {
        var (machine, publisher) = try Self.connected()
        var bytes = publisher.command("connect", [.object([AMF0Property("app", .string("live/"))])])
        bytes += publisher.command("createStream", [.null]) + publisher.command("publish", [.null, .string("wrong")])
        let actions = try machine.receive(bytes[...])
        #expect(actions.last == .publish(app: "live", key: "wrong", query: ""))
        _ = try publisher.answers(actions)
        let refusal = machine.refuse(code: "NetStream.Publish.BadName", description: "no")
        let refusalAnswers = try publisher.answers(refusal)
        #expect(refusalAnswers == ["onStatus NetStream.Publish.BadName"])
        let after = try machine.receive(publisher.message(RTMPMessage.audio, [0x2F, 1])[...])
        #expect(after.isEmpty)
    }

    @Test func audioBeforePublishing_IsNotPassedOn() throws {
        var (machine, publisher) = try Self.connected()
        let bytes = publisher.command("connect", [.object([AMF0Property("app", .string("live"))])])
            + publisher.message(RTMPMessage.audio, [0x2F, 0xFF, 0xFB])
        let actions = try machine.receive(bytes[...])
        #expect(actions.allSatisfy { if case .send = $0 { true } else { false } })
    }

    @Test("Audio sent right after publish, before the verdict (an AAC sequence header, sent once), is passed on for the adapter to hold")
    func audioSentBeforeTheVerdict_IsPassedOn() throws {
        var (machine, publisher) = try Self.connected()
        var bytes = publisher.command("connect", [.object([AMF0Property("app", .string("live"))])])
        bytes += publisher.command("createStream", [.null]) + publisher.command("publish", [.null, .string("k")])
        bytes += publisher.message(RTMPMessage.audio, [0xAF, 0] + RTMPAudioTests.lcStereo)
        bytes += publisher.message(RTMPMessage.audio, [0xAF, 1, 0x21, 0x22])
        let actions = try machine.receive(bytes[...])
        let audio = actions.filter { if case .audio = $0 { true } else { false } }
        #expect(audio.count == 1, "the frame, its ADTS header built from the sequence header: \(actions)")
        guard case .audio(.aac, let frame)? = audio.first else { return }
        #expect(frame.count == 7 + 2 && frame.prefix(2) == [0xFF, 0xF1], "\(frame)")
        #expect(machine.audioMessages == 2)
        #expect(machine.audioDropped == 0)
        // Once accepted, audio goes on as before.
        _ = machine.accept()
        let after = try machine.receive(publisher.message(RTMPMessage.audio, [0xAF, 1, 0x23])[...])
        #expect(after.count == 1)
    }

    @Test func acknowledgements_FollowThePeersWindow() throws {
        var (machine, publisher) = try Self.connected()
        var bytes = publisher.message(RTMPMessage.windowAcknowledgementSize, [0, 0, 0x01, 0], stream: 0)
        bytes += publisher.message(RTMPMessage.userControl, [0, 6, 0, 0, 0, 42], stream: 0)  // ping request
        let actions = try machine.receive(bytes[...])
        var acknowledgements = 0, pongs = 0
        for case .send(let sent) in actions {
            for message in try publisher.reader.read(sent[...]) {
                if message.type == RTMPMessage.userControl, message.payload == [0, 7, 0, 0, 0, 42] { pongs += 1 }
                if message.type == RTMPMessage.acknowledgement { acknowledgements += 1 }
            }
        }
        #expect((pongs, acknowledgements) == (1, 0))
        let more = try machine.receive(publisher.message(RTMPMessage.video, [UInt8](repeating: 0, count: 300))[...])
        #expect(more.count == 1)  // 256 bytes passed: one acknowledgement
    }

    @Test func commandsOutOfOrder_AreErrors() throws {
        var (machine, publisher) = try Self.connected()
        #expect(throws: RTMPError.unexpectedCommand("publish")) {
            try machine.receive(publisher.command("publish", [.null, .string("k")])[...])
        }
        (machine, publisher) = try Self.connected()
        let garbage = publisher.message(RTMPMessage.commandAMF0, [2, 0, 40, 1])
        #expect(throws: RTMPError.self) { try machine.receive(garbage[...]) }
    }

    /// Random chunk headers and AMF garbage after a good handshake: the machine throws a typed error or goes
    /// on, never crashes, and what it holds stays within its limits.
    @Test func malformedInput_EndsInATypedErrorOrNothing() throws {
        var generator = SeededBytes(state: 1935)
        var errors = 0
        for round in 0..<3000 {
            var (machine, publisher) = try Self.connected()
            var bytes = publisher.command("connect", [.object([AMF0Property("app", .string("live"))])])
            bytes += publisher.command("createStream", [.null]) + publisher.command("publish", [.null, .string("k")])
            _ = try machine.receive(bytes[...])
            _ = machine.accept()
            var noise = (0..<Int.random(in: 1...400, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            if round % 3 == 0 {  // a plausible header with a garbage AMF body
                noise = publisher.message([RTMPMessage.commandAMF0, RTMPMessage.dataAMF0, RTMPMessage.audio][round % 9 / 3], noise)
            }
            do {
                for piece in noise.chunked(by: Int.random(in: 1...64, using: &generator)) { _ = try machine.receive(piece) }
            } catch {
                errors += 1
            }
        }
        #expect(errors > 1000)
    }

    @Test("audiodatarate in kbit/s (OBS) or in 1024 bit/s (ffmpeg: 125 for 128 kbit/s) gives the bitrate in kbit/s")
    func audioDatarate_InEitherUnit() {
        #expect(RTMPServerMachine.kbps(160) == 160)
        #expect(RTMPServerMachine.kbps(125) == 128)
        #expect(RTMPServerMachine.kbps(93.75) == 96)
        #expect(RTMPServerMachine.kbps(128) == 128)
        #expect(RTMPServerMachine.kbps(100) == 100, "neither: as given")
        #expect(RTMPServerMachine.kbps(0) == nil)
    }
}

extension Array {
    /// The array in pieces of `size` elements (the last may be shorter).
    func chunked(by size: Int) -> [ArraySlice<Element>] {
        stride(from: 0, to: count, by: size).map { self[$0..<Swift.min($0 + size, count)] }
    }
}
