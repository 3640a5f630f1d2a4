internal import CastyWire
/// Just enough of WebSocket (RFC 6455) to push title events to a page: the opening handshake, unmasked frames
/// from the server (text for the events, ping for the heartbeat, pong and close for answers), and
/// ``WebSocketReader`` for the few frames a page sends. No packages: the handshake's SHA-1 and base64 are
/// written here.
///
/// A frame is two bytes — FIN and the opcode, then the payload's length (7 bits; 126 or 127 announce a 16- or
/// 64-bit length after them) — a masking key if the sender is a client, and the payload. A server never masks.
enum WebSocket {
    /// The GUID every server appends to the client's key (RFC 6455, section 1.3).
    static let guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

    /// What a frame carries: the low four bits of its first byte (RFC 6455, section 5.2). 8 and above are
    /// control frames, which may interrupt a fragmented message, are never fragmented and hold at most 125 bytes.
    enum Opcode: UInt8, Sendable {
        /// The next fragment of a message begun by a text or binary frame.
        case continuation = 0
        /// A message (or its first fragment) in UTF-8.
        case text = 1
        /// A message (or its first fragment) of bytes.
        case binary = 2
        /// The closing handshake: the first two payload bytes, if any, are a status code, then a UTF-8 reason.
        case close = 8
        /// "Are you there?": the other side answers with a pong holding the same payload.
        case ping = 9
        /// The answer to a ping (or an unasked heartbeat, which needs no answer).
        case pong = 10

        /// Whether frames of this kind are control frames (close, ping, pong).
        var isControl: Bool { rawValue >= 8 }
    }

    /// `Sec-WebSocket-Accept` for a client's `Sec-WebSocket-Key`: base64(SHA-1(key + GUID)).
    static func accept(key: String) -> String {
        Base64.encode(SHA1.digest(Array((key + guid).utf8)))
    }

    /// One unmasked, unfragmented frame (FIN set) of `opcode` holding `payload`.
    static func frame(_ opcode: Opcode, _ payload: [UInt8]) -> [UInt8] {
        var frame: [UInt8] = [0x80 | opcode.rawValue]
        switch payload.count {
        case ..<126:
            frame.append(UInt8(payload.count))
        case ..<65_536:
            frame += [126, UInt8(payload.count >> 8), UInt8(payload.count & 0xFF)]
        default:
            frame.append(127)
            frame += (0..<8).reversed().map { UInt8(truncatingIfNeeded: UInt64(payload.count) >> (UInt64($0) * 8)) }
        }
        return frame + payload
    }

    /// One unmasked text frame holding `text` (FIN set, opcode 1).
    static func textFrame(_ text: String) -> [UInt8] {
        frame(.text, Array(text.utf8))
    }

    /// The heartbeat's ping, with no payload: a browser answers it with a pong by itself, without the page's script.
    static let ping = frame(.ping, [])

    /// The answer to a ping holding `payload` (at most 125 bytes, as every control frame).
    static func pong(_ payload: [UInt8]) -> [UInt8] {
        frame(.pong, payload)
    }

    /// A close frame with `code` (1000 normal, 1002 protocol error, 1009 too big), or with no payload for `nil`.
    static func close(_ code: UInt16?) -> [UInt8] {
        frame(.close, code.map { [UInt8($0 >> 8), UInt8($0 & 0xFF)] } ?? [])
    }
}

/// SHA-1 (FIPS 180-4), for the WebSocket handshake only — never for anything that needs to be secret.
enum SHA1 {
    static func digest(_ message: [UInt8]) -> [UInt8] {
        var h: [UInt32] = [0x6745_2301, 0xEFCD_AB89, 0x98BA_DCFE, 0x1032_5476, 0xC3D2_E1F0]
        var bytes = message
        let length = UInt64(message.count) * 8
        bytes.append(0x80)
        while bytes.count % 64 != 56 { bytes.append(0) }
        bytes += (0..<8).reversed().map { UInt8(truncatingIfNeeded: length >> (UInt64($0) * 8)) }
        var w = [UInt32](repeating: 0, count: 80)
        for chunk in stride(from: 0, to: bytes.count, by: 64) {
            for i in 0..<16 {
                w[i] = (0..<4).reduce(UInt32(0)) { $0 << 8 | UInt32(bytes[chunk + i * 4 + $1]) }
            }
            for i in 16..<80 {
                let x = w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16]
                w[i] = x << 1 | x >> 31
            }
            var (a, b, c, d, e) = (h[0], h[1], h[2], h[3], h[4])
            for i in 0..<80 {
                let (f, k): (UInt32, UInt32) = switch i {
                case 0..<20: ((b & c) | (~b & d), 0x5A82_7999)
                case 20..<40: (b ^ c ^ d, 0x6ED9_EBA1)
                case 40..<60: ((b & c) | (b & d) | (c & d), 0x8F1B_BCDC)
                default: (b ^ c ^ d, 0xCA62_C1D6)
                }
                let temp = (a << 5 | a >> 27) &+ f &+ e &+ k &+ w[i]
                (e, d, c, b, a) = (d, c, b << 30 | b >> 2, a, temp)
            }
            h[0] &+= a; h[1] &+= b; h[2] &+= c; h[3] &+= d; h[4] &+= e
        }
        return h.flatMap { word in (0..<4).reversed().map { UInt8(truncatingIfNeeded: word >> (UInt32($0) * 8)) } }
    }
}
