import CastyNet
import CastyWire

@testable import Casty

/// A relayed station for a relay's tests that can go away and come back: while up, it answers `200` and sends
/// its ``Sound`` (by default silent MP3 frames, ``StationServerTests/silentFrames(_:)``, 40 a second) to every
/// listener; while away, `503`. It may come back as another station (``comeBack(as:)``).
final class AwayableStation: Sendable {
    /// What the station sends: its type and name, and the audio of each tenth of a second.
    struct Sound: Sendable {
        var contentType = "audio/mpeg"
        /// Its `icy-name`: none when `nil` (Icecast fed by ffmpeg without `-ice_name`).
        var name: String? = "Awayable"
        var tenth: @Sendable () -> [UInt8] = { StationServerTests.silentFrames(4) }
        /// What each listener is sent at once after the reply head, before the tenths (Icecast's burst on connect).
        var burst: [UInt8] = []

        /// ADTS frames (``variedADTSFrames(_:)``), a stream that may go quiet (``QuietStream``).
        static func aac(name: String = "Awayable AAC") -> Sound {
            Sound(contentType: "audio/aac", name: name) { variedADTSFrames(4) }
        }
    }

    let upstream: FakeUpstream
    private let up = Locked(true)
    private let sound: Locked<Sound>
    private let live = Locked<[Connection]>([])
    private let feeder: Task<Void, Never>
    private let loop: EventLoop

    /// Up, on `loop`, sending `sound`.
    init(on loop: EventLoop, sound: Sound = Sound()) throws {
        let up = up, live = live, playing = Locked(sound)
        self.sound = playing
        self.loop = loop
        upstream = try FakeUpstream(on: loop) { connection, _ in
            guard up.value else {
                connection.write(Array("HTTP/1.0 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n".utf8))
                return connection.close()
            }
            let sound = playing.value
            let name = sound.name.map { "icy-name: \($0)\r\n" } ?? ""
            connection.write(Array("HTTP/1.0 200 OK\r\nContent-Type: \(sound.contentType)\r\n\(name)icy-br: 128\r\n\r\n".utf8) + sound.burst)
            live.update { $0.append(connection) }
        }
        feeder = Task {
            while !Task.isCancelled {
                let tenth = playing.value.tenth()
                await loop.submit { for connection in live.value { connection.write(tenth) } }
                try? await Task.sleep(for: .milliseconds(100))
            }
        }
    }

    var url: StreamURL { upstream.url }

    /// Goes away: its listeners' connections are closed, and whoever connects is told `503`.
    func goAway() async {
        up.update { $0 = false }
        let live = live
        await loop.submit {
            for connection in live.value { connection.close() }
            live.update { $0 = [] }
        }
    }

    /// Comes back: whoever connects gets the stream again — or `sound`, another station's.
    func comeBack(as sound: Sound? = nil) {
        if let sound { self.sound.update { $0 = sound } }
        up.update { $0 = true }
    }

    /// Goes on sending `tenth` on the connections it has, without a break (an encoder restarted behind its mount).
    func goOn(with tenth: @escaping @Sendable () -> [UInt8]) {
        sound.update { $0.tenth = tenth }
    }

    /// Stops feeding and listening.
    func close() async {
        feeder.cancel()
        await upstream.close()
    }
}
