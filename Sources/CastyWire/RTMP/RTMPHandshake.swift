/// The server's side of the plain RTMP handshake, as a state machine: bytes in, bytes to send out.
///
/// ```
/// client → server   C0 (1 byte: version 3)  C1 (1536 bytes: time, zero, random)
/// server → client   S0 (version 3)  S1 (1536 bytes: time, zero, random)  S2 (C1 echoed)
/// client → server   C2 (1536 bytes: S1 echoed; not checked)
/// ```
///
/// Clients that put a digest in C1 (ffmpeg, Flash) accept a plain S1 whose version field is zero and check no
/// digest when they publish, so the digest variant is not needed here. Bytes that arrive after C2 are the
/// first chunks and are handed back in ``Step/done(rest:)``.
package struct RTMPHandshake: Sendable {
    /// The size of C1, S1, C2 and S2.
    package static let packetBytes = 1536

    /// What to do after some bytes came in.
    package enum Step: Sendable, Equatable {
        /// Wait for more bytes; send these first if any (S0 S1 S2 once C0 C1 are in).
        case more(send: [UInt8])
        /// The handshake is over: send these if any, then read chunks, starting with `rest`.
        case done(send: [UInt8], rest: [UInt8])
    }

    /// C0 and C1 as they arrive.
    private var buffer: [UInt8] = []
    private var sentReply = false
    /// Bytes of C2 received (C2 is counted, not kept).
    private var c2Bytes = 0
    private let s1: [UInt8]

    /// A handshake whose S1 carries `time` and `random` (1528 bytes, padded or cut to fit).
    package init(time: UInt32 = 0, random: [UInt8] = []) {
        var s1 = [UInt8(time >> 24), UInt8(time >> 16 & 0xFF), UInt8(time >> 8 & 0xFF), UInt8(time & 0xFF), 0, 0, 0, 0]
        s1 += random.prefix(Self.packetBytes - 8)
        s1 += [UInt8](repeating: 0, count: Self.packetBytes - s1.count)
        self.s1 = s1
    }

    /// A handshake with a random S1.
    ///
    /// The bytes only need to differ between connections (the client echoes them in C2; the simple handshake
    /// checks nothing else), not to be secret: one system random number seeds SplitMix64, which fills them. A
    /// system call per byte — 1,520 `getrandom` calls for every connection, before it sent anything — let a flood
    /// of connections to the RTMP port hold the loop every other port is served on.
    package static func random() -> RTMPHandshake {
        var state = UInt64.random(in: .min ... .max)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(packetBytes - 8)
        while bytes.count < packetBytes - 8 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var mixed = (state ^ (state >> 30)) &* 0xBF58_476D_1CE4_E5B9
            mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
            mixed ^= mixed >> 31
            withUnsafeBytes(of: mixed) { bytes += $0.prefix(packetBytes - 8 - bytes.count) }
        }
        return RTMPHandshake(random: bytes)
    }

    /// The methods whose request line, sent to the RTMP port, is told as an HTTP request.
    static let httpMethods: Set<String> = ["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "CONNECT", "TRACE", "SOURCE"]

    /// Why `bytes`, whose first is no RTMP version 3, are no RTMP handshake: an HTTP request line (its method and
    /// a space), a TLS record (a handshake, 22), else the version they ask for.
    static func otherProtocol(_ bytes: [UInt8]) -> RTMPError {
        if bytes.first == 22 { return .tlsHandshake }
        if let space = bytes.prefix(8).firstIndex(of: 0x20) {
            let method = String(decoding: bytes[..<space], as: UTF8.self)
            if httpMethods.contains(method) { return .httpRequest(method: method) }
        }
        return .unsupportedVersion(bytes.first ?? 0)
    }

    /// Takes the next bytes from the client. At most C0 + C1 (1537 bytes) are ever held.
    package mutating func receive(_ bytes: ArraySlice<UInt8>) throws(RTMPError) -> Step {
        var rest = bytes
        var send: [UInt8] = []
        if !sentReply {
            let take = min(1 + Self.packetBytes - buffer.count, rest.count)
            buffer += rest.prefix(take)
            rest = rest.dropFirst(take)
            if let version = buffer.first, version != 3 { throw Self.otherProtocol(buffer) }
            guard buffer.count == 1 + Self.packetBytes else { return .more(send: []) }
            send = [3] + s1 + buffer.dropFirst()
            sentReply = true
            buffer = []
        }
        let take = min(Self.packetBytes - c2Bytes, rest.count)
        c2Bytes += take
        rest = rest.dropFirst(take)
        guard c2Bytes == Self.packetBytes else { return .more(send: send) }
        return .done(send: send, rest: Array(rest))
    }
}
